"""classify's outputs: a kept table is never written again, a dropped one's memory is
reused; the branch-free class and stage against their rules written as branches."""

import gc
import itertools

import numpy as np

import ledgerkit as lk
from ledgerkit._kernels import codes as C
from ledgerkit._kernels.classify import classify_encounter_nb, stage_nb
from ledgerkit.analytics.classify import encounter_figures


def _data_address(table, column):
    return table[column].chunk(0).buffers()[1].address


def test_a_kept_table_is_never_overwritten_by_a_later_call():
    ledger = lk.synth.generate(300, seed=3)
    first = lk.classify(ledger)
    want = first.to_pylist()
    # a different answer (one encounter pending review) while the first table lives
    pending = [r["encounter_id"] for r in want if r["stage"] == "finalized"][:1]
    assert pending
    second = lk.classify(ledger, pending=pending)
    assert first.to_pylist() == want
    assert _data_address(second, "balance") != _data_address(first, "balance")
    stages = {r["encounter_id"]: r["stage"] for r in second.to_pylist()}
    assert stages[pending[0]] == "finalization_pending"


def test_a_dropped_table_gives_its_memory_to_the_next_call():
    ledger = lk.synth.generate(300, seed=4)
    table = lk.classify(ledger)
    want = table.to_pylist()
    address = _data_address(table, "balance")
    del table
    gc.collect()
    again = lk.classify(ledger)
    assert _data_address(again, "balance") == address
    assert again.to_pylist() == want


def test_a_column_kept_alone_keeps_its_memory_too():
    ledger = lk.synth.generate(300, seed=5)
    table = lk.classify(ledger)
    balance = table["balance"]
    want = balance.to_pylist()
    address = _data_address(table, "balance")
    del table
    gc.collect()
    other = lk.classify(ledger, pending=[ledger.encounters["encounter_id"][0].as_py()])
    assert balance.to_pylist() == want
    assert _data_address(other, "balance") != address


def test_arrays_of_encounter_figures_kept_by_a_caller_stay_as_they_were():
    ledger = lk.synth.generate(300, seed=6)
    values = encounter_figures(ledger, figures=["balance"])[0]
    want = values.copy()
    lk.classify(ledger, figures=["charge"])
    np.testing.assert_array_equal(values, want)


def _class_ref(n_adjudicated, allowed_adj, any_denied_entirely, any_denied):
    """The class rules of DOMAIN.md, as branches."""
    if n_adjudicated == 0:
        return C.AWAITING
    if any_denied_entirely:
        return C.DENIAL if allowed_adj <= 0 else C.PARTIAL_DENIAL
    if any_denied:
        return C.UNRESOLVED
    return C.PAID_CLASS


def _stage_ref(balance, payer_balance, open_pr, last, n_payers, pending):
    """The stage rules of DOMAIN.md, as branches."""
    if balance == 0:
        return C.FINALIZATION_PENDING if pending else C.FINALIZED
    if n_payers == 0:
        return C.PATIENT
    if payer_balance != 0:
        return max(last, 1)
    if open_pr != 0 and last < n_payers:
        return last + 1
    return C.PATIENT


def test_branch_free_class_equals_the_rules_on_every_combination():
    for n_adj, allowed, whole, denied in itertools.product(
        (0, 1, 3), (-500, 0, 1, 12_345), (False, True), (False, True)
    ):
        got = classify_encounter_nb(n_adj, allowed, whole, denied)
        assert got == _class_ref(n_adj, allowed, whole, denied), (n_adj, allowed, whole, denied)


def test_branch_free_stage_equals_the_rules_on_every_combination():
    amounts = (-700, 0, 250)
    for balance, payer_balance, open_pr, last, n_payers, pending in itertools.product(
        amounts, amounts, amounts, range(4), np.arange(4, dtype=np.int8), (False, True)
    ):
        args = (balance, payer_balance, open_pr, last, n_payers, pending)
        assert stage_nb(*args) == _stage_ref(*args), args


def test_bitmaps_across_chunks_match_the_values_they_describe():
    # more encounters than one parallel chunk (CHUNK), and not a multiple of 8: the
    # kernel's bitmaps meet at chunk borders and end on a partial byte
    from ledgerkit._kernels.chunks import CHUNK

    ledger = lk.synth.generate(CHUNK + 13, seed=8)
    table = lk.classify(ledger)
    assert table.num_rows == CHUNK + 13
    rows = table.to_pylist()
    classes = [r["class"] for r in rows]
    assert {"PAID", "UNRESOLVED", "DENIAL"} <= set(classes)
    _, _, _, _, balanced, (_, group, carc, _, _) = encounter_figures(ledger)
    explained = np.isin(np.array(classes), ["UNRESOLVED", "PARTIAL_DENIAL", "DENIAL"])
    np.testing.assert_array_equal(np.array([r["balanced"] for r in rows]), balanced)
    np.testing.assert_array_equal([r["balance"] == 0 for r in rows], balanced)
    for name in ("explain_line", "explain_amount", "explain_payer_seq"):
        np.testing.assert_array_equal([r[name] is not None for r in rows], explained, name)
    np.testing.assert_array_equal([r["explain_group"] is not None for r in rows], group >= 0)
    np.testing.assert_array_equal([r["explain_carc"] is not None for r in rows], carc >= 0)
    assert (carc[explained] >= 0).all()  # every explanation names a CARC here
    assert all(r["explain_amount"] > 0 for r in rows if r["explain_amount"] is not None)
