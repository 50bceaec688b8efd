"""The workflow scripts (``scripts/*.py``) as functions: ``main(snakemake)`` on tiny data.

Each script is imported by path and its ``main`` called with a stand-in for
the object Snakemake injects (``input``, ``output``, ``params``,
``wildcards``, ``log``, ``threads``; attribute and item access like
Snakemake's ``Namedlist``). The inputs and params are those the workflow's
rules give, taken from :func:`abagen_core.workflow.plan.build_plan`. The
scripts run as a chain on a synthetic dataset (two donors, 120 probes), each
once, in the order of the workflow; the final matrices are compared with the
Python API on the same data.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from conftest import REPO

from abagen_core import api, io
from abagen_core.datasets import synth
from abagen_core.stages import regional as pipeline
from abagen_core.storage.artifacts import read_frame, read_probe_summary
from abagen_core.storage.atomic import sha256_file
from abagen_core.utils import data_path
from abagen_core.workflow.plan import build_plan

SCRIPTS = REPO / "scripts"
DONORS = ["12876", "15496"]
N_PROBES = 120
SYNTHETIC = {"n_probes": N_PROBES, "seed": 3, "precision": "short"}
DK = str(data_path("atlas-desikankilliany.nii.gz"))
DK_INFO = str(data_path("atlas-desikankilliany.csv"))


class Named(SimpleNamespace):
    """Attribute, name and position access, like Snakemake's ``Namedlist``."""

    def __getitem__(self, key):
        if isinstance(key, int):
            return list(vars(self).values())[key]
        return getattr(self, key)

    def keys(self):
        return vars(self).keys()

    def __iter__(self):
        return iter(vars(self).values())


def run_script(name: str, log: Path, *, input=None, output=None, params=None,
               wildcards=None) -> None:
    """Import ``scripts/<name>.py`` by path and call its ``main`` like Snakemake would."""
    spec = importlib.util.spec_from_file_location(f"_script_{name}", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # defines main; the guard does not run it
    for path in (output or {}).values():
        for one in [path] if isinstance(path, str | Path) else path:
            Path(one).parent.mkdir(parents=True, exist_ok=True)
    snakemake = SimpleNamespace(input=Named(**(input or {})), output=Named(**(output or {})),
                                params=Named(**(params or {})),
                                wildcards=Named(**(wildcards or {})), log=Named(log=str(log)),
                                threads=1)
    module.main(snakemake)


class Chain:
    """The workflow's jobs for one atlas (dk), two variants, one mask and one map.

    ``chain.run(step)`` runs a step (and what it needs) once; its outputs
    are in ``chain.out[step]`` (per donor where the rule is).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.work = root / "work"
        self.data = root / "data"  # the same synthetic data, in the AHBA layout (for the API)
        synth.generate_dataset(self.data, donors=DONORS, rnaseq=False, mri=False,
                               n_probes=N_PROBES, seed=SYNTHETIC["seed"])
        self.mask = root / "mask.nii.gz"
        atlas = nib.load(DK)
        labels = np.asarray(atlas.dataobj)
        nib.save(nib.Nifti1Image(np.isin(labels, [1, 2, 3]).astype(np.uint8), atlas.affine),
                 self.mask)
        self.plan = build_plan({
            "donors": DONORS,
            "atlases": {"dk": {"builtin": "dk-volume"}},
            "variants": {"default": {}, "zscored": {"gene_norm": "zscore"}},
            "samples_in_mask": {"everything": {"mask": None}},
        }, base=REPO)
        self.out: dict[str, object] = {}
        self.logs: dict[str, Path] = {}

    def path(self, *parts: str) -> str:
        return str(self.work.joinpath(*parts))

    def log(self, step: str, tag: str = "") -> Path:
        path = self.work / "logs" / f"{step}{tag}.log"
        self.logs[step + tag] = path
        return path

    def key(self, stage: str, variant: str = "default") -> str:
        return self.plan.keys["dk", variant][stage]

    def options(self, stage: str, variant: str = "default") -> dict:
        from abagen_core.options import stage_options

        return stage_options(self.plan.options_for(stage, self.key(stage, variant)), stage)

    def atlas_spec(self, donor: str) -> dict:
        spec = self.plan.atlases["dk"]
        return {"kind": spec.kind, "files": spec.donor_files(donor), "info": spec.info,
                "geometry": None, "space": spec.space}

    def atlas_description(self) -> dict:
        spec = self.plan.atlases["dk"]
        return {"name": spec.name, "kind": spec.kind, "files": spec.files, "info": spec.info,
                "geometry": None, "space": spec.space}

    def run(self, step: str):
        if step not in self.out:
            self.out[step] = getattr(self, f"_{step}")()
        return self.out[step]

    # ----------------------------------------------------------------- steps

    def _obtain_raw(self):
        out = {}
        for donor in DONORS:
            names = ("MicroarrayExpression.csv", "PACall.csv", "Probes.csv", "SampleAnnot.csv",
                     "Ontology.csv")
            files = dict(zip(("microarray", "pacall", "probes", "annotation", "ontology"),
                             (self.path("resources", "raw", donor, n) for n in names),
                             strict=True))
            run_script("obtain_raw", self.log("obtain_raw", donor), output=files,
                       params={"source": "synthetic", "data_dir": None, "download": False,
                               "api_url": None, "synthetic": SYNTHETIC},
                       wildcards={"donor": donor})
            out[donor] = files
        return out

    def _convert_donor(self):
        raw = self.run("obtain_raw")
        out = {}
        for donor in DONORS:
            folder = ("resources", "parquet", donor)
            files = {"microarray": self.path(*folder, "microarray.parquet"),
                     "microarray_checksum": self.path(*folder, "microarray.sha256"),
                     "pacall": self.path(*folder, "pacall.parquet"),
                     "pacall_checksum": self.path(*folder, "pacall.sha256"),
                     "annotation": self.path(*folder, "annotation.parquet"),
                     "ontology": self.path(*folder, "ontology.parquet")}
            run_script("convert_donor", self.log("convert_donor", donor), input=raw[donor],
                       output=files, wildcards={"donor": donor})
            out[donor] = files
        return out

    def _prepare_probes(self):
        files = {"probes": self.path("resources", "probes", "probes_reannotated.parquet")}
        run_script("prepare_probes", self.log("prepare_probes"),
                   input={"probes": self.run("obtain_raw")[DONORS[0]]["probes"]},
                   output=files, params={"reannotated": True}, wildcards={"which": "reannotated"})
        return files

    def _prepare_samples(self):
        parquet = self.run("convert_donor")
        key = self.key("samples")
        out = {}
        for donor in DONORS:
            files = {"samples": self.path("resources", "samples", donor, f"samples_{key}.parquet"),
                     "pacall": self.path("resources", "samples", donor, f"pacall_{key}.parquet")}
            run_script("prepare_samples", self.log("prepare_samples", donor),
                       input={"annotation": parquet[donor]["annotation"],
                              "ontology": parquet[donor]["ontology"],
                              "pacall": parquet[donor]["pacall"]},
                       output=files, params={"options": self.options("samples")},
                       wildcards={"donor": donor, "key": key})
            out[donor] = files
        return out

    def _intensity_filter(self):
        key = self.key("ibf")
        files = {"kept": self.path("resources", "probes", "ibf", key, "kept.parquet")}
        samples = self.run("prepare_samples")
        run_script("intensity_filter", self.log("intensity_filter"),
                   input={"summaries": [samples[d]["pacall"] for d in DONORS],
                          "probes": self.run("prepare_probes")["probes"]},
                   output=files, params={"options": self.options("ibf")}, wildcards={"key": key})
        return files

    def _probe_summary(self):
        key = self.key("psummary")
        out = {}
        for donor in DONORS:
            files = {"summary": self.path("resources", "probes", "summary", key,
                                          f"summary_{donor}")}
            run_script("probe_summary", self.log("probe_summary", donor),
                       input={"microarray": self.run("convert_donor")[donor]["microarray"],
                              "samples": self.run("prepare_samples")[donor]["samples"],
                              "probes": self.run("prepare_probes")["probes"]},
                       output=files, params={"options": self.options("psummary")},
                       wildcards={"donor": donor, "key": key})
            out[donor] = files
        return out

    def _select_probes(self):
        key = self.key("probes")
        files = {"selection": self.path("resources", "probes", key, "selection.parquet"),
                 "explained": self.path("resources", "probes", key, "genes_explained.parquet")}
        run_script("select_probes", self.log("select_probes"),
                   input={"summaries": [self.run("probe_summary")[d]["summary"] for d in DONORS],
                          "kept": self.run("intensity_filter")["kept"],
                          "pacall": [self.run("prepare_samples")[d]["pacall"] for d in DONORS],
                          "probe_table": self.run("obtain_raw")[DONORS[0]]["probes"]},
                   output=files, params={"options": self.options("probes"), "donors": DONORS,
                                         "rnaseq_donors": []},
                   wildcards={"key": key})
        return files

    def _donor_genes(self):
        return self._genes(self.key("genes"), self.options("genes"))

    def _unnormalized_genes(self):
        """The genes a sweep batch reads: the same probe selection, no sample_norm."""
        return self._genes("unnormalized", dict(self.options("genes"), sample_norm=None))

    def _genes(self, key: str, options: dict) -> dict:
        files = {"genes": [self.path("resources", "genes", key, f"genes_{d}.parquet")
                           for d in DONORS]}
        samples = self.run("prepare_samples")
        run_script("donor_genes", self.log("donor_genes", key),
                   input={"microarray": [self.run("convert_donor")[d]["microarray"]
                                         for d in DONORS],
                          "samples": [samples[d]["samples"] for d in DONORS],
                          "kept": self.run("intensity_filter")["kept"],
                          "selection": self.run("select_probes")["selection"]},
                   output=files, params={"options": options, "donors": DONORS},
                   wildcards={"key": key})
        return {d: {"genes": path} for d, path in zip(DONORS, files["genes"], strict=True)}

    def _label_samples(self):
        key = self.key("labels")
        files = {"labels": [self.path("resources", "labels", "dk", key, f"labels_{d}.parquet")
                            for d in DONORS]}
        run_script("label_samples", self.log("label_samples"),
                   input={"samples": [self.run("prepare_samples")[d]["samples"]
                                      for d in DONORS]},
                   output=files, params={"atlas": self.atlas_description(), "donors": DONORS,
                                         "options": self.options("labels")},
                   wildcards={"atlas": "dk", "key": key})
        return {d: {"labels": path} for d, path in zip(DONORS, files["labels"], strict=True)}

    def _branch(self) -> dict:
        """Inputs of a regional job (Targets._branch_inputs)."""
        return {"genes": [self.run("donor_genes")[d]["genes"] for d in DONORS],
                "samples": [self.run("prepare_samples")[d]["samples"] for d in DONORS],
                "labels": [self.run("label_samples")[d]["labels"] for d in DONORS],
                "atlas": [DK, DK_INFO],
                "kept": self.run("intensity_filter")["kept"],
                "checksums": [self.run("convert_donor")[d][f"{k}_checksum"]
                              for d in DONORS for k in ("microarray", "pacall")]}

    def _regional_variant(self):
        out = {}
        for variant in self.plan.variants:
            folder = ("results", "dk", variant)
            files = {"expression": self.path(*folder, "expression.csv"),
                     "parquet": self.path(*folder, "expression.parquet"),
                     "counts": self.path(*folder, "counts.csv"),
                     "regions": self.path(*folder, "regions.csv"),
                     "genes": self.path(*folder, "genes.csv"),
                     "methods": self.path(*folder, "report.md"),
                     "metadata": self.path(*folder, "metadata.json")}
            if variant == "default":  # donor matrices and QC figures
                files["donors"] = [self.path(*folder, "donors", f"expression_{d}.csv")
                                   for d in DONORS]
                files.update({f"qc_{name}": self.path(*folder, "qc", f"{name}.png")
                              for name in ("counts", "coverage_map", "gene_map",
                                           "donor_agreement")})
            run_script("regional_variant", self.log("regional_variant", variant),
                       input={**self._branch(),
                              "explained": self.run("select_probes")["explained"]},
                       output=files, params={"options": self.plan.variants[variant],
                                             "atlas": self.atlas_description(),
                                             "donors": DONORS, "synthetic": True,
                                             "qc_gene": None, "dpi": 40},
                       wildcards={"atlas": "dk", "variant": variant})
            out[variant] = files
        return out

    def _regional_batch(self):
        """The two variants as one sweep batch (they share genes and labels),
        computed a few genes at a time (a tiny chunk_mb)."""
        files = {"batch": self.path("results", "dk", "sweeps", "batch-0123456789.parquet")}
        genes = [self.run("unnormalized_genes")[d]["genes"] for d in DONORS]
        run_script("regional_batch", self.log("regional_batch"),
                   input={**self._branch(), "genes": genes},
                   output=files, params={"variants": self.plan.variants,
                                         "atlas": self.atlas_description(),
                                         "donors": DONORS, "synthetic": True,
                                         "chunk_mb": 0.02},
                   wildcards={"atlas": "dk", "batch": "0123456789"})
        index = {"index": self.path("results", "dk", "sweeps", "index.csv")}
        run_script("sweep_index", self.log("sweep_index"), input={"batches": [files["batch"]]},
                   output=index, wildcards={"atlas": "dk"})
        return {**files, **index}

    def _robustness_summary(self):
        folder = ("results", "robustness", "dk")
        files = {"variants": self.path(*folder, "variants.csv"),
                 "genes": self.path(*folder, "genes.csv"),
                 "decisions": self.path(*folder, "decisions.csv"),
                 "values": self.path(*folder, "decision_values.csv"),
                 "fig_correlations": self.path(*folder, "correlations.png"),
                 "fig_decisions": self.path(*folder, "decisions.png"),
                 "fig_gene_spread": self.path(*folder, "gene_spread.png")}
        results = self.run("regional_variant")
        # the named variant 'default' and the swept 'zscored' (from the batch file)
        run_script("robustness_summary", self.log("robustness_summary"),
                   input={"expression": [results["default"]["parquet"]],
                          "batches": [self.run("regional_batch")["batch"]]},
                   output=files, params={"named": ["default"],
                                         "options": self.plan.variants, "reference": "default",
                                         "dpi": 40},
                   wildcards={"atlas": "dk"})
        return files

    def _cached(self, target) -> dict:
        """Inputs of the sample-level rules (workflow/rules/common.smk _cached_inputs)."""
        assert target.keys["genes"] == self.key("genes")  # same options: the same files
        return {"genes": [self.run("donor_genes")[d]["genes"] for d in DONORS],
                "samples": [self.run("prepare_samples")[d]["samples"] for d in DONORS],
                "kept": self.run("intensity_filter")["kept"],
                "checksums": [self.run("convert_donor")[d][f"{k}_checksum"]
                              for d in DONORS for k in ("microarray", "pacall")]}

    def _samples_in_mask(self):
        target = self.plan.samples_in_mask["everything"]
        folder = ("results", "samples_in_mask", "everything")
        files = {"expression": self.path(*folder, "expression.csv"),
                 "parquet": self.path(*folder, "expression.parquet"),
                 "coordinates": self.path(*folder, "coordinates.csv"),
                 "metadata": self.path(*folder, "metadata.json")}
        run_script("samples_in_mask", self.log("samples_in_mask"), input=self._cached(target),
                   output=files, params={"mask": target.mask, "options": target.options,
                                         "donors": DONORS, "synthetic": True},
                   wildcards={"name": "everything"})
        return files

    def map_target(self):
        """An interpolated map of the first gene over three DK regions, without mirroring
        (so that it shares the default variant's samples and genes)."""
        gene = read_frame(self.run("donor_genes")[DONORS[0]]["genes"], kind="genes").columns[0]
        plan = build_plan({"donors": DONORS, "atlases": {"dk": {"builtin": "dk-volume"}},
                           "interpolated_maps": {"m": {"mask": str(self.mask), "genes": [gene],
                                                       "n_neighbors": 4,
                                                       "options": {"lr_mirror": None}}}},
                          base=REPO)
        return plan.interpolated_maps["m"]

    def _map_samples(self):
        target = self.map_target()
        files = {"samples": self.path("resources", "maps", "m", "samples.parquet")}
        run_script("map_samples", self.log("map_samples"), input=self._cached(target),
                   output=files, params={"options": target.options, "genes": list(target.genes),
                                         "donors": DONORS, "synthetic": True},
                   wildcards={"name": "m"})
        return files

    def _interpolated_map(self):
        target = self.map_target()
        gene = target.genes[0]
        files = {"image": self.path("results", "maps", "m", f"{gene}.nii.gz")}
        run_script("interpolated_map", self.log("interpolated_map"),
                   input={"samples": self.run("map_samples")["samples"],
                          "mask": target.mask["files"]},
                   output=files, params={"mask": target.mask, "n_neighbors": target.n_neighbors},
                   wildcards={"name": "m", "gene": gene})
        return files

    def _map_metadata(self):
        target = self.map_target()
        files = {"metadata": self.path("results", "maps", "m", "metadata.json")}
        run_script("map_metadata", self.log("map_metadata"),
                   input={"samples": self.run("map_samples")["samples"],
                          "maps": [self.run("interpolated_map")["image"]]},
                   output=files, params={"mask": target.mask, "genes": list(target.genes),
                                         "n_neighbors": target.n_neighbors,
                                         "options": target.options},
                   wildcards={"name": "m"})
        return files


@pytest.fixture(scope="module")
def chain(tmp_path_factory) -> Chain:
    return Chain(tmp_path_factory.mktemp("scripts"))


# --------------------------------------------------------------------------- raw data


def test_obtain_raw_writes_the_generators_files(chain):
    files = chain.run("obtain_raw")
    for donor in DONORS:
        folder = chain.data / "microarray" / f"normalized_microarray_donor{donor}"
        for path in files[donor].values():
            assert Path(path).read_bytes() == (folder / Path(path).name).read_bytes()
    text = chain.logs[f"obtain_raw{DONORS[0]}"].read_text()
    assert "SYNTHETIC" in text


def test_obtain_raw_links_a_data_folder(chain, tmp_path):
    names = ("MicroarrayExpression.csv", "PACall.csv", "Probes.csv", "SampleAnnot.csv",
             "Ontology.csv")
    files = {k: str(tmp_path / "raw" / n) for k, n in zip(
        ("microarray", "pacall", "probes", "annotation", "ontology"), names, strict=True)}
    run_script("obtain_raw", tmp_path / "obtain_raw.log", output=files,
               params={"source": "folder", "data_dir": str(chain.data), "download": False,
                       "api_url": None, "synthetic": {}},
               wildcards={"donor": DONORS[1]})
    folder = chain.data / "microarray" / f"normalized_microarray_donor{DONORS[1]}"
    for path in files.values():
        assert Path(path).samefile(folder / Path(path).name)


def test_obtain_and_convert_rnaseq(tmp_path):
    raw = {"tpm": str(tmp_path / "raw" / "RNAseqTPM.csv"),
           "annotation": str(tmp_path / "raw" / "SampleAnnot.csv")}
    settings = {"n_probes": 100, "seed": 2}
    run_script("obtain_rnaseq", tmp_path / "obtain.log", output=raw,
               params={"source": "synthetic", "data_dir": None, "download": False,
                       "api_url": None, "synthetic": settings},
               wildcards={"donor": "9861"})
    synth.generate_dataset(tmp_path / "data", donors=["9861"], rnaseq=True, mri=False, **settings)
    expected = tmp_path / "data" / "rnaseq" / "rnaseq_donor9861"
    for path in raw.values():
        assert Path(path).read_bytes() == (expected / Path(path).name).read_bytes()

    parquet = {"tpm": str(tmp_path / "pq" / "tpm.parquet"),
               "annotation": str(tmp_path / "pq" / "annotation.parquet")}
    run_script("convert_rnaseq", tmp_path / "convert.log", input=raw, output=parquet,
               wildcards={"donor": "9861"})
    pd.testing.assert_frame_equal(io.read_tpm(parquet["tpm"]), io.read_tpm(raw["tpm"]))
    pd.testing.assert_frame_equal(read_frame(parquet["annotation"], kind="rnaseq_annotation"),
                                  io.read_rnaseq_annotation(raw["annotation"]))


def test_obtain_t1(tmp_path):
    dest = tmp_path / "raw" / "T1.nii.gz"
    run_script("obtain_t1", tmp_path / "t1.log", output={"t1": str(dest)},
               params={"source": "synthetic", "data_dir": None, "download": False,
                       "api_url": None},
               wildcards={"donor": "12876"})
    expected = synth.write_mri(tmp_path / "ref", "12876") / "T1.nii.gz"
    np.testing.assert_array_equal(nib.load(dest).affine, nib.load(expected).affine)


def test_convert_donor(chain):
    raw = chain.run("obtain_raw")[DONORS[0]]
    out = chain.run("convert_donor")[DONORS[0]]
    pd.testing.assert_frame_equal(io.read_microarray(out["microarray"]),
                                  io.read_microarray(raw["microarray"]))
    assert Path(out["microarray_checksum"]).read_text().split() == [
        sha256_file(raw["microarray"]), "MicroarrayExpression.csv"]
    pd.testing.assert_frame_equal(read_frame(out["annotation"], kind="annotation_raw"),
                                  io.read_annotation(raw["annotation"]))


# --------------------------------------------------------------------------- probes and samples


def test_prepare_probes(chain):
    got = read_frame(chain.run("prepare_probes")["probes"], kind="probes")
    raw = io.read_probes(chain.run("obtain_raw")[DONORS[0]]["probes"])
    pd.testing.assert_frame_equal(got, pipeline.prepare_probes(raw, reannotated=True))


def test_prepare_samples(chain):
    donor = DONORS[0]
    got = read_frame(chain.run("prepare_samples")[donor]["samples"], kind="samples")
    parquet = chain.run("convert_donor")[donor]
    opts = chain.options("samples")
    expected = pipeline.prepare_samples(
        read_frame(parquet["annotation"], kind="annotation_raw"),
        read_frame(parquet["ontology"], kind="ontology"),
        corrected_mni=opts["corrected_mni"], lr_mirror=opts["lr_mirror"],
        sim_threshold=opts["sim_threshold"])
    pd.testing.assert_frame_equal(got, expected)
    counts, attrs = read_frame(chain.run("prepare_samples")[donor]["pacall"],
                               kind="pacall_summary", with_attrs=True)
    assert attrs["n_samples"] == len(got)
    assert len(counts) == N_PROBES


def test_intensity_filter_and_selection(chain):
    kept = read_frame(chain.run("intensity_filter")["kept"], kind="kept_probes")
    table = read_frame(chain.run("prepare_probes")["probes"], kind="probes")
    assert 0 < len(kept) <= len(table)
    assert set(kept.index) <= set(table.index)
    assert "probes pass intensity-based filtering" in chain.logs["intensity_filter"].read_text()
    summary = read_probe_summary(chain.run("probe_summary")[DONORS[0]]["summary"])
    assert summary is not None
    selection = read_frame(chain.run("select_probes")["selection"], kind="selection")
    genes = read_frame(chain.run("donor_genes")[DONORS[0]]["genes"], kind="genes")
    assert len(selection) == genes.shape[1] > 0


def test_label_samples(chain):
    for donor in DONORS:
        labels = read_frame(chain.run("label_samples")[donor]["labels"], kind="labels")
        samples = read_frame(chain.run("prepare_samples")[donor]["samples"], kind="samples")
        assert len(labels) == len(samples)
        assert (labels["label"] != 0).any()


# --------------------------------------------------------------------------- results


def test_regional_variant_matches_the_api(chain):
    files = chain.run("regional_variant")["default"]
    expected, counts = api.get_expression_data(DK, DK_INFO, donors=DONORS,
                                               data_dir=str(chain.data), return_counts=True)
    got = pd.read_csv(files["expression"], index_col=0)
    assert list(got.index) == list(expected.index)
    assert list(got.columns) == list(expected.columns)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=0, atol=1e-9)
    np.testing.assert_array_equal(pd.read_csv(files["counts"], index_col=0).to_numpy(),
                                  counts.to_numpy())
    meta = json.loads(Path(files["metadata"]).read_text())
    assert meta["synthetic"] is True and meta["shape"] == list(expected.shape)
    assert len(meta["input_checksums_sha256"]) == 2 * len(DONORS)
    assert Path(files["methods"]).read_text().startswith("WARNING")
    # genes.csv: the kept genes are the columns, and the API explains them alike
    genes = pd.read_csv(files["genes"], index_col=0)
    assert sorted(genes.index[genes["status"] == "kept"]) == sorted(expected.columns)
    explained = api.explain_genes(donors=DONORS, data_dir=str(chain.data))
    pd.testing.assert_series_equal(genes["status"], explained["status"], check_dtype=False)
    # explained once per probe selection (select_probes), written unchanged
    assert Path(files["genes"]).read_text() == explained.to_csv()
    assert meta["genes_by_status"]["kept"] == expected.shape[1]
    # regions.csv: the matrix's rows, named from the DK table, with the counts
    regions = pd.read_csv(files["regions"], index_col=0, keep_default_na=False)
    assert list(regions.index) == list(expected.index)
    assert regions.loc[73, "name"] == "right temporalpole"
    np.testing.assert_array_equal(regions["n_samples"], counts.sum(axis=1))
    # a second variant of the same branch
    zscored = pd.read_csv(chain.run("regional_variant")["zscored"]["expression"], index_col=0)
    np.testing.assert_allclose(
        zscored.to_numpy(),
        api.get_expression_data(DK, DK_INFO, donors=DONORS, data_dir=str(chain.data),
                                gene_norm="zscore").to_numpy(), rtol=0, atol=1e-9)


def test_donor_matrices_match_the_api(chain):
    files = chain.run("regional_variant")["default"]["donors"]
    expected = api.get_expression_data(DK, DK_INFO, donors=DONORS, data_dir=str(chain.data),
                                       return_donors=True)
    for donor, path in zip(DONORS, files, strict=True):
        got = pd.read_csv(path, index_col=0)
        np.testing.assert_allclose(got.to_numpy(), expected[donor].to_numpy(), rtol=0,
                                   atol=1e-9)


def test_sweep_batch_equals_the_named_variants(chain):
    from abagen_core.outputs import sweep

    batch = chain.run("regional_batch")
    assert [name for name, _ in sweep.iter_batch(batch["batch"])] == list(chain.plan.variants)
    for variant, files in chain.run("regional_variant").items():
        named = pd.read_parquet(files["parquet"])
        swept = sweep.read_batch_variant(batch["batch"], variant)
        pd.testing.assert_frame_equal(swept, named, check_exact=True, check_names=False)
    index = pd.read_csv(batch["index"], index_col=0)
    assert list(index.index) == sorted(chain.plan.variants)
    assert set(index["batch"]) == {"batch-0123456789.parquet"}


def test_qc_figures_and_robustness(chain):
    files = chain.run("regional_variant")["default"]
    for name, path in files.items():
        if name.startswith("qc_"):
            assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    files = chain.run("robustness_summary")
    variants = pd.read_csv(files["variants"], index_col=0)
    assert set(variants.index) == {"default", "zscored"}
    assert Path(files["fig_correlations"]).stat().st_size > 0


def test_samples_in_mask_matches_the_api(chain):
    files = chain.run("samples_in_mask")
    expected, _ = api.get_samples_in_mask(None, donors=DONORS, data_dir=str(chain.data))
    got = pd.read_csv(files["expression"], index_col=0)
    assert list(got.index) == list(expected.index)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=0, atol=1e-9)
    coords = pd.read_csv(files["coordinates"], index_col=0)
    assert list(coords.columns) == ["donor", "mni_x", "mni_y", "mni_z"]
    assert json.loads(Path(files["metadata"]).read_text())["target"] == "samples_in_mask"


def test_interpolated_map_matches_the_api(chain):
    target = chain.map_target()
    gene = target.genes[0]
    image = nib.load(chain.run("interpolated_map")["image"])
    expected = api.get_interpolated_map([gene], str(chain.mask), n_neighbors=4, donors=DONORS,
                                        lr_mirror=None, data_dir=str(chain.data))[gene]
    np.testing.assert_allclose(image.get_fdata(), expected.get_fdata(), rtol=0, atol=1e-9)
    meta = json.loads(Path(chain.run("map_metadata")["metadata"]).read_text())
    assert meta["genes"] == [gene] and meta["files"] == [f"{gene}.nii.gz"]
    assert meta["synthetic"] is True


# --------------------------------------------------------------------------- logs


def test_a_failing_script_writes_its_traceback_to_its_log(tmp_path, capsys):
    log = tmp_path / "logs" / "prepare_probes.log"
    with pytest.raises(FileNotFoundError):
        run_script("prepare_probes", log, input={"probes": str(tmp_path / "missing.csv")},
                   output={"probes": str(tmp_path / "probes.parquet")},
                   params={"reannotated": True})
    text = log.read_text()
    assert "ERROR job failed: FileNotFoundError" in text
    assert "Traceback (most recent call last)" in text
    assert "missing.csv" in text
    assert "prepare_probes.py" in text  # the frame of the script itself
    assert not (tmp_path / "probes.parquet").exists()


def test_job_log_captures_warnings_and_restores_stderr(tmp_path):
    import logging
    import sys
    import warnings

    from abagen_core.workflow.joblog import job_log

    before, shown = sys.stderr, warnings.showwarning
    with job_log(tmp_path / "x.log") as log:
        log.info("progress %d", 1)
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("careful", UserWarning, stacklevel=1)
        print("from a library", file=sys.stderr)
    assert sys.stderr is before and warnings.showwarning is shown
    assert not logging.getLogger("abagen_core").handlers
    text = (tmp_path / "x.log").read_text()
    assert "INFO progress 1" in text and "UserWarning: careful" in text and "from a library" in text


@pytest.mark.parametrize("variants", [
    # mixed groups: every donor's normalised table held per group
    {"a": {},
     "b": {"gene_norm": "zscore", "missing": "centroids"},
     "c": {"gene_norm": "zscore", "region_agg": "samples", "agg_metric": "median"},
     "d": {"norm_matched": False, "norm_structures": True, "missing": "interpolate"},
     "e": {"gene_norm": None, "agg_metric": "median"},
     # the same computation as 'e' (computed once, see _same_computation)
     "f": {"gene_norm": None, "norm_structures": True, "agg_metric": "median"},
     "g": {"gene_norm": None, "norm_matched": False, "agg_metric": "median"},
     # not the same: unmatched samples may fill empty regions
     "h": {"gene_norm": None, "norm_matched": False, "missing": "centroids"}},
    # regional rows only: donor by donor, genes read once
    {"a": {}, "b": {"gene_norm": "zscore"}, "c": {"gene_norm": "zscore", "agg_metric": "median"},
     "d": {"gene_norm": "minmax", "missing": "centroids"}},
], ids=["mixed", "regional-rows"])
def test_branch_variants_equal_single_api_runs(chain, tmp_path, variants):
    """Variants sharing genes and labels computed in one batch (shared
    normalizations) equal one API call each, for options of every later stage."""
    from abagen_core.options import check_options
    from abagen_core.outputs import branch, sweep

    options = {k: check_options(dict(v, donors=DONORS)) for k, v in variants.items()}
    inputs = chain._branch()
    data = branch.read_branch(DONORS, genes=inputs["genes"], samples=inputs["samples"],
                              labels=inputs["labels"])
    dest = tmp_path / "batch.parquet"
    names = branch.write_sweep_batch(data, branch.AtlasTrees(chain.atlas_description(), DONORS),
                                     options, str(dest))
    assert sorted(names) == sorted(variants)
    for name, opts in variants.items():
        expected = api.get_expression_data(DK, DK_INFO, donors=DONORS,
                                           data_dir=str(chain.data), **opts)
        got = sweep.read_batch_variant(dest, name)
        assert list(got.index) == list(expected.index)
        assert list(got.columns) == list(expected.columns)
        np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=0, atol=1e-9,
                                   err_msg=name)


def test_same_computation_sets_aside_only_unused_options():
    """Variants share one computation only where an option cannot change the numbers."""
    from abagen_core.options import check_options
    from abagen_core.stages.regional import _same_computation

    variants = {
        "a": {"gene_norm": None},
        "b": {"gene_norm": None, "norm_structures": True},            # unused without a norm
        "c": {"gene_norm": None, "norm_matched": False},              # unused without missing
        "d": {"gene_norm": None, "norm_matched": False, "missing": "centroids"},
        "e": {"gene_norm": None, "missing": "centroids"},
        "f": {"gene_norm": None, "norm_structures": True, "missing": "centroids"},
        "g": {"gene_norm": "srs", "norm_structures": True},
        "h": {"gene_norm": "srs", "norm_matched": False},
        "i": {"gene_norm": None, "agg_metric": "median"},
    }
    same = _same_computation({k: check_options(v) for k, v in variants.items()})
    assert same == {"a": "a", "b": "a", "c": "a", "d": "d", "e": "e", "f": "e",
                    "g": "g", "h": "h", "i": "i"}


def test_unnormalized_branch_equals_api_and_spills_once(chain, tmp_path, monkeypatch):
    """A sweep batch's branch (genes before sample normalization): each
    sample_norm applied in the job equals the API bit for bit; a group that
    reads the genes once per gene normalization normalises them once, keeps
    them in a temporary folder and removes it."""
    from abagen_core.options import check_options
    from abagen_core.outputs import branch, sweep

    variants = {"a": {},
                "b": {"sample_norm": "zscore", "gene_norm": "zscore", "region_agg": "samples"},
                "c": {"sample_norm": "zscore"},
                "d": {"sample_norm": "zscore", "gene_norm": "minmax", "agg_metric": "median"},
                "e": {"sample_norm": None, "gene_norm": "zscore"}}
    options = {k: check_options(dict(v, donors=DONORS)) for k, v in variants.items()}
    saved = []
    real_save = np.save
    monkeypatch.setattr(np, "save", lambda path, *a, **k: (saved.append(path),
                                                          real_save(path, *a, **k))[1])
    inputs = chain._branch()
    genes = [chain.run("unnormalized_genes")[d]["genes"] for d in DONORS]
    data = branch.read_branch(DONORS, genes=genes, samples=inputs["samples"],
                              labels=inputs["labels"], unnormalized=True)
    dest = tmp_path / "batch.parquet"
    branch.write_sweep_batch(data, branch.AtlasTrees(chain.atlas_description(), DONORS),
                             options, str(dest))
    # only the 'zscore' group (three gene normalizations, pooled samples) spills
    assert len(saved) == len(DONORS)
    assert not any(Path(p).parent.exists() for p in saved)
    for name, opts in variants.items():
        expected = api.get_expression_data(DK, DK_INFO, donors=DONORS,
                                           data_dir=str(chain.data), **opts)
        got = sweep.read_batch_variant(dest, name)
        pd.testing.assert_frame_equal(got, expected, check_exact=True, check_names=False,
                                      obj=name)


@pytest.mark.parametrize("chunk_mb", [0.005, 0.02, 0.05])
def test_batch_in_chunks_of_genes_is_exact(chain, tmp_path, chunk_mb):
    """A sweep batch computed a chunk of genes at a time (to bound its
    memory) gives every variant the same matrix, bit for bit, as the batch
    in one piece, for options of every stage after sample normalization;
    the file has one row group per variant and chunk; the temporary tables
    are removed."""
    import pyarrow.parquet as pq

    from abagen_core.options import check_options
    from abagen_core.outputs import branch, sweep

    variants = {"a": {},
                "b": {"sample_norm": "zscore", "gene_norm": "zscore", "region_agg": "samples"},
                "c": {"sample_norm": "zscore", "missing": "centroids"},
                "d": {"sample_norm": None, "gene_norm": "minmax", "agg_metric": "median",
                      "norm_structures": True, "missing": "interpolate"},
                "e": {"gene_norm": "scaled_sigmoid_quantiles", "norm_matched": False,
                      "region_agg": "samples", "agg_metric": "median"},
                "f": {"sample_norm": "robust_sigmoid", "gene_norm": "robust_sigmoid"}}
    options = {k: check_options(dict(v, donors=DONORS)) for k, v in variants.items()}
    inputs = chain._branch()
    genes = [chain.run("unnormalized_genes")[d]["genes"] for d in DONORS]

    def batch(dest, chunk):
        data = branch.read_branch(DONORS, genes=genes, samples=inputs["samples"],
                                  labels=inputs["labels"], unnormalized=True)
        return branch.write_sweep_batch(
            data, branch.AtlasTrees(chain.atlas_description(), DONORS), options, str(dest),
            chunk_mb=chunk)

    spills = []
    real_tmp = branch.tempfile.TemporaryDirectory

    def tracked(*args, **kwargs):
        folder = real_tmp(*args, **kwargs)
        spills.append(folder.name)
        return folder

    whole, parts = tmp_path / "whole.parquet", tmp_path / "parts.parquet"
    batch(whole, None)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(branch.tempfile, "TemporaryDirectory", tracked)
        assert sorted(batch(parts, chunk_mb)) == sorted(variants)
    n_genes = branch.frame_shape(genes[0])[1]
    n_samples = sum(len(read_frame(p, kind="samples")) for p in inputs["samples"])
    n_chunks = len(branch.gene_chunks(n_genes, n_samples, chunk_mb))
    assert n_chunks >= 3
    assert pq.ParquetFile(parts).num_row_groups == n_chunks * len(variants)
    assert spills and not any(Path(p).exists() for p in spills)
    for name in variants:
        pd.testing.assert_frame_equal(sweep.read_batch_variant(parts, name),
                                      sweep.read_batch_variant(whole, name),
                                      check_exact=True, obj=name)
    assert [n for n, _ in sweep.iter_batch(parts)] == [n for n, _ in sweep.iter_batch(whole)]
    expected = api.get_expression_data(DK, DK_INFO, donors=DONORS, data_dir=str(chain.data),
                                       **variants["c"])
    pd.testing.assert_frame_equal(sweep.read_batch_variant(parts, "c"), expected,
                                  check_exact=True, check_names=False)


def test_gene_chunks_cover_the_genes_evenly():
    from abagen_core.outputs.branch import MIN_CHUNK_GENES, gene_chunks

    assert gene_chunks(10, 5, None) == [slice(0, 10)]
    assert gene_chunks(0, 5, 1) == [slice(0, 0)]
    assert gene_chunks(1, 10**9, 1) == [slice(0, 1)]
    for n_genes, n_samples, mb in [(15747, 3702, 64), (100, 10**6, 1), (7, 10**9, 1)]:
        chunks = gene_chunks(n_genes, n_samples, mb)
        assert chunks[0].start == 0 and chunks[-1].stop == n_genes
        assert all(a.stop == b.start for a, b in zip(chunks, chunks[1:], strict=False))
        widths = [c.stop - c.start for c in chunks]
        assert min(widths) >= MIN_CHUNK_GENES and max(widths) - min(widths) <= 1
        # each chunk fits the budget unless the narrowest chunk does not
        assert (max(widths) <= MIN_CHUNK_GENES + 1
                or max(widths) * n_samples * 8 <= mb * 2**20 * 1.01)
    with pytest.raises(ValueError, match="positive"):
        gene_chunks(10, 5, 0)
