"""allowed_by_cpt's one-pass line kernel against a slow reference (issue #19, item 5),
and its dense path against the sparse one (composite keys compressed by np.unique)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import ledgerkit as lk
from ledgerkit._kernels.allowed import allowed_lines_nb
from ledgerkit._kernels.denials import NO_DAY


def reference_lines(enc_proc_start, enc_payer, enc_first_day, proc_cpt, n_cpt, units,
                    proc_order, allowed):  # fmt: skip
    """Line by line: the encounter of the line, then its group, units and per-unit."""
    key, per_unit, line_units = [], [], []
    for e in range(len(enc_proc_start) - 1):
        for p in range(enc_proc_start[e], enc_proc_start[e + 1]):
            u = int(units[proc_order[p]] if len(proc_order) else units[p])
            u = max(u, 1)
            line_units.append(u)
            if enc_first_day[e][1] != NO_DAY and allowed[p] > 0:
                key.append(int(enc_payer[e]) * n_cpt + int(proc_cpt[p]))
                per_unit.append(float(allowed[p]) / u)
            else:
                key.append(-1)
                per_unit.append(0.0)
    return key, per_unit, line_units


@st.composite
def lines(draw):
    sizes = draw(st.lists(st.integers(0, 4), max_size=40))
    n_proc = sum(sizes)
    enc_proc_start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    n_enc = len(sizes)
    n_payers = draw(st.integers(1, 5))
    n_cpt = draw(st.integers(1, 7))
    ints = st.integers
    enc_payer = np.array(draw(st.lists(ints(0, n_payers - 1), min_size=n_enc, max_size=n_enc)))
    days = draw(st.lists(st.sampled_from([NO_DAY, 0, 20_000]), min_size=n_enc, max_size=n_enc))
    enc_first_day = np.full((n_enc, 4), NO_DAY, np.int32)
    enc_first_day[:, 1] = days
    cpt = np.array(draw(st.lists(ints(0, n_cpt - 1), min_size=n_proc, max_size=n_proc)))
    units = np.array(draw(st.lists(ints(-2, 9), min_size=n_proc, max_size=n_proc)), np.int32)
    allowed = np.array(
        draw(st.lists(ints(-(10**9), 10**11), min_size=n_proc, max_size=n_proc)), np.int64
    )
    shuffled = draw(st.booleans())
    order = np.random.default_rng(n_proc).permutation(n_proc) if shuffled else np.empty(0)
    return (enc_proc_start, enc_payer.astype(np.int32), enc_first_day,
            cpt.astype(np.int32), n_cpt, units, order.astype(np.int64), allowed)  # fmt: skip


@settings(max_examples=60)
@given(lines())
def test_allowed_lines_kernel_matches_the_line_by_line_reference(args):
    n_proc = len(args[3])
    key = np.empty(n_proc, np.int64)
    per_unit = np.empty(n_proc, np.float64)
    line_units = np.empty(n_proc, np.int64)
    allowed_lines_nb(*args[:7], args[7], NO_DAY, key, per_unit, line_units)
    want_key, want_per_unit, want_units = reference_lines(*args)
    assert key.tolist() == want_key
    assert per_unit.tolist() == want_per_unit
    assert line_units.tolist() == want_units


def test_dense_and_sparse_keys_give_the_same_tables(monkeypatch):
    from ledgerkit.analytics import payer_behaviour as pb

    ledger = lk.synth.generate(2000, seed=11)
    dense = pb.allowed_by_cpt(ledger, tolerance=0.05)
    under = pb.underpayments(ledger, tolerance=0.05)
    assert dense.num_rows > 0 and under.num_rows > 0
    # a second call reads the lines kept in the derived memo: the same tables
    assert pb.allowed_by_cpt(ledger, tolerance=0.05).equals(dense)
    assert pb.underpayments(ledger, tolerance=0.05).equals(under)
    again = lk.synth.generate(2000, seed=11)  # nothing kept yet
    monkeypatch.setattr(pb, "DENSE_LIMIT", 0)  # every (payer, CPT) pair set is "too big"
    assert pb.underpayments(again, tolerance=0.05).equals(under)
    assert pb.allowed_by_cpt(again, tolerance=0.05).equals(dense)
