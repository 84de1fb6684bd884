"""Read and check a contract table (CSV, Parquet, Arrow or a DataFrame) into ``Contracts``.

Every cell is checked here, so pricing never meets a bad row: a problem is a
``LedgerError`` naming the file, the row (1-based data row, the header not
counted: row 1 is the spreadsheet's second line) and the column.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa

from ledgerkit.contracts.cells import Cells
from ledgerkit.contracts.model import (
    COLUMNS,
    PAYER_CLASS_CODES,
    Contracts,
)
from ledgerkit.core.arrow import as_table, plain
from ledgerkit.core.schema import PAYER_CLASSES
from ledgerkit.errors import LedgerError

__all__ = ["load"]

COLUMN_NAMES = tuple(c.name for c in COLUMNS)
# Free-text columns a contract sheet often carries; read and kept, never used.
NOTE_COLUMNS = ("description", "note", "notes")
REQUIRED = ("code_from",)
OPEN_FROM = np.iinfo(np.int32).min
OPEN_TO = np.iinfo(np.int32).max
MAX_RATE_CENTS = 10**10  # $100M a unit: anything larger is a typo, and keeps products exact
MAX_PERCENT_OF_BASE = 1000.0


def load(path_or_table, *, schedules=None) -> Contracts:
    """Read a contract table and check every row.

    Parameters
    ----------
    path_or_table : str, path, pyarrow.Table, pandas or polars DataFrame
        A ``.csv`` file (every cell read as text, then checked), a
        ``.parquet`` file, or a table; columns as documented in
        :class:`Contracts` (only ``code_from`` is required; ``description``
        and ``note`` columns are allowed and ignored).
    schedules : dict, optional
        Base schedules by name, for ``percent_of_base`` rows: each a
        ``Contracts``, a path or a table of rate rows (no payer, no percent,
        no carve-out, no MPPR: a base schedule prices codes for everyone).

    Returns
    -------
    Contracts

    Raises
    ------
    LedgerError
        A bad cell (naming file, row and column), an unknown column, or two
        rows that tie under the precedence (naming both rows).

    Examples
    --------
    >>> import ledgerkit as lk
    >>> contracts = lk.contracts.load(
    ...     {"payer": ["BCBS1"], "code_from": ["99213"], "rate_cents_per_unit": [9000]}
    ... )
    >>> contracts.num_rows
    1
    >>> try:
    ...     lk.contracts.load({"code_from": ["99213"], "rate_cents_per_unit": [-5]})
    ... except lk.LedgerError as error:
    ...     print(str(error).split(": ", 1)[0])
    contract table, row 1 (1-based data row), column 'rate_cents_per_unit'
    """
    loaded = {}
    for name, schedule in (schedules or {}).items():
        if not isinstance(name, str) or not name.strip():
            raise LedgerError(
                f"schedules: a base schedule name must be a non-empty string, got {name!r}"
            )
        if not isinstance(schedule, Contracts):
            schedule = (
                load(schedule)
                if _is_path(schedule)
                else _parse(_read(schedule), f"base schedule {name!r}", {})
            )
        _check_base(schedule, name)
        loaded[name.strip()] = schedule
    table, source = _read(path_or_table), _source(path_or_table)
    return _parse(table, source, loaded)


# --------------------------------------------------------------------- reading
def _is_path(value) -> bool:
    return isinstance(value, str | os.PathLike)


def _source(value) -> str:
    return Path(value).name if _is_path(value) else "contract table"


def _read(value) -> pa.Table:
    if _is_path(value):
        path = Path(value)
        if not path.exists():
            raise LedgerError(f"contracts: no such file {path}")
        suffix = path.suffix.lower()
        if suffix == ".csv":
            import pyarrow.csv as pcsv

            names = (*COLUMN_NAMES, *NOTE_COLUMNS)
            try:
                return pcsv.read_csv(
                    path,
                    convert_options=pcsv.ConvertOptions(
                        column_types={name: pa.string() for name in names},
                        strings_can_be_null=True,
                    ),
                )
            except pa.ArrowInvalid as error:
                raise LedgerError(f"{path.name}: not a readable CSV file ({error})") from None
        if suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return pq.read_table(path)
        raise LedgerError(f"{path.name}: contracts are read from .csv or .parquet files")
    try:
        return as_table(value)
    except TypeError as error:
        raise LedgerError(f"contracts: {error}") from None


# --------------------------------------------------------------------- rows
def _parse(table: pa.Table, source: str, schedules: dict) -> Contracts:
    unknown = [c for c in table.column_names if c not in COLUMN_NAMES + NOTE_COLUMNS]
    if unknown:
        raise LedgerError(
            f"{source}: unknown column {unknown[0]!r}; the columns are {', '.join(COLUMN_NAMES)}"
        )
    for name in REQUIRED:
        if name not in table.column_names:
            raise LedgerError(f"{source}: missing column {name!r}")
    cells = Cells(table, source)
    n = cells.n

    payer = cells.text("payer")
    class_text = cells.text("payer_class", star_is_any=True)
    payer_class = np.full(n, -1, np.int8)
    for row, value in enumerate(class_text):
        if value is None:
            continue
        if value.lower() not in PAYER_CLASS_CODES:
            cells.fail(
                row, "payer_class", f"expected one of {', '.join(PAYER_CLASSES)}, got {value!r}"
            )
        if payer[row] is not None:
            cells.fail(row, "payer_class", "set payer or payer_class, not both")
        payer_class[row] = PAYER_CLASS_CODES[value.lower()]

    from_text = cells.text("code_from")
    for row, value in enumerate(from_text):
        if value is None:
            cells.fail(row, "code_from", "a code is required")
    to_text = [
        t if t is not None else f for f, t in zip(from_text, cells.text("code_to"), strict=True)
    ]
    code_from, code_to = cells.code("code_from", from_text), cells.code("code_to", to_text)
    for row in np.flatnonzero(code_to < code_from):
        cells.fail(
            int(row), "code_to", f"{to_text[row]!r} comes before code_from {from_text[row]!r}"
        )

    modifier = [None if m is None else m.upper() for m in cells.text("modifier", star_is_any=True)]
    pos = cells.text("place_of_service", star_is_any=True)
    day_from, day_to = cells.day("effective_from", OPEN_FROM), cells.day("effective_to", OPEN_TO)
    for row in np.flatnonzero(day_to < day_from):
        cells.fail(int(row), "effective_to", "the date comes before effective_from")

    rate = cells.whole("rate_cents_per_unit", MAX_RATE_CENTS)
    percent_bp = cells.basis_points("percent_of_base", 0.0, MAX_PERCENT_OF_BASE)
    base_text = cells.text("base_schedule")
    carve_out = cells.flag("carve_out", False)
    names = tuple(schedules)
    base = np.full(n, -1, np.int32)
    for row in range(n):
        has_rate, has_percent = rate[row] >= 0, percent_bp[row] >= 0
        if carve_out[row]:
            if has_rate or has_percent:
                column = "rate_cents_per_unit" if has_rate else "percent_of_base"
                cells.fail(row, column, "a carve-out is not paid: leave the rate empty")
            continue
        if has_rate and has_percent:
            cells.fail(
                row, "percent_of_base", "give rate_cents_per_unit or percent_of_base, not both"
            )
        if not has_rate and not has_percent:
            cells.fail(
                row, "rate_cents_per_unit", "a rate, a percent_of_base or carve_out is required"
            )
        if has_percent:
            name = base_text[row]
            if name is None:
                cells.fail(
                    row, "base_schedule", "percent_of_base needs the name of a base schedule"
                )
            if name not in schedules:
                known = ", ".join(repr(k) for k in names) or "none given"
                cells.fail(row, "base_schedule", f"no schedule {name!r} (schedules=: {known})")
            base[row] = names.index(name)
        elif base_text[row] is not None:
            cells.fail(row, "base_schedule", "a base schedule goes with percent_of_base")

    family_text = cells.text("mppr_family")
    mppr_bp = cells.basis_points("mppr_percent", -1e-9, 100.0)
    family_names = tuple(sorted({f for f in family_text if f is not None}))
    family = np.array([-1 if f is None else family_names.index(f) for f in family_text], np.int32)
    for row in range(n):
        if family[row] >= 0 and mppr_bp[row] < 0:
            cells.fail(
                row, "mppr_percent", "an MPPR family needs the percent its later lines are paid"
            )
        if family[row] < 0 and mppr_bp[row] >= 0:
            cells.fail(row, "mppr_family", "mppr_percent needs a family name")

    contracts = Contracts(
        table=_typed_table(table, payer, payer_class, from_text, to_text, modifier, pos,
                           day_from, day_to, rate, percent_bp, base_text, carve_out,
                           family_text, mppr_bp, cells.flag("cap_at_charge", True)),
        source=source,
        schedules=dict(schedules),
        payer=payer,
        payer_class=payer_class,
        code_from=code_from,
        code_to=code_to,
        modifier=modifier,
        place_of_service=pos,
        day_from=day_from,
        day_to=day_to,
        rate=rate,
        percent_bp=percent_bp,
        base=base,
        schedule_names=names,
        carve_out=carve_out,
        family=family,
        family_names=family_names,
        mppr_bp=np.where(mppr_bp >= 0, mppr_bp, 10_000),
        cap_at_charge=cells.flag("cap_at_charge", True),
    )  # fmt: skip
    _check_ties(contracts)
    return contracts


def _typed_table(
    table,
    payer,
    payer_class,
    code_from,
    code_to,
    modifier,
    pos,
    day_from,
    day_to,
    rate,
    percent_bp,
    base_text,
    carve_out,
    family_text,
    mppr_bp,
    cap,
) -> pa.Table:
    """The contract table with every column present and typed as ``COLUMNS``."""

    def days(values, open_day):
        return pa.array(values, pa.int32(), mask=values == open_day).cast(pa.date32())

    columns = {
        "payer": pa.array(payer, pa.string()),
        "payer_class": pa.array(
            [PAYER_CLASSES[c] if c >= 0 else None for c in payer_class], pa.string()
        ),
        "code_from": pa.array([c.upper() for c in code_from], pa.string()),
        "code_to": pa.array([c.upper() for c in code_to], pa.string()),
        "modifier": pa.array(modifier, pa.string()),
        "place_of_service": pa.array(pos, pa.string()),
        "effective_from": days(day_from, OPEN_FROM),
        "effective_to": days(day_to, OPEN_TO),
        "rate_cents_per_unit": pa.array(rate, pa.int64(), mask=rate < 0),
        "percent_of_base": pa.array(percent_bp / 100.0, pa.float64(), mask=percent_bp < 0),
        "base_schedule": pa.array(base_text, pa.string()),
        "carve_out": pa.array(carve_out, pa.bool_()),
        "mppr_family": pa.array(family_text, pa.string()),
        "mppr_percent": pa.array(mppr_bp / 100.0, pa.float64(), mask=mppr_bp < 0),
        "cap_at_charge": pa.array(cap, pa.bool_()),
    }  # fmt: skip
    for name in NOTE_COLUMNS:
        if name in table.column_names:
            columns[name] = plain(table[name])
    return pa.table(columns)


def _check_ties(contracts: Contracts) -> None:
    """Refuse two rows that could match one line and tie under the precedence."""
    groups: dict = {}
    span = contracts.code_to - contracts.code_from
    for row in range(contracts.num_rows):
        key = (
            contracts.payer[row],
            int(contracts.payer_class[row]),
            int(span[row]),
            contracts.modifier[row],
            contracts.place_of_service[row],
            int(contracts.day_from[row]),
        )
        groups.setdefault(key, []).append(row)
    for rows in groups.values():
        if len(rows) < 2:
            continue
        # Equal spans: sorted by first code, any overlap shows between neighbours.
        rows.sort(key=lambda r: (contracts.code_from[r], r))
        for a, b in zip(rows, rows[1:], strict=False):
            if contracts.code_from[b] <= contracts.code_to[a]:
                raise LedgerError(
                    f"{contracts.source}: rows {a + 1} and {b + 1} (1-based data rows) both "
                    "match the same lines with equal precedence (payer, codes, modifier, place "
                    "of service and effective_from); make one more specific or date one later"
                )


def _check_base(schedule: Contracts, name: str) -> None:
    """A base schedule prices codes for every payer: rate rows only."""
    where = f"base schedule {name!r} ({schedule.source})"
    for row in range(schedule.num_rows):
        for column, bad in (
            ("payer", schedule.payer[row] is not None),
            ("payer_class", schedule.payer_class[row] >= 0),
            ("percent_of_base", schedule.percent_bp[row] >= 0),
            ("carve_out", bool(schedule.carve_out[row])),
            ("mppr_family", schedule.family[row] >= 0),
        ):
            if bad:
                raise LedgerError(
                    f"{where}, row {row + 1} (1-based data row), column {column!r}: a base "
                    "schedule holds rates for every payer (no payer, percent, carve-out or MPPR)"
                )
