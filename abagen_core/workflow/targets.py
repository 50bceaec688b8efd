"""What the workflow builds and from which files: the plan turned into paths.

:class:`Targets` holds everything ``workflow/rules/common.smk`` used to
compute itself: the upstream key of every cached file, the input files of
each rule, job priorities, the QC variants and the final outputs. Its
methods take wildcard values as keyword arguments and return paths built
from the templates of :mod:`abagen_core.workflow.paths`, so the Snakefile
only wires them to rules (and they are tested like the rest of the library).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from abagen_core.datasets.fetch import find_donor_files
from abagen_core.donors import RNASEQ_DONORS
from abagen_core.workflow import paths
from abagen_core.workflow.batches import Batch, plan_batches, swept_variants
from abagen_core.workflow.plan import AtlasSpec, MaskTarget, Plan

__all__ = ["Targets", "PROBE_CHAIN_PRIORITY", "AFTER_SELECTION_PRIORITY", "FINISH_PRIORITY",
           "RNASEQ_DONORS", "QC_FIGURES", "ROBUSTNESS_TABLES", "ROBUSTNESS_FIGURES",
           "upstream_keys", "qc_variants", "convert_priority", "donors_in_data_dir"]

# Scheduling (Snakemake runs the highest priority first among ready jobs, then
# the one with the largest inputs): conversions first, largest first
# (convert_priority); then the atlas-independent chain up to probe selection,
# a gather every atlas waits for, and labelling (cheap; it fills the second
# core while the one-job gathers run); the per-donor genes below them.
# Normalization and the per-variant gathers rank above the genes: a variant is
# finished as soon as its inputs exist, depth first, so that in a sweep the set
# of ready jobs stays small (Snakemake's scheduler re-reads every input of
# every ready job at each step).
#: prepare_probes ... select_probes, label_samples
PROBE_CHAIN_PRIORITY = 2
#: donor_genes
AFTER_SELECTION_PRIORITY = 1
#: normalize_donor, combine_donors, donor_expression
FINISH_PRIORITY = PROBE_CHAIN_PRIORITY

QC_FIGURES = ("counts", "coverage_map", "gene_map", "donor_agreement")
ROBUSTNESS_TABLES = ("variants", "genes", "decisions", "decision_values")
ROBUSTNESS_FIGURES = ("correlations", "decisions", "gene_spread")

#: stage -> template of its cached file (per donor, or one per key)
_STAGE_FILES = {
    "samples": paths.SAMPLES,
    "ibf": paths.KEPT,
    "psummary": paths.SUMMARY,
    "probes": paths.SELECTION,
    "genes": paths.GENES,
    "labels": paths.LABELS,
}


def upstream_keys(plan: Plan) -> dict[str, dict[str, dict[str, str]]]:
    """The keys of every stage that one stage key depends on.

    Parameters
    ----------
    plan : Plan

    Returns
    -------
    upstream : dict
        ``upstream[stage][key][other_stage]`` is the key of `other_stage`
        whose files the files of (`stage`, `key`) are made from; the
        variants first, the sweep batches' genes (``Plan.unnormalized``),
        then the ``samples_in_mask`` and ``interpolated_maps`` entries.
    """
    out: dict[str, dict[str, dict[str, str]]] = {}
    for keys in plan.keys.values():
        for stage, key in keys.items():
            out.setdefault(stage, {})[key] = keys
    # the genes of the sweep batches (before sample normalization) come from
    # the probe selection of the variants they serve
    for probes_key, key in plan.unnormalized.items():
        out["genes"].setdefault(key, dict(out["probes"][probes_key], genes=key))
    for target in [*plan.samples_in_mask.values(), *plan.interpolated_maps.values()]:
        for stage, key in target.keys.items():
            out.setdefault(stage, {}).setdefault(key, target.keys)
    return out


def qc_variants(plan: Plan, config: Mapping[str, Any]) -> list[str]:
    """Variants with a result folder and QC figures (every one but the swept).

    Swept variants (``sweep``) go to compact batch files; with
    ``qc.sweep_figures`` they are treated as named variants (a folder and
    figures each, one job each).

    Parameters
    ----------
    plan : Plan
    config : mapping
        The validated workflow config.

    Returns
    -------
    variants : list of str
    """
    swept = set(swept_variants(plan, config))
    return [v for v in plan.variants if v not in swept]


def convert_priority(size_bytes: int) -> int:
    """Priority of a conversion: above every other rule, larger donors first.

    The conversions are the run's longest jobs; started largest first, they
    end close together instead of leaving the largest one alone at the end.

    Parameters
    ----------
    size_bytes : int
        Size of the donor's expression CSV (0 when not there yet).

    Returns
    -------
    priority : int
        ``PROBE_CHAIN_PRIORITY + 1`` plus the size in MiB.
    """
    return PROBE_CHAIN_PRIORITY + 1 + (int(size_bytes) >> 20)


def donors_in_data_dir(data_dir: str | None, donors: list[str]) -> dict[str, dict[str, str]]:
    """Donors whose five raw CSVs are in `data_dir` (converted from there, only read).

    Parameters
    ----------
    data_dir : str or None
        The data folder (None: synthetic data, nothing is there).
    donors : list of str

    Returns
    -------
    found : dict
        donor -> {file key: path}, for the donors found.
    """
    if data_dir is None:
        return {}
    found = {}
    for donor in donors:
        try:
            found[donor] = find_donor_files(data_dir, [donor], download=False)[donor]
        except (FileNotFoundError, ValueError):
            pass
    return found


def _atlas_files(spec: AtlasSpec, donor: str) -> list[str]:
    files = spec.donor_files(donor)
    if spec.info:
        files = files + [spec.info]
    if spec.geometry:
        files = files + list(spec.geometry)
    return files


@dataclass
class Targets:
    """The plan's files: what each rule reads and what the run must build.

    In the methods, `atlas` is a key of the config's ``atlases``, `variant`
    a key of the plan's ``variants``, `key` a stage key (the rule's stage
    unless said otherwise) and `donor` a donor number.

    Parameters
    ----------
    plan : Plan
    config : mapping
        The validated workflow config (``outputs``, ``qc`` are read).
    raw_in_data_dir : mapping, optional
        donor -> {file key: path} for donors whose raw CSVs are read where
        they are (``data_dir``); the others come from ``resources/raw/``.
    """

    plan: Plan
    config: Mapping[str, Any]
    raw_in_data_dir: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.upstream = upstream_keys(self.plan)
        self.rnaseq_donors = [d for d in RNASEQ_DONORS if d in self.plan.donors]
        self.qc_enabled = bool(self.config["qc"]["enabled"])
        #: variants with a result folder of their own (a regional job each)
        self.named = qc_variants(self.plan, self.config)
        named = set(self.named)
        #: (atlas, batch id) -> Batch: the swept variants, one job per branch
        self.batches: dict[tuple[str, str], Batch] = plan_batches(
            self.plan, [v for v in self.plan.variants if v not in named])

    # ------------------------------------------------------------ helpers
    def upstream_key(self, stage: str, key: str, upstream_stage: str) -> str:
        """Key of `upstream_stage` behind the files of (`stage`, `key`).

        Parameters
        ----------
        stage : str
            Stage name of :data:`abagen_core.workflow.plan.STAGES`.
        key : str
            The stage key (of `stage`'s options).
        upstream_stage : str
            A stage `stage` depends on (same names).

        Returns
        -------
        key : str
            The stage key of `upstream_stage`.
        """
        return self.upstream[stage][key][upstream_stage]

    def stage_file(self, stage: str, key: str, **wildcards: str) -> str:
        """The cached file of (`stage`, `key`) for the given wildcards.

        Parameters
        ----------
        stage, key : str
            Stage name (:data:`abagen_core.workflow.plan.STAGES`) and stage key.
        **wildcards : str
            The other wildcards of the stage's template (``donor``, ``atlas``).

        Returns
        -------
        path : str
        """
        return paths.fill(_STAGE_FILES[stage], key=key, **wildcards)

    def upstream_file(self, stage: str, upstream_stage: str, *, key: str,
                      **wildcards: str) -> str:
        """The file of `upstream_stage` that the job (`stage`, `key`) reads.

        Parameters
        ----------
        stage, upstream_stage : str
            Stage names of :data:`abagen_core.workflow.plan.STAGES`.
        key : str
            The job's stage key.
        **wildcards
            The job's other wildcards (donor, atlas) that the upstream
            template takes.

        Returns
        -------
        path : str
        """
        template = _STAGE_FILES[upstream_stage]
        names = set(paths.wildcard_names(template))
        given = {k: v for k, v in wildcards.items() if k in names}
        return paths.fill(template, key=self.upstream_key(stage, key, upstream_stage), **given)

    def probe_table(self, stage: str, key: str) -> str:
        """The probe annotation table the stage's options ask for.

        Parameters
        ----------
        stage : str
            The stage whose options are read.
        key : str
            Its stage key.

        Returns
        -------
        path : str
            The reannotated or the original probe table (option ``reannotated``).
        """
        which = "reannotated" if self.plan.options_for(stage, key)["reannotated"] else "original"
        return paths.fill(paths.PROBES, which=which)

    def raw_file(self, donor: str, name: str) -> str:
        """A donor's raw CSV: in data_dir when it is there, else under resources/raw/.

        Parameters
        ----------
        donor : str
            Donor number.
        name : str
            File key of :data:`abagen_core.workflow.paths.RAW_NAMES`
            ('microarray', 'pacall', 'probes', 'annotation', 'ontology').

        Returns
        -------
        path : str
        """
        if donor in self.raw_in_data_dir:
            return str(self.raw_in_data_dir[donor][name])
        return paths.fill(paths.RAW, donor=donor, name=paths.RAW_NAMES[name])

    def raw_files(self, donor: str) -> dict[str, str]:
        """File key -> path of each of a donor's five raw CSVs.

        Parameters
        ----------
        donor : str
            Donor number.

        Returns
        -------
        files : dict of str -> str
            As :meth:`raw_file`, for every key of
            :data:`abagen_core.workflow.paths.RAW_NAMES`.
        """
        return {name: self.raw_file(donor, name) for name in paths.RAW_NAMES}

    def convert_priority(self, donor: str) -> int:
        """:func:`convert_priority` of a donor's expression CSV (0 MiB when absent).

        Parameters
        ----------
        donor : str
            Whose CSV is converted.

        Returns
        -------
        priority : int
        """
        try:
            size = os.path.getsize(self.raw_file(donor, "microarray"))
        except OSError:  # not downloaded / generated yet
            size = 0
        return convert_priority(size)

    def _checksums(self) -> list[str]:
        return [paths.fill(paths.CHECKSUM, donor=d, kind=kind)
                for d in self.plan.donors for kind in ("microarray", "pacall")]

    # ------------------------------------------------------------ rule inputs
    def sample_inputs(self, donor: str, key: str) -> dict[str, str]:
        """prepare_samples: raw tables, plus expression and probes for sim_threshold.

        Parameters
        ----------
        donor, key : str
            Donor number and the job's samples stage key.

        Returns
        -------
        files : dict of str -> str
            ``annotation``, ``ontology``, ``pacall``; ``microarray`` and
            ``probes`` with a ``sim_threshold``; ``t1`` for native atlases.
        """
        opts = self.plan.options_for("samples", key)
        files = {"annotation": paths.fill(paths.ANNOTATION, donor=donor),
                 "ontology": paths.fill(paths.ONTOLOGY, donor=donor)}
        if opts["sim_threshold"] is not None:
            files["microarray"] = paths.fill(paths.MICROARRAY, donor=donor)
            files["probes"] = self.probe_table("samples", key)
        if opts["native"]:
            files["t1"] = paths.fill(paths.T1, donor=donor)
        files["pacall"] = paths.fill(paths.PACALL, donor=donor)
        return files

    def filter_inputs(self, key: str) -> dict[str, Any]:
        """intensity_filter: every donor's PACall counts and the probe table.

        Parameters
        ----------
        key : str
            The job's ibf stage key.

        Returns
        -------
        files : dict
            ``summaries`` (list of str, one per donor) and ``probes`` (str).
        """
        skey = self.upstream_key("ibf", key, "samples")
        return {"summaries": [paths.fill(paths.PACALL_COUNTS, donor=d, key=skey)
                              for d in self.plan.donors],
                "probes": self.probe_table("ibf", key)}

    def probe_summary_inputs(self, key: str, donor: str) -> dict[str, str]:
        """probe_summary: the donor's matrix, samples and the probe table.

        Parameters
        ----------
        key, donor : str
            The job's psummary stage key, and its donor.

        Returns
        -------
        files : dict of str -> str
            ``microarray``, ``samples``, ``probes``.
        """
        return {"microarray": paths.fill(paths.MICROARRAY, donor=donor),
                "samples": self.upstream_file("psummary", "samples", key=key, donor=donor),
                "probes": self.probe_table("psummary", key)}

    def selection_inputs(self, key: str) -> dict[str, Any]:
        """select_probes: every donor's summary, the filter, RNA-seq when asked for.

        Parameters
        ----------
        key : str
            The job's probes stage key (its ``probe_selection`` says whether
            RNA-seq data are read).

        Returns
        -------
        files : dict
            ``summaries`` (list of str, one per donor), ``kept`` (str); for
            the genes' explanation (``genes.csv``) ``pacall`` (PACall counts
            per donor) and ``probe_table`` (the first donor's raw
            ``Probes.csv``); with ``probe_selection='rnaseq'`` also ``tpm``
            and ``rnaseq_annotation`` (lists of str, one per RNA-seq donor).
        """
        pkey = self.upstream_key("probes", key, "psummary")
        skey = self.upstream_key("probes", key, "samples")
        donors = self.plan.donors
        files: dict[str, Any] = {
            "summaries": [paths.fill(paths.SUMMARY, key=pkey, donor=d) for d in donors],
            "kept": self.upstream_file("probes", "ibf", key=key),
            "pacall": [paths.fill(paths.PACALL_COUNTS, donor=d, key=skey) for d in donors],
            "probe_table": self.raw_file(donors[0], "probes"),
        }
        if self.plan.options_for("probes", key)["probe_selection"] == "rnaseq":
            files["tpm"] = [paths.fill(paths.RNASEQ_TPM, donor=d) for d in self.rnaseq_donors]
            files["rnaseq_annotation"] = [paths.fill(paths.RNASEQ_ANNOTATION, donor=d)
                                          for d in self.rnaseq_donors]
        return files

    def genes_inputs(self, key: str) -> dict[str, Any]:
        """donor_genes: every donor's matrix and samples, the filter and the selection.

        Parameters
        ----------
        key : str
            Stage key of the genes job (one job makes every donor's table).

        Returns
        -------
        files : dict
            ``microarray``, ``samples`` (lists of str, one per donor), ``kept``,
            ``selection`` (str).
        """
        donors = self.plan.donors
        return {"microarray": [paths.fill(paths.MICROARRAY, donor=d) for d in donors],
                "samples": [self.upstream_file("genes", "samples", key=key, donor=d)
                            for d in donors],
                "kept": self.upstream_file("genes", "ibf", key=key),
                "selection": self.upstream_file("genes", "probes", key=key)}

    def atlas_files(self, atlas: str, donor: str) -> list[str]:
        """The image(s) labelling of `donor` depends on, the info table and geometry.

        Parameters
        ----------
        atlas, donor : str
            Atlas name and donor number.

        Returns
        -------
        files : list of str
        """
        return _atlas_files(self.plan.atlases[atlas], donor)

    def label_inputs(self, atlas: str, key: str) -> dict[str, Any]:
        """label_samples: the atlas files and every donor's samples.

        Parameters
        ----------
        atlas : str
            Atlas name.
        key : str
            The job's labels stage key (one job labels every donor).

        Returns
        -------
        files : dict
            ``atlas`` (list of str: every donor's images, the info table,
            geometry) and ``samples`` (list of str, one per donor).
        """
        return {"atlas": self._every_atlas_file(atlas),
                "samples": [self.upstream_file("labels", "samples", key=key, donor=d)
                            for d in self.plan.donors]}

    def _every_atlas_file(self, atlas: str) -> list[str]:
        """:meth:`atlas_files` of every donor, each file once (jobs covering all donors)."""
        files = [f for d in self.plan.donors for f in self.atlas_files(atlas, d)]
        return list(dict.fromkeys(files))

    def _branch_inputs(self, atlas: str, keys: Mapping[str, str]) -> dict[str, Any]:
        donors = self.plan.donors
        return {"genes": [paths.fill(paths.GENES, key=keys["genes"], donor=d) for d in donors],
                "samples": [paths.fill(paths.SAMPLES, key=keys["samples"], donor=d)
                            for d in donors],
                "labels": [paths.fill(paths.LABELS, atlas=atlas, key=keys["labels"], donor=d)
                           for d in donors],
                "atlas": self._every_atlas_file(atlas),
                "kept": paths.fill(paths.KEPT, key=keys["ibf"]),
                "checksums": self._checksums()}

    def variant_inputs(self, atlas: str, variant: str) -> dict[str, Any]:
        """regional_variant: the branch's per-donor files and what explains the genes.

        Parameters
        ----------
        atlas, variant : str
            Names of the atlas and of a named variant.

        Returns
        -------
        files : dict
            ``genes``, ``samples``, ``labels`` (lists of str, one per donor),
            ``atlas`` (list of str), ``kept`` (str), ``checksums`` (list of str,
            two per donor), and ``explained`` (str: ``genes.csv``'s table,
            made with the probe selection).
        """
        keys = self.plan.keys[atlas, variant]
        files = self._branch_inputs(atlas, keys)
        files["explained"] = paths.fill(paths.EXPLAINED, key=keys["probes"])
        return files

    def batch_inputs(self, atlas: str, batch: str) -> dict[str, Any]:
        """regional_batch: the branch's per-donor files.

        Parameters
        ----------
        atlas, batch : str
            Atlas name and batch id (:mod:`abagen_core.workflow.batches`).

        Returns
        -------
        files : dict
            ``genes``, ``samples``, ``labels``, ``atlas``, ``kept``,
            ``checksums`` as :meth:`variant_inputs`.
        """
        return self._branch_inputs(atlas, self.batches[atlas, batch].keys)

    def batch_variants(self, atlas: str, batch: str) -> dict[str, dict[str, Any]]:
        """Params of a regional_batch job: its variants' validated options.

        Parameters
        ----------
        atlas, batch : str

        Returns
        -------
        options : dict of str -> dict
            Variant name -> options, in plan order.
        """
        return {name: self.plan.variants[name]
                for name in self.batches[atlas, batch].variants}

    def batch_files(self, atlas: str) -> list[str]:
        """The sweep batch files of an atlas.

        Parameters
        ----------
        atlas : str

        Returns
        -------
        files : list of str
        """
        return [paths.fill(paths.SWEEP_BATCH, atlas=a, batch=b)
                for (a, b) in self.batches if a == atlas]

    def robustness_inputs(self, atlas: str) -> dict[str, list[str]]:
        """robustness_summary: every variant's matrix (folders and sweep batches).

        Parameters
        ----------
        atlas : str
            Atlas whose variants are compared.

        Returns
        -------
        files : dict
            ``expression`` (one ``expression.parquet`` per named variant) and
            ``batches`` (the sweep batch files).
        """
        return {"expression": [paths.fill(paths.RESULT, atlas=atlas, variant=v,
                                          file="expression.parquet") for v in self.named],
                "batches": self.batch_files(atlas)}

    def _cached_inputs(self, target: MaskTarget) -> dict[str, Any]:
        donors = self.plan.donors
        return {"genes": [paths.fill(paths.GENES, key=target.keys["genes"], donor=d)
                          for d in donors],
                "samples": [paths.fill(paths.SAMPLES, key=target.keys["samples"], donor=d)
                            for d in donors],
                "kept": paths.fill(paths.KEPT, key=target.keys["ibf"]),
                "checksums": self._checksums()}

    def samples_in_mask_inputs(self, name: str) -> dict[str, Any]:
        """samples_in_mask: per-donor genes and samples, probe list, checksums, mask.

        Parameters
        ----------
        name : str
            Entry name (a key of the config's ``samples_in_mask``).

        Returns
        -------
        files : dict
            ``genes``, ``samples`` (lists of str, one per donor), ``kept`` (str),
            ``checksums`` (list of str) and, with a mask, ``mask`` (list of str).
        """
        target = self.plan.samples_in_mask[name]
        files = self._cached_inputs(target)
        if target.mask is not None:
            files["mask"] = target.mask["files"]
        return files

    def map_samples_inputs(self, name: str) -> dict[str, Any]:
        """map_samples: per-donor genes and samples, probe list, checksums.

        Parameters
        ----------
        name : str
            An ``interpolated_maps`` entry.

        Returns
        -------
        files : dict
            ``genes``, ``samples`` (lists of str, one per donor), ``kept`` (str)
            and ``checksums`` (list of str).
        """
        return self._cached_inputs(self.plan.interpolated_maps[name])

    # ------------------------------------------------------------ rule params
    def atlas_description(self, atlas: str) -> dict[str, Any]:
        """The atlas as recorded in a result's metadata.

        Unlike :meth:`atlas_spec`, it lists the files of every donor.

        Parameters
        ----------
        atlas : str
            Atlas name.

        Returns
        -------
        description : dict
            ``name``, ``kind``, ``files`` (as in the plan), ``info``, ``geometry``
            (list of two str, or None) and ``space``.
        """
        spec = self.plan.atlases[atlas]
        return {"name": spec.name, "kind": spec.kind, "files": spec.files, "info": spec.info,
                "geometry": list(spec.geometry) if spec.geometry else None,
                "space": spec.space}

    def mask_target(self, section: str, name: str) -> dict[str, Any]:
        """Params of a samples_in_mask / interpolated_maps entry (rules in maps.smk).

        Parameters
        ----------
        section : {'samples_in_mask', 'interpolated_maps'}
        name : str
            The entry's name.

        Returns
        -------
        params : dict
            ``mask``, ``mask_files``, ``options``, ``genes`` (list) and
            ``n_neighbors``.
        """
        target = getattr(self.plan, section)[name]
        return {"mask": target.mask,
                "mask_files": target.mask["files"] if target.mask else [],
                "options": target.options, "genes": list(target.genes),
                "n_neighbors": target.n_neighbors}

    # ------------------------------------------------------------ final outputs
    def result_files(self, atlas: str, variant: str) -> list[str]:
        """The files of one result folder (and its donor matrices with save_donors).

        Parameters
        ----------
        atlas, variant : str
            The result folder's atlas and variant names.

        Returns
        -------
        files : list of str
        """
        outs = [paths.fill(paths.RESULT, atlas=atlas, variant=variant, file=f)
                for f in paths.RESULT_FILES]
        if self.config["outputs"]["save_donors"]:
            outs += [paths.fill(paths.DONOR_EXPRESSION, atlas=atlas, variant=variant, donor=d)
                     for d in self.plan.donors]
        if self.qc_enabled:
            outs += [paths.fill(paths.QC_FIGURE, atlas=atlas, variant=variant, figure=f)
                     for f in QC_FIGURES]
        return outs

    def map_files(self, name: str) -> list[str]:
        """The maps of an interpolated_maps entry: a NIfTI, or a GIFTI pair, per gene.

        Parameters
        ----------
        name : str
            The entry (a key of ``interpolated_maps``) whose maps are listed.

        Returns
        -------
        files : list of str
            One ``.nii.gz`` per gene for a volume mask; ``lh`` and ``rh``
            ``.func.gii`` per gene for a surface mask.
        """
        target = self.plan.interpolated_maps[name]
        if target.mask["kind"] == "volume":
            return [paths.fill(paths.MAP_VOLUME, name=name, gene=g) for g in target.genes]
        return [paths.fill(paths.MAP_SURFACE, name=name, gene=g, hemi=h)
                for g in target.genes for h in ("lh", "rh")]

    def mask_target_outputs(self) -> list[str]:
        """Every file of the samples_in_mask and interpolated_maps entries."""
        outs = [paths.fill(paths.MASK_RESULT, name=name, file=f)
                for name in self.plan.samples_in_mask for f in paths.MASK_RESULT_FILES]
        for name in self.plan.interpolated_maps:
            outs += self.map_files(name) + [paths.fill(paths.MAP_METADATA, name=name)]
        return outs

    def qc_outputs(self) -> list[str]:
        """Robustness files of every atlas, with several variants and QC on."""
        if not self.qc_enabled or len(self.plan.variants) < 2:
            return []
        outs = []
        for atlas in self.plan.atlases:
            outs += [paths.fill(paths.ROBUSTNESS, atlas=atlas, file=f"{t}.csv")
                     for t in ROBUSTNESS_TABLES]
            outs += [paths.fill(paths.ROBUSTNESS, atlas=atlas, file=f"{f}.png")
                     for f in ROBUSTNESS_FIGURES]
        return outs

    def sweep_outputs(self) -> list[str]:
        """The sweep index of every atlas with swept variants (it needs their batches)."""
        atlases = dict.fromkeys(a for a, _ in self.batches)
        return [paths.fill(paths.SWEEP_INDEX, atlas=a) for a in atlases]

    def final_outputs(self) -> list[str]:
        """Everything a run builds: results, sweeps, mask targets, robustness files."""
        outs = []
        for atlas in self.plan.atlases:
            for variant in self.named:
                outs += self.result_files(atlas, variant)
        return outs + self.sweep_outputs() + self.mask_target_outputs() + self.qc_outputs()
