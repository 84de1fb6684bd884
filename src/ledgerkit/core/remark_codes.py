"""Remark codes (RARC): short descriptions for people reading a denial.

Packaged as ``data/rarc_catalog.csv`` (a common subset, described in our own
words, not the official X12 text). Unknown codes have no description.
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

__all__ = ["rarc_description"]


@cache
def _descriptions() -> dict:
    with resources.files("ledgerkit.core").joinpath("data/rarc_catalog.csv").open() as f:
        return {row["rarc"].strip().upper(): row["description"] for row in csv.DictReader(f)}


def rarc_description(code) -> str | None:
    """A remark code's description, or ``None`` when the catalogue lacks it.

    Examples
    --------
    >>> rarc_description("n54")
    'The claim was sent to the wrong payer or plan'
    >>> rarc_description("N9999") is None
    True
    """
    if code is None:
        return None
    return _descriptions().get(str(code).strip().upper())
