"""Uses of contracts (issue #15, part C15b): synthetic contracts with planted
underpayments, ``lk.underpayments`` / ``lk.underpaid_lines``, the worklist's
underpaid rows, the TAA's contract fallback, the sample contract files.

Hand-built figures are worked out in the comments, cent by cent.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from ledgers import make_ledger

import ledgerkit as lk
from ledgerkit.contracts import load
from ledgerkit.contracts.underpayments import above_tolerance

D0 = dt.date(2025, 1, 1)


def contract_rows(*rows) -> pa.Table:
    """A contract table in the agreed columns from short dicts (defaults filled)."""
    full = []
    for r in rows:
        row = dict.fromkeys(lk.synth.CONTRACT_SCHEMA.names)
        row.update(effective_from=D0, carve_out=False, cap_at_charge=True)
        row.update(r)
        full.append(row)
    return pa.Table.from_pylist(full, schema=lk.synth.CONTRACT_SCHEMA)


P1_CONTRACT = contract_rows(
    dict(payer="P1", code_from="99213", code_to="99213", rate_cents_per_unit=9900),
    dict(payer="P1", code_from="97110", code_to="97110", rate_cents_per_unit=2500),
)


def _lines(eid, line, charge, rows):
    out = [dict(encounter_id=eid, line=line, payer_seq=1, kind="charge", amount_cents=charge)]
    for kind, amount, *gc in rows:
        e = dict(encounter_id=eid, line=line, payer_seq=1, kind=kind, amount_cents=amount)
        if gc:
            e.update(group_code=gc[0], carc=gc[1])
        out.append(e)
    return out


def hand_ledger():
    """Six encounters of payer P1 against ``P1_CONTRACT`` (99213 $99.00, 97110 $25.00).

    E1 line 1: 99213 $150, paid $70, PR-2 $14, CO-45 $66 -> allowed $84, CO-45 excess
       $66 - ($150 - $99) = $15, shortfall $15 (underpaid).
    E1 line 2: 97110 $30, paid $20, PR-2 $5, CO-45 $5 -> allowed $25 = expected.
    E2 line 1: 99213 $150, paid $79, PR-3 $20, CO-45 $51 -> allowed $99 = expected.
    E2 line 2: 97110 $30, paid $20, PR-2 $1.50, CO-253 $3.50, CO-45 $5 -> allowed
       $21.50: under contract by $3.50 (sequestration) but no CO-45 excess.
    E3: 99213 $150 denied CO-50: a denial, not compared.
    E4: 99213 $150, paid $97.50, CO-45 $52.50 -> shortfall $1.50: above $1.00 but not
       above 2% of $99.00 ($1.98).
    E5: 99213 $150, PR-204 $150 (not covered) -> allowed 0, under contract by $99,
       CO-45 excess negative: no shortfall.
    E6: 99213 $150, no remit: not compared.
    """
    procs, rows = [], []
    spec = {
        ("E1", 1): ("99213", 15000, [("payment", 7000), ("adjustment", 1400, "PR", "2"),
                                     ("adjustment", 6600, "CO", "45")]),
        ("E1", 2): ("97110", 3000, [("payment", 2000), ("adjustment", 500, "PR", "2"),
                                    ("adjustment", 500, "CO", "45")]),
        ("E2", 1): ("99213", 15000, [("payment", 7900), ("adjustment", 2000, "PR", "3"),
                                     ("adjustment", 5100, "CO", "45")]),
        ("E2", 2): ("97110", 3000, [("payment", 2000), ("adjustment", 150, "PR", "2"),
                                    ("adjustment", 350, "CO", "253"),
                                    ("adjustment", 500, "CO", "45")]),
        ("E3", 1): ("99213", 15000, [("payment", 0), ("adjustment", 15000, "CO", "50")]),
        ("E4", 1): ("99213", 15000, [("payment", 9750), ("adjustment", 5250, "CO", "45")]),
        ("E5", 1): ("99213", 15000, [("payment", 0), ("adjustment", 15000, "PR", "204")]),
        ("E6", 1): ("99213", 15000, []),
    }  # fmt: skip
    for (eid, line), (cpt, charge, posted) in spec.items():
        procs.append((eid, line, cpt, charge))
        rows += _lines(eid, line, charge, posted)
    encounters = [(e, ("P1",)) for e in ("E1", "E2", "E3", "E4", "E5", "E6")]
    return make_ledger(encounters, procs, rows)


@pytest.fixture(scope="module")
def hand():
    return hand_ledger(), load(P1_CONTRACT)


# ----------------------------------------------------------------- underpayments
def test_underpayments_by_payer_hand_computed(hand):
    ledger, contracts = hand
    (row,) = lk.underpayments(ledger, contracts, by="payer").to_pylist()
    # compared: E1 (2 lines), E2 (2), E4, E5; expected 4 x $99 + 2 x $25
    assert row["payer"] == "P1"
    assert row["compared_lines"] == 6
    assert row["expected_cents"] == 4 * 9900 + 2 * 2500 == 44600
    assert row["allowed_cents"] == 8400 + 2500 + 9900 + 2150 + 9750 + 0 == 32700
    assert row["variance_cents"] == -11900
    assert row["under_lines"] == 4  # E1.1, E2.2, E4, E5
    assert row["under_cents"] == 1500 + 350 + 150 + 9900
    assert row["co45_excess_lines"] == 2  # E1.1 $15, E4 $1.50
    assert row["co45_excess_cents"] == 1650
    assert row["underpaid_lines"] == 1 and row["recoverable_cents"] == 1500
    assert row["percent_of_contract"] == pytest.approx(100 * 32700 / 44600)
    assert row["below_contract"] is True


def test_underpayments_by_cpt_and_total(hand):
    ledger, contracts = hand
    by_cpt = {r["cpt"]: r for r in lk.underpayments(ledger, contracts, by="cpt").to_pylist()}
    assert set(by_cpt) == {"99213", "97110"}
    assert by_cpt["99213"]["compared_lines"] == 4
    assert by_cpt["99213"]["recoverable_cents"] == 1500
    assert by_cpt["97110"]["compared_lines"] == 2
    assert by_cpt["97110"]["under_cents"] == 350  # sequestration: under, not recoverable
    assert by_cpt["97110"]["recoverable_cents"] == 0
    assert by_cpt["97110"]["variance_cents"] == -350
    (total,) = lk.underpayments(ledger, contracts, by=None).to_pylist()
    assert total["compared_lines"] == 6 and total["recoverable_cents"] == 1500
    with pytest.raises(ValueError, match="carc"):
        lk.underpayments(ledger, contracts, by="carc")


def test_tolerances_decide_what_is_recoverable(hand):
    ledger, contracts = hand
    # $1.50 on $99.00: 1.5% -> counts at 1%, not at the default 2%
    strict = lk.underpaid_lines(ledger, contracts, tolerance_percent=1.0)
    assert strict["encounter_id"].to_pylist() == ["E1", "E4"]
    assert strict["shortfall_cents"].to_pylist() == [1500, 150]
    loose = lk.underpaid_lines(ledger, contracts, tolerance_cents=1500, tolerance_percent=0)
    assert loose.num_rows == 0  # $15.00 is not above $15.00
    assert above_tolerance(np.array([199]), np.array([9900]), 0, 2.0).tolist() == [True]
    assert above_tolerance(np.array([198]), np.array([9900]), 0, 2.0).tolist() == [False]
    for bad in (dict(tolerance_cents=-1), dict(tolerance_cents=1.5), dict(tolerance_percent=101)):
        with pytest.raises(ValueError, match="tolerance"):
            lk.underpayments(ledger, contracts, **bad)


def test_underpaid_lines_columns(hand):
    ledger, contracts = hand
    (row,) = lk.underpaid_lines(ledger, contracts).to_pylist()
    assert row == {
        "encounter_id": "E1",
        "line": 1,
        "payer_id": "P1",
        "cpt": "99213",
        "service_date": dt.date(2025, 2, 1),
        "contract_row": 0,
        "charge_cents": 15000,
        "expected_allowed_cents": 9900,
        "allowed_cents": 8400,
        "variance_cents": -1500,
        "co45_excess_cents": 1500,
        "shortfall_cents": 1500,
    }


def test_contracts_as_a_table_or_loaded_give_the_same(hand):
    ledger, contracts = hand
    a = lk.underpayments(ledger, P1_CONTRACT, by="payer")
    b = lk.underpayments(ledger, contracts, by="payer")
    assert a.equals(b)


# ----------------------------------------------------------------- worklist
def test_worklist_gains_underpaid_rows_with_their_own_reason(hand):
    ledger, contracts = hand
    plain = lk.worklist(ledger)
    assert "reason" not in plain.column_names
    wl = lk.worklist(ledger, contracts=contracts)
    rows = {(r["encounter_id"], r["reason"]): r for r in wl.to_pylist()}
    assert set(rows) == {("E3", "denial"), ("E1", "underpaid")}
    under = rows[("E1", "underpaid")]
    assert under["class"] == "PAID"  # a reason, not a new class
    assert (under["line"], under["group_code"], under["carc"]) == (1, "CO", "45")
    assert under["category"] == "contractual" and under["next_action"] == "appeal"
    assert under["at_stake_cents"] == 1500 and under["payer_id"] == "P1"
    remit = dt.date(2025, 3, 1)  # make_ledger posts on 2025-03-01
    appeal_days = lk.ledger.DEFAULT_APPEAL_DAYS
    assert under["denial_date"] == remit
    assert under["deadline"] == remit + dt.timedelta(days=appeal_days)
    assert under["deadline_kind"] == "appeal"
    assert "underpaid: line 1 by P1" in under["why"] and "$15.00 recoverable" in under["why"]
    assert "E1" not in under["why"]  # no claim ids in sentences
    # the denial row is the plain worklist's row
    denial = {k: v for k, v in rows[("E3", "denial")].items() if k != "reason"}
    plain_row = plain.to_pylist()[0]
    for name in ("encounter_id", "class", "carc", "at_stake_cents", "deadline", "why"):
        assert denial[name] == plain_row[name], name
    assert wl["rank"].to_pylist() == list(range(1, wl.num_rows + 1))


# ----------------------------------------------------------------- synthetic contracts
def test_synthetic_contract_has_every_kind_of_row():
    table, schedules = lk.synth.contracts()
    rows = table.to_pylist()
    assert any(r["carve_out"] for r in rows)
    assert any(r["mppr_family"] == "therapy" and r["mppr_percent"] == 50.0 for r in rows)
    assert any(r["modifier"] == "59" for r in rows)
    assert any(r["place_of_service"] == "22" for r in rows)
    assert any(r["payer"] is None and r["payer_class"] == "medicare_advantage" for r in rows)
    assert any(r["code_from"] != r["code_to"] for r in rows)
    assert any(r["percent_of_base"] == 102.0 and r["base_schedule"] == "medicare" for r in rows)
    assert any(r["effective_to"] is not None for r in rows)
    base = {r["code_from"]: r["rate_cents_per_unit"] for r in schedules["medicare"].to_pylist()}
    assert base["99213"] == 7800  # $150 x 0.52
    load(table, schedules=schedules)  # no overlapping rows: no tie error


def test_contracts_option_keeps_encounters_and_procedures():
    plain = lk.synth.generate(400, seed=5)
    priced = lk.synth.generate(400, seed=5, contracts=True)
    assert priced.encounters.equals(plain.encounters)
    assert priced.procedures.equals(plain.procedures)
    assert not priced.entries["amount_cents"].equals(plain.entries["amount_cents"])
    with pytest.raises(ValueError, match="contracts"):
        lk.synth.generate(10, seed=1, underpay_rate=0.1)


@pytest.fixture(scope="module")
def planted_sample():
    return lk.synth.contract_ledger(2500, seed=21, underpay_rate=0.04)


def _key_cents(table, column):
    return {
        (e, ln): c
        for e, ln, c in zip(
            table["encounter_id"].to_pylist(),
            table["line"].to_pylist(),
            table[column].to_pylist(),
            strict=True,
        )
    }


def test_every_planted_underpayment_is_found_with_its_cents(planted_sample):
    s = planted_sample
    contracts = s.loaded()
    planted = _key_cents(s.planted, "shortfall_cents")
    kinds = set(s.planted["kind"].to_pylist())
    assert {"underpaid", "fee_reduction", "bundled"} <= kinds
    # no tolerance: exactly the planted lines, each with its exact shortfall
    found = lk.underpaid_lines(s.ledger, contracts, tolerance_cents=0, tolerance_percent=0)
    assert _key_cents(found, "shortfall_cents") == planted
    # default tolerance: every planted underpayment, and nothing else above it
    found = _key_cents(lk.underpaid_lines(s.ledger, contracts), "shortfall_cents")
    underpaid = s.planted.filter(pc.equal(s.planted["kind"], "underpaid"))
    assert set(_key_cents(underpaid, "shortfall_cents")) <= set(found)
    expected = _key_cents(s.planted, "expected_allowed_cents")
    above = {
        k: v
        for k, v in planted.items()
        if above_tolerance(np.array([v]), np.array([expected[k]]), 100, 2.0)[0]
    }
    assert found == above
    (total,) = lk.underpayments(s.ledger, contracts, by=None).to_pylist()
    assert total["recoverable_cents"] == sum(above.values())


def test_lines_paid_by_contract_have_no_variance_unless_explained(planted_sample):
    """Compared lines that were not planted are paid exactly the contract, except
    sequestration (CO-253) and not-covered lines (PR-204): they lower allowed but
    are no shortfall."""
    s = planted_sample
    from ledgerkit.contracts.underpayments import contract_lines

    c = contract_lines(s.ledger, s.loaded(), tolerance_cents=0, tolerance_percent=0)
    planted = set(_key_cents(s.planted, "shortfall_cents"))
    keys = s.ledger.keys
    rows = keys.proc_rows(np.arange(keys.n_procedures))
    enc = s.ledger.procedures["encounter_id"].to_pylist()
    line = s.ledger.procedures["line"].to_pylist()
    other = [p for p in np.flatnonzero(c.compared) if (enc[rows[p]], line[rows[p]]) not in planted]
    assert len(other) > 1000
    assert (c.shortfall[other] == 0).all()
    off = {(enc[rows[p]], line[rows[p]]) for p in other if c.variance[p] != 0}
    explained = _lines_with(s.ledger, "CO", "253") | _lines_with(s.ledger, "PR", "204")
    assert off and off <= explained


def _lines_with(ledger, group, carc):
    e = ledger.entries
    mask = pc.and_(
        pc.equal(e["carc"].cast(pa.string()), carc),
        pc.and_(pc.equal(e["group_code"].cast(pa.string()), group), pc.equal(e["payer_seq"], 1)),
    )
    kept = e.filter(mask)
    return set(zip(kept["encounter_id"].to_pylist(), kept["line"].to_pylist(), strict=True))


def test_sample_contract_files_are_the_synthetic_contract(tmp_path):
    from ledgerkit.synth.pricing import (
        sample_contracts,
        sample_contracts_folder,
        write_sample_contracts,
    )

    written = write_sample_contracts(tmp_path)
    bundled = sample_contracts_folder()
    for path in written:
        assert path.read_bytes() == (bundled / path.name).read_bytes(), path.name
    ledger = lk.synth.generate(300, seed=8)
    table, schedules = lk.synth.contracts()
    a = lk.expected_allowed(ledger, sample_contracts())
    b = lk.expected_allowed(ledger, load(table, schedules=schedules))
    assert a.equals(b)


# ----------------------------------------------------------------- TAA
def _latest_contract_amounts_ref(ledger, contracts):
    """Plain reference: per configuration text, the contract amount of its latest
    encounter whose every line is priced (the smaller amount on the same day)."""
    from ledgerkit.rules.taa import config_labels, configurations

    configs = configurations(ledger)
    labels = config_labels(ledger, configs)
    enc_ids = ledger.encounters["encounter_id"].to_pylist()
    days = ledger.encounters["service_date"].to_pylist()
    per_enc: dict = {}
    for r in lk.expected_allowed(ledger, contracts).to_pylist():
        total = per_enc.setdefault(r["encounter_id"], 0)
        if total is None or r["expected_allowed_cents"] is None:
            per_enc[r["encounter_id"]] = None
        else:
            per_enc[r["encounter_id"]] = total + r["expected_allowed_cents"]
    best: dict = {}
    for e, eid in enumerate(enc_ids):
        amount = per_enc.get(eid)
        if not amount:
            continue
        label = labels[configs.enc_config[e]]
        key = (days[e], -amount)
        if label not in best or key > best[label][0]:
            best[label] = (key, amount)
    return {label: amount for label, (_, amount) in best.items()}


def test_suggest_taa_falls_back_to_the_contract_rate():
    ledger = lk.synth.generate(1500, seed=3)
    contracts = lk.synth.sample_contracts()
    plain = lk.suggest_taa(ledger, 50, 5)
    table = lk.suggest_taa(ledger, 50, 5, contracts=contracts, contract_fraction=0.9)
    sources = table["taa_source"].to_pylist()
    assert "contract" in sources and "history" in sources
    # history stays history; the contract step comes before the CPT-set pool
    got = {r["config"]: r for r in table.to_pylist()}
    before = dict(zip(plain["config"].to_pylist(), plain["taa_source"].to_pylist(), strict=True))
    amounts = _latest_contract_amounts_ref(ledger, contracts)
    n_contract = 0
    for config, row in got.items():
        if before[config] == "history":
            assert row["taa_source"] == "history"
        elif config in amounts:
            assert row["taa_source"] == "contract", config
            assert row["taa_cents"] == amounts[config] * 9000 // 10000, config
            n_contract += 1
        else:
            assert row["taa_source"] == before[config], config
    assert n_contract > 100
    fee = {"payer_id": ["MCR01"], "cpt": ["99213"], "rate_cents": [100]}
    with pytest.raises(ValueError, match="not both"):
        lk.suggest_taa(ledger, contracts=contracts, fee_schedule=fee)


# ----------------------------------------------------------------- RuleTuner
def test_rule_tuner_sizes_thin_taas_as_a_percent_of_contract():
    from ledgerkit.rules import default_rules, dry_run
    from ledgerkit.widgets import RuleTuner

    ledger = lk.synth.generate(1500, seed=3)
    contracts = lk.synth.sample_contracts()
    rules = default_rules().enable("taa_write_off")
    plain = RuleTuner(ledger, rules, min_claims=5)
    assert plain.contract_percent is None and plain.settings()["contract_percent"] is None
    tuner = RuleTuner(ledger, rules, min_claims=5, contracts=contracts)
    assert tuner.contract_percent.value == 95
    tuner.taa_percentile.value = 50
    tuner.contract_percent.value = 80
    assert tuner.settings()["contract_percent"] == 80.0
    taa = lk.suggest_taa(ledger, 50, 5, contracts=contracts, contract_fraction=0.8)
    want = dry_run(ledger, tuner.tuned(), taa=taa).summary.to_pylist()
    total = tuner.totals.to_pylist()[-1]
    for name in ("encounters_closed", "written_off_cents", "to_pr_cents"):
        assert total[name] == sum(r[name] for r in want), name
    # the contract TAAs close more than history alone at the same percentile
    assert total["encounters_closed"] > plain.totals.to_pylist()[-1]["encounters_closed"]
    n_contract = taa["taa_source"].to_pylist().count("contract")
    assert f"contract {n_contract:,}" in tuner.taa_sources.value


# ----------------------------------------------------------------- notebook 04
def test_notebook_04_contract_section_runs_and_adds_up(tmp_path, monkeypatch):
    import json
    from pathlib import Path

    monkeypatch.chdir(tmp_path)
    path = Path(__file__).resolve().parents[1] / "notebooks" / "04_payer_behaviour.ipynb"
    cells = json.loads(path.read_text())["cells"]
    start = next(i for i, c in enumerate(cells) if "".join(c["source"]).startswith("## Against"))
    namespace: dict = {}
    # the first code cell (imports), then the contract section
    for cell in [cells[1], *cells[start:]]:
        if cell["cell_type"] == "code":
            assert not cell["outputs"]
            exec(compile("".join(cell["source"]), path.name, "exec"), namespace)
    by_payer, underpaid = namespace["by_payer"], namespace["underpaid"]
    assert sum(by_payer["recoverable_cents"].to_pylist()) == sum(
        underpaid["shortfall_cents"].to_pylist()
    )
    assert sum(by_payer["underpaid_lines"].to_pylist()) == underpaid.num_rows > 0
    assert len(namespace["variance_fig"].data) == 3
    assert sum(namespace["by_code"]["recoverable_cents"].to_pylist()) == sum(
        by_payer["recoverable_cents"].to_pylist()
    )
