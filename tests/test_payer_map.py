"""Payer maps: remits whose 835 names the payer without the ledger's id (issue #14).

Real files often carry ``N1*PR*<name>`` with no N103/N104 and no REF*2U. Without a
map every claim is flagged ``payer_not_in_coverage``; with ``payer_map`` on
``read_835`` / ``post`` / ``LedgerStore.post`` / ``ledgerkit post`` they post like
files that carry the id, and ``post_flagged(..., payer_id=...)`` lets a person
post one such remit as the payer they choose.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from posting_data import copy, split, subset, with_columns

import ledgerkit as lk
from ledgerkit.cli import main
from ledgerkit.errors import LedgerError
from ledgerkit.posting.engine import post
from ledgerkit.posting.review import post_flagged
from ledgerkit.store.ledger_store import LedgerStore
from ledgerkit.x12 import read_835, write_835
from ledgerkit.x12.payer_map import PayerMap, apply_payer_map, read_payer_map

FULL = lk.synth.generate(150, seed=23)
BASE, REMITS = split(FULL)
NAMES = dict(zip(FULL.payers["payer_id"].to_pylist(), FULL.payers["name"].to_pylist()))
BY_NAME = {name: pid for pid, name in NAMES.items()}


def _named_only(r):
    """The same remits with the payer named only by N1*PR N102 (no id anywhere)."""
    tx = r.transactions
    names = [f"  {NAMES[p].lower()} " for p in tx["payer_id"].to_pylist()]  # case, spaces
    tx = with_columns(
        tx, payer_id=[None] * tx.num_rows, payer_id_qualifier=[None] * tx.num_rows,
        payer_name=names,
    )  # fmt: skip
    return copy(r, transactions=tx)


@pytest.fixture(scope="module")
def named_file(tmp_path_factory):
    path = write_835(_named_only(REMITS), tmp_path_factory.mktemp("x12") / "named.835")
    raw = path.read_bytes()
    assert b"REF*2U" not in raw
    for seg in raw.split(b"~"):
        if seg.strip().startswith(b"N1*PR"):
            assert seg.strip().count(b"*") == 2  # N1*PR*<name>: no N103, no N104
    return path


def _posted_entries(result):
    e = result.entries
    cols = ["encounter_id", "line", "payer_seq", "payer_id", "kind", "group_code", "carc"]
    t = pa.table({c: e[c].cast(pa.string()) if c != "line" else e[c] for c in cols})
    t = t.append_column("amount_cents", e["amount_cents"])
    return sorted(t.to_pylist(), key=lambda r: tuple(str(v) for v in r.values()))


def test_without_a_map_every_claim_is_flagged_payer_not_in_coverage(named_file):
    result = post(BASE, named_file)
    reasons = set(result.decisions["reason_code"].to_pylist())
    assert reasons == {"payer_not_in_coverage"}
    assert result.entries.num_rows == 0


def test_read_835_maps_names_to_the_ledger_payer_ids(named_file):
    r = read_835(named_file, payer_map=BY_NAME)
    assert r.transactions["payer_id"].to_pylist() == REMITS.transactions["payer_id"].to_pylist()
    # the map does not touch the claims' figures
    assert r.claims["paid_cents"].to_pylist() == REMITS.claims["paid_cents"].to_pylist()


def test_post_with_a_payer_map_posts_what_the_ids_would_have(named_file):
    with_ids = post(BASE, REMITS)
    mapped = post(BASE, named_file, payer_map=BY_NAME)
    assert mapped.counts()["flagged"][0] == with_ids.counts()["flagged"][0] == 0
    assert _posted_entries(mapped) == _posted_entries(with_ids)
    assert mapped.entries.num_rows > 0
    # a map given as Remittances + mapping, or as a file, gives the same entries
    again = post(BASE, read_835(named_file), payer_map=BY_NAME)
    assert _posted_entries(again) == _posted_entries(with_ids)


def test_ids_win_over_names_and_unknown_payers_stay_unmapped():
    tx = REMITS.transactions
    pid = tx["payer_id"][0].as_py()
    pm = PayerMap({pid: "P-ID", NAMES[pid]: "P-NAME"})
    assert pm.lookup(pid, NAMES[pid]) == "P-ID"
    assert pm.lookup("other", NAMES[pid].upper()) == "P-NAME"
    assert pm.lookup("other", "nobody") is None
    out = apply_payer_map(REMITS, {"nobody": "P9"})
    assert out.transactions["payer_id"].to_pylist() == tx["payer_id"].to_pylist()
    assert apply_payer_map(REMITS, None) is REMITS


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        (["A", "B"], "expected a mapping"),
        ({"": "P1"}, "non-empty string"),
        ({"ACME": ""}, "non-empty string"),
        ({"ACME": 7}, "non-empty string"),
        ({"ACME": "P1", "acme": "P2"}, "differ only in case"),
    ],
)
def test_bad_maps_are_refused_before_any_file_is_read(mapping, message):
    with pytest.raises(LedgerError, match=message):
        read_835("/no/such/file.835", payer_map=mapping)


def test_payer_map_files(tmp_path):
    csv = tmp_path / "map.csv"
    csv.write_text("payer,payer_id\nAcme Health,P01\n87726,P02\n")
    assert read_payer_map(csv).lookup(None, "ACME  HEALTH") == "P01"
    assert read_payer_map(csv).lookup("87726", None) == "P02"
    js = tmp_path / "map.json"
    js.write_text(json.dumps({"Acme Health": "P01"}))
    assert read_payer_map(js).lookup(None, "acme health") == "P01"
    bad = tmp_path / "bad.csv"
    bad.write_text("payer,payer_id\nAcme,\n")
    with pytest.raises(LedgerError, match=r"bad.csv, line 2"):
        read_payer_map(bad)
    (tmp_path / "cols.csv").write_text("name,id\nA,B\n")
    with pytest.raises(LedgerError, match="header"):
        read_payer_map(tmp_path / "cols.csv")
    twice = tmp_path / "twice.csv"
    twice.write_text("payer,payer_id\nA,P1\nA,P2\n")
    with pytest.raises(LedgerError, match="line 3: this payer is mapped twice"):
        read_payer_map(twice)
    with pytest.raises(LedgerError, match="cannot read"):
        read_payer_map(tmp_path / "missing.csv")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(LedgerError, match="not valid JSON"):
        read_payer_map(tmp_path / "broken.json")


def test_post_flagged_as_a_chosen_payer():
    pos = 0
    one = _named_only(subset(REMITS, [pos]))
    flagged = post(BASE, one)
    assert flagged.decisions["reason_code"].to_pylist() == ["payer_not_in_coverage"]
    rid = flagged.decisions["remit_id"][0].as_py()
    enc = REMITS.claims["encounter_id"][pos].as_py()
    right = REMITS.transactions["payer_id"][REMITS.claims["transaction_id"][pos].as_py()].as_py()
    with pytest.raises(LedgerError, match="cannot post"):  # not on without a payer
        post_flagged(BASE, one, rid, actor="ana", note="try")
    with pytest.raises(LedgerError, match="not a payer of this ledger"):
        post_flagged(BASE, one, rid, actor="ana", note="try", payer_id="NOPE")
    with pytest.raises(LedgerError, match="non-empty string"):
        post_flagged(BASE, one, rid, actor="ana", note="try", payer_id=" ")
    encs = FULL.encounters.filter(pc.equal(FULL.encounters["encounter_id"].cast(pa.string()), enc))
    coverage = {encs[f"payer{k}_id"][0].as_py() for k in (1, 2, 3)}
    other = next(p for p in NAMES if p not in coverage)  # a ledger payer, not this encounter's
    with pytest.raises(LedgerError, match="payer_not_in_coverage"):
        post_flagged(BASE, one, rid, actor="ana", note="try", payer_id=other)
    done = post_flagged(BASE, one, rid, actor="ana", note="N1*PR names it", payer_id=right)
    assert done.decisions["reason_code"].to_pylist() == ["reviewed"]
    assert done.decisions["remit_id"].to_pylist() == [rid]  # the remit keeps its id
    assert set(done.entries["payer_id"].cast(pa.string()).to_pylist()) == {right}
    assert _posted_entries(done) == _posted_entries(post(BASE, subset(REMITS, [pos])))


def test_store_and_cli_take_a_payer_map(tmp_path, named_file, capsys):
    store = LedgerStore.create(tmp_path / "a", BASE, actor="setup", note="load")
    result = store.post(named_file, payer_map=BY_NAME)
    assert result.counts()["flagged"][0] == 0
    stored = store.remittances()
    assert set(stored.transactions["payer_id"].to_pylist()) <= set(NAMES)

    LedgerStore.create(tmp_path / "b", BASE, actor="setup", note="load")
    mapfile = tmp_path / "payers.csv"
    mapfile.write_text("payer,payer_id\n" + "".join(f"{n},{p}\n" for n, p in BY_NAME.items()))
    capsys.readouterr()
    assert main(["post", str(tmp_path / "b"), str(named_file), "--payer-map", str(mapfile)]) == 0
    out = capsys.readouterr().out
    assert "flagged" in out
    b = LedgerStore(tmp_path / "b")
    assert b.flagged().num_rows == 0
    assert b.ledger().entries.num_rows == store.ledger().entries.num_rows
    bad = tmp_path / "bad.csv"
    bad.write_text("payer\nx\n")
    assert main(["post", str(tmp_path / "b"), str(named_file), "--payer-map", str(bad)]) == 2
    assert "header" in capsys.readouterr().err


def test_posting_review_offers_the_encounters_payers(tmp_path):
    from ledgerkit.widgets import PostingReview

    pos = 0
    store = LedgerStore.create(tmp_path / "s", BASE, actor="setup", note="load")
    store.post(_named_only(subset(REMITS, [pos])))
    review = PostingReview(store, actor="ana")
    assert review.table.selected["reason_code"] == "payer_not_in_coverage"
    right = REMITS.transactions["payer_id"][REMITS.claims["transaction_id"][pos].as_py()].as_py()
    offered = [pid for _, pid in review.post_payer.options]
    assert right in offered and review.post_payer.layout.display is None
    assert offered == [pid for _, pid in review.context["coverage"]]
    review.post_payer.value = right
    review.note.value = "N1*PR names the plan"
    review.buttons["post"].click()
    assert "as payer" in review.status.value
    assert store.flagged().num_rows == 0
    assert set(store.ledger().entries.filter(
        pc.equal(store.ledger().entries["actor"].cast(pa.string()), "ana")
    )["payer_id"].cast(pa.string()).to_pylist()) == {right}  # fmt: skip
