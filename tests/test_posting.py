"""The posting engine: every decision path, built from synth + write_835/read_835."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from posting_data import (
    copy,
    shift_paid,
    single_line_paid_claims,
    split,
    subset,
    via_835,
    with_columns,
)

import ledgerkit as lk
from ledgerkit.posting.engine import REASONS, post, remit_ids
from ledgerkit.x12 import read_835

T1 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
T2 = dt.datetime(2026, 3, 8, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def synth_case():
    full = lk.synth.generate(1500, seed=11, credits=False)
    base, r = split(full)
    return full, base, r


def _codes(result):
    return result.decisions["reason_code"].to_pylist()


def test_round_trip_at_scale(tmp_path):
    """Charges (+ patient and manual work) + synth remits through 835 text = the original."""
    full = lk.synth.generate(12_000, seed=5, credits=False)
    base, r = split(full)
    back = via_835(r, tmp_path)
    result = post(base, back, at=T1)
    assert result.counts()["flagged"][0] == 0
    assert result.counts()["archived"][0] == 0
    assert "reversal" in _codes(result)
    assert lk.balances(result.ledger).equals(lk.balances(full))
    assert lk.balances(result.ledger, level="payer").equals(lk.balances(full, level="payer"))
    assert lk.classify(result.ledger).equals(lk.classify(full))


def test_charges_only_round_trip(synth_case):
    full, _, r = synth_case
    e = full.entries
    source = e["source"].cast(pa.string())
    charges = lk.Ledger.from_arrow(
        full.encounters, full.procedures, e.filter(pc.equal(source, "charge")), full.payers
    )
    expected = lk.Ledger.from_arrow(
        full.encounters,
        full.procedures,
        e.filter(pc.or_(pc.equal(source, "charge"), _decision_mask(e))),
        full.payers,
    )
    result = post(charges, r)
    assert result.counts()["flagged"][0] == 0
    assert lk.balances(result.ledger).equals(lk.balances(expected))
    assert lk.classify(result.ledger).equals(lk.classify(expected))


def _decision_mask(e):
    from posting_data import payer_decisions

    return payer_decisions(e)


def test_idempotent(synth_case, tmp_path):
    _, base, r = synth_case
    back = via_835(r, tmp_path)
    once = post(base, back, at=T1)
    twice = post(once.ledger, read_835(tmp_path / "batch.835"), at=T2)
    assert twice.entries.num_rows == 0
    assert twice.ledger.entries.equals(once.ledger.entries)
    assert set(_codes(twice)) == {"duplicate"}
    assert twice.counts()["archived"] == once.counts()["posted"]


def test_duplicate_in_batch(synth_case):
    _, base, r = synth_case
    from ledgerkit.x12 import Remittances

    result = post(base, Remittances.concat([r, r]))
    codes = np.asarray(_codes(result))
    assert (codes == "duplicate_in_batch").sum() == r.claims.num_rows
    assert result.entries.num_rows == post(base, r).entries.num_rows


def test_remit_id_ignores_file_and_dates(synth_case, tmp_path):
    _, _, r = synth_case
    one = subset(r, [0])
    a = remit_ids(via_835(one, tmp_path, "a.835"))
    tx = with_columns(one.transactions, payment_date=[dt.date(2030, 1, 1)], file=["other"])
    b = remit_ids(via_835(copy(one, transactions=tx), tmp_path, "b.835"))
    assert a.equals(b)
    changed = with_columns(one.claims, payer_claim_control_number=["X"])
    assert not remit_ids(copy(one, claims=changed)).equals(a)


def test_conflict_100_last_week_120_today(tmp_path):
    """The posting guide's example: a second, different remit with no reversal is flagged."""
    full = lk.synth.generate(400, seed=21, credits=False)
    base, r = split(full)
    pos = single_line_paid_claims(r)[0]
    first = via_835(subset(r, [pos]), tmp_path, "week1.835")
    week1 = post(base, first, at=T1)
    assert _codes(week1) == ["first_remit"]
    more = shift_paid(r, pos, 2000)  # pays $20 more, CO-45 $20 less
    week2 = post(week1.ledger, via_835(more, tmp_path, "week2.835"), at=T2)
    assert _codes(week2) == ["conflict"]
    assert week2.decisions["decision"].to_pylist() == ["flagged"]
    assert "not reversed" in week2.decisions["reason"][0].as_py()
    assert week2.entries.num_rows == 0
    assert week2.pending == [r.claims["encounter_id"][pos].as_py()]
    stages = lk.classify(week2.ledger, pending=week2.pending)
    enc = pc.equal(stages["encounter_id"], week2.pending[0])
    assert stages.filter(enc)["encounter_id"].to_pylist() == week2.pending


def test_literal_100_then_120():
    """Hand-typed: $150 charge, $100 paid last week, then a remit paying $120."""
    from ledgers import make_ledger

    ledger = make_ledger(
        [("C1", ("PAY1",))],
        [("C1", 1, "99213", 15000)],
        [dict(encounter_id="C1", line=1, payer_seq=1, kind="charge", amount_cents=15000)],
    )

    def remit(paid, co45, icn):
        return (
            f"ST*835*1~BPR*I*{paid}*C*CHK************20250301~N1*PR*Payer*XV*PAY1~LX*1~"
            f"CLP*C1*1*150*{paid}**MC*{icn}~SVC*HC:99213*150*{paid}~DTM*472*20250201~"
            f"CAS*CO*45*{co45}~SE*9*1~"
        ).encode()

    week1 = post(ledger, remit(100, 50, "A"))
    assert _codes(week1) == ["first_remit"]
    week2 = post(week1.ledger, remit(120, 30, "B"))
    assert _codes(week2) == ["conflict"]
    assert lk.balances(week2.ledger)["balance"].to_pylist() == [0]


def _reversal_pair(r):
    """(claims before, [reversal, correction]) positions of the first reversal in ``r``."""
    status = np.asarray(r.claims["status_code"].to_pylist())
    reversal = np.flatnonzero(status == "22")
    assert len(reversal)
    rev = int(reversal[0])
    enc = r.claims["encounter_id"][rev].as_py()
    same_enc = np.flatnonzero(np.asarray(r.claims["encounter_id"].to_pylist()) == enc)
    later = [int(i) for i in same_enc if i >= rev][:2]  # the reversal and its correction
    earlier = [i for i in range(r.claims.num_rows) if i not in later]
    return earlier, later


def test_reversal_and_correction(synth_case, tmp_path):
    full, base, r = synth_case
    earlier, later = _reversal_pair(r)
    before = post(base, via_835(subset(r, earlier), tmp_path, "a.835"), at=T1)
    assert before.counts()["flagged"][0] == 0
    pair = post(before.ledger, via_835(subset(r, later), tmp_path, "b.835"), at=T2)
    assert _codes(pair) == ["reversal", "first_remit"]
    negations = pair.entries.filter(pc.is_valid(pair.entries["negates"]))
    assert negations.num_rows > 0
    targets = pc.is_in(
        before.ledger.entries["entry_id"], value_set=negations["negates"].combine_chunks()
    )
    negated = before.ledger.entries.filter(targets)
    assert set(negated["source"].cast(pa.string()).to_pylist()) == {"remit"}
    assert pc.sum(negated["amount_cents"]).as_py() == -pc.sum(negations["amount_cents"]).as_py()
    assert lk.balances(pair.ledger).equals(lk.balances(full))


def test_reversal_without_original_and_mismatch(synth_case, tmp_path):
    _, base, r = synth_case
    earlier, (rev, _) = _reversal_pair(r)
    alone = post(base, via_835(subset(r, [rev]), tmp_path, "rev.835"))
    assert _codes(alone) == ["reversal_without_original"]
    assert alone.entries.num_rows == 0
    before = post(base, subset(r, earlier))
    wrong = shift_paid(r, rev, -100, group="CO", carc="45", pccn_suffix="")
    mismatch = post(before.ledger, via_835(wrong, tmp_path, "wrong.835"))
    assert _codes(mismatch) == ["reversal_mismatch"]


def test_negative_balance(synth_case, tmp_path):
    _, base, r = synth_case
    pos = single_line_paid_claims(r)[0]
    charge = r.claims["charge_cents"][pos].as_py()
    over = shift_paid(r, pos, charge, group="PR", carc="2")  # pays the charge again
    result = post(base, via_835(over, tmp_path))
    assert _codes(result) == ["negative_balance"]
    assert result.entries.num_rows == 0


def test_unmatched_claim_line_payer_unbalanced(synth_case, tmp_path):
    _, base, r = synth_case
    pos = single_line_paid_claims(r)[:4]
    one = [subset(r, [p]) for p in pos]
    no_claim = copy(one[0], claims=with_columns(one[0].claims, encounter_id=["NOT-A-CLAIM"]))
    lines = one[1].service_lines
    no_line = copy(
        one[1],
        service_lines=with_columns(lines, procedure_code=["ZZZZZ"], line_control_number=[None]),
    )
    no_payer = copy(one[2], transactions=with_columns(one[2].transactions, payer_id=["NOBODY"]))
    c = one[3].claims
    unbalanced = copy(one[3], claims=with_columns(c, paid_cents=[c["paid_cents"][0].as_py() + 1]))
    from ledgerkit.x12 import Remittances

    batch = via_835(Remittances.concat([no_claim, no_line, no_payer, unbalanced]), tmp_path)
    result = post(base, batch)
    assert sorted(_codes(result)) == sorted(
        ["unmatched_claim", "unmatched_line", "payer_not_in_coverage", "unbalanced_remit"]
    )
    assert set(result.decisions["decision"].to_pylist()) == {"flagged"}
    assert result.entries.num_rows == 0


def test_match_without_control_numbers(synth_case, tmp_path):
    """No REF*6R: lines match by code + modifiers + date + charge, identically."""
    full, base, r = synth_case
    lines = r.service_lines
    bare = copy(
        r,
        service_lines=with_columns(lines, line_control_number=[None] * lines.num_rows),
    )
    result = post(base, via_835(bare, tmp_path))
    flagged = result.flagged
    # only lines that could be one of several identical procedures stay unmatched
    assert set(flagged["reason_code"].to_pylist()) <= {"unmatched_line"}
    procs = base.procedures
    key = pc.binary_join_element_wise(
        procs["encounter_id"], procs["cpt"].cast(pa.string()),
        pc.fill_null(procs["modifiers"].cast(pa.string()), ""),
        procs["charge_cents"].cast(pa.string()), "|",
    )  # fmt: skip
    counts = pc.value_counts(key)
    twins = counts.filter(pc.greater(counts.field("counts"), 1)).field("values")
    twin_enc = {k.split("|")[0] for k in twins.to_pylist()}
    assert set(flagged["encounter_id"].to_pylist()) <= twin_enc
    clean = pc.invert(
        pc.is_in(base.encounters["encounter_id"], value_set=pa.array(list(twin_enc)))
    )
    clean_ids = base.encounters["encounter_id"].filter(clean).combine_chunks()
    got, want = lk.balances(result.ledger), lk.balances(full)
    keep = pc.is_in(got["encounter_id"], value_set=clean_ids)
    assert got.filter(keep).equals(want.filter(keep))


def test_claim_level_only(synth_case, tmp_path):
    """A claim without service lines: posted on a one-procedure encounter, else flagged."""
    full, base, r = synth_case
    n_proc = np.diff(base.keys.enc_proc_start)
    enc_pos = pc.index_in(r.claims["encounter_id"], base.encounters["encounter_id"]).to_numpy()
    status = np.asarray(r.claims["status_code"].to_pylist())
    one_line = np.flatnonzero((n_proc[enc_pos] == 1) & (status == "1"))[0]
    many = np.flatnonzero((n_proc[enc_pos] > 1) & (status == "1"))[0]

    def strip(pos):
        one = subset(r, [int(pos)])
        adj = one.adjustments
        adj = with_columns(adj, line_id=[None] * adj.num_rows)
        return copy(one, service_lines=one.service_lines.slice(0, 0), adjustments=adj)

    ok = post(base, via_835(strip(one_line), tmp_path, "a.835"))
    assert _codes(ok) == ["first_remit"]
    enc = r.claims["encounter_id"][int(one_line)].as_py()
    got = lk.balances(ok.ledger).filter(pc.equal(lk.balances(ok.ledger)["encounter_id"], enc))
    full_b = lk.balances(full)
    want = full_b.filter(pc.equal(full_b["encounter_id"], enc))
    assert got["paid"].equals(want["paid"])
    flagged = post(base, via_835(strip(many), tmp_path, "b.835"))
    assert _codes(flagged) == ["claim_level_amount"]
    assert flagged.entries.num_rows == 0


def test_entries_provenance(synth_case):
    _, base, r = synth_case
    result = post(base, subset(r, [0, 1, 2]), actor="era bot", note="batch 7", at=T1)
    e = result.entries
    assert set(e["source"].cast(pa.string()).to_pylist()) == {"remit"}
    assert set(e["actor"].cast(pa.string()).to_pylist()) == {"era bot"}
    refs = set(e["remit_ref"].cast(pa.string()).to_pylist())
    assert refs <= set(result.decisions["remit_id"].to_pylist())
    assert e["posted_at"][0].as_py() == T1
    ids = e["entry_id"].to_numpy()
    assert (np.diff(ids) == 1).all() and ids[0] == base.next_entry_id()


def test_reason_table_is_complete():
    assert {v[0] for v in REASONS.values()} == {"posted", "archived", "flagged"}
    import ledgerkit.posting.reasons as P

    for code in REASONS:
        assert code in P.__doc__


def test_empty_batch(synth_case):
    _, base, r = synth_case
    result = post(base, subset(r, []))
    assert result.decisions.num_rows == 0
    assert result.ledger is base


@pytest.mark.parametrize(
    "keys, values, expect",
    [
        ([2, 0, None, 5, -1], [0, 1, 2], [2, 0, -1, -1, -1]),  # row ids: arithmetic
        ([7, 3, 9], [3, 7, 8], [1, 0, -1]),  # other ids: hashed
        ([1, 1], [], [-1, -1]),
        (["b", None], ["a", "b"], [1, -1]),
    ],
)
def test_positions_of_ids(keys, values, expect):
    from ledgerkit.posting.batch import positions

    value_type = pa.string() if isinstance(keys[0], str) else pa.int32()
    got = positions(pa.array(keys, value_type), pa.array(values, value_type))
    assert got.tolist() == expect
