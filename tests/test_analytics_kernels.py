"""The analytics' one-pass kernels against slow, obviously correct references
(issue #19, item 5): packed entry codes, posting days, per-group medians.

Each reference is plain Python or numpy; hypothesis compares them on random
and edge inputs (empty, one row, ties, even counts, negative instants, grouped
and shuffled entry orders).
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import ledgerkit as lk
from ledgerkit._kernels import codes as C
from ledgerkit._kernels.entry_codes import floor_days_nb, pack_entry_codes_nb
from ledgerkit.core.arrow import US_PER_DAY
from ledgerkit.core.keys import _BUCKET_OF_KIND, buckets_of
from ledgerkit.core.schema import KINDS


def reference_packed(kind, seq, live, group, carc, order, matrix):
    """Entry by entry, the packed code as DOMAIN.md's buckets define it."""
    out = []
    for i in range(len(kind)):
        r = order[i] if len(order) else i
        k = KINDS[kind[i]]
        if k == "adjustment":
            bucket = int(matrix[group[r], carc[r]])
        elif k == "write_off" and seq[i] == 0:
            bucket = C.PR_WRITTEN_OFF
        else:
            bucket = int(_BUCKET_OF_KIND[kind[i]])
        out.append(bucket | int(seq[i]) << 4 | int(live[i]) << 6)
    return np.array(out, np.int8)


@st.composite
def entry_columns(draw):
    n = draw(st.integers(0, 300))
    n_groups = draw(st.integers(1, 4))
    n_carcs = draw(st.integers(1, 9))
    ints = st.integers
    kind = np.array(draw(st.lists(ints(0, len(KINDS) - 1), min_size=n, max_size=n)), np.int8)
    seq = np.array(draw(st.lists(ints(0, 3), min_size=n, max_size=n)), np.int8)
    live = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), bool)
    group = np.array(draw(st.lists(ints(0, n_groups - 1), min_size=n, max_size=n)), np.int8)
    carc = np.array(draw(st.lists(ints(0, n_carcs - 1), min_size=n, max_size=n)), np.int16)
    matrix = np.array(
        draw(st.lists(ints(0, C.OTHER), min_size=n_groups * n_carcs, max_size=n_groups * n_carcs)),
        np.int8,
    ).reshape(n_groups, n_carcs)
    shuffled = draw(st.booleans())
    order = np.random.default_rng(n).permutation(n) if shuffled else np.empty(0, np.int64)
    return kind, seq, live, group, carc, order.astype(np.int64), matrix


@settings(max_examples=60)
@given(entry_columns())
def test_packed_entry_codes_match_the_reference(columns):
    kind, seq, live, group, carc, order, matrix = columns
    out = np.empty(len(kind), np.int8)
    pack_entry_codes_nb(kind, seq, live, group, carc, order, _BUCKET_OF_KIND, matrix, out)
    np.testing.assert_array_equal(out, reference_packed(*columns))


def test_packed_codes_of_a_ledger_equal_the_numpy_path_grouped_and_shuffled():
    ledger = lk.synth.lifecycle(lk.synth.generate(400, seed=3), seed=1).ledger
    perm = np.random.default_rng(0).permutation(ledger.entries.num_rows)
    shuffled = lk.Ledger.from_arrow(
        ledger.encounters, ledger.procedures, ledger.entries.take(perm), ledger.payers
    )
    assert shuffled.keys.entry_order is not None
    for each in (ledger, shuffled):
        keys = each.keys
        g, gv, c, cv = keys.reason_codes(each.entries)
        if keys.entry_order is not None:
            g, c = g[keys.entry_order], c[keys.entry_order]
        bucket = buckets_of(keys.entry_kind, keys.entry_seq, (g, gv, c, cv), each.policy)
        expected = C.pack_code(bucket, keys.entry_seq, keys.entry_live.astype(np.int8))
        got = keys.packed_codes(each.entries, each.policy)
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)


DAY_US = st.integers(-(10**17), 10**17)


@settings(max_examples=60)
@given(st.lists(DAY_US, max_size=200))
def test_floor_days_match_python_floor_division(values):
    us = np.array(values, np.int64)
    out = np.empty(len(us), np.int32)
    floor_days_nb(us, US_PER_DAY, out)
    assert out.tolist() == [v // US_PER_DAY for v in values]


def test_floor_days_edges_around_midnight_and_the_epoch():
    values = [-1, 0, 1, US_PER_DAY - 1, US_PER_DAY, -US_PER_DAY, -US_PER_DAY - 1]
    out = np.empty(len(values), np.int32)
    floor_days_nb(np.array(values, np.int64), US_PER_DAY, out)
    assert out.tolist() == [-1, 0, 0, 0, 1, -1, -2]


def reference_group_quantiles(key, values, groups, qs):
    """Sort each group's values in Python and interpolate between order statistics."""
    out = []
    for q in qs:
        row = []
        for g in groups:
            v = sorted(float(x) for k, x in zip(key, values, strict=True) if k == g and k >= 0)
            if not v:
                row.append(np.nan)
                continue
            pos = (len(v) - 1) * q
            a, b = int(np.floor(pos)), int(np.ceil(pos))
            row.append(v[a] + (v[b] - v[a]) * (pos - a))
        out.append(np.array(row))
    return out


@st.composite
def grouped_values(draw):
    n = draw(st.integers(0, 200))
    n_groups = draw(st.integers(1, 6))
    key = np.array(draw(st.lists(st.integers(-1, n_groups - 1), min_size=n, max_size=n)))
    # few distinct values: ties everywhere; cents per unit as floats
    pool = draw(st.lists(st.integers(-500, 5000), min_size=1, max_size=8))
    values = np.array(draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n)), float)
    values /= draw(st.sampled_from([1.0, 3.0, 7.0]))
    groups = np.array(draw(st.lists(st.integers(-1, n_groups + 1), max_size=8)), np.int64)
    return key.astype(np.int64), values, groups


@settings(max_examples=80)
@given(grouped_values(), st.lists(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0]),
                                  min_size=1, max_size=4))  # fmt: skip
def test_group_quantiles_match_sorting_each_group(data, qs):
    from ledgerkit.analytics.facts import _sorted_group_quantiles, group_quantiles

    key, values, groups = data
    got = group_quantiles(key, values, groups, qs)
    want = reference_group_quantiles(key, values, groups, qs)
    old = _sorted_group_quantiles(key, values, groups, qs)
    for g, w, o in zip(got, want, old, strict=True):
        np.testing.assert_array_equal(g, w)  # bit for bit, NaN where empty
        np.testing.assert_array_equal(g, o)


def test_group_median_even_count_and_ties():
    from ledgerkit.analytics.facts import group_quantiles

    key = np.array([0, 0, 0, 0, 1, 1, 1, 2], np.int64)
    values = np.array([5.0, 1.0, 5.0, 3.0, 2.0, 2.0, 9.0, 4.0])
    (median,) = group_quantiles(key, values, np.array([0, 1, 2, 3]), (0.5,))
    np.testing.assert_array_equal(median, [4.0, 2.0, 4.0, np.nan])


@settings(max_examples=60)
@given(
    st.lists(st.lists(st.one_of(st.none(), st.sampled_from(["CO", "PR", "OA"])), max_size=40),
             min_size=1, max_size=4),
    st.integers(0, 5),
    st.sampled_from(["int8", "int16", "int32"]),
)  # fmt: skip
def test_dictionary_codes_of_sliced_chunks_with_nulls(chunks, cut, index_type):
    import pyarrow as pa

    from ledgerkit.core.arrow import dictionary_codes

    index = getattr(pa, index_type)()
    arrays = []
    for values in chunks:
        array = pa.array(values, pa.string()).dictionary_encode()
        array = array.cast(pa.dictionary(index, pa.string()))
        arrays.append(array.slice(min(cut, len(array))))  # a chunk with an offset
    column = pa.chunked_array(arrays, pa.dictionary(index, pa.string()))
    codes, labels = dictionary_codes(column)
    assert codes.dtype == np.int32
    assert [None if c < 0 else labels[c] for c in codes] == column.to_pylist()
    small, small_labels = dictionary_codes(column, smallest=True)
    assert small.dtype == np.int8 and small_labels == labels
    np.testing.assert_array_equal(small, codes)
    plain = column.cast(pa.string())  # not a dictionary: hashed, then narrowed
    small, small_labels = dictionary_codes(plain, smallest=True)
    assert small.dtype == np.int8
    assert [None if c < 0 else small_labels[c] for c in small] == column.to_pylist()


def reference_take_backs(kind, seq, negation, amounts, day, starts):
    """Each negated payer payment, unless its payer_seq re-posted on the same
    procedure and day: plain loops over each procedure's entries."""
    out = []
    for p in range(len(starts) - 1):
        rows = range(starts[p], starts[p + 1])
        for i in rows:
            back = kind[i] == 1 and seq[i] >= 1 and negation[i] and amounts[i] < 0
            repost = any(
                kind[j] == 1 and not negation[j] and seq[j] == seq[i] and day[j] == day[i]
                for j in rows
            )
            out.append(bool(back and not repost))
    return out


@st.composite
def procedure_entries(draw):
    sizes = draw(st.lists(st.integers(0, 6), max_size=40))
    n = sum(sizes)

    def column(values):
        return draw(st.lists(values, min_size=n, max_size=n))

    kind = np.array(column(st.integers(0, 5)), np.int8)
    seq = np.array(column(st.integers(0, 3)), np.int8)
    negation = np.array(column(st.booleans()), bool)
    amounts = np.array(column(st.integers(-9000, 9000)), np.int64)
    day = np.array(column(st.integers(-3, 3)), np.int32)  # a few days: same-day reposts
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    return kind, seq, negation, amounts, day, starts


@settings(max_examples=80)
@given(procedure_entries())
def test_take_backs_kernel_matches_the_reference(data):
    from ledgerkit._kernels.take_backs import take_backs_nb

    out = np.empty(len(data[0]), np.bool_)
    take_backs_nb(*data, out)
    assert out.tolist() == reference_take_backs(*data)


@settings(max_examples=60)
@given(
    st.lists(st.tuples(st.integers(0, 5), st.integers(-3, 3)), max_size=60),
    st.lists(st.tuples(st.integers(-1, 6), st.integers(-4, 4)), max_size=20),
)
def test_search_after_matches_a_scan(rows, queries):
    from ledgerkit._kernels.links import search_after_nb

    rows = sorted(rows)
    base = np.array([b for b, _ in rows], np.int64)
    t = np.array([x for _, x in rows], np.int64)
    q = np.array([b for b, _ in queries], np.int64)
    when = np.array([x for _, x in queries], np.int64)
    out = np.empty(len(q), np.int64)
    search_after_nb(base, t, q, when, out)
    want = [next((i for i, r in enumerate(rows) if r > pair), len(rows)) for pair in queries]
    assert out.tolist() == want


# days_in_ar: the per-entry numpy version it replaced (a mask and a group sum per month)
def reference_days_in_ar(ledger, by="payer", window_days=90):
    import pyarrow as pa

    from ledgerkit._kernels import codes as C
    from ledgerkit.analytics.ar_days import _empty, _month_ends
    from ledgerkit.analytics.facts import Dims, Grouping, group_sums, today_day
    from ledgerkit.analytics.ledger_entries import BALANCE_SIGN, entry_procs
    from ledgerkit.core.arrow import dates_of, day_numbers

    by = () if by is None else ((by,) if isinstance(by, str) else tuple(by))
    catalog = policy = None
    balance_effect = lambda f, ledger: ledger.keys.amounts * BALANCE_SIGN[C.bucket_of(f.codes)]  # noqa: E731,E501
    dims = Dims(ledger, catalog, policy)
    f = dims.facts
    effect = balance_effect(f, ledger)
    proc = entry_procs(ledger)
    service = day_numbers(ledger.encounters["service_date"]).astype(np.int64)[f.proc_enc[proc]]
    day = np.maximum(f.entry_day.astype(np.int64), service)  # counts once both have happened
    charge = C.bucket_of(f.codes) == C.CHARGE
    last = today_day(ledger, None)
    if not charge.any():
        return _empty(by)
    first = int(day[charge].min())
    ends = _month_ends(first, last)
    cols = dims.columns(by, proc=proc) if by else []
    g = Grouping(cols) if cols else None
    key = g.key if g else np.zeros(len(day), np.int64)
    n_groups = g.n_groups if g else 1
    n_m = len(ends)
    # A/R: each entry counts from the first month end on or after its day
    month = np.searchsorted(ends, day, side="left")
    inside = month < n_m
    cell = np.where(inside, month * n_groups + key, -1)
    ar = group_sums(cell, {"ar": effect}, n_m * n_groups)[0]["ar"].reshape(n_m, n_groups)
    ar = np.cumsum(ar, axis=0)  # int64 cents, exact
    charges = np.zeros((n_m, n_groups), np.int64)
    c_day, c_key, c_amt = f.entry_day[charge].astype(np.int64), key[charge], effect[charge]
    for m, end in enumerate(ends):
        sel = (c_day > end - window_days) & (c_day <= end)
        charges[m] = group_sums(np.where(sel, c_key, -1), {"c": c_amt}, n_groups)[0]["c"]
    mi, gi = np.nonzero((ar != 0) | (charges != 0))
    avg = charges[mi, gi] / window_days
    out = {
        "month": pa.array(
            [str(np.datetime64(int(ends[m]), "D").astype("datetime64[M]")) for m in mi],
            pa.string(),
        ),  # fmt: skip
        "as_of": dates_of(ends[mi]),
    }
    if g:
        out.update(g.labels(gi))
    out.update(
        ar_cents=pa.array(ar[mi, gi]),
        charges_cents=pa.array(charges[mi, gi]),
        avg_daily_charges_cents=pa.array(avg),
        days_in_ar=pa.array(ar[mi, gi] / np.where(avg > 0, avg, 1.0), mask=avg <= 0),
    )
    return pa.table(out)


def test_days_in_ar_equals_the_per_entry_numpy_version():
    from ledgerkit.analytics.ar_days import days_in_ar

    ledger = lk.synth.lifecycle(lk.synth.generate(600, seed=4), seed=2).ledger
    perm = np.random.default_rng(1).permutation(ledger.entries.num_rows)
    shuffled = lk.Ledger.from_arrow(
        ledger.encounters, ledger.procedures, ledger.entries.take(perm), ledger.payers
    )
    for each in (ledger, shuffled):
        for by, window in ((None, 90), ("payer", 90), (("provider", "cpt"), 30), ("site", 400)):
            got = days_in_ar(each, by=by, window_days=window)
            want = reference_days_in_ar(each, by=by, window_days=window)
            assert got.num_rows > 0
            assert got.equals(want), (by, window)


def reference_allowed_by_cpt(ledger, fee_schedule=None, tolerance=0.05):
    """allowed_by_cpt as it was: every line's expected amount, medians by sorting every
    line (lexsort), numpy masks and bincounts."""
    import pyarrow as pa

    from ledgerkit.analytics.facts import NO_DAY, Dims, Grouping, _sorted_group_quantiles, ratio
    from ledgerkit.analytics.payer_behaviour import _fee_lookup
    from ledgerkit.core.arrow import int_array

    dims = Dims(ledger)
    f = dims.facts
    keys = ledger.keys
    payer_codes, payer_labels = dims.encounter("payer")
    payer = payer_codes[f.proc_enc]
    cpt, cpt_labels = dims.cpt()
    units = int_array(ledger.procedures["units"], np.int64)
    if keys.proc_order is not None:
        units = units[keys.proc_order]
    units = np.maximum(units, 1)
    allowed = f.figures["allowed"]
    adjudicated = (f.enc_first_day[f.proc_enc, 1] != NO_DAY) & (allowed > 0)
    g = Grouping([("payer", payer, payer_labels), ("cpt", cpt, cpt_labels)], mask=adjudicated)
    if fee_schedule is None:
        present = np.flatnonzero(np.bincount(g.key[adjudicated], minlength=g.n_groups) > 0)
        (median,) = _sorted_group_quantiles(g.key, allowed / units, present, (0.5,))
        expected_g = np.full(g.n_groups, np.nan)
        expected_g[present] = median
        expected = np.where(adjudicated, expected_g[np.maximum(g.key, 0)], np.nan)
    else:
        expected = _fee_lookup(fee_schedule, payer, payer_labels, cpt, cpt_labels)
    total = expected * units
    ok = adjudicated & ~np.isnan(total)
    under = ok & (allowed < np.nan_to_num(total) * (1.0 - tolerance))
    shortfall = np.where(under, np.round(np.nan_to_num(total)) - allowed, 0)
    shortfall = np.maximum(shortfall, 0).astype(np.int64)
    sums, counts = g.sums({
        "allowed": np.where(adjudicated, allowed, 0), "units": np.where(adjudicated, units, 0),
        "under": under.astype(np.int64), "shortfall": shortfall,
    })  # fmt: skip
    present = np.flatnonzero(counts > 0)
    at = np.maximum(g.key, 0)
    exp_sum = np.bincount(
        at, weights=np.where(adjudicated, np.nan_to_num(expected), 0.0), minlength=g.n_groups
    )
    exp_n = np.bincount(
        at, weights=(adjudicated & ~np.isnan(expected)).astype(float), minlength=g.n_groups
    )
    out = g.labels(present)
    out["lines"] = pa.array(counts[present])
    out["mean_allowed_per_unit"] = ratio(sums["allowed"][present], sums["units"][present])
    out["expected_per_unit"] = ratio(exp_sum[present], exp_n[present])
    out["underpaid_lines"] = pa.array(sums["under"][present])
    out["shortfall_cents"] = pa.array(sums["shortfall"][present])
    return pa.table(out)


def test_allowed_by_cpt_equals_the_sorting_version():
    import pyarrow as pa

    from ledgerkit.analytics.payer_behaviour import allowed_by_cpt, underpayments

    ledger = lk.synth.generate(3000, seed=7)
    perm = np.random.default_rng(2).permutation(ledger.procedures.num_rows)
    shuffled = lk.Ledger.from_arrow(
        ledger.encounters, ledger.procedures.take(perm), ledger.entries, ledger.payers
    )
    cpts = ledger.procedures["cpt"].unique().to_pylist()[:6]
    fees = pa.table({
        "payer_id": [None] * len(cpts) + [ledger.payers["payer_id"][0].as_py()],
        "cpt": cpts + [cpts[0]],
        "allowed_cents": [9000 + 1000 * i for i in range(len(cpts))] + [12_345],
    })  # fmt: skip
    for each in (ledger, shuffled):
        for fee_schedule, tolerance in ((None, 0.05), (None, 0.0), (fees, 0.1)):
            got = allowed_by_cpt(each, fee_schedule=fee_schedule, tolerance=tolerance)
            want = reference_allowed_by_cpt(each, fee_schedule, tolerance)
            assert got.num_rows > 0 and sum(got["underpaid_lines"].to_pylist()) > 0
            assert got.equals(want), (fee_schedule is None, tolerance)
        # the lines listed add up to the same shortfall, to the cent
        t = underpayments(each, tolerance=0.05)
        assert sum(t["shortfall_cents"].to_pylist()) == sum(
            allowed_by_cpt(each, tolerance=0.05)["shortfall_cents"].to_pylist()
        )


@settings(max_examples=40)
@given(st.lists(st.integers(-(2**31), 2**31 - 1), max_size=300))
def test_gather_is_a_take(values):
    from ledgerkit._kernels.entry_codes import gather_nb

    values = np.array(values, np.int32)
    order = np.random.default_rng(len(values)).permutation(len(values))
    out = np.empty(len(order), np.int32)
    gather_nb(values, order, out)
    np.testing.assert_array_equal(out, values[order])


def reference_covering_items(worklist, items):
    """join_work's rule with tuples in a dict: exact, line, CARC, then encounter."""
    keys = zip(*(items[c].to_pylist() for c in ("encounter_id", "line", "carc")), strict=True)
    index = {k: i for i, k in enumerate(keys)}
    out = []
    for e, ln, c in zip(*(worklist[c].to_pylist() for c in ("encounter_id", "line", "carc")),
                        strict=True):  # fmt: skip
        hit = -1
        for k in ((e, ln, c), (e, ln, None), (e, None, c), (e, None, None)):
            if k in index:
                hit = index[k]
                break
        out.append(hit)
    return out


ITEM_KEYS = st.tuples(
    st.sampled_from(["E1", "E2", "E3", "E4"]),
    st.one_of(st.none(), st.integers(1, 3)),
    st.one_of(st.none(), st.sampled_from(["45", "50", "197"])),
)


@settings(max_examples=80)
@given(st.lists(ITEM_KEYS, unique=True, max_size=25), st.lists(ITEM_KEYS, max_size=25))
def test_covering_items_match_the_tuple_lookup(item_keys, row_keys):
    import pyarrow as pa

    from ledgerkit.analytics.work_items import _covering_items

    def table(rows):
        cols = list(zip(*rows, strict=True)) if rows else [[], [], []]
        return pa.table({
            "encounter_id": pa.array(cols[0], pa.string()),
            "line": pa.array(cols[1], pa.int32()),
            "carc": pa.array(cols[2], pa.string()),
        })  # fmt: skip

    items, worklist = table(item_keys), table(row_keys)
    got = _covering_items(worklist, items).tolist()
    assert got == reference_covering_items(worklist, items)


# first_pass_resolution_rate: the per-entry numpy version it replaced
def reference_first_pass(ledger, by="month"):
    import pyarrow as pa

    from ledgerkit._kernels import codes as C
    from ledgerkit.analytics.facts import NO_DAY, Dims, Grouping, ratio
    from ledgerkit.analytics.ledger_entries import entry_procs, negations

    _COVERS = (C.PAID, C.CONTRACTUAL, C.PR_DEDUCTIBLE, C.PR_COINSURANCE, C.PR_COPAY, C.PR_OTHER)
    by = () if by is None else ((by,) if isinstance(by, str) else tuple(by))
    catalog = policy = None
    dims = Dims(ledger, catalog, policy)
    f = dims.facts
    keys = ledger.keys
    proc = entry_procs(ledger)
    enc_of_entry = f.proc_enc[proc]
    first_day = f.enc_first_day[:, 1]
    first = (
        (keys.entry_seq == 1)
        & (f.entry_day == first_day[enc_of_entry])
        & ~negations(ledger)
        & np.isin(C.bucket_of(f.codes), _COVERS)
    )
    n_proc = len(f.proc_enc)
    covered = np.bincount(proc[first], weights=keys.amounts[first], minlength=n_proc)
    charge = f.figures["charge"]
    line_ok = (covered >= charge) & (f.first_denied <= 0)
    n_enc = keys.n_encounters
    bad = np.bincount(f.proc_enc[~line_ok], minlength=n_enc) > 0
    claim = (keys.enc_n_payers >= 1) & (first_day != NO_DAY)
    ok = claim & ~bad
    enc_charge = np.bincount(f.proc_enc, weights=charge, minlength=n_enc).astype(np.int64)
    # encounter dimensions, read through each encounter's first procedure
    rep = keys.enc_proc_start[:-1].astype(np.int64)
    has = keys.enc_proc_start[1:] > keys.enc_proc_start[:-1]
    claim &= has
    ok &= has
    cols = dims.columns(by, proc=np.minimum(rep, max(n_proc - 1, 0))) if by else []
    g = Grouping(cols, mask=claim) if cols else None
    key = g.key if g else np.where(claim, 0, -1)
    n_groups = g.n_groups if g else 1
    values = {
        "claims": claim.astype(np.int64),
        "first_pass_claims": ok.astype(np.int64),
        "charge_cents": np.where(claim, enc_charge, 0),
        "first_pass_charge_cents": np.where(ok, enc_charge, 0),
    }
    from ledgerkit.analytics.facts import group_sums, grouped

    sums, counts = group_sums(key, values, n_groups)
    present = np.flatnonzero(counts > 0)
    s = {k: v[present] for k, v in sums.items()}
    out = {
        "claims": s["claims"],
        "first_pass_claims": s["first_pass_claims"],
        "first_pass_rate": ratio(s["first_pass_claims"], s["claims"]),
        "charge_cents": s["charge_cents"],
        "first_pass_charge_cents": s["first_pass_charge_cents"],
        "first_pass_dollar_rate": ratio(s["first_pass_charge_cents"], s["charge_cents"]),
    }
    if g:
        return grouped(g, present, out)
    return pa.table({k: (v if isinstance(v, pa.Array) else pa.array(v)) for k, v in out.items()})


def test_first_pass_equals_the_per_entry_numpy_version():
    from ledgerkit.analytics.first_pass import first_pass_resolution_rate

    ledger = lk.synth.lifecycle(lk.synth.generate(600, seed=5), seed=3).ledger
    perm = np.random.default_rng(3).permutation(ledger.entries.num_rows)
    shuffled = lk.Ledger.from_arrow(
        ledger.encounters, ledger.procedures, ledger.entries.take(perm), ledger.payers
    )
    for each in (ledger, shuffled):
        for by in (None, "month", ("payer", "site")):
            got = first_pass_resolution_rate(each, by=by)
            want = reference_first_pass(each, by=by)
            assert got.num_rows > 0 and sum(got["first_pass_claims"].to_pylist()) > 0
            assert got.equals(want), by


def test_lifecycle_links_are_kept_per_events_table_and_equal_a_fresh_build():
    from ledgerkit.analytics import appeal_outcomes as ao
    from ledgerkit.analytics import work_items as wi
    from ledgerkit.analytics.lifecycle_metrics import appeal_overturn_rate

    lc = lk.synth.lifecycle(lk.synth.generate(800, seed=9), seed=4)
    ledger, events = lc.ledger, lc.events
    first = ao.appeal_outcomes(events, ledger=ledger)
    assert ao.appeal_outcomes(events, ledger=ledger) is first  # kept
    assert first.num_rows > 0 and sum(first["paid_cents"].to_pylist()) > 0
    assert first.equals(ao._appeal_outcomes(events, None, ledger))  # the same as fresh
    copy = events.slice(0)  # another table object: built afresh, the same answer
    assert ao.appeal_outcomes(copy, ledger=ledger) is not first
    assert ao.appeal_outcomes(copy, ledger=ledger).equals(first)
    rows = events.to_pylist()  # a list may be edited: never kept
    assert ao.appeal_outcomes(rows, ledger=ledger) is not ao.appeal_outcomes(rows, ledger=ledger)
    items = wi.work_items(events, ledger=ledger)
    assert wi.work_items(events, ledger=ledger) is items
    assert items.equals(wi._work_items(events, None, ledger))
    rate = appeal_overturn_rate(ledger, events, by=("payer", "category"))
    assert rate.equals(appeal_overturn_rate(ledger, events.slice(0), by=("payer", "category")))
