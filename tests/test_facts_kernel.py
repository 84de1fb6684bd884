"""The facts' one-pass kernel (``_kernels.facts.entry_denial_facts_nb``, issue #19 item 5)
against a slow reference written from the definitions, on random grouped ledgers with and
without an entry order, and ``Derived.facts`` against that reference on synthetic ledgers
(grouped, appended, and read back from Parquet)."""

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ledgerkit as lk
from ledgerkit._kernels import codes as C
from ledgerkit._kernels.denials import NO_DAY
from ledgerkit._kernels.facts import entry_denial_facts_nb
from ledgerkit.analytics.derived import Derived, derived
from ledgerkit.core.arrow import dictionary_codes, valid_array
from ledgerkit.core.row_groups import dictionary_codes_of_parts

FACT_NAMES = ("first_denied", "first_reason", "later_paid", "last_day", "top_reason")


def reference_facts(codes, amounts, order, day, negation, carc, enc_proc_start, proc_entry_start):
    """The denial facts from their definitions, one Python loop per encounter and
    procedure; per-entry columns in row order, ``order`` grouped -> row (None: identity)."""
    n = len(codes)
    rows = list(range(n)) if order is None else [int(r) for r in order]
    n_enc = len(enc_proc_start) - 1
    n_proc = len(proc_entry_start) - 1
    first_day = [[NO_DAY] * 4 for _ in range(n_enc)]
    facts = {name: [0] * n_proc for name in FACT_NAMES}
    for e in range(n_enc):
        p0, p1 = int(enc_proc_start[e]), int(enc_proc_start[e + 1])
        entries = range(int(proc_entry_start[p0]), int(proc_entry_start[p1]))
        for k in (1, 2, 3):
            days = [
                int(day[rows[i]])
                for i in entries
                if C.payer_seq_of(int(codes[i])) == k
                and C.PAID <= C.bucket_of(int(codes[i])) <= C.OTHER
                and not negation[rows[i]]
            ]
            first_day[e][k] = min(days) if days else NO_DAY
        d1 = first_day[e][1]
        for p in range(p0, p1):
            mine = range(int(proc_entry_start[p]), int(proc_entry_start[p + 1]))
            seq = {i: C.payer_seq_of(int(codes[i])) for i in mine}
            bucket = {i: C.bucket_of(int(codes[i])) for i in mine}
            live_denials = [
                i for i in mine if bucket[i] == C.DENIED and seq[i] >= 1 and C.is_live(codes[i])
            ]
            # the largest amount, the first entry on ties
            top = max(live_denials, key=lambda i: (amounts[i], -i), default=None)
            facts["top_reason"][p] = -1 if top is None else int(carc[rows[top]])
            if d1 == NO_DAY:
                facts["first_reason"][p] = -1
                facts["last_day"][p] = NO_DAY
                continue
            first = [
                i
                for i in mine
                if seq[i] == 1
                and bucket[i] == C.DENIED
                and day[rows[i]] == d1
                and not negation[rows[i]]
            ]
            facts["first_denied"][p] = sum(int(amounts[i]) for i in first)
            big = max(first, key=lambda i: (amounts[i], -i), default=None)
            facts["first_reason"][p] = -1 if big is None else int(carc[rows[big]])
            later = [i for i in mine if day[rows[i]] > d1]
            facts["later_paid"][p] = sum(
                int(amounts[i]) for i in later if bucket[i] == C.PAID and seq[i] == 1
            )
            ends = [
                int(day[rows[i]])
                for i in later
                if seq[i] > 0 and C.PAID <= bucket[i] <= C.PUSHED_TO_PR
            ]
            facts["last_day"][p] = max(ends) if ends else NO_DAY
    return first_day, facts


def run_kernel(codes, amounts, order, day, negation, carc, enc_proc_start,
               proc_entry_start):  # fmt: skip
    n, n_enc, n_proc = len(codes), len(enc_proc_start) - 1, len(proc_entry_start) - 1
    if order is None:
        grouped = (day, carc)
        order = np.empty(0, np.int64)
    else:
        grouped = (np.empty(n, day.dtype), np.empty(n, carc.dtype))
    out = {
        "enc_first_day": np.empty((n_enc, 4), np.int32),
        "first_denied": np.empty(n_proc, np.int64),
        "first_reason": np.empty(n_proc, np.int32),
        "later_paid": np.empty(n_proc, np.int64),
        "last_day": np.empty(n_proc, np.int32),
        "top_reason": np.empty(n_proc, np.int32),
    }
    entry_denial_facts_nb(
        codes, amounts, order, day, negation, carc, enc_proc_start, proc_entry_start,
        *grouped, *out.values(),
    )  # fmt: skip
    return grouped, out


@st.composite
def grouped_entries(draw):
    """Encounters of procedures of entries (grouped codes and amounts) and row-order
    columns, with small day and amount ranges so that ties and equal days happen."""
    procs_per_enc = draw(st.lists(st.integers(0, 4), min_size=0, max_size=12))
    n_proc = sum(procs_per_enc)
    entries_per_proc = draw(st.lists(st.integers(0, 7), min_size=n_proc, max_size=n_proc))
    n = sum(entries_per_proc)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    bucket = rng.integers(0, C.N_BUCKETS, n)
    seq = rng.integers(0, 4, n)
    live = rng.integers(0, 2, n)
    codes = np.array(
        [C.pack_code(int(b), int(s), int(v)) for b, s, v in zip(bucket, seq, live, strict=True)],
        np.int8,
    )
    amounts = rng.choice(np.array([-500, 0, 7, 7, 250, 10_000]), n).astype(np.int64)
    order = rng.permutation(n).astype(np.int64) if draw(st.booleans()) else None
    day = rng.integers(19_000, 19_004, n).astype(np.int32)
    negation = rng.random(n) < 0.2
    carc = rng.integers(-1, 40, n).astype(np.int16)
    enc_proc_start = np.concatenate([[0], np.cumsum(procs_per_enc)]).astype(np.int64)
    proc_entry_start = np.concatenate([[0], np.cumsum(entries_per_proc)]).astype(np.int64)
    return codes, amounts, order, day, negation, carc, enc_proc_start, proc_entry_start


@settings(max_examples=60)
@given(grouped_entries())
def test_entry_denial_facts_match_the_reference(data):
    codes, amounts, order, day, negation, carc, enc_proc_start, proc_entry_start = data
    grouped, out = run_kernel(*data)
    rows = np.arange(len(codes)) if order is None else order
    assert grouped[0].tolist() == day[rows].tolist()
    assert grouped[1].tolist() == carc[rows].tolist()
    first_day, facts = reference_facts(
        codes, amounts, order, day, negation, carc, enc_proc_start, proc_entry_start
    )
    assert out["enc_first_day"].tolist() == first_day
    for name in FACT_NAMES:
        assert out[name].tolist() == facts[name], name


def test_entry_denial_facts_of_nothing():
    empty = np.empty(0, np.int64)
    data = (
        np.empty(0, np.int8), empty, None, np.empty(0, np.int32), np.empty(0, np.bool_),
        np.empty(0, np.int16), np.zeros(1, np.int64), np.zeros(1, np.int64),
    )  # fmt: skip
    grouped, out = run_kernel(*data)
    assert all(len(v) == 0 for v in out.values())


def test_entry_denial_facts_hand_example():
    """One encounter, one line: the primary denies $40 (CO-45 is contractual, the PI-59
    denial $14.91 beside a $5 one) and pays $22.88 on day 10; a reversal on day 10 (a
    negation) does not count as a first response denial; it pays $3 more on day 12."""
    codes = np.array(
        [
            C.pack_code(C.CHARGE, 0, 1),
            C.pack_code(C.PAID, 1, 1),
            C.pack_code(C.DENIED, 1, 1),
            C.pack_code(C.DENIED, 1, 1),
            C.pack_code(C.DENIED, 1, 0),  # a negation of a denial: not live
            C.pack_code(C.PAID, 1, 1),
        ],
        np.int8,
    )
    amounts = np.array([4500, 2288, 1491, 500, -700, 300], np.int64)
    day = np.array([9, 10, 10, 10, 10, 12], np.int32)
    negation = np.array([False, False, False, False, True, False])
    carc = np.array([-1, -1, 3, 8, 3, -1], np.int16)
    starts = np.array([0, 1], np.int64)
    _, out = run_kernel(codes, amounts, None, day, negation, carc, starts,
                        np.array([0, 6], np.int64))  # fmt: skip
    assert out["enc_first_day"].tolist() == [[NO_DAY, 10, NO_DAY, NO_DAY]]
    assert out["first_denied"].tolist() == [1991]  # $14.91 + $5.00, the negation left out
    assert out["first_reason"].tolist() == [3]
    assert out["later_paid"].tolist() == [300]
    assert out["last_day"].tolist() == [12]
    assert out["top_reason"].tolist() == [3]


def check_facts_against_reference(ledger):
    d = Derived(ledger, ledger.policy)
    f = d.facts
    keys = ledger.keys
    day = d.posted_day
    negation = valid_array(ledger.entries["negates"])
    carc = keys.reason_codes(ledger.entries)[2]
    payer, payer_values = dictionary_codes(ledger.entries["payer_id"], smallest=True)
    rows = np.arange(len(day)) if keys.entry_order is None else keys.entry_order
    assert f.entry_day.tolist() == day[rows].tolist()
    assert f.entry_carc.tolist() == carc[rows].tolist()
    assert f.entry_payer.dtype == payer.dtype and f.entry_payer.tolist() == payer[rows].tolist()
    assert f.payer_values == payer_values
    first_day, facts = reference_facts(
        f.codes, keys.amounts, keys.entry_order, day, negation, carc,
        keys.enc_proc_start, keys.proc_entry_start,
    )  # fmt: skip
    assert f.enc_first_day.tolist() == first_day
    for name in FACT_NAMES:
        assert getattr(f, name).tolist() == facts[name], name
    return d, f


def test_facts_of_a_grouped_ledger_equal_the_reference():
    ledger = lk.synth.generate(300, seed=5)
    assert ledger.keys.entry_order is None
    d, f = check_facts_against_reference(ledger)
    assert f.first_denied.sum() > 0 and (f.top_reason >= 0).any()
    # grouped already: the kept day is the row-order posting day itself, not a copy
    assert f.entry_day is d.posted_day is d.entry_day


def test_facts_of_an_appended_ledger_equal_the_reference():
    ledger = lk.synth.lifecycle(lk.synth.generate(300, seed=6), seed=4).ledger
    assert ledger.keys.entry_order is not None
    d, f = check_facts_against_reference(ledger)
    assert d.entry_day is f.entry_day  # the gathered day serves the entry_day property
    assert (f.later_paid != 0).any() and (f.last_day != NO_DAY).any()


def test_facts_read_from_parquet_equal_the_facts_in_memory(tmp_path):
    ledger = lk.synth.lifecycle(lk.synth.generate(200, seed=7), seed=3).ledger
    ledger.to_parquet(tmp_path / "ledger")
    lean = lk.Ledger.from_parquet(tmp_path / "ledger")
    a, b = derived(ledger).facts, derived(lean).facts
    assert "_payer" not in b.__dict__  # the payer column is read when a metric asks
    for name in ("entry_day", "entry_carc", "entry_payer", "enc_first_day", *FACT_NAMES):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name
    assert b.entry_payer is b.entry_payer  # read once, then kept
    assert a.payer_values == b.payer_values and a.carc_values == b.carc_values
    # the facts' read of posted_at serves the posting days too (no second read)
    assert np.array_equal(derived(lean).posted_day, derived(ledger).posted_day)


def test_facts_of_a_folder_in_many_row_groups_equal_the_facts_in_memory(tmp_path):
    """Entries read a row group at a time (37 rows each, each with its own payer
    dictionary) give the facts of the ledger in memory, payer codes and values included."""
    import pyarrow.parquet as pq

    from ledgerkit.core import sidecar

    ledger = lk.synth.lifecycle(lk.synth.generate(150, seed=8), seed=5).ledger
    folder = tmp_path / "ledger"
    ledger.to_parquet(folder)
    entries = pq.read_table(folder / "entries.parquet")
    pq.write_table(entries, folder / "entries.parquet", row_group_size=37)
    sidecar.write_keys(folder, ledger.keys, ledger.reason_codes(), ledger.policy)
    lean = lk.Ledger.from_parquet(folder)
    assert pq.ParquetFile(folder / "entries.parquet").num_row_groups > 10
    a, b = derived(ledger).facts, derived(lean).facts
    assert lean.keys.entry_order is not None  # appended entries: the gathering path
    for name in ("entry_day", "entry_carc", "entry_payer", "enc_first_day", *FACT_NAMES):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name
    assert a.payer_values == b.payer_values
    assert np.array_equal(derived(lean).posted_day, derived(ledger).posted_day)


@st.composite
def dictionary_parts(draw):
    pool = ["P1", "P2", "Q", "R9", "a", "b"]
    chunks = []
    for _ in range(draw(st.integers(0, 5))):
        values = draw(st.lists(st.sampled_from([*pool, None]), max_size=9))
        kind = draw(st.sampled_from(["dictionary", "plain", "sliced"]))
        array = pa.array(values, pa.string())
        if kind != "plain":
            array = array.dictionary_encode()
        if kind == "sliced" and len(array) > 2:
            array = array.slice(1, len(array) - 2)
        chunks.append(array)
    return chunks


@settings(max_examples=60)
@given(dictionary_parts())
def test_dictionary_codes_of_parts_equal_the_whole_column(chunks):
    n = sum(len(c) for c in chunks)
    codes, values = dictionary_codes_of_parts(iter(chunks), n)
    same_type = len({c.type for c in chunks}) == 1
    if chunks and same_type:  # all dictionaries, or all plain strings
        want_codes, want_values = dictionary_codes(pa.chunked_array(chunks), smallest=True)
        assert codes.dtype == want_codes.dtype and codes.tolist() == want_codes.tolist()
        assert values == want_values
    rows = [v for c in chunks for v in c.to_pylist()]
    assert [None if k < 0 else values[k] for k in codes.tolist()] == rows
    assert len(set(values)) == len(values)


def test_dictionary_codes_of_parts_widen_past_126_values():
    parts = [pa.array([f"p{i}" for i in range(100)]), pa.array([f"q{i}" for i in range(50)])]
    codes, values = dictionary_codes_of_parts(iter(parts), 150)
    assert codes.dtype == np.int16 and codes.tolist() == list(range(150))
    assert values[-1] == "q49"


def test_facts_of_a_folder_changed_since_opening_are_refused(tmp_path):
    import pyarrow.parquet as pq

    from ledgerkit.errors import LedgerError

    ledger = lk.synth.generate(40, seed=9)
    folder = tmp_path / "ledger"
    ledger.to_parquet(folder)
    lean = lk.Ledger.from_parquet(folder)
    entries = pq.read_table(folder / "entries.parquet")
    pq.write_table(entries.slice(0, entries.num_rows - 3), folder / "entries.parquet")
    with pytest.raises(LedgerError, match=r"entries\.parquet: changed since"):
        derived(lean).facts  # noqa: B018
    assert "facts" not in derived(lean).__dict__  # nothing half-done is kept
