"""write_837_secondary: the claim to the next payer with the earlier payers' decisions.

Seed 003's two worked examples with exact cents, the refusals (a line that does
not balance, no payer adjudicated, no next payer; named by position, never by
id; no file written), a tertiary claim, and a hypothesis round trip over
coordination-of-benefits ledgers against a plain reference of who decided what.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from cob_ledgers import cob_ledgers
from hypothesis import given, settings
from ledgers import T0, make_ledger

import ledgerkit as lk
from ledgerkit.errors import LedgerError
from ledgerkit.x12.write_secondary import format_837_secondary, write_837_secondary

SECRET_ID = "ENC-QZSECRETQZ"


def _seed_entries(eid, lines):
    procedures, entries = [], []
    for n, (fee, paid, cas) in enumerate(lines, start=1):
        procedures.append((eid, n, "99213", fee))
        entries.append(dict(encounter_id=eid, line=n, payer_seq=1, kind="charge",
                            amount_cents=fee))  # fmt: skip
        if paid is not None:
            entries.append(dict(encounter_id=eid, line=n, payer_seq=1, kind="payment",
                                amount_cents=paid))  # fmt: skip
        for g, c, a in cas:
            entries.append(dict(encounter_id=eid, line=n, payer_seq=1, kind="adjustment",
                                group_code=g, carc=c, amount_cents=a))  # fmt: skip
    return procedures, entries


def _seed_ledger(lines, payers=("P1", "P2"), eid=SECRET_ID):
    """One encounter; ``lines`` = [(fee, primary paid, [(group, carc, amount), ...]), ...]."""
    procedures, entries = _seed_entries(eid, lines)
    return make_ledger([(eid, payers)], procedures, entries)


def _line_prior(claims: lk.Claims) -> dict:
    """line number -> [(source, group, carc, amount, payer)] of the 2430 rows."""
    number = dict(zip(claims.service_lines["line_id"].to_pylist(),
                      claims.service_lines["line_number"].to_pylist(), strict=True))  # fmt: skip
    out: dict = {}
    for r in claims.prior_adjudication.to_pylist():
        if r["line_id"] is not None:
            out.setdefault(number[r["line_id"]], []).append(
                (r["source"], r["group_code"], r["carc"], r["amount_cents"], r["other_payer_id"])
            )
    return out


def _claim_prior(claims: lk.Claims) -> list:
    return [
        (r["other_payer_id"], r["amount_qualifier"], r["amount_cents"])
        for r in claims.prior_adjudication.to_pylist()
        if r["line_id"] is None
    ]


def test_seed_003_example_one(tmp_path):
    """Fee $150, primary paid $80: CO-45 $40 + PR-3 $10 + PR-2 $20 = $70 travel with the claim."""
    ledger = _seed_ledger([(15000, 8000, [("CO", "45", 4000), ("PR", "3", 1000),
                                          ("PR", "2", 2000)])])  # fmt: skip
    path = write_837_secondary(ledger, [SECRET_ID], tmp_path / "second.837")
    text = path.read_text()
    assert "SVD*P1*80*HC:99213**1~" in text
    assert "CAS*CO*45*40~" in text and "CAS*PR*2*20**3*10~" in text
    assert "AMT*D*80~" in text and "SBR*S*18" in text and "SBR*P*18" in text
    back = lk.read_837(path)
    assert back.findings.num_rows == 0  # the reader's own seed-003 check passes
    claim = back.claims.to_pylist()[0]
    assert (claim["payer_id"], claim["payer_seq"], claim["charge_cents"]) == ("P2", 2, 15000)
    assert _line_prior(back) == {
        1: [("SVD", None, None, 8000, "P1"), ("CAS", "CO", "45", 4000, "P1"),
            ("CAS", "PR", "2", 2000, "P1"), ("CAS", "PR", "3", 1000, "P1")],
    }  # fmt: skip
    assert _claim_prior(back) == [("P1", "D", 8000)]
    cas = [a for s, _, _, a, _ in _line_prior(back)[1] if s == "CAS"]
    assert 15000 - 8000 == sum(cas) == 7000
    dates = back.prior_adjudication["adjudication_date"].drop_null().to_pylist()
    assert set(dates) == {(T0 + dt.timedelta(hours=4)).date()}  # the latest primary entry


def test_seed_003_example_two_deductible(tmp_path):
    """Fee $150, primary paid $0 (deductible): CO-45 $40 + PR-1 $110 = $150."""
    ledger = _seed_ledger([(15000, 0, [("CO", "45", 4000), ("PR", "1", 11000)])])
    back = lk.read_837(write_837_secondary(ledger, SECRET_ID, tmp_path / "s.837"))
    assert back.findings.num_rows == 0
    assert _line_prior(back) == {
        1: [("SVD", None, None, 0, "P1"), ("CAS", "CO", "45", 4000, "P1"),
            ("CAS", "PR", "1", 11000, "P1")],
    }  # fmt: skip
    assert _claim_prior(back) == [("P1", "D", 0)]


def test_both_examples_as_two_lines_of_one_claim():
    ledger = _seed_ledger(
        [
            (15000, 8000, [("CO", "45", 4000), ("PR", "3", 1000), ("PR", "2", 2000)]),
            (15000, 0, [("CO", "45", 4000), ("PR", "1", 11000)]),
        ]
    )
    back = lk.read_837(format_837_secondary(ledger, [SECRET_ID]))
    assert back.findings.num_rows == 0
    assert _claim_prior(back) == [("P1", "D", 8000)]
    assert back.claims["charge_cents"].to_pylist() == [30000]
    prior = _line_prior(back)
    assert [a for s, *_, a, _p in prior[1] if s == "SVD"] == [8000]
    assert [a for s, *_, a, _p in prior[2] if s == "SVD"] == [0]
    # and the claim is the same encounter, procedures and charges
    again = lk.Ledger.from_837(back)
    assert again.encounters["payer1_id"].cast(pa.string()).to_pylist() == ["P1"]
    assert again.encounters["payer2_id"].cast(pa.string()).to_pylist() == ["P2"]
    assert again.procedures["charge_cents"].to_pylist() == [15000, 15000]


def test_unbalanced_line_is_refused_by_position_and_line(tmp_path):
    """Example one with the copay left out: $150 - $80 != $60; nothing is written."""
    good = _seed_entries("GOOD", [(15000, 8000, [("CO", "45", 4000), ("PR", "3", 1000),
                                                  ("PR", "2", 2000)])])  # fmt: skip
    bad = _seed_entries(
        SECRET_ID, [(10000, 10000, []), (15000, 8000, [("CO", "45", 4000), ("PR", "2", 2000)])]
    )
    ledger = make_ledger(
        [("GOOD", ("P1", "P2")), (SECRET_ID, ("P1", "P2"))], good[0] + bad[0], good[1] + bad[1]
    )
    path = tmp_path / "s.837"
    with pytest.raises(LedgerError, match=r"encounter_ids\[1\] line 2: fee - payer 1 paid") as e:
        write_837_secondary(ledger, ["GOOD", SECRET_ID], path)
    assert "10.00, not 0" in str(e.value)
    assert "QZSECRETQZ" not in str(e.value)
    assert not path.exists()
    write_837_secondary(ledger, ["GOOD"], path)  # the balanced one alone is written
    assert path.exists()


def test_refusals_name_position_never_the_id(tmp_path):
    unadjudicated = _seed_ledger([(15000, None, [])])
    with pytest.raises(LedgerError, match=r"encounter_ids\[0\]: no payer has adjudicated"):
        write_837_secondary(unadjudicated, [SECRET_ID], tmp_path / "a.837")
    primary_only = _seed_ledger([(15000, 8000, [("CO", "45", 7000)])], payers=("P1",))
    with pytest.raises(LedgerError, match=r"encounter_ids\[0\]: payer 1 .* no payer 2"):
        write_837_secondary(primary_only, [SECRET_ID], tmp_path / "b.837")
    with pytest.raises(LedgerError, match=r"encounter_ids\[1\] is not an encounter") as e:
        write_837_secondary(primary_only, [SECRET_ID, "QZNOPEQZ"], tmp_path / "c.837")
    assert "QZ" not in str(e.value)
    # a line the primary never answered cannot be billed to the secondary
    half = _seed_ledger([(15000, 8000, [("CO", "45", 7000)]), (5000, None, [])])
    with pytest.raises(LedgerError, match=r"\[0\] line 2: payer 1 has not adjudicated"):
        write_837_secondary(half, [SECRET_ID], tmp_path / "d.837")
    assert not list(tmp_path.iterdir())


def test_negated_primary_adjustment_makes_the_line_unbalanced():
    ledger = _seed_ledger([(15000, 8000, [("CO", "45", 4000), ("PR", "2", 3000)])])
    pr2 = [r["entry_id"] for r in ledger.entries.to_pylist() if r["carc"] == "2"]
    ledger = ledger.negate(pr2, actor="poster", note="keyed wrong")
    with pytest.raises(LedgerError, match="= 30.00, not 0"):
        format_837_secondary(ledger, [SECRET_ID])
    ledger = ledger.append(
        [dict(encounter_id=SECRET_ID, line=1, payer_seq=1, kind="adjustment", group_code="PR",
              carc="2", amount_cents=3000, actor="poster")]
    )  # fmt: skip
    back = lk.read_837(format_837_secondary(ledger, [SECRET_ID]))
    assert [(g, c, a) for s, g, c, a, _ in _line_prior(back)[1] if s == "CAS"] == [
        ("CO", "45", 4000),
        ("PR", "2", 3000),
    ]


def test_tertiary_claim_carries_both_earlier_payers():
    """Settled question 1's chain: the tertiary sees the primary's and the secondary's CAS."""
    eid = "E1"
    entries = [
        (1, "charge", 4500, None, None), (1, "payment", 2288, None, None),
        (1, "adjustment", 1491, "CO", "45"), (1, "adjustment", 254, "PR", "2"),
        (1, "adjustment", 467, "PI", "59"), (2, "payment", 219, None, None),
        (2, "adjustment", 4246, "OA", "23"), (2, "adjustment", 35, "PR", "2"),
    ]  # fmt: skip
    ledger = make_ledger(
        [(eid, ("P1", "P2", "P3"))],
        [(eid, 1, "99213", 4500)],
        [dict(encounter_id=eid, line=1, payer_seq=s, kind=k, amount_cents=a, group_code=g,
              carc=c) for s, k, a, g, c in entries],
    )  # fmt: skip
    back = lk.read_837(format_837_secondary(ledger, [eid]))
    assert back.findings.num_rows == 0
    assert back.claims["payer_id"].to_pylist() == ["P3"]
    assert back.claims["payer_seq"].to_pylist() == [3]
    assert _claim_prior(back) == [("P1", "D", 2288), ("P2", "D", 219)]
    assert _line_prior(back)[1] == [
        ("SVD", None, None, 2288, "P1"), ("CAS", "CO", "45", 1491, "P1"),
        ("CAS", "PI", "59", 467, "P1"), ("CAS", "PR", "2", 254, "P1"),
        ("SVD", None, None, 219, "P2"), ("CAS", "OA", "23", 4246, "P2"),
        ("CAS", "PR", "2", 35, "P2"),
    ]  # fmt: skip


# ----------------------------------------------------------------------------- reference
def _reference(ledger: lk.Ledger) -> dict:
    """Per encounter: None (refused) or (next payer seq, {(line, seq): (paid, {(g, c): cents})}),
    from the entries in plain Python (live = not a negation and not negated)."""
    rows = ledger.entries.to_pylist()
    negated = {r["negates"] for r in rows if r["negates"] is not None}
    live = [r for r in rows if r["negates"] is None and r["entry_id"] not in negated]
    out = {}
    for enc in ledger.encounters.to_pylist():
        eid = enc["encounter_id"]
        payers = [enc[f"payer{k}_id"] for k in (1, 2, 3)]
        mine = [r for r in live if r["encounter_id"] == eid]
        lines = sorted(
            r["line"] for r in ledger.procedures.to_pylist() if r["encounter_id"] == eid
        )
        decided = [r["payer_seq"] for r in mine if r["kind"] in ("payment", "adjustment")]
        if not decided or max(decided) >= 3 or payers[max(decided)] is None:
            out[eid] = None
            continue
        to = max(decided) + 1
        table, ok = {}, True
        for line in lines:
            at = [r for r in mine if r["line"] == line]
            charge = sum(r["amount_cents"] for r in at if r["kind"] == "charge")
            for seq in range(1, to):
                by = [
                    r
                    for r in at
                    if r["payer_seq"] == seq and r["kind"] in ("payment", "adjustment")
                ]
                paid = sum(r["amount_cents"] for r in by if r["kind"] == "payment")
                cas: dict = {}
                for r in by:
                    if r["kind"] == "adjustment":
                        key = (r["group_code"], r["carc"])
                        cas[key] = cas.get(key, 0) + r["amount_cents"]
                if not by or charge - paid != sum(cas.values()):
                    ok = False
                table[(line, seq)] = (paid, cas)
        out[eid] = (to, table) if ok else None
    return out


@settings(max_examples=40, deadline=None)
@given(ledger=cob_ledgers(max_encounters=4))
def test_round_trip_matches_the_reference(ledger):
    expected = _reference(ledger)
    for pos, eid in enumerate(ledger.encounters["encounter_id"].to_pylist()):
        if expected[eid] is None:
            with pytest.raises(LedgerError, match=r"encounter_ids\[0\]"):
                format_837_secondary(ledger, [eid])
            continue
        to, table = expected[eid]
        back = lk.read_837(format_837_secondary(ledger, [eid]))
        assert back.findings.num_rows == 0, pos
        claim = back.claims.to_pylist()[0]
        assert claim["payer_seq"] == to
        seq_of = {f"P{k}": k for k in (1, 2, 3)}
        got: dict = {}
        for line, rows in _line_prior(back).items():
            for source, g, c, amount, payer in rows:
                paid, cas = got.setdefault((line, seq_of[payer]), (0, {}))
                if source == "SVD":
                    got[(line, seq_of[payer])] = (paid + amount, cas)
                else:
                    cas[(g, c)] = cas.get((g, c), 0) + amount
        assert got == table
        claim_paid = {seq_of[p]: a for p, q, a in _claim_prior(back) if q == "D"}
        assert claim_paid == {
            seq: sum(v[0] for (_line, s), v in table.items() if s == seq) for seq in range(1, to)
        }
        # the claim read back is the same encounter, procedures and charges
        again = lk.Ledger.from_837(back)
        mine = ledger.procedures.filter(pa.compute.equal(ledger.procedures["encounter_id"], eid))
        assert again.procedures["charge_cents"].to_pylist() == mine["charge_cents"].to_pylist()
        assert again.procedures["line"].to_pylist() == mine["line"].to_pylist()
