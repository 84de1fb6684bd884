"""The one-pass classify pieces against plain Python twins (issue #19, warm kernels).

``classify_nb`` sums several procedures into one encounter's slots (the last
payer's PR folded per procedure) and classifies it, ``sum_procedure_nb`` sums one
procedure, and
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
    FIGURES,
    N_FIGURES,
    N_SLOTS,
    figures_of_slots_nb,
    sum_procedure_nb,
    top_denial_nb,
)
from ledgerkit._kernels.bandwidth import procedure_loop_nb, touch_nb
from ledgerkit._kernels.classify import (
    BIT_BALANCED,
    BIT_EXPLAINED,
    CHUNK_SCRATCH,
    CODE_CARC,
    CODE_GROUP,
    CODE_LINE,
    N_BITS,
    N_CODES,
    N_SMALL,
    SMALL_BALANCED,
    SMALL_CLASS,
    SMALL_LAST_PAYER,
    SMALL_PAYER,
    classify_nb,
)

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


def _class_ref(procs):
    """DOMAIN.md's class and explaining (procedure, amount) from (last, figures) per procedure."""
    allowed_at, denied_at = FIGURES.index("allowed"), FIGURES.index("denied")
    adjudicated = [(k, f[allowed_at], f[denied_at]) for k, (last, f) in enumerate(procs) if last]
    denied = [(d, k) for k, _, d in adjudicated if d > 0]
    entirely = [(d, k) for k, a, d in adjudicated if a <= 0 and d > 0]
    # the largest amount, the first procedure on ties
    pick = lambda found: max(found, key=lambda dk: (dk[0], -dk[1]))  # noqa: E731
    if not adjudicated:
        return C.AWAITING, None
    if entirely:
        whole = C.DENIAL if sum(a for _, a, _ in adjudicated) <= 0 else C.PARTIAL_DENIAL
        return whole, pick(entirely)
    return (C.UNRESOLVED, pick(denied)) if denied else (C.PAID_CLASS, None)


ENCOUNTERS = st.lists(
    st.tuples(st.lists(st.lists(ENTRY, max_size=12), max_size=7), st.integers(0, 3)),
    max_size=4,
)


@settings(max_examples=300)
@given(ENCOUNTERS, st.lists(ENTRY, max_size=9))
def test_classify_kernel_matches_domain_sums_and_classes(encounters, after):
    """classify_nb's one pass against DOMAIN.md per procedure, summed per encounter.

    Procedures of up to 12 entries take both of the kernel's paths (a fixed body
    for short ones); up to 7 an encounter use every PR copy; ``after``: entries of no
    procedure behind the last one, which the fixed body reads and must not count.
    """
    procedures = [rows for procs, _ in encounters for rows in procs]
    codes, amounts, starts = _arrays(procedures + [after])
    proc_entry_start = starts[:-1].astype(np.int64)
    enc_proc_start = np.cumsum([0] + [len(procs) for procs, _ in encounters]).astype(np.int64)
    n_enc, n_entries = len(encounters), len(codes)
    group_codes = (np.arange(n_entries) % 5).astype(np.int32)
    carc_codes = (np.arange(n_entries) % 7 - 1).astype(np.int32)  # -1: no CARC
    proc_line = (np.arange(len(procedures)) * 10 + 1).astype(np.int32)
    figures = np.empty((N_FIGURES + 1, n_enc), np.int64)
    small = np.empty((N_SMALL, n_enc), np.int8)
    explain = np.empty((N_CODES, n_enc), np.int32)
    bits = np.empty((N_BITS, (n_enc + 7) // 8), np.uint8)
    classify_nb(
        codes, amounts, enc_proc_start, proc_entry_start,
        np.array([n for _, n in encounters], np.int8), np.empty(0, np.bool_),
        np.arange(N_FIGURES), proc_line, np.empty(0, np.int64), group_codes, carc_codes,
        figures, small, explain, bits, np.zeros((1, CHUNK_SCRATCH), np.int64),
    )  # fmt: skip
    for e, (procs, n_payers) in enumerate(encounters):
        refs = [_figures_ref(rows, n_payers == 0) for rows in procs]
        want = [sum(f[i] for _, f in refs) for i in range(N_FIGURES)]
        assert figures[:N_FIGURES, e].tolist() == want
        assert small[SMALL_LAST_PAYER, e] == max((last for last, _ in refs), default=0)
        cls, why = _class_ref(refs)
        assert small[SMALL_CLASS, e] == cls
        balanced = figures[FIGURES.index("balance"), e] == 0
        assert small[SMALL_BALANCED, e] == balanced
        assert (bits[BIT_BALANCED, e >> 3] >> (e & 7)) & 1 == balanced
        assert (bits[BIT_EXPLAINED, e >> 3] >> (e & 7)) & 1 == (why is not None)
        if why is None:
            assert figures[N_FIGURES, e] == 0
            assert explain[:, e].tolist() == [0, -1, -1]
            continue
        amount, k = why
        p = enc_proc_start[e] + k
        assert figures[N_FIGURES, e] == amount
        assert explain[CODE_LINE, e] == proc_line[p]
        top = _top_ref(procs[k])
        if top < 0:  # denied by entries no longer live only (random rows, not a ledger)
            assert (explain[CODE_GROUP, e], explain[CODE_CARC, e], small[SMALL_PAYER, e]) == (
                -1, -1, 0,
            )  # fmt: skip
            continue
        assert explain[CODE_GROUP, e] == group_codes[starts[p] + top]
        assert explain[CODE_CARC, e] == carc_codes[starts[p] + top]
        assert small[SMALL_PAYER, e] == procs[k][top][1]


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


@pytest.mark.parametrize("seed", [2, 5])
def test_procedure_loop_sums_every_encounter_and_finds_its_last_payer(seed):
    """The loop floor does classify's walk: every amount once, the last payer as classify
    finds it (``classify`` with its ``last_payer`` column is the reference)."""
    from ledgerkit._kernels.balances import ENCOUNTER_SLOTS
    from ledgerkit._kernels.chunks import CHUNK, n_chunks
    from ledgerkit.analytics.classify import encounter_figures

    ledger = lk.synth.generate(9000, seed=seed)  # more than one chunk of encounters
    keys = ledger.keys
    n_enc = keys.n_encounters
    totals, lasts = np.full(n_enc, -7, np.int64), np.full(n_enc, -7, np.int8)
    scratch = np.zeros((n_chunks(n_enc, CHUNK), ENCOUNTER_SLOTS), np.int64)
    procedure_loop_nb(ledger.packed_codes(), keys.amounts, keys.enc_proc_start,
                      keys.proc_entry_start, totals, lasts, scratch)  # fmt: skip
    entry_start = keys.proc_entry_start[keys.enc_proc_start]
    want = np.add.reduceat(keys.amounts, entry_start[:-1]) * (np.diff(entry_start) > 0)
    assert totals.tolist() == want.tolist()
    assert not scratch.any()  # left zeros
    enc_last = encounter_figures(ledger, figures=["balance"])[3]  # the kernel's order
    assert lasts.tolist() == enc_last.tolist()
