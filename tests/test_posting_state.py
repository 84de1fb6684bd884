"""The decision pass's per-procedure state in one pass: ``procedure_state_nb`` against a
slow reference that reads each figure off the entries separately."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from packed_entries import packed_entries

from ledgerkit._kernels import codes as C
from ledgerkit._kernels.posting import procedure_state_nb

LOWERS_BALANCE = (C.PAID, C.PATIENT_PAID, C.CONTRACTUAL, C.WRITTEN_OFF, C.PR_WRITTEN_OFF)
STATE_NAMES = ("live_n", "live_paid", "live_adj", "live_contr", "pr", "adj_n", "live_pr")
PR_BUCKETS = (C.PR_DEDUCTIBLE, C.PR_COINSURANCE, C.PR_COPAY, C.PR_OTHER)


def state_reference(procs, buckets, seqs, lives, amounts, is_remit, starts):
    """Each figure by its definition, one entry at a time (plain Python ints)."""
    out = []
    for p in procs:
        rows = range(starts[p], starts[p + 1])
        balance = sum(amounts[i] for i in rows if buckets[i] == C.CHARGE) - sum(
            amounts[i] for i in rows if buckets[i] in LOWERS_BALANCE
        )
        moved = sum(amounts[i] for i in rows if buckets[i] == C.PUSHED_TO_PR) - sum(
            amounts[i] for i in rows if buckets[i] in (C.PATIENT_PAID, C.PR_WRITTEN_OFF)
        )
        per_payer = {name: [0, 0, 0, 0] for name in STATE_NAMES}
        for i in rows:
            s, b, a = seqs[i], buckets[i], amounts[i]
            remit_live = lives[i] and is_remit[i]
            if b in PR_BUCKETS:
                per_payer["pr"][s] += a
                per_payer["live_pr"][s] += a if remit_live else 0
            if lives[i] and C.PAID <= b <= C.OTHER:
                per_payer["adj_n"][s] += 1
            if remit_live:
                per_payer["live_n"][s] += 1
                per_payer["live_paid"][s] += a if b == C.PAID else 0
                per_payer["live_adj"][s] += a if C.CONTRACTUAL <= b <= C.OTHER else 0
                per_payer["live_contr"][s] += a if b == C.CONTRACTUAL else 0
        out.append((balance, moved, per_payer))
    return out


@st.composite
def ledgers(draw):
    entries = draw(packed_entries(procedures=(1, 6), max_entries=7))
    n, n_proc = entries.n_entries, entries.n_procedures
    is_remit = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), np.bool_)
    procs = draw(st.lists(st.integers(0, n_proc - 1), max_size=n_proc, unique=True))
    return entries, is_remit, sorted(procs)


@given(ledgers())
@settings(max_examples=80)
def test_procedure_state_matches_each_figure_read_separately(case):
    e, is_remit, procs = case
    nu = len(procs)
    balance, moved = np.zeros(nu, np.int64), np.zeros(nu, np.int64)
    grids = [np.zeros((nu, 4), np.int64) for _ in range(7)]
    live_n, live_paid, live_adj, live_contr, pr_by_seq, adj_n, live_pr = grids
    procedure_state_nb(
        np.array(procs, np.int64), e.codes, e.amounts, is_remit, e.starts, balance, live_n,
        live_paid, live_adj, live_contr, pr_by_seq, moved, adj_n, live_pr,
    )  # fmt: skip
    expected = state_reference(
        procs, e.buckets, e.seqs, e.lives, e.amounts.tolist(), is_remit, e.starts
    )
    for u, (bal, mv, per_payer) in enumerate(expected):
        assert balance[u] == bal
        assert moved[u] == mv
        assert live_n[u].tolist() == per_payer["live_n"]
        assert live_paid[u].tolist() == per_payer["live_paid"]
        assert live_adj[u].tolist() == per_payer["live_adj"]
        assert live_contr[u].tolist() == per_payer["live_contr"]
        assert pr_by_seq[u].tolist() == per_payer["pr"]
        assert adj_n[u].tolist() == per_payer["adj_n"]
        assert live_pr[u].tolist() == per_payer["live_pr"]


def test_procedure_state_of_a_hand_procedure():
    """Charge $100, primary pays $60 (live remit), CO-45 $30, PR-1 $10; patient pays $4."""
    rows = [(C.CHARGE, 0, 1, 0, 10000), (C.PAID, 1, 1, 1, 6000), (C.CONTRACTUAL, 1, 1, 1, 3000),
            (C.PR_DEDUCTIBLE, 1, 1, 1, 1000), (C.PATIENT_PAID, 0, 1, 0, 400)]  # fmt: skip
    codes = np.array([C.pack_code(b, s, v) for b, s, v, _, _ in rows], np.int8)
    is_remit = np.array([r[3] for r in rows], np.bool_)
    amounts = np.array([r[4] for r in rows], np.int64)
    balance, moved = np.zeros(1, np.int64), np.zeros(1, np.int64)
    grids = [np.zeros((1, 4), np.int64) for _ in range(7)]
    procedure_state_nb(np.array([0]), codes, amounts, is_remit, np.array([0, 5]), balance,
                       *grids[:4], grids[4], moved, grids[5], grids[6])  # fmt: skip
    live_n, live_paid, live_adj, live_contr, pr_by_seq, adj_n, live_pr = grids
    assert balance[0] == 10000 - 6000 - 3000 - 400  # 600: the deductible less what was paid
    assert moved[0] == -400
    assert live_n[0].tolist() == [0, 3, 0, 0]
    assert live_paid[0].tolist() == [0, 6000, 0, 0]
    assert live_adj[0].tolist() == [0, 4000, 0, 0]
    assert live_contr[0].tolist() == [0, 3000, 0, 0]
    assert pr_by_seq[0].tolist() == [0, 1000, 0, 0]
    assert adj_n[0].tolist() == [0, 3, 0, 0]
    assert live_pr[0].tolist() == [0, 1000, 0, 0]


def _slots_by_first_use_reference(item_u: np.ndarray, n_slots: int):
    """Plain Python: slots numbered as the items first name them."""
    slot_of, by_use = [-1] * n_slots, []
    for u in item_u.tolist():
        if slot_of[u] < 0:
            slot_of[u] = len(by_use)
            by_use.append(u)
    return slot_of, by_use


@given(st.lists(st.integers(0, 30), min_size=1, max_size=200))
def test_slots_by_first_use_matches_the_reference(values):
    from ledgerkit._kernels.posting import slots_by_first_use_nb

    # dense slots, each used (as the decision pass's items use every touched procedure)
    _, item_u = np.unique(np.array(values), return_inverse=True)
    n = int(item_u.max()) + 1
    slot_of, by_use = np.full(n, 99, np.int64), np.full(n, 99, np.int64)
    slots_by_first_use_nb(item_u.astype(np.int64), slot_of, by_use)
    want_slot_of, want_by_use = _slots_by_first_use_reference(item_u, n)
    assert slot_of.tolist() == want_slot_of
    assert by_use.tolist() == want_by_use


@given(
    st.lists(st.integers(0, 20), max_size=60).map(sorted),
    st.lists(st.integers(0, 21), max_size=20),
)
def test_rank_order_is_the_stable_argsort(regular, negations):
    from ledgerkit.posting.entries import _rank_order

    ranks = np.array(regular + negations, np.int64)
    order, place, interleaved = _rank_order(ranks, len(regular))
    want = np.argsort(ranks, kind="stable")
    assert order.tolist() == want.tolist()
    assert place[want].tolist() == list(range(len(ranks)))
    assert interleaved == bool((np.diff(want) < 0).any())
