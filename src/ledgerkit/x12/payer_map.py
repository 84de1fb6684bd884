"""Payer maps: name the ledger's payer for remits whose 835 payer id is missing or
different from the id the ledger uses.

Real files often name the payer only in ``N1*PR`` (no N103/N104, no REF*2U), or
give an id (a CMS plan id, a tax id) that is not the practice's own payer id. A
payer map says, per file payer, which ledger payer it is; keys are tried first
against the file's payer id (N104, else REF*2U), then against its payer name
(N102, compared without case and with runs of spaces collapsed).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit.errors import LedgerError
from ledgerkit.x12.remittances import TABLE_NAMES, Remittances

__all__ = ["PayerMap", "as_payer_map", "read_payer_map", "apply_payer_map"]


def _name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


class PayerMap:
    """File payer (id or name) -> the ledger's payer id.

    Parameters
    ----------
    mapping : Mapping[str, str]
        Keys are payer ids or payer names as 835 files give them; values are
        the ledger's payer ids.

    Examples
    --------
    >>> m = PayerMap({"ACME HEALTH PLAN": "P01", "87726": "P02"})
    >>> m.lookup("99999", "Acme  health plan"), m.lookup("87726", None), m.lookup(None, "x")
    ('P01', 'P02', None)
    """

    def __init__(self, mapping: Mapping[str, str]):
        if not isinstance(mapping, Mapping):
            raise LedgerError(
                f"payer_map: expected a mapping of payer id or name to ledger payer id, "
                f"got {type(mapping).__name__}"
            )
        self.by_id: dict[str, str] = {}
        self.by_name: dict[str, str] = {}
        for key, value in mapping.items():
            if not isinstance(key, str) or not key.strip():
                raise LedgerError(f"payer_map: key {key!r} is not a non-empty string")
            if not isinstance(value, str) or not value.strip():
                raise LedgerError(
                    f"payer_map[{key!r}]: the ledger payer id must be a non-empty string, "
                    f"got {value!r}"
                )
            self.by_id[key.strip()] = value.strip()
            name = _name_key(key)
            if self.by_name.setdefault(name, value.strip()) != value.strip():
                raise LedgerError(
                    f"payer_map: keys that differ only in case or spacing ({key!r}) map to "
                    "different payers"
                )

    def __len__(self) -> int:
        return len(self.by_id)

    def __repr__(self) -> str:
        return f"PayerMap({len(self)} payers)"

    def lookup(self, payer_id: str | None, payer_name: str | None) -> str | None:
        """The ledger payer id for a file payer, or None when the map has neither key."""
        if payer_id is not None and payer_id.strip() in self.by_id:
            return self.by_id[payer_id.strip()]
        if payer_name is not None:
            return self.by_name.get(_name_key(payer_name))
        return None


def as_payer_map(payer_map) -> PayerMap | None:
    """``payer_map`` as a :class:`PayerMap`: None, a PayerMap, a mapping, or the path
    of a CSV or JSON file (see :func:`read_payer_map`).

    Examples
    --------
    >>> as_payer_map({"ACME": "P01"})
    PayerMap(1 payers)
    >>> as_payer_map(None) is None
    True
    """
    if payer_map is None or isinstance(payer_map, PayerMap):
        return payer_map
    if isinstance(payer_map, (str, Path)):
        return read_payer_map(payer_map)
    return PayerMap(payer_map)


def read_payer_map(path) -> PayerMap:
    """Read a payer map file.

    A ``.json`` file holds one object ``{"file payer id or name": "ledger payer id"}``.
    Any other file is CSV with a header and two columns, ``payer`` (the file's
    payer id or name) and ``payer_id`` (the ledger's).

    Raises
    ------
    LedgerError
        The file is missing or unreadable, or a row lacks either column (the
        message names the file and the line).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "payers.csv"
    >>> _ = p.write_text("payer,payer_id\\nACME HEALTH PLAN,P01\\n")
    >>> read_payer_map(p).lookup(None, "acme health plan")
    'P01'
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise LedgerError(f"payer map {path}: cannot read it ({exc.__class__.__name__})") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LedgerError(f"payer map {path}: not valid JSON (line {exc.lineno})") from None
        return PayerMap(data)
    rows = csv.DictReader(text.splitlines())
    if rows.fieldnames is None or not {"payer", "payer_id"} <= set(rows.fieldnames):
        raise LedgerError(f"payer map {path}: the header must name columns 'payer' and 'payer_id'")
    mapping = {}
    for line, row in enumerate(rows, start=2):
        key, value = (row.get("payer") or "").strip(), (row.get("payer_id") or "").strip()
        if not key or not value:
            raise LedgerError(
                f"payer map {path}, line {line}: 'payer' and 'payer_id' are required"
            )
        if mapping.setdefault(key, value) != value:
            raise LedgerError(f"payer map {path}, line {line}: this payer is mapped twice")
    return PayerMap(mapping)


def apply_payer_map(remittances, payer_map):
    """Remittances whose transactions carry the ledger's payer id.

    Each transaction whose payer id or name is a key of the map gets the mapped
    ``payer_id``; the others are unchanged (a payer the map does not name is
    posted, or flagged ``payer_not_in_coverage``, as without a map).

    Parameters
    ----------
    remittances : Remittances
    payer_map : PayerMap, mapping, path or None

    Returns
    -------
    Remittances
        A new object (the input is unchanged); the same object when the map is None.

    Examples
    --------
    >>> from ledgerkit.x12 import read_835
    >>> r = read_835(b"ST*835*1~BPR*I*10*C*CHK************20250101~N1*PR*ACME~"
    ...              b"CLP*E1*1*10*10~SE*5*1~")
    >>> r.transactions["payer_id"].to_pylist()
    [None]
    >>> apply_payer_map(r, {"ACME": "P01"}).transactions["payer_id"].to_pylist()
    ['P01']
    """
    pm = as_payer_map(payer_map)
    if pm is None:
        return remittances
    tx = remittances.transactions
    ids = tx["payer_id"].to_pylist()
    names = tx["payer_name"].to_pylist()
    mapped = [pm.lookup(i, n) for i, n in zip(ids, names)]
    payer_id = pc.coalesce(pa.array(mapped, pa.string()), tx["payer_id"].combine_chunks())
    tx = tx.set_column(
        tx.schema.get_field_index("payer_id"), tx.schema.field("payer_id"), payer_id
    )
    tables = {**remittances.tables, "transactions": tx}
    return Remittances(*(tables[t] for t in TABLE_NAMES), skipped=remittances.skipped)
