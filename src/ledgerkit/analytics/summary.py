"""Counts and dollars by class and stage: what the command line and quickstart show."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["summarize", "format_summary"]


def summarize(classified: pa.Table) -> pa.Table:
    """Encounters, balance and denied dollars per class and stage.

    Parameters
    ----------
    classified : pyarrow.Table
        The output of :func:`ledgerkit.classify`.

    Returns
    -------
    pyarrow.Table
        ``class``, ``stage``, ``encounters``, ``balance_cents``, ``denied_cents``,
        ``not_balanced`` (count), sorted by class then stage.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> table = summarize(lk.classify(lk.synth.generate(100, seed=1)))
    >>> int(pc.sum(table["encounters"]).as_py())
    100
    """
    t = pa.table(
        {
            "class": classified["class"].cast(pa.string()),
            "stage": classified["stage"].cast(pa.string()),
            "balance": classified["balance"],
            "denied": classified["denied"],
            "open": pc.invert(classified["balanced"]).cast(pa.int64()),
        }
    )
    out = t.group_by(["class", "stage"]).aggregate(
        [("balance", "count"), ("balance", "sum"), ("denied", "sum"), ("open", "sum")]
    )
    out = out.rename_columns(
        ["class", "stage", "encounters", "balance_cents", "denied_cents", "not_balanced"]
    ).select(["class", "stage", "encounters", "balance_cents", "denied_cents", "not_balanced"])
    return out.sort_by([("class", "ascending"), ("stage", "ascending")])


def _dollars(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(int(cents))
    return f"{sign}${cents // 100:,}.{cents % 100:02d}"


def format_summary(classified: pa.Table) -> str:
    """A plain-text report: totals by class, then by stage (no patient data).

    Examples
    --------
    >>> import ledgerkit as lk
    >>> print(format_summary(lk.classify(lk.synth.generate(30, seed=2))))  # doctest: +ELLIPSIS
    30 encounters, ... not balanced, open balance $...
    ...
    """
    n = classified.num_rows
    open_n = n - int(pc.sum(classified["balanced"].cast(pa.int64())).as_py() or 0)
    balance = int(pc.sum(classified["balance"]).as_py() or 0)
    lines = [f"{n:,} encounters, {open_n:,} not balanced, open balance {_dollars(balance)}"]
    credit = pc.less(classified["balance"], 0)
    n_credit = int(pc.sum(credit.cast(pa.int64())).as_py() or 0)
    if n_credit:  # accepted only with allow_credit=True: money to refund or apply
        owed = -int(pc.sum(classified["balance"].filter(credit)).as_py())
        lines.append(f"{n_credit:,} encounters in credit (overpaid), {_dollars(owed)} to refund")
    lines.append("")
    for key in ("class", "stage"):
        t = pa.table(
            {
                key: classified[key].cast(pa.string()),
                "balance": classified["balance"],
                "denied": classified["denied"],
            }
        )
        agg = (
            t.group_by(key)
            .aggregate([("balance", "count"), ("balance", "sum"), ("denied", "sum")])
            .sort_by([("balance_sum", "descending")])
        )
        lines.append(f"{'by ' + key:<24}{'encounters':>12}{'balance':>18}{'denied':>18}")
        for row in agg.to_pylist():
            lines.append(
                f"  {row[key]:<22}{row['balance_count']:>12,}"
                f"{_dollars(row['balance_sum']):>18}{_dollars(row['denied_sum']):>18}"
            )
        lines.append("")
    return "\n".join(lines).rstrip()
