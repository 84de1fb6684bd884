"""expected_allowed equals the plain reference on random contracts and ledgers."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from reference_contracts import (
    contract_ledger,
    contract_rows,
    ledger_lines,
    reference_expected,
    reference_ties,
    rows_table,
)

import ledgerkit as lk


@settings(max_examples=80)
@given(lines=ledger_lines(), rows=contract_rows(), base_rows=contract_rows(base=True))
def test_kernel_equals_reference(lines, rows, base_rows):
    ledger = contract_ledger(lines)
    table, base = rows_table(rows), rows_table(base_rows, base=True)
    try:
        contracts = lk.contracts.load(table, schedules={"base": base})
    except lk.LedgerError as error:
        # Only ties are refused here (every generated cell is valid), and only real ones.
        assert "equal precedence" in str(error)
        assert reference_ties(table) or reference_ties(base)
        return
    assert not reference_ties(contracts.table)
    got = lk.expected_allowed(ledger, contracts).to_pylist()
    want = reference_expected(ledger, contracts)
    assert len(got) == len(want)
    allowed = _row_order(ledger, lk.analytics.derived.derived(ledger).figures.proc["allowed"])
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g["procedure_id"] == k
        for name in ("payer_id", "contract_row", "reason", "expected_allowed_cents"):
            assert g[name] == w[name], (k, name, g, w)
        assert g["allowed_cents"] == allowed[k]
        if w["expected_allowed_cents"] is None:
            assert g["variance_cents"] is None
        else:
            assert g["variance_cents"] == allowed[k] - w["expected_allowed_cents"]


@settings(max_examples=30)
@given(lines=ledger_lines(max_lines=6), seed=st.integers(0, 3))
def test_grouped_and_shuffled_ledgers_agree(lines, seed):
    """Procedures in any table order: results follow ledger.procedures row by row."""
    import random

    shuffled = list(lines)
    random.Random(seed).shuffle(shuffled)
    ledger = contract_ledger(shuffled)
    contracts = lk.contracts.load(
        {"payer_class": ["commercial", "medicare"], "code_from": ["0", "0"], "code_to": ["Z", "Z"],
         "rate_cents_per_unit": [1234, 999], "mppr_family": ["all", "all"],
         "mppr_percent": [50.0, 50.0]}
    )  # fmt: skip
    got = lk.expected_allowed(ledger, contracts).to_pylist()
    want = reference_expected(ledger, contracts)
    assert [g["expected_allowed_cents"] for g in got] == [
        w["expected_allowed_cents"] for w in want
    ]


def _row_order(ledger, grouped):
    """A per-procedure array in grouped order, read in ledger.procedures order."""
    order = ledger.keys.proc_order
    if order is None:
        return grouped
    out = grouped.copy()
    out[order] = grouped
    return out
