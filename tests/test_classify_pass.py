"""The one-pass classify pieces against plain Python twins (issue #19, warm kernels).

``add_procedure_nb`` sums several procedures into one encounter's slots (the last
payer's PR folded per procedure), ``sum_procedure_nb`` one procedure, and
``top_denial_nb`` picks the explaining entry; each is compared with the figures
DOMAIN.md defines, computed here from (bucket, payer_seq, live, amount) rows.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ledgerkit as lk
from ledgerkit._kernels import codes as C
from ledgerkit._kernels.balances import (
    ENCOUNTER_SLOTS,
    FIGURES,
    LAST_PR,
    N_FIGURES,
    N_SLOTS,
    add_procedure_nb,
    figures_of_slots_nb,
    sum_procedure_nb,
    top_denial_nb,
)
from ledgerkit._kernels.bandwidth import touch_nb

PR_BUCKETS = (C.PR_DEDUCTIBLE, C.PR_COINSURANCE, C.PR_COPAY, C.PR_OTHER)
ENTRY = st.tuples(
    st.integers(0, C.N_BUCKETS - 1),
    st.integers(0, C.MAX_PAYER_SEQ),
    st.integers(0, 1),
    st.integers(-50_000, 50_000),
)
PROCEDURE = st.lists(ENTRY, max_size=9)


def _figures_ref(rows, self_pay):
    """DOMAIN.md's figures of one procedure from (bucket, seq, live, amount) rows."""
    last = max(
        (s for b, s, live, _ in rows if live and C.PAID <= b <= C.OTHER),
        default=0,
    )

    def total(bucket, seqs=range(4)):
        return sum(a for b, s, _, a in rows if b == bucket and s in seqs)

    ded, coins, copay, pr_other = (total(b, (last,)) for b in PR_BUCKETS)
    pr = ded + coins + copay + pr_other
    paid, patient_paid = total(C.PAID), total(C.PATIENT_PAID)
    written_off, pr_written_off = total(C.WRITTEN_OFF), total(C.PR_WRITTEN_OFF)
    balance = total(C.CHARGE) - paid - patient_paid - total(C.CONTRACTUAL)
    balance -= written_off + pr_written_off
    pushed = total(C.PUSHED_TO_PR)
    open_pr = balance if self_pay else pr + pushed - patient_paid - pr_written_off
    figures = {
        "charge": total(C.CHARGE),
        "paid": paid,
        "contractual": total(C.CONTRACTUAL),
        "pr_deductible": ded,
        "pr_coinsurance": coins,
        "pr_copay": copay,
        "pr_other": pr_other,
        "pr": pr,
        "denied": total(C.DENIED, (1, 2, 3)),  # every payer's (Settled question 1)
        "other": total(C.OTHER),
        "written_off": written_off + pr_written_off,
        "pushed_to_pr": pushed,
        "patient_paid": patient_paid,
        "allowed": paid + ded + coins + copay,
        "balance": balance,
        "open_pr": open_pr,
        "payer_balance": balance - open_pr,
    }
    return last, [figures[name] for name in FIGURES]


def _top_ref(rows):
    top, best = -1, None
    for i, (b, s, live, a) in enumerate(rows):
        if b == C.DENIED and s >= 1 and live and (best is None or a > best):
            top, best = i, a
    return top


def _arrays(procedures):
    rows = [r for proc in procedures for r in proc]
    codes = np.array([C.pack_code(b, s, live) for b, s, live, _ in rows], np.int8)
    amounts = np.array([a for *_, a in rows], np.int64)
    starts = np.cumsum([0] + [len(p) for p in procedures])
    return codes, amounts, starts


@settings(max_examples=200)
@given(st.lists(PROCEDURE, max_size=5), st.booleans())
def test_encounter_sums_are_the_sum_of_procedure_figures(procedures, self_pay):
    codes, amounts, starts = _arrays(procedures)
    sums = np.zeros(ENCOUNTER_SLOTS, np.int64)
    want = np.zeros(N_FIGURES, np.int64)
    for k, rows in enumerate(procedures):
        last = add_procedure_nb(codes, amounts, starts[k], starts[k + 1], sums)
        want_last, figures = _figures_ref(rows, self_pay)
        assert last == want_last
        want += figures
    got = np.empty(N_FIGURES, np.int64)
    figures_of_slots_nb(sums, LAST_PR, self_pay, got)
    assert got.tolist() == want.tolist()


@settings(max_examples=200)
@given(PROCEDURE, st.booleans())
def test_procedure_sums_and_top_denial_match_reference(rows, self_pay):
    codes, amounts, _ = _arrays([rows])
    slots = np.full(N_SLOTS, 7, np.int64)  # stale values: the kernel zeroes them
    last = sum_procedure_nb(codes, amounts, 0, len(rows), slots)
    got = np.empty(N_FIGURES, np.int64)
    figures_of_slots_nb(slots, last, self_pay, got)
    want_last, want = _figures_ref(rows, self_pay)
    assert (last, got.tolist()) == (want_last, want)
    assert top_denial_nb(codes, amounts, 0, len(rows)) == _top_ref(rows)


def test_classify_writes_only_the_figures_asked_for():
    ledger = lk.synth.generate(300, seed=11)
    full = lk.classify(ledger)
    some = lk.classify(ledger, figures=["payer_balance", "allowed"])
    figure_free = [c for c in full.column_names if c not in FIGURES]
    assert some.column_names == figure_free[:5] + ["payer_balance", "allowed"] + figure_free[5:]
    for name in some.column_names:
        assert some[name].equals(full[name]), name
    assert lk.classify(ledger, figures="balance").column_names[5] == "balance"
    assert [c for c in lk.classify(ledger, figures=()).column_names] == figure_free


def test_classify_refuses_an_unknown_figure():
    ledger = lk.synth.generate(5, seed=1)
    with pytest.raises(ValueError, match="unknown figure 'balanse'"):
        lk.classify(ledger, figures=["balance", "balanse"])


def test_bandwidth_floor_reads_every_input():
    ledger = lk.synth.generate(9000, seed=2)  # more than one chunk of encounters
    keys = ledger.keys
    inputs = (
        ledger.packed_codes(),
        keys.amounts,
        keys.proc_entry_start,
        keys.enc_proc_start,
        keys.enc_n_payers,
    )
    # each offset array is read once over its chunks (the last offset excluded)
    want = int(inputs[0].sum()) + int(inputs[1].sum())
    want += int(keys.proc_entry_start[:-1].sum()) + int(keys.enc_proc_start[:-1].sum())
    want += int(keys.enc_n_payers.sum())
    assert touch_nb(*inputs) == want
