"""``_kernels.matched.matched_sums_nb`` against a plain-Python reference (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from packed_entries import packed_entries

from ledgerkit._kernels import codes as C
from ledgerkit._kernels.matched import matched_sums_nb

PR_BUCKETS = {C.PR_DEDUCTIBLE, C.PR_COINSURANCE, C.PR_COPAY, C.PR_OTHER}


def matched_ref(codes, amounts, entry_pair, proc_entry_start, proc_last, pair_rows):
    """Per variant and procedure: the sum of the entries the rule set matched that the
    payer still owes (denied, other, or PR of an earlier payer), floored at 0."""
    n_proc = len(proc_entry_start) - 1
    out = [[0] * n_proc for _ in pair_rows]
    for v, row in enumerate(pair_rows):
        for p in range(n_proc):
            total = 0
            for i in range(proc_entry_start[p], proc_entry_start[p + 1]):
                code = int(codes[i])
                bucket, seq = code & 15, (code >> 4) & 3
                earlier_pr = bucket in PR_BUCKETS and seq != proc_last[p]
                owed = bucket in (C.DENIED, C.OTHER) or earlier_pr
                if entry_pair[i] >= 0 and owed and row[entry_pair[i]]:
                    total += int(amounts[i])
            out[v][p] = max(total, 0)
    return out


@st.composite
def inputs(draw):
    e = draw(packed_entries(procedures=(0, 12), max_entries=6))
    n, n_proc = e.n_entries, e.n_procedures
    n_pairs = draw(st.integers(1, 5))
    n_var = draw(st.integers(1, 3))
    pairs = draw(st.lists(st.integers(-1, n_pairs - 1), min_size=n, max_size=n))
    last = draw(st.lists(st.integers(0, 3), min_size=n_proc, max_size=n_proc))
    rows = draw(st.lists(st.lists(st.booleans(), min_size=n_pairs, max_size=n_pairs),
                         min_size=n_var, max_size=n_var))  # fmt: skip
    return (e.codes, e.amounts, np.array(pairs, np.int32), e.starts, np.array(last, np.int8),
            np.array(rows, np.bool_))  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(inputs())
def test_matched_sums_equal_the_reference(args):
    codes, amounts, pairs, start, last, rows = args
    out = np.full((len(rows), len(start) - 1), 77, np.int64)  # every cell written
    matched_sums_nb(codes, amounts, pairs, start, last, rows, out)
    assert out.tolist() == matched_ref(codes, amounts, pairs, start, last, rows.tolist())


def test_earlier_payers_pr_is_owed_the_last_payers_is_not():
    # one procedure, last adjudicated by payer 2: payer 1's PR-2 still sits in the payer
    # balance, payer 2's PR-2 is the patient's; a CO denial of payer 2 counts; a
    # contractual adjustment never does
    codes = np.array(
        [
            C.pack_code(C.PR_COINSURANCE, 1, 1),
            C.pack_code(C.PR_COINSURANCE, 2, 1),
            C.pack_code(C.DENIED, 2, 1),
            C.pack_code(C.CONTRACTUAL, 2, 1),
        ],
        np.int8,
    )
    amounts = np.array([254, 35, 467, 1491], np.int64)
    out = np.empty((1, 1), np.int64)
    matched_sums_nb(codes, amounts, np.zeros(4, np.int32), np.array([0, 4]),
                    np.array([2], np.int8), np.ones((1, 1), np.bool_), out)  # fmt: skip
    assert out.tolist() == [[254 + 467]]
