"""Synthetic ledgers' claims as X12 837P files (what the practice would have sent)."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow.compute as pc

from ledgerkit.x12.write_claims import write_837

__all__ = ["write_837s"]


def write_837s(ledger, folder, *, claims_per_file: int = 10_000, **options) -> list[Path]:
    """Write ``ledger``'s insured encounters as 837P files ``claims_0001.837``, ...

    One claim per encounter with a primary payer (self-pay encounters are not
    claims), to that payer, its secondary and tertiary as other coverage
    (see :func:`ledgerkit.x12.write_837`); ``read_837`` of the folder and
    :meth:`ledgerkit.Ledger.from_837` give back the same encounters,
    procedures and charges. Institutional (837I) claims are not written: the
    synthetic ledgers hold professional services only.

    Parameters
    ----------
    ledger : Ledger
    folder : str or os.PathLike
        Created if missing; files of the same names are overwritten.
    claims_per_file : int
        At most this many claims per file (one interchange each, control
        numbers 1, 2, ...).
    **options
        ``sender``, ``receiver``, ``created`` as for ``write_837``.

    Returns
    -------
    list of pathlib.Path
        The files written, in order.

    Examples
    --------
    >>> import tempfile
    >>> import ledgerkit as lk
    >>> ledger = lk.synth.generate(30, seed=4)
    >>> paths = lk.synth.write_837s(ledger, tempfile.mkdtemp(), claims_per_file=10)
    >>> [p.name for p in paths][:2]
    ['claims_0001.837', 'claims_0002.837']
    >>> back = lk.Ledger.from_837(lk.read_837(paths[0].parent))
    >>> back.encounters.num_rows == sum(ledger.encounters["payer1_id"].is_valid().to_pylist())
    True
    """
    if claims_per_file < 1:
        raise ValueError(f"claims_per_file must be at least 1, got {claims_per_file!r}")
    if "control" in options:
        raise TypeError("write_837s numbers its files' interchanges itself (no 'control')")
    folder = Path(os.fspath(folder))
    folder.mkdir(parents=True, exist_ok=True)
    insured = pc.filter(
        ledger.encounters["encounter_id"], pc.is_valid(ledger.encounters["payer1_id"])
    ).to_pylist()
    paths = []
    for n, start in enumerate(range(0, len(insured), claims_per_file), start=1):
        ids = insured[start : start + claims_per_file]
        paths.append(write_837(ledger, folder / f"claims_{n:04d}.837", ids, control=n, **options))
    return paths
