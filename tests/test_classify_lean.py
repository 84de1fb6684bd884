"""The lean classify kernel against the slot kernel and plain Python sums, and the
explanation strings against Arrow's take (issue #19, item 2: warm kernels).

``classify_lean_chunk_nb`` runs when the figures asked for are among
``LEAN_FIGURES`` (what compare.py and the worklist ask for); every output it writes
must equal ``classify_chunk_nb``'s, on encounters with many payers, negated
entries, PR moves and empty procedures or encounters.
"""

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

import ledgerkit as lk
from ledgerkit._kernels import codes as C
from ledgerkit._kernels.balances import FIGURES
from ledgerkit._kernels.classify import classify_chunk_nb
from ledgerkit._kernels.classify_lean import LEAN_FIGURES, classify_lean_chunk_nb
from ledgerkit.analytics.classify import _taken_strings
from ledgerkit.core.arrow import arrow_strings

ENTRY = st.tuples(
    st.integers(0, C.N_BUCKETS - 1),
    st.integers(0, C.MAX_PAYER_SEQ),
    st.integers(0, 1),  # live; 0: negated (or a negation)
    st.integers(-50_000, 50_000),
)
# an encounter: its payer count, pending flag and procedures (some without entries)
ENCOUNTER = st.tuples(
    st.integers(0, C.MAX_PAYER_SEQ),
    st.booleans(),
    st.lists(st.lists(ENTRY, max_size=9), max_size=5),
)
LEAN_NAMES = [FIGURES[f] for f in LEAN_FIGURES]


def _inputs(encounters, ordered, seed):
    """The kernels' inputs for ``encounters``; random lines, reason codes and order."""
    rng = np.random.default_rng(seed)
    procedures = [proc for _, _, procs in encounters for proc in procs]
    rows = [row for proc in procedures for row in proc]
    codes = np.array([C.pack_code(b, s, live) for b, s, live, _ in rows], np.int8)
    amounts = np.array([a for *_, a in rows], np.int64)
    proc_entry_start = np.cumsum([0] + [len(p) for p in procedures]).astype(np.int64)
    enc_proc_start = np.cumsum([0] + [len(p) for *_, p in encounters]).astype(np.int64)
    n_payers = np.array([n for n, _, _ in encounters], np.int8)
    pending = np.array([w for _, w, _ in encounters], np.bool_)
    n = len(rows)
    order = rng.permutation(n).astype(np.int64) if ordered else np.empty(0, np.int64)
    group_codes = rng.integers(-1, 5, n).astype(np.int8)
    carc_codes = rng.integers(-1, 30, n).astype(np.int16)
    proc_line = rng.integers(1, 9, len(procedures)).astype(np.int32)
    return (codes, amounts, enc_proc_start, proc_entry_start, n_payers, pending, proc_line,
            order, group_codes, carc_codes)  # fmt: skip


def _run(chunk_nb, inputs, kept):
    codes, amounts, eps, pes, n_payers, pending, proc_line, order, g, c = inputs
    n_enc = len(eps) - 1
    outputs = (
        np.full((len(kept) + 1, n_enc), 99, np.int64),  # stale values: all written
        np.full((5, n_enc), 99, np.int8),
        np.full((3, n_enc), 99, np.int32),
        np.full((4, (n_enc + 7) // 8), 99, np.uint8),
    )
    chunk_nb(0, n_enc, codes, amounts, eps, pes, n_payers, pending, kept, proc_line, order,
             g, c, *outputs)  # fmt: skip
    return outputs


def _figures_ref(rows, self_pay):
    """balance, open_pr, allowed and denied of one procedure (DOMAIN.md) and its last payer."""
    last = max((s for b, s, live, _ in rows if live and C.PAID <= b <= C.OTHER), default=0)

    def total(buckets, seqs=range(4)):
        return sum(a for b, s, _, a in rows if b in buckets and s in seqs)

    pr = total(range(C.PR_DEDUCTIBLE, C.PR_OTHER + 1), (last,))
    balance = total((C.CHARGE,)) - total((C.PAID, C.PATIENT_PAID, C.CONTRACTUAL))
    balance -= total((C.WRITTEN_OFF, C.PR_WRITTEN_OFF))
    open_pr = pr + total((C.PUSHED_TO_PR,)) - total((C.PATIENT_PAID, C.PR_WRITTEN_OFF))
    open_pr = balance if self_pay else open_pr
    allowed = total((C.PAID,)) + total((C.PR_DEDUCTIBLE, C.PR_COINSURANCE, C.PR_COPAY), (last,))
    figures = {"balance": balance, "open_pr": open_pr, "payer_balance": balance - open_pr,
               "allowed": allowed, "denied": total((C.DENIED,), (1, 2, 3))}  # fmt: skip
    return [figures[name] for name in LEAN_NAMES]


@settings(max_examples=150, deadline=None)
@given(st.lists(ENCOUNTER, max_size=20), st.booleans(), st.integers(0, 2**16))
def test_the_lean_kernel_writes_what_the_slot_kernel_writes(encounters, ordered, seed):
    inputs = _inputs(encounters, ordered, seed)
    kept = np.array(LEAN_FIGURES, np.int64)
    lean = _run(classify_lean_chunk_nb, inputs, kept)
    slots = _run(classify_chunk_nb, inputs, kept)
    for got, want in zip(lean, slots):
        assert got.tolist() == want.tolist()
    # and its figures are the procedures' sums written as DOMAIN.md defines them
    for e, (n_payers, _, procs) in enumerate(encounters):
        want = np.zeros(len(LEAN_NAMES), np.int64)
        for rows in procs:
            want += _figures_ref(rows, n_payers == 0)
        assert lean[0][: len(kept), e].tolist() == want.tolist()


def test_many_payers_negations_and_moves_on_one_line():
    # primary denies (PI-59 live; a CO-45 negated, its negation, reposted), secondary pays, PR
    # of both payers, a push to PR and a patient payment; then an empty procedure
    line = [
        (C.CHARGE, 0, 1, 4500), (C.PAID, 1, 1, 2288), (C.CONTRACTUAL, 1, 0, 1491),
        (C.CONTRACTUAL, 1, 0, -1491), (C.CONTRACTUAL, 1, 1, 1491), (C.PR_COPAY, 1, 1, 254),
        (C.DENIED, 1, 1, 467), (C.PAID, 2, 1, 219), (C.OTHER, 2, 1, 4246),
        (C.PR_COPAY, 2, 1, 35), (C.PUSHED_TO_PR, 2, 1, 100), (C.PATIENT_PAID, 0, 1, 35),
    ]  # fmt: skip
    encounters = [(2, False, [line, []]), (0, False, []), (3, True, [[], line[:3]])]
    inputs = _inputs(encounters, False, 1)
    kept = np.array(LEAN_FIGURES, np.int64)
    lean = _run(classify_lean_chunk_nb, inputs, kept)
    for got, want in zip(lean, _run(classify_chunk_nb, inputs, kept)):
        assert got.tolist() == want.tolist()
    balance = LEAN_NAMES.index("balance")
    assert lean[0][balance].tolist() == [4500 - 2288 - 219 - 35 - 1491, 0, 4500 - 2288 - 1491]
    assert lean[0][LEAN_NAMES.index("denied"), 0] == 467
    assert lean[1][0].tolist() == [C.UNRESOLVED, C.AWAITING, C.PAID_CLASS]


def test_the_parallel_kernel_takes_the_lean_path_across_chunks():
    # more encounters than one chunk; the lean figures equal the full kernel's
    ledger = lk.synth.generate(5000, seed=8)
    full = lk.classify(ledger)
    lean = lk.classify(ledger, figures=LEAN_NAMES[::-1])
    for name in lean.column_names:
        assert lean[name].equals(full[name]), name


STRINGS = st.lists(st.text(max_size=4), max_size=6)


@settings(max_examples=100, deadline=None)
@given(STRINGS, st.lists(st.integers(-1, 5), max_size=300))
def test_taken_strings_equal_arrows_take(values, codes):
    codes = np.array([c if c < len(values) else -1 for c in codes], np.int32)
    _check_taken(values, codes)


def test_taken_strings_across_chunks():
    rng = np.random.default_rng(2)
    codes = rng.integers(-1, 3, 9000).astype(np.int32)
    _check_taken(["CO", "", "PR-é"], codes)


def _check_taken(values, codes):
    valid = np.packbits(codes >= 0, bitorder="little")
    got = _taken_strings(values, codes, valid)
    got.validate(full=True)
    indices = pa.array(np.where(codes >= 0, codes, 0), pa.int32(), mask=codes < 0)
    assert got.to_pylist() == arrow_strings(values).take(indices).to_pylist()
