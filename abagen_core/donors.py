"""The six AHBA donors: numbers, UIDs and validation of user donor lists."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from abagen_core.utils import data_path

__all__ = ["DONORS", "UID_TO_DONOR", "RNASEQ_DONORS", "check_donors", "donor_info"]

#: donor number -> Allen Institute UID, in abagen's canonical order
DONORS: dict[str, str] = {
    "9861": "H0351.2001",
    "10021": "H0351.2002",
    "12876": "H0351.1009",
    "14380": "H0351.1012",
    "15496": "H0351.1015",
    "15697": "H0351.1016",
}
UID_TO_DONOR: dict[str, str] = {uid: num for num, uid in DONORS.items()}
#: the two donors with RNA-seq data in the AHBA
RNASEQ_DONORS: tuple[str, ...] = ("9861", "10021")


def check_donors(donors: str | int | Iterable[str | int] = "all") -> list[str]:
    """Normalise a donor specification to a list of donor numbers.

    Parameters
    ----------
    donors : 'all', str, int or list of those, default='all'
        Donor numbers (``9861``, ``'10021'``) or UIDs (``'H0351.2001'``).

    Returns
    -------
    donors : list of str
        Donor numbers, in the order given (duplicates removed); ``'all'``
        gives the canonical order.

    Raises
    ------
    ValueError
        If a donor is not one of the six AHBA donors.

    Examples
    --------
    >>> check_donors(['H0351.2001', 10021])
    ['9861', '10021']
    """
    if isinstance(donors, str | int):
        donors = [donors]
    donors = list(donors)
    if "all" in donors:
        return list(DONORS)
    out: list[str] = []
    for donor in donors:
        key = str(donor)
        key = UID_TO_DONOR.get(key, key)
        if key not in DONORS:
            valid = sorted(DONORS) + sorted(UID_TO_DONOR)
            raise ValueError(
                f"Invalid donor {donor!r}. Donors must be 'all' or among {valid} "
                "(donor numbers or Allen UIDs)."
            )
        if key not in out:
            out.append(key)
    return out


def donor_info() -> pd.DataFrame:
    """Demographics of the six donors (bundled ``donor_info.csv``).

    Returns
    -------
    info : pandas.DataFrame of shape (6, 7)
        Columns ``donor`` (UID), ``uid`` (donor number), ``age``, ``sex``,
        ``ethnicity``, ``medical_conditions``, ``post_mortem_interval_hours``.
    """
    return pd.read_csv(data_path("donor_info.csv"))
