"""The worked examples of DOMAIN.md (and the source guides) as tests."""

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ledgers import make_ledger, random_ledgers

import ledgerkit as lk


def _entries(eid, line, rows):
    out = []
    for seq, kind, amount, *gc in rows:
        e = dict(encounter_id=eid, line=line, payer_seq=seq, kind=kind, amount_cents=amount)
        if gc:
            e.update(group_code=gc[0], carc=gc[1])
        out.append(e)
    return out


def test_two_payers_balance_is_last_payers_pr():
    """Fee $150; primary pays $80, CO-45 $40, PR-2 $20, PR-3 $10; secondary pays $20,
    PR-3 $10 -> balance $10, all of it open PR."""
    rows = [
        (1, "charge", 15000),
        (1, "payment", 8000),
        (1, "adjustment", 4000, "CO", "45"),
        (1, "adjustment", 2000, "PR", "2"),
        (1, "adjustment", 1000, "PR", "3"),
        (2, "payment", 2000),
        (2, "adjustment", 1000, "PR", "3"),
    ]
    ledger = make_ledger(
        [("E1", ("P1", "P2"))], [("E1", 1, "99213", 15000)], _entries("E1", 1, rows)
    )
    row = lk.classify(ledger).to_pylist()[0]
    assert row["balance"] == 1000
    assert row["open_pr"] == 1000
    assert row["payer_balance"] == 0
    assert row["allowed"] == 8000 + 2000 + 1000  # all payments + last payer's PR-3
    assert row["stage"] == "patient"
    assert row["class"] == "PAID"


def test_allowed_and_total_cars():
    """Fee $150, paid $80, CO-45 $40, PR-3 $10, PR-2 $20 -> allowed $110; CARs $70."""
    rows = [
        (1, "charge", 15000),
        (1, "payment", 8000),
        (1, "adjustment", 4000, "CO", "45"),
        (1, "adjustment", 1000, "PR", "3"),
        (1, "adjustment", 2000, "PR", "2"),
    ]
    ledger = make_ledger([("E1", ("P1",))], [("E1", 1, "99213", 15000)], _entries("E1", 1, rows))
    row = lk.balances(ledger, "procedure").to_pylist()[0]
    assert row["allowed"] == 11000
    cars = row["contractual"] + row["pr"] + row["denied"] + row["other"]
    assert cars == 7000 == row["charge"] - row["paid"]


def test_unresolved_example():
    """$80 charge, $50 paid, $25 CO-45, $5 denied -> unresolved."""
    rows = [
        (1, "charge", 8000),
        (1, "payment", 5000),
        (1, "adjustment", 2500, "CO", "45"),
        (1, "adjustment", 500, "PI", "59"),
    ]
    ledger = make_ledger([("E1", ("P1",))], [("E1", 1, "99213", 8000)], _entries("E1", 1, rows))
    row = lk.classify(ledger).to_pylist()[0]
    assert row["class"] == "UNRESOLVED"
    assert (row["explain_line"], row["explain_group"], row["explain_carc"]) == (1, "PI", "59")
    assert row["explain_amount"] == 500
    assert row["balance"] == 500  # denied amounts do not lower the balance
    assert not row["balanced"]


def test_denial_keeps_full_balance_until_written_off():
    rows = [
        (1, "charge", 20000),
        (1, "payment", 0),
        (1, "adjustment", 20000, "CO", "50"),
    ]
    ledger = make_ledger([("E1", ("P1",))], [("E1", 1, "99214", 20000)], _entries("E1", 1, rows))
    row = lk.classify(ledger).to_pylist()[0]
    assert (row["class"], row["stage"], row["balance"]) == ("DENIAL", "payer_1", 20000)
    assert (row["explain_carc"], row["explain_amount"]) == ("50", 20000)
    written = ledger.append(_entries("E1", 1, [(1, "write_off", 20000, "CO", "A2")]))
    row = lk.classify(written).to_pylist()[0]
    assert (row["class"], row["stage"], row["balanced"]) == ("DENIAL", "finalized", True)


def test_partial_denial_names_the_denied_line():
    entries = _entries(
        "E1", 1, [(1, "charge", 10000), (1, "payment", 6000), (1, "adjustment", 4000, "CO", "45")]
    )
    entries += _entries(
        "E1", 2, [(1, "charge", 3000), (1, "payment", 0), (1, "adjustment", 3000, "CO", "97")]
    )
    ledger = make_ledger(
        [("E1", ("P1",))], [("E1", 1, "99213", 10000), ("E1", 2, "36415", 3000)], entries
    )
    row = lk.classify(ledger).to_pylist()[0]
    assert row["class"] == "PARTIAL_DENIAL"
    assert (row["explain_line"], row["explain_carc"], row["explain_amount"]) == (2, "97", 3000)


def test_awaiting_and_self_pay():
    ledger = make_ledger(
        [("E1", ("P1",)), ("E2", ())],
        [("E1", 1, "99213", 10000), ("E2", 1, "99213", 9000)],
        _entries("E1", 1, [(1, "charge", 10000)])
        + _entries("E2", 1, [(0, "charge", 9000), (0, "patient_payment", 4000)]),
    )
    rows = {r["encounter_id"]: r for r in lk.classify(ledger).to_pylist()}
    assert (rows["E1"]["class"], rows["E1"]["stage"]) == ("AWAITING", "payer_1")
    assert (rows["E2"]["class"], rows["E2"]["stage"]) == ("AWAITING", "patient")
    assert rows["E2"]["open_pr"] == 5000 and rows["E2"]["payer_balance"] == 0


def test_pr_goes_to_secondary_before_patient():
    rows = [
        (1, "charge", 15000),
        (1, "payment", 8000),
        (1, "adjustment", 4000, "CO", "45"),
        (1, "adjustment", 3000, "PR", "2"),
    ]
    ledger = make_ledger(
        [("E1", ("P1", "P2"))], [("E1", 1, "99213", 15000)], _entries("E1", 1, rows)
    )
    assert lk.classify(ledger)["stage"][0].as_py() == "payer_2"


def test_oa23_on_secondary_does_not_change_balance():
    rows = [
        (1, "charge", 15000),
        (1, "payment", 8000),
        (1, "adjustment", 4000, "CO", "45"),
        (1, "adjustment", 3000, "PR", "2"),
        (2, "payment", 3000),
        (2, "adjustment", 12000, "OA", "23"),
    ]
    ledger = make_ledger(
        [("E1", ("P1", "P2"))], [("E1", 1, "99213", 15000)], _entries("E1", 1, rows)
    )
    row = lk.classify(ledger).to_pylist()[0]
    assert row["other"] == 12000
    assert (row["balance"], row["stage"], row["class"]) == (0, "finalized", "PAID")


@pytest.mark.parametrize(
    ("paid", "cas", "expected_total"),
    [
        # Seed 003, example one: fee $150, paid $80, CO-45 $40 + PR-3 $10 + PR-2 $20.
        (8000, [("CO", "45", 4000), ("PR", "3", 1000), ("PR", "2", 2000)], 7000),
        # Example two: paid $0 (deductible), CO-45 $40 + PR-1 $110.
        (0, [("CO", "45", 4000), ("PR", "1", 11000)], 15000),
    ],
)
def test_fee_minus_paid_equals_total_cars(paid, cas, expected_total):
    rows = [(1, "charge", 15000), (1, "payment", paid)] + [
        (1, "adjustment", amt, g, c) for g, c, amt in cas
    ]
    ledger = make_ledger([("E1", ("P1",))], [("E1", 1, "99213", 15000)], _entries("E1", 1, rows))
    row = lk.balances(ledger, "procedure").to_pylist()[0]
    assert row["charge"] - row["paid"] == expected_total
    assert row["contractual"] + row["pr"] == expected_total
    assert row["balanced"] == (row["pr"] == 0)


def test_payer_level_rows():
    rows = [
        (1, "charge", 15000),
        (1, "payment", 8000),
        (1, "adjustment", 4000, "CO", "45"),
        (1, "adjustment", 2000, "PR", "2"),
        (1, "adjustment", 1000, "PR", "3"),
        (2, "payment", 2000),
        (2, "adjustment", 1000, "PR", "3"),
    ]
    ledger = make_ledger(
        [("E1", ("P1", "P2"))], [("E1", 1, "99213", 15000)], _entries("E1", 1, rows)
    )
    table = lk.balances(ledger, "payer").to_pylist()
    by_seq = {r["payer_seq"]: r for r in table}
    assert set(by_seq) == {0, 1, 2}
    assert (by_seq[1]["billed"], by_seq[1]["balance"], by_seq[1]["payer_id"]) == (15000, 0, "P1")
    assert (by_seq[2]["billed"], by_seq[2]["paid"], by_seq[2]["balance"]) == (3000, 2000, 0)
    assert (by_seq[0]["billed"], by_seq[0]["balance"]) == (1000, 1000)
    assert by_seq[2]["adjudicated"] and not by_seq[0]["adjudicated"]


# --- Issue #13 part D: the tuner tells dry_run's truth (finding 6); root-cause trend
# --- runs to the ledger's end (finding 7) ---
def _d_tuner_ledger():
    """E1 balance $4.00 (payer); E2 balance $5.00 = payer $3.00 + open PR $2.00 on
    97110; E3 balance $20.00."""
    plan = {
        "E1": ("99213", [(1, "payment", 9000), (1, "adjustment", 600, "CO", "45")]),
        "E2": (
            "97110",
            [
                (1, "payment", 9000),
                (1, "adjustment", 500, "CO", "45"),
                (1, "adjustment", 200, "PR", "2"),
            ],
        ),
        "E3": ("99213", [(1, "payment", 8000)]),
    }
    entries = []
    for eid, (_, rows) in plan.items():
        entries += _entries(eid, 1, [(1, "charge", 10000), *rows])
    return make_ledger(
        [(eid, ("P1",)) for eid in plan],
        [(eid, 1, cpt, 10000) for eid, (cpt, _) in plan.items()],
        entries,
    )


def test_finding_6_tuner_totals_are_the_dry_run_of_the_whole_tuned_set():
    """Finding 6: a 97110 payer-balance write-off runs first and the small-balance rule
    is tuned to $5.00. First match wins: E2 loses its $3.00 payer balance to the first
    rule and keeps its $2.00 PR, so the set writes off $4.00 + $3.00 = $7.00 and closes
    E1 only ($4.00 of A/R). The small-balance rule alone would have said $9.00 and 2
    closed; the tuner says what dry_run says."""
    from ledgerkit.rules import Action, Condition, Rule, RuleSet, dry_run
    from ledgerkit.widgets import RuleTuner

    rules = RuleSet(
        (
            Rule(
                "therapy_write_off",
                when=Condition(cpts=("97110",)),
                then=Action("write_off", target="payer_balance", group="CO", reason="45"),
                order=1,
            ),
            Rule(
                "small_balance",
                when=Condition(balance_min=1, balance_max=100),
                then=Action("write_off", target="balance", group="CO", reason="A2"),
                order=2,
            ),
        )
    )
    ledger = _d_tuner_ledger()
    tuner = RuleTuner(ledger, rules, export_path="unused.toml")
    tuner.small_balance.value = 5.00
    rows = {r["rule"]: r for r in tuner.totals.to_pylist()}
    assert list(rows) == ["therapy_write_off", "small_balance", "TOTAL"]
    figures = ("encounters_hit", "encounters_closed", "written_off_cents", "ar_closed_cents")
    assert [rows["therapy_write_off"][k] for k in figures] == [1, 0, 300, 0]
    assert [rows["small_balance"][k] for k in figures] == [1, 1, 400, 400]
    assert [rows["TOTAL"][k] for k in figures] == [2, 1, 700, 400]
    assert rows["TOTAL"]["to_pr_cents"] == 0
    run = dry_run(ledger, tuner.tuned())
    assert sum(run.entries["amount_cents"].to_pylist()) == 700
    assert sum(run.summary["encounters_closed"].to_pylist()) == 1
    assert "$7.00" in tuner.totals_out.value


def _d_denials_ledger(last_day):
    """P1 x CO-50 x 99213 denials: $100 Jan, $200 Feb, $300 Mar 2025; a payment on
    another encounter posted on ``last_day`` is the ledger's last entry."""
    from analytics_ledgers import PAYERS, build, rows

    encounters, procedures, entries = [], [], []
    for month, amount in (("01", 10000), ("02", 20000), ("03", 30000)):
        eid = f"D{month}"
        encounters.append((eid, ("P1",), f"2025-{month}-02", "DR1", "L1"))
        procedures.append((eid, 1, "99213", amount))
        entries += rows(
            eid,
            1,
            [
                (1, "charge", amount, f"2025-{month}-03"),
                (1, "payment", 0, f"2025-{month}-20"),
                (1, "adjustment", amount, f"2025-{month}-20", "CO", "50"),
            ],
        )
    encounters.append(("PAID", ("P1",), "2025-03-02", "DR1", "L1"))
    procedures.append(("PAID", 1, "99214", 5000))
    entries += rows("PAID", 1, [(1, "charge", 5000, "2025-03-03"), (1, "payment", 5000, last_day)])
    return build(encounters, procedures, entries, PAYERS)


def test_finding_7_root_cause_trend_runs_to_the_ledger_end():
    """Finding 7: denials $100 Jan, $200 Feb, $300 Mar, none Apr-May, ledger to May 31
    -> [100, 200, 300, 0, 0] dollars, declining (slope of the last 3 months -$150)."""
    import datetime as dt

    from ledgerkit.analytics.rootcause import root_causes

    ledger = _d_denials_ledger("2025-05-31")
    for complete in (True, False):  # May 31 closes May: nothing to drop
        row = root_causes(ledger, by=("carc",), complete_months=complete).to_pylist()[0]
        assert row["monthly_cents"] == [10000, 20000, 30000, 0, 0]
        assert row["first_month"] == "2025-01"
        assert (row["last_month_cents"], row["prev_month_cents"]) == (0, 0)
        assert row["slope_cents_per_month"] == pytest.approx(-15000.0)
        assert row["growing"] is False
    # a ledger ending mid-May: complete_months drops only the incomplete May
    mid_may = _d_denials_ledger("2025-05-15")
    row = root_causes(mid_may, by=("carc",)).to_pylist()[0]
    assert row["monthly_cents"] == [10000, 20000, 30000, 0]
    row = root_causes(mid_may, by=("carc",), complete_months=False).to_pylist()[0]
    assert row["monthly_cents"] == [10000, 20000, 30000, 0, 0]
    # an explicit end: June 30 adds June; Feb 28 leaves March's denial out
    row = root_causes(ledger, by=("carc",), as_of=dt.date(2025, 6, 30)).to_pylist()[0]
    assert row["monthly_cents"] == [10000, 20000, 30000, 0, 0, 0]
    row = root_causes(ledger, by=("carc",), as_of=dt.date(2025, 2, 28)).to_pylist()[0]
    assert row["monthly_cents"] == [10000, 20000] and row["denied_cents"] == 30000
    assert row["growing"] is True


# --- Settled questions 1 and 2, findings 1 and 5: every payer's denials count,
# "denied entirely" needs a denial (issue #13, part A) ---

A_SQ1_ROWS = [
    (1, "charge", 4500),
    (1, "payment", 2288),
    (1, "adjustment", 1491, "CO", "45"),
    (1, "adjustment", 254, "PR", "2"),
    (1, "adjustment", 467, "PI", "59"),
    (2, "payment", 219),
    (2, "adjustment", 4246, "OA", "23"),
    (2, "adjustment", 35, "PR", "2"),
    (0, "patient_payment", 35),
]
A_EXPLAIN = ("explain_line", "explain_group", "explain_carc", "explain_amount")


def _a_sq1_ledger():
    """DOMAIN.md Settled question 1: fee $45; the primary denies PI-59 $4.67, the
    secondary pays its share of the primary's PR, the patient pays the rest."""
    return make_ledger(
        [("E1", ("P1", "P2"))], [("E1", 1, "99213", 4500)], _entries("E1", 1, A_SQ1_ROWS)
    )


def _a_row(ledger, eid="E1"):
    return next(r for r in lk.classify(ledger).to_pylist() if r["encounter_id"] == eid)


def _a_worklist(ledger):
    cols = ["encounter_id", "class", "payer_id", "payer_seq", "line", "carc", "at_stake_cents"]
    return lk.worklist(ledger).select(cols).to_pylist()


def test_settled_1_every_payers_denial_counts():
    """Fee $45.00; primary pays $22.88, CO-45 $14.91, PR-2 $2.54, PI-59 $4.67;
    secondary pays $2.19, OA-23 $42.46, PR-2 $0.35; patient pays $0.35 -> balance
    $4.67, denied $4.67 -> UNRESOLVED, explained by that line, PI-59, $4.67, payer 1."""
    row = _a_row(_a_sq1_ledger())
    assert (row["class"], row["balanced"], row["balance"], row["denied"]) == (
        "UNRESOLVED",
        False,
        467,
        467,
    )
    assert [row[k] for k in A_EXPLAIN] == [1, "PI", "59", 467]
    assert row["explain_payer_seq"] == 1
    # PR still follows the last adjudicating payer; allowed = all payments + its PR-2.
    assert (row["pr"], row["open_pr"], row["payer_balance"]) == (35, 0, 467)
    assert row["allowed"] == 2288 + 219 + 35 == 2542
    assert (row["last_payer_seq"], row["stage"]) == (2, "payer_2")


def test_settled_1_denial_work_ends_only_by_negation_write_off_push_or_payment():
    ledger = _a_sq1_ledger()
    pi59 = 5  # entry_id of the PI-59 line in A_SQ1_ROWS (make_ledger numbers from 1)
    # A write-off of the denied $4.67: balanced, off the worklist; the payer's decision stays.
    written = ledger.append(_entries("E1", 1, [(1, "write_off", 467)]))
    row = _a_row(written)
    assert (row["class"], row["stage"], row["balance"], row["denied"]) == (
        "UNRESOLVED",
        "finalized",
        0,
        467,
    )
    assert _a_worklist(written) == []
    # A push to PR: the patient owes $4.67, no payer balance is left to chase.
    pushed = ledger.append(_entries("E1", 1, [(2, "transfer_to_pr", 467)]))
    row = _a_row(pushed)
    assert (row["stage"], row["open_pr"], row["payer_balance"], row["balance"]) == (
        "patient",
        467,
        0,
        467,
    )
    assert _a_worklist(pushed) == []
    # The primary pays after an appeal: balance 0.
    paid = ledger.append(_entries("E1", 1, [(1, "payment", 467)]))
    row = _a_row(paid)
    assert (row["balanced"], row["stage"], row["allowed"]) == (True, "finalized", 3009)
    assert _a_worklist(paid) == []
    # A negation of the denial: nothing is denied any more (the $4.67 is still owed).
    negated = ledger.append(
        [
            dict(
                encounter_id="E1",
                line=1,
                payer_seq=1,
                kind="adjustment",
                amount_cents=-467,
                group_code="PI",
                carc="59",
                negates=pi59,
            )
        ]
    )
    row = _a_row(negated)
    assert (row["class"], row["denied"], row["balance"], row["explain_carc"]) == (
        "PAID",
        0,
        467,
        None,
    )
    # A secondary's payment, PR or OA-23 alone never cures it (the SQ1 ledger itself).
    assert _a_worklist(ledger) == [
        {
            "encounter_id": "E1",
            "class": "UNRESOLVED",
            "payer_id": "P1",
            "payer_seq": 1,
            "line": 1,
            "carc": "59",
            "at_stake_cents": 467,
        }
    ]


def test_settled_1_three_payers_each_denial_counts():
    """Primary: pays $60, CO-45 $20, PR-2 $15, PI-59 $5 on a $100 line; secondary:
    pays $6 of the $15, denies CO-16 $4, PR-2 $5, OA-23 $85; tertiary: pays $3,
    PR-2 $2, OA-23 $95. Denied $9 (both denials), balance $9 + $2 open PR."""
    rows = [
        (1, "charge", 10000),
        (1, "payment", 6000),
        (1, "adjustment", 2000, "CO", "45"),
        (1, "adjustment", 1500, "PR", "2"),
        (1, "adjustment", 500, "PI", "59"),
        (2, "payment", 600),
        (2, "adjustment", 400, "CO", "16"),
        (2, "adjustment", 500, "PR", "2"),
        (2, "adjustment", 8500, "OA", "23"),
        (3, "payment", 300),
        (3, "adjustment", 200, "PR", "2"),
        (3, "adjustment", 9500, "OA", "23"),
    ]
    ledger = make_ledger(
        [("E1", ("P1", "P2", "P3"))], [("E1", 1, "99213", 10000)], _entries("E1", 1, rows)
    )
    row = _a_row(ledger)
    assert (row["class"], row["denied"], row["balance"], row["open_pr"]) == (
        "UNRESOLVED",
        900,
        1100,
        200,
    )
    assert (row["payer_balance"], row["allowed"], row["stage"]) == (900, 6900 + 200, "payer_3")
    # The largest denial names the line: the primary's PI-59 $5 (of $9 denied).
    assert [row[k] for k in A_EXPLAIN] == [1, "PI", "59", 900]
    assert row["explain_payer_seq"] == 1
    dollars = lk.metrics.denial_dollars(ledger, by=("payer", "carc")).to_pylist()
    assert [(r["payer"], r["carc"], r["denied_cents"]) for r in dollars] == [
        ("P1", "59", 500),
        ("P2", "16", 400),
    ]


def test_settled_2_zero_allowed_contractual_lines_are_paid_at_zero():
    """An encounter of only lines brought to allowed $0 by CO-45 is PAID at $0."""
    entries = _entries("E1", 1, [(1, "charge", 2500), (1, "adjustment", 2500, "CO", "45")])
    entries += _entries(
        "E1", 2, [(1, "charge", 900), (1, "payment", 0), (1, "adjustment", 900, "CO", "45")]
    )
    ledger = make_ledger(
        [("E1", ("P1",))], [("E1", 1, "99213", 2500), ("E1", 2, "36415", 900)], entries
    )
    row = _a_row(ledger)
    assert (row["class"], row["allowed"], row["denied"], row["balance"]) == ("PAID", 0, 0, 0)
    assert (row["stage"], row["explain_line"], row["explain_amount"]) == ("finalized", None, None)
    assert _a_worklist(ledger) == []


def test_settled_2_denial_needs_a_denial_and_names_it():
    """Allowed $0 on the whole encounter: line 1 CO-45 to $0 (larger charge), line 2
    CO-50 denied $120 -> DENIAL, explained by line 2, CO-50, $120, never by line 1."""
    entries = _entries("E1", 1, [(1, "charge", 30000), (1, "adjustment", 30000, "CO", "45")])
    entries += _entries("E1", 2, [(1, "charge", 12000), (1, "adjustment", 12000, "CO", "50")])
    ledger = make_ledger(
        [("E1", ("P1",))], [("E1", 1, "99214", 30000), ("E1", 2, "93000", 12000)], entries
    )
    row = _a_row(ledger)
    assert (row["class"], row["allowed"], row["denied"], row["balance"]) == (
        "DENIAL",
        0,
        12000,
        12000,
    )
    assert [row[k] for k in A_EXPLAIN] == [2, "CO", "50", 12000]
    assert row["explain_payer_seq"] == 1


def test_finding_1_primary_denial_survives_a_secondary_payment():
    """Issue #13 finding 1: payer 1 pays a line but denies PI-59 $4.67; payer 2 pays its
    share. Was PAID, stage payer_2, nothing explained, on no worklist. Now UNRESOLVED,
    explained by payer 1's PI-59 $4.67, chased with payer 1 ($4.67 at stake), and
    counted in open denied dollars under PI-59. A second, fully paid line changes
    nothing."""
    rows2 = [
        (1, "charge", 8000),
        (1, "payment", 6400),
        (1, "adjustment", 1600, "PR", "2"),
        (2, "payment", 1600),
        (2, "adjustment", 6400, "OA", "23"),
    ]
    ledger = make_ledger(
        [("E1", ("P1", "P2"))],
        [("E1", 1, "99213", 4500), ("E1", 2, "99214", 8000)],
        _entries("E1", 1, A_SQ1_ROWS) + _entries("E1", 2, rows2),
    )
    row = _a_row(ledger)
    assert (row["class"], row["stage"], row["balance"], row["payer_balance"]) == (
        "UNRESOLVED",
        "payer_2",
        467,
        467,
    )
    assert [row[k] for k in A_EXPLAIN] == [1, "PI", "59", 467]
    assert row["explain_payer_seq"] == 1
    assert [
        (r["payer_id"], r["payer_seq"], r["carc"], r["at_stake_cents"])
        for r in _a_worklist(ledger)
    ] == [("P1", 1, "59", 467)]
    open_denied = lk.metrics.open_denial_dollars(ledger, by="carc").to_pylist()
    assert [(r["carc"], r["open_denied_cents"]) for r in open_denied] == [("59", 467)]


def test_finding_5_no_denial_with_nothing_denied():
    """Issue #13 finding 5: a line brought to allowed $0 by CO-45 alone made its
    encounter PARTIAL_DENIAL with $0 denied and no CARC. It is PAID now; a real
    partial denial next to it still names its CARC and a non-zero amount."""
    paid = _entries(
        "E1", 1, [(1, "charge", 10000), (1, "payment", 7000), (1, "adjustment", 3000, "CO", "45")]
    )
    zero = _entries(
        "E1", 2, [(1, "charge", 1500), (1, "payment", 0), (1, "adjustment", 1500, "CO", "45")]
    )
    denied = _entries(
        "E2", 3, [(1, "charge", 2000), (1, "payment", 0), (1, "adjustment", 2000, "CO", "97")]
    )
    ledger = make_ledger(
        [("E1", ("P1",)), ("E2", ("P1",))],
        [
            ("E1", 1, "99213", 10000),
            ("E1", 2, "36415", 1500),
            ("E2", 1, "99213", 10000),
            ("E2", 2, "36415", 1500),
            ("E2", 3, "97597", 2000),
        ],
        paid + zero + [dict(e, encounter_id="E2") for e in paid + zero] + denied,
    )
    e1 = _a_row(ledger, "E1")
    assert (e1["class"], e1["allowed"], e1["denied"], e1["balanced"]) == ("PAID", 7000, 0, True)
    assert e1["explain_carc"] is None
    e2 = _a_row(ledger, "E2")
    assert (e2["class"], e2["allowed"], e2["denied"], e2["balance"]) == (
        "PARTIAL_DENIAL",
        7000,
        2000,
        2000,
    )
    assert [e2[k] for k in A_EXPLAIN] == [3, "CO", "97", 2000]
    assert [(r["encounter_id"], r["carc"], r["at_stake_cents"]) for r in _a_worklist(ledger)] == [
        ("E2", "97", 2000)
    ]


# --- Settled question 4 and finding 4: the group code decides who is liable (issue #13, C1) ---


def _c1_ledger(lines, payers=("P1",), payer_classes=None):
    """One encounter "E1"; ``lines`` maps line -> (charge, rows as in ``_entries``)."""
    rows = []
    for line, (_, line_rows) in lines.items():
        rows += _entries("E1", line, line_rows)
    base = make_ledger(
        [("E1", payers)],
        [("E1", line, "99213", charge) for line, (charge, _) in lines.items()],
        rows,
    )
    if payer_classes is None:
        return base
    table = {
        "payer_id": list(payers),
        "payer_class": list(payer_classes),
        "timely_filing_days": [365] * len(payers),
        "appeal_days": [120] * len(payers),
    }
    return lk.Ledger.from_arrow(base.encounters, base.procedures, base.entries, table)


def _c1_non_co_payer_owed(ledger) -> dict:
    """(encounter, line) -> cents of live non-CO adjustments a default push may move."""
    entries = ledger.entries.to_pylist()
    negated = {e["negates"] for e in entries if e["negates"] is not None}
    out = {}
    for e in entries:
        live = e["negates"] is None and e["entry_id"] not in negated
        if live and e["kind"] == "adjustment" and e["group_code"] not in ("CO", None):
            key = (e["encounter_id"], e["line"])
            out[key] = out.get(key, 0) + e["amount_cents"]
    return out


def _c1_all_defaults():
    rules = lk.rules.default_rules()
    for rule in rules:
        rules = rules.enable(rule.name)
    return rules


def test_settled_4_push_by_carc_matches_group_code_and_carc():
    """Line 1: CO-96 $240 (provider liability). Line 2: the primary's PR-96 $80, the
    secondary covers none of it (OA-23 $80). The default push moves the $80 of PR-96
    to the patient and leaves the $240 of CO-96 with the provider."""
    ledger = _c1_ledger(
        {
            1: (24000, [(1, "charge", 24000), (1, "adjustment", 24000, "CO", "96")]),
            2: (
                8000,
                [
                    (1, "charge", 8000),
                    (1, "adjustment", 8000, "PR", "96"),
                    (2, "adjustment", 8000, "OA", "23"),
                ],
            ),
        },
        payers=("P1", "P2"),
    )
    run = lk.rules.dry_run(ledger)
    moved = [(r["line"], r["kind"], r["amount_cents"]) for r in run.entries.to_pylist()]
    assert moved == [(2, "transfer_to_pr", 8000)]
    after = {r["line"]: r for r in lk.balances(lk.rules.apply_rules(ledger, run)).to_pylist()}
    assert (after[1]["payer_balance"], after[1]["open_pr"]) == (24000, 0)
    assert (after[2]["payer_balance"], after[2]["open_pr"]) == (0, 8000)


def test_finding_4_noncovered_to_pr_no_longer_bills_co96():
    """A $240 preventive visit denied CO-96: the old rule pushed all $240 to the
    patient; the default rules push nothing, and the worklist says write it off."""
    ledger = _c1_ledger({1: (24000, [(1, "charge", 24000), (1, "adjustment", 24000, "CO", "96")])})
    old = lk.rules.Rule(
        "old_noncovered_to_pr",  # the 0.1 rule: any group, the whole payer balance
        when=lk.rules.Condition(group_codes=["CO", "PR", "OA", "PI", "CR"], carcs=["96", "204"]),
        then=lk.rules.Action("transfer_to_pr", reason="96"),
    )
    assert sum(lk.rules.dry_run(ledger, [old]).entries["amount_cents"].to_pylist()) == 24000
    assert lk.rules.dry_run(ledger, _c1_all_defaults()).entries.num_rows == 0
    [row] = lk.worklist(ledger).to_pylist()
    assert (row["group_code"], row["carc"], row["next_action"], row["at_stake_cents"]) == (
        "CO",
        "96",
        "write_off",
        24000,
    )


def test_finding_4_co119_and_co96_worklist_rows_do_not_bill_the_patient():
    for carc, charge in (("119", 21000), ("96", 24000)):
        rows = [(1, "charge", charge), (1, "adjustment", charge, "CO", carc)]
        [row] = lk.worklist(_c1_ledger({1: (charge, rows)})).to_pylist()
        assert (row["carc"], row["next_action"], row["at_stake_cents"]) == (
            carc,
            "write_off",
            charge,
        )
    # The same codes under PR are the patient's (a policy that works PR-96 as a denial).
    policy = lk.CarcPolicy.default().override("PR", "96", "denied")
    rows = [(1, "charge", 24000), (1, "adjustment", 24000, "PR", "96")]
    [row] = lk.worklist(_c1_ledger({1: (24000, rows)}), policy=policy).to_pylist()
    assert (row["group_code"], row["next_action"]) == ("PR", "bill_patient")


def test_finding_4_medicare_pr_write_off_ships_disabled_with_a_warning():
    """Medicare primary, fee $150: paid $80, CO-45 $50, PR-2 $20. The defaults waive
    none of the $20 coinsurance; switched on, the example writes off exactly $20."""
    rule = lk.rules.default_rules()["medicare_pr_write_off"]
    assert not rule.enabled
    assert "COMPLIANCE WARNING" in rule.description and "\n" not in rule.description
    rows = [
        (1, "charge", 15000),
        (1, "payment", 8000),
        (1, "adjustment", 5000, "CO", "45"),
        (1, "adjustment", 2000, "PR", "2"),
    ]
    ledger = _c1_ledger({1: (15000, rows)}, payers=("MCR01",), payer_classes=("medicare",))
    assert lk.rules.dry_run(ledger).entries.num_rows == 0
    on = lk.rules.dry_run(ledger, lk.rules.default_rules().enable("medicare_pr_write_off"))
    assert on.entries["amount_cents"].to_pylist() == [2000]


@pytest.mark.parametrize("seed", [1, 21])
def test_no_default_rule_moves_a_co_amount_to_a_patient(seed):
    ledger = lk.synth.generate(3000, seed=seed)
    owed = _c1_non_co_payer_owed(ledger)
    run = lk.rules.dry_run(ledger, _c1_all_defaults())
    pushed = [r for r in run.entries.to_pylist() if r["kind"] == "transfer_to_pr"]
    for r in pushed:
        assert r["amount_cents"] <= owed.get((r["encounter_id"], r["line"]), 0)
    # The synthetic ledger does carry CO-96 lines the 0.1 rule pushed to patients.
    old = lk.rules.Rule(
        "old_noncovered_to_pr",
        when=lk.rules.Condition(group_codes=["CO", "PR", "OA", "PI", "CR"], carcs=["96", "204"]),
        then=lk.rules.Action("transfer_to_pr", reason="96"),
    )
    old_pushed = lk.rules.dry_run(ledger, [old]).entries.to_pylist()
    assert any(r["amount_cents"] > owed.get((r["encounter_id"], r["line"]), 0) for r in old_pushed)


@pytest.mark.parametrize("seed", [5, 21])
def test_no_worklist_row_bills_a_patient_for_a_co_denial(seed):
    table = lk.worklist(lk.synth.generate(3000, seed=seed)).to_pylist()
    co = [r for r in table if r["group_code"] == "CO"]
    assert {r["carc"] for r in co} & {"96", "119"}  # the codes finding 4 found
    assert all(r["next_action"] != "bill_patient" for r in co)
    assert all(r["group_code"] == "PR" for r in table if r["next_action"] == "bill_patient")


# --- Finding 3 and Settled question 5: TAAs from clean history, closing only what they
# should, with fallbacks (issue #13, part C2) ---

from ledgerkit.rules.engine import Action, Condition, Rule, dry_run  # noqa: E402
from ledgerkit.rules.taa import suggest_taa, taa_history  # noqa: E402

C2_PAID = [29000, 29500, 29800, 30000, 30248, 30500, 30700, 31000, 31484]  # mean $302.48
C2_PARTIAL = [15000, 15893, 16552]  # line 1 paid, line 2 denied CO-50: mean $158.15


def c2_encounter(eid, line1, line2, payers=("P1",)):
    """(encounter, procedures, entries) of 99214 ($350.00) + 97110 ($180.00) for payer 1.

    ``line1`` / ``line2``: rows of (kind, amount, group, carc) posted by payer 1.
    """
    procs = [(eid, 1, "99214", 35000), (eid, 2, "97110", 18000)]
    rows = []
    for line, charge, posted in ((1, 35000, line1), (2, 18000, line2)):
        rows += _entries(eid, line, [(1, "charge", charge)])
        rows += _entries(eid, line, [(1, kind, amount, *gc) for kind, amount, *gc in posted])
    return (eid, payers), procs, rows


def c2_paid(eid, allowed):
    """Both lines paid (line 2 $100.00, line 1 the rest), CO-45 to a zero balance."""
    return c2_encounter(
        eid,
        [("payment", allowed - 10000), ("adjustment", 45000 - allowed, "CO", "45")],
        [("payment", 10000), ("adjustment", 8000, "CO", "45")],
    )


def c2_partial_denial(eid, allowed):
    """Line 1 paid ``allowed``; line 2 denied entirely, CO-50 (medical necessity)."""
    return c2_encounter(
        eid,
        [("payment", allowed), ("adjustment", 35000 - allowed, "CO", "45")],
        [("adjustment", 18000, "CO", "50")],
    )


def c2_ledger(extra=()):
    parts = [c2_paid(f"PAID{i}", a) for i, a in enumerate(C2_PAID)]
    parts += [c2_partial_denial(f"PD{i}", a) for i, a in enumerate(C2_PARTIAL)]
    parts += list(extra)
    encs, procs, rows = [], [], []
    for enc, p, r in parts:
        encs.append(enc)
        procs += p
        rows += r
    for i, row in enumerate(rows):
        row["entry_id"] = i + 1
    return make_ledger(encs, procs, rows)


def c2_taa_rule(**when):
    condition = Condition(allowed_vs_taa=">=", taa_percentile=25.0, taa_min_claims=9, **when)
    return Rule("taa_p25", when=condition, then=Action("write_off", group="CO", reason="45"))


def test_finding_3_partial_denials_do_not_lower_the_taa():
    """9 paid claims (mean $302.48) and 3 partial denials (mean $158.15) of one
    configuration: the p25 TAA was $165.52 (a partial denial's allowed); from the
    clean history it is $298.00, the third of the nine paid claims."""
    ledger = c2_ledger()
    assert sum(C2_PAID) == 9 * 30248 and sum(C2_PARTIAL) == 3 * 15815
    classes = [r["class"] for r in lk.classify(ledger).to_pylist()]
    assert classes == ["PAID"] * 9 + ["PARTIAL_DENIAL"] * 3
    row = suggest_taa(ledger, percentile=25, min_claims=9).to_pylist()[0]
    assert row["config"] == "P1|-|97110x1+99214x1"
    assert (row["claims"], row["taa_cents"], row["taa_source"]) == (9, 29800, "history")
    history = taa_history(ledger, percentiles=(25,)).to_pylist()[0]
    assert (history["min_cents"], history["p25_cents"], history["max_cents"]) == (
        29000,
        29800,
        31484,
    )


def test_finding_3_taa_rule_never_writes_off_a_line_denied_entirely():
    """Allowed $300.00 >= the p25 TAA $298.00 on three more encounters: the TAA rule
    writes off the PI-59 $30.00 left on an UNRESOLVED one and the $20.00 unpaid on a
    PAID one (closing both), but not the $180.00 CO-50 line of a PARTIAL_DENIAL,
    unless the rule says so with ``taa_includes_denied_lines``."""
    extra = [
        c2_partial_denial("PD_HIGH", 30000),
        c2_encounter(  # UNRESOLVED: allowed > 0 on both lines, PI-59 $30.00 denied
            "UNRES",
            [("payment", 20000), ("adjustment", 15000, "CO", "45")],
            [
                ("payment", 10000),
                ("adjustment", 5000, "CO", "45"),
                ("adjustment", 3000, "PI", "59"),
            ],
        ),
        c2_encounter(  # PAID, not balanced: $20.00 of line 2 neither paid nor adjusted
            "OPEN",
            [("payment", 20000), ("adjustment", 15000, "CO", "45")],
            [("payment", 10000), ("adjustment", 6000, "CO", "45")],
        ),
    ]
    ledger = c2_ledger(extra)
    cls = {r["encounter_id"]: (r["class"], r["balance"]) for r in lk.classify(ledger).to_pylist()}
    assert cls["PD_HIGH"] == ("PARTIAL_DENIAL", 18000)
    assert cls["UNRES"] == ("UNRESOLVED", 3000)
    assert cls["OPEN"] == ("PAID", 2000)
    # OPEN is clean history (10 claims), UNRES and PD_HIGH are not: p25 stays $298.00.
    assert suggest_taa(ledger, 25, 9)["taa_cents"].to_pylist() == [29800]

    run = dry_run(ledger, [c2_taa_rule()])
    got = [(e["encounter_id"], e["line"], e["amount_cents"]) for e in run.entries.to_pylist()]
    assert got == [("UNRES", 2, 3000), ("OPEN", 2, 2000)]
    summary = run.summary.to_pylist()[0]
    assert (summary["written_off_cents"], summary["encounters_closed"]) == (5000, 2)

    explicit = dry_run(ledger, [c2_taa_rule(taa_includes_denied_lines=True)])
    got = [(e["encounter_id"], e["line"], e["amount_cents"]) for e in explicit.entries.to_pylist()]
    assert got == [("PD_HIGH", 2, 18000), ("UNRES", 2, 3000), ("OPEN", 2, 2000)]
    assert explicit.summary["encounters_closed"].to_pylist() == [3]


def c2_one_line(eid, payer, paid, *, reversed_first=False, denied=0):
    """99213 ($150.00) paid ``paid`` by ``payer``, CO-45 to zero (or CO-97 ``denied``)."""
    rows = _entries(eid, 1, [(1, "charge", 15000)])
    if reversed_first:  # a remit posted, then reversed (claim status 22), then reposted
        rows += _entries(eid, 1, [(1, "payment", 4000), (1, "payment", -4000)])
        rows[-1]["negates"] = "previous"
    contractual = (1, "adjustment", 15000 - paid - denied, "CO", "45")
    rows += _entries(eid, 1, [(1, "payment", paid), contractual])
    if denied:
        rows += _entries(eid, 1, [(1, "adjustment", denied, "CO", "97")])
    return (eid, (payer,)), (eid, 1, "99213", 15000), rows


def test_settled_question_5_clean_history_and_fallbacks():
    """min_claims 3. P1 at office (11): three clean claims $80, $90, $100, one reversed
    ($120) and one with a CO-97 denial ($50): history [$80, $90, $100]. P1 at the
    hospital (22): one claim ($70): too thin, falls back to the fee schedule's
    $95.00 x 0.95 = $90.25 when one is given, else to 99213 for P1 at every place
    of service ([$70, $80, $90, $100], median $80). P2: one claim, no fallback."""
    parts = [
        (*c2_one_line("A1", "P1", 8000), "11"),
        (*c2_one_line("A2", "P1", 9000), "11"),
        (*c2_one_line("A3", "P1", 10000), "11"),
        (*c2_one_line("A4", "P1", 12000, reversed_first=True), "11"),
        (*c2_one_line("A5", "P1", 5000, denied=2000), "11"),
        (*c2_one_line("B1", "P1", 7000), "22"),
        (*c2_one_line("C1", "P2", 9900), "11"),
    ]
    rows = [r for _, _, part, _ in parts for r in part]
    for i, r in enumerate(rows):
        r["entry_id"] = i + 1
        if r.get("negates") == "previous":
            r["negates"] = i
    ledger = make_ledger([p[0] for p in parts], [p[1] for p in parts], rows)
    encounters = ledger.encounters
    at = encounters.schema.get_field_index("place_of_service")
    pos = pa.array([p[3] for p in parts], encounters.schema.field(at).type)
    ledger = lk.Ledger.from_arrow(
        encounters.set_column(at, encounters.schema.field(at), pos),
        ledger.procedures,
        ledger.entries,
        ledger.payers,
    )

    def table(**kw):
        out = suggest_taa(ledger, 50, 3, **kw).to_pylist()
        return {r["config"]: (r["claims"], r["taa_cents"], r["taa_source"]) for r in out}

    assert table() == {
        "P1|11|99213x1": (3, 9000, "history"),
        "P1|22|99213x1": (1, 8000, "cpt_set_any_pos"),
        "P2|11|99213x1": (1, None, None),
    }
    schedule = {"payer_id": ["P1"], "cpt": ["99213"], "rate_cents": [9500]}
    assert table(fee_schedule=schedule) == {
        "P1|11|99213x1": (3, 9000, "history"),
        "P1|22|99213x1": (1, 9025, "contract"),
        "P2|11|99213x1": (1, None, None),
    }
    assert table(fee_schedule=schedule, contract_fraction=1.0)["P1|22|99213x1"][1] == 9500


# --- Settled question 3 and findings 2 and 8: the validation boundary (issue #13, part B) ---

B_PAYER_LINE = [  # $100 charge; primary pays $60, CO-45 $20, PR-2 $10 -> balance $20, open PR $10
    (1, "charge", 10000),
    (1, "payment", 6000),
    (1, "adjustment", 2000, "CO", "45"),
    (1, "adjustment", 1000, "PR", "2"),
]


def _b_ledger(rows, coverage=("P1",), charge=10000, **kw):
    procedures = [("E1", 1, "99213", charge)]
    return make_ledger([("E1", coverage)], procedures, _entries("E1", 1, rows), **kw)


def _b_move(kind, amount, seq=1, group="CO", carc="A2"):
    return [dict(encounter_id="E1", line=1, payer_seq=seq, kind=kind, amount_cents=amount,
                 group_code=group, carc=carc, actor="ana", note="test")]  # fmt: skip


def _b_line(ledger):
    return lk.balances(ledger, "procedure").to_pylist()[0]


def test_settled_3_transfer_moves_at_most_the_payer_balance():
    from ledgerkit.core.limits import procedure_caps

    ledger = _b_ledger(B_PAYER_LINE)
    caps = procedure_caps(ledger).to_pylist()[0]
    assert (caps["balance"], caps["open_pr"], caps["transfer_to_pr_cap"]) == (2000, 1000, 1000)
    assert (caps["write_off_cap"], caps["pr_write_off_cap"], caps["credit"]) == (1000, 1000, 0)
    with pytest.raises(
        lk.LedgerError, match=r"entries row 0, column 'amount_cents'.*at most 1000 "
    ):
        ledger.append(_b_move("transfer_to_pr", 1001, group="PR", carc="204"))
    moved = _b_line(ledger.append(_b_move("transfer_to_pr", 1000, group="PR", carc="204")))
    assert (moved["balance"], moved["open_pr"], moved["payer_balance"]) == (2000, 2000, 0)


def test_settled_3_write_offs_capped_by_their_part():
    ledger = _b_ledger(B_PAYER_LINE)
    with pytest.raises(lk.LedgerError, match="write-off of \\$10.01 exceeds the payer balance"):
        ledger.append(_b_move("write_off", 1001))
    with pytest.raises(lk.LedgerError, match="PR write-off .* at most 1000 cents"):
        ledger.append(_b_move("write_off", 1001, seq=0, group="PR", carc="2"))
    both = ledger.append(_b_move("write_off", 1000) + _b_move("write_off", 1000, seq=0))
    line = _b_line(both)
    assert (line["balance"], line["open_pr"], line["written_off"], line["balanced"]) == (
        0, 0, 2000, True,
    )  # fmt: skip
    # Two movements of one batch share one cap: each is checked after the one before.
    with pytest.raises(lk.LedgerError, match="entries row 1,.*at most 400 cents"):
        ledger.append(_b_move("write_off", 600) + _b_move("transfer_to_pr", 401, group="PR"))


def test_finding_2_push_to_pr_beyond_what_is_open():
    """A $45 line the payer already put to the patient (PR-204 $45): nothing more can move."""
    from ledgerkit.posting.review import adjust

    rows = [(1, "charge", 4500), (1, "payment", 0), (1, "adjustment", 4500, "PR", "204")]
    ledger = _b_ledger(rows, charge=4500)
    with pytest.raises(lk.LedgerError, match="transfer_to_pr of \\$45.00 .* at most 0 cents"):
        ledger.append(_b_move("transfer_to_pr", 4500, group="PR", carc="204"))
    with pytest.raises(lk.LedgerError, match="at most 0 cents"):
        adjust(ledger, "E1", 1, 4500, kind="transfer_to_pr", group_code="PR", carc="204",
               payer_seq=1, actor="ana", note="to patient")  # fmt: skip
    line = _b_line(ledger)
    assert (line["balance"], line["open_pr"], line["payer_balance"]) == (4500, 4500, 0)
    assert lk.classify(ledger)["stage"][0].as_py() == "patient"


def test_finding_2_synth_makes_no_over_cap_transfers():
    from ledgerkit.core.limits import check_history

    ledger = lk.synth.generate(3000, seed=1)
    check_history(ledger, allow_credit=True)  # raises on any over-cap movement
    lines = lk.balances(ledger, "procedure")
    over = pc.greater(lines["open_pr"], pc.max_element_wise(lines["balance"], 0))
    assert pc.sum(over.cast(pa.int64())).as_py() == 0


def test_finding_8_amounts_beyond_2_53_refused():
    rows = [(1, "charge", 2**62), (1, "charge", 2**62)]
    with pytest.raises(lk.LedgerError, match="entries row 0, column 'amount_cents'.*2\\*\\*53"):
        _b_ledger(rows)
    ledger = _b_ledger([(1, "charge", 10000)])
    with pytest.raises(lk.LedgerError, match="row 0, column 'amount_cents'.*2\\*\\*53"):
        ledger.append(_b_move("payment", -(2**53) - 1))


def test_finding_8_procedure_sums_that_could_overflow_refused():
    rows = [(1, "charge", 2**53)] * 1023  # 1023 * 2**53 < 2**63: fits
    ledger = _b_ledger(rows, charge=0)
    assert _b_line(ledger)["charge"] == 1023 * 2**53
    with pytest.raises(lk.LedgerError, match="entries row 1023, column 'amount_cents'.*overflow"):
        _b_ledger(rows + [(1, "charge", 2**53)], charge=0)
    with pytest.raises(lk.LedgerError, match="entries row 0, column 'amount_cents'.*overflow"):
        ledger.append(_b_move("charge", 2**53))


@pytest.mark.parametrize(
    ("ids", "words"),
    [
        ([1.7], "position 0 is 1.7 \\(float\\); entry ids are integers"),
        (["1"], "position 0 is '1' \\(str\\)"),
        ([2**70], "out of range"),
        (None, "entry_ids is None"),
        ([99], "entry 99 does not exist"),
        ([True], "\\(bool\\)"),
    ],
)
def test_finding_8_negate_ids_must_be_existing_integers(ids, words):
    ledger = _b_ledger(B_PAYER_LINE)
    with pytest.raises(lk.LedgerError, match=words):
        ledger.negate(ids, actor="ana", note="undo")


def test_finding_8_one_actor_check_for_ledger_and_review():
    from ledgerkit.posting.review import negate

    ledger = _b_ledger(B_PAYER_LINE)
    for actor, note in (("", "undo"), ("  ", "undo"), (None, "undo"), ("ana", "")):
        with pytest.raises(lk.LedgerError, match="negate: needs an? (actor|note)"):
            ledger.negate([2], actor=actor, note=note)
        with pytest.raises(lk.LedgerError, match="negate: needs an? (actor|note)"):
            negate(ledger, [2], actor=actor, note=note)
    undone = ledger.negate([2], actor="ana", note="wrong claim")
    assert _b_line(undone)["balance"] == 8000  # the $60 payment is undone


def test_finding_8_empty_append_returns_the_same_ledger():
    ledger = _b_ledger(B_PAYER_LINE)
    assert ledger.append([]) is ledger
    assert ledger.append(ledger.entries.slice(0, 0)) is ledger
    assert ledger.negate([], actor="ana", note="nothing") is ledger


def test_finding_8_negative_charge_is_a_negation():
    ledger = _b_ledger([(1, "charge", 10000)])
    with pytest.raises(lk.LedgerError, match="a charge of -\\$20.00 is negative.*negate it"):
        ledger.append(_b_move("charge", -2000))
    with pytest.raises(lk.LedgerError, match="entries row 1, column 'amount_cents': a charge"):
        _b_ledger([(1, "charge", 10000), (1, "charge", -2000)])
    fixed = ledger.negate([1], actor="ana", note="wrong fee").append(_b_move("charge", 8000))
    assert _b_line(fixed)["charge"] == 8000


def test_finding_8_payer_must_be_the_encounters_payer():
    ledger = _b_ledger(B_PAYER_LINE, coverage=("P1", "P2"))
    wrong = [dict(encounter_id="E1", line=1, payer_seq=2, payer_id="P1", kind="payment",
                  amount_cents=100)]  # fmt: skip
    with pytest.raises(lk.LedgerError, match="row 0, column 'payer_id': payer 'P1' is not .*"
                       "payer 2 \\('P2'\\)"):  # fmt: skip
        ledger.append(wrong)
    with pytest.raises(lk.LedgerError, match="row 0, column 'payer_id': its encounter has no "
                       "payer 3"):  # fmt: skip
        ledger.append([dict(wrong[0], payer_seq=3, payer_id="P3")])
    payers = pa.table({"payer_id": ["P1"], "payer_class": ["commercial"],
                       "timely_filing_days": pa.array([90], pa.int32()),
                       "appeal_days": pa.array([90], pa.int32())})  # fmt: skip
    with pytest.raises(lk.LedgerError, match="encounters row 0, column 'payer2_id': payer 'P2' "
                       "is not in the payers table"):  # fmt: skip
        _b_ledger(B_PAYER_LINE, coverage=("P1", "P2"), payers=payers)


def test_finding_8_credit_balance_is_refused_or_shown():
    """The README's $25 patient payment on a line with nothing open; a $10,000 overpayment."""
    ledger = _b_ledger(B_PAYER_LINE[:3] + [(1, "adjustment", 2000, "CO", "45")])
    assert _b_line(ledger)["balance"] == 0
    pay = [dict(encounter_id="E1", line=1, payer_seq=0, kind="patient_payment",
                amount_cents=2500)]  # fmt: skip
    with pytest.raises(lk.LedgerError, match="row 0, .*credit of \\$25.00 \\(balance -\\$25.00\\)"
                       ".*allow_credit=True"):  # fmt: skip
        ledger.append(pay)
    credited = ledger.append(pay, allow_credit=True)
    line = _b_line(credited)
    assert (line["balance"], line["credit"], line["balanced"]) == (-2500, 2500, False)
    assert "1 encounters in credit (overpaid), $25.00 to refund" in lk.format_summary(
        lk.classify(credited)
    )
    over = _b_move("payment", 1_000_000)
    with pytest.raises(lk.LedgerError, match="entry \\(\\$10,000.00.*credit of \\$9,980.00"):
        _b_ledger(B_PAYER_LINE).append(over)
    assert _b_line(_b_ledger(B_PAYER_LINE).append(over, allow_credit=True))["credit"] == 998_000


@st.composite
def _b_appends(draw):
    """A charges-only ledger and the random entries appended to it, in batches."""
    ledger = draw(random_ledgers(max_encounters=4))
    entries = ledger.entries
    is_charge = pc.and_(pc.equal(entries["kind"].cast(pa.string()), "charge"),
                        pc.is_null(entries["negates"]))  # fmt: skip
    head = lk.Ledger.from_arrow(ledger.encounters, ledger.procedures, entries.filter(is_charge),
                                ledger.payers)  # fmt: skip
    rest = entries.filter(pc.invert(is_charge)).slice(0, 24).to_pylist()
    huge = st.sampled_from([2**53, 2**53 + 1, -(2**53), 2**62, 2**63 - 1])
    for row in rest:
        if draw(st.integers(0, 9)) == 0:
            row["amount_cents"] = draw(huge)
    sizes = draw(st.lists(st.integers(1, 4), min_size=len(rest), max_size=len(rest)))
    return head, rest, sizes


@given(_b_appends())
@settings(max_examples=25, deadline=None)
def test_accepted_appends_keep_open_pr_within_balance(case):
    head, rest, sizes = case
    ledger, i = head, 0
    for size in sizes:
        batch = rest[i : i + size]
        i += size
        if not batch:
            break
        try:
            ledger = ledger.append(batch)
        except lk.LedgerError:
            continue
        lines = lk.balances(ledger, "procedure")
        balance, open_pr = lines["balance"].to_numpy(), lines["open_pr"].to_numpy()
        assert (balance >= 0).all()
        assert (open_pr <= balance).all()
        sums = {}
        for e in ledger.entries.to_pylist():
            key = (e["encounter_id"], e["line"])
            sums[key] = sums.get(key, 0) + abs(e["amount_cents"])
        assert max(sums.values(), default=0) <= 2**63 - 1  # Python ints: exact


# --- Issue #17: the secondary claim carries the primary's decision (seed 003) ---
def _x17_secondary_claim(paid, cas):
    """Seed 003's $150 fee, the primary's payment and CAS, written to the secondary."""
    entries = [dict(encounter_id="E1", line=1, payer_seq=1, kind="charge", amount_cents=15000)]
    entries.append(dict(encounter_id="E1", line=1, payer_seq=1, kind="payment", amount_cents=paid))
    entries += [
        dict(encounter_id="E1", line=1, payer_seq=1, kind="adjustment", group_code=g, carc=c,
             amount_cents=a)
        for g, c, a in cas
    ]  # fmt: skip
    ledger = make_ledger([("E1", ("P1", "P2"))], [("E1", 1, "99213", 15000)], entries)
    from ledgerkit.x12.write_secondary import format_837_secondary

    claims = lk.read_837(format_837_secondary(ledger, ["E1"]))
    assert claims.findings.num_rows == 0
    rows = claims.prior_adjudication.to_pylist()
    svd = [r["amount_cents"] for r in rows if r["source"] == "SVD"]
    by_group = {}
    for r in rows:
        if r["source"] == "CAS":
            by_group[r["group_code"]] = by_group.get(r["group_code"], 0) + r["amount_cents"]
    return claims.claims["payer_id"].to_pylist(), svd, by_group


def test_x17_seed_003_example_one_travels_with_the_secondary_claim():
    """$150 fee - $80 paid = $70: CO $40, PR $30 (copay $10 + coinsurance $20)."""
    payer, svd, by_group = _x17_secondary_claim(
        8000, [("CO", "45", 4000), ("PR", "3", 1000), ("PR", "2", 2000)]
    )
    assert (payer, svd, by_group) == (["P2"], [8000], {"CO": 4000, "PR": 3000})


def test_x17_seed_003_example_two_deductible_travels_with_the_secondary_claim():
    """$150 fee - $0 paid = $150: CO-45 $40, PR-1 $110."""
    payer, svd, by_group = _x17_secondary_claim(0, [("CO", "45", 4000), ("PR", "1", 11000)])
    assert (payer, svd, by_group) == (["P2"], [0], {"CO": 4000, "PR": 11000})


# --- Settled question 5: a thin configuration's TAA from its contract (issue #15, C15b) ---


def _c15b_dated(ledger, days):
    """``ledger`` with encounter i (and its lines) served on ``days[i]``."""
    enc = ledger.encounters
    dates = dict(zip(enc["encounter_id"].to_pylist(), days, strict=True))
    proc = ledger.procedures
    enc = enc.set_column(
        enc.schema.get_field_index("service_date"),
        "service_date",
        pa.array(days, pa.date32()),
    )
    proc = proc.set_column(
        proc.schema.get_field_index("service_date"),
        "service_date",
        pa.array([dates[e] for e in proc["encounter_id"].to_pylist()], pa.date32()),
    )
    return lk.Ledger.from_arrow(enc, proc, ledger.entries, ledger.payers)


def _c15b_contract():
    """P1: 99214 $300.00 in January 2025, $320.00 from February; 97110 $100.00."""
    import datetime as dt

    rows = [
        ("99214", 30000, dt.date(2025, 1, 1), dt.date(2025, 1, 31)),
        ("99214", 32000, dt.date(2025, 2, 1), None),
        ("97110", 10000, dt.date(2025, 1, 1), None),
    ]
    table = [
        dict.fromkeys(lk.synth.CONTRACT_SCHEMA.names)
        | dict(payer="P1", code_from=c, code_to=c, rate_cents_per_unit=r, effective_from=f,
               effective_to=t, carve_out=False, cap_at_charge=True)
        for c, r, f, t in rows
    ]  # fmt: skip
    return pa.Table.from_pylist(table, schema=lk.synth.CONTRACT_SCHEMA)


def test_settled_5_thin_configuration_falls_back_to_the_contract_rate():
    """Two clean claims of 99214 + 97110 (fewer than min_claims=3): the TAA is 95% of
    the contract amount of the latest one, served 2025-03-01: ($320 + $100) x 0.95 =
    $399.00; at 90%, $378.00. Served only in January it would be ($300 + $100) x 0.95."""
    import datetime as dt

    parts = [c2_paid("A", 40000), c2_paid("B", 41000)]
    ledger = make_ledger(
        [p[0] for p in parts], parts[0][1] + parts[1][1], parts[0][2] + parts[1][2]
    )
    late = _c15b_dated(ledger, [dt.date(2025, 1, 15), dt.date(2025, 3, 1)])
    early = _c15b_dated(ledger, [dt.date(2025, 1, 15), dt.date(2025, 1, 20)])
    contract = _c15b_contract()
    (row,) = suggest_taa(late, 50, 3, contracts=contract).to_pylist()
    assert (row["taa_source"], row["taa_cents"], row["claims"]) == ("contract", 39900, 2)
    (row,) = suggest_taa(late, 50, 3, contracts=contract, contract_fraction=0.9).to_pylist()
    assert row["taa_cents"] == 37800
    (row,) = suggest_taa(early, 50, 3, contracts=contract).to_pylist()
    assert row["taa_cents"] == 38000
    # without contracts: no history, no pool, no TAA
    (row,) = suggest_taa(late, 50, 3).to_pylist()
    assert row["taa_source"] is None and row["taa_cents"] is None
    # history first: at min_claims=2 the clean history decides (median of $400, $410)
    (row,) = suggest_taa(late, 50, 2, contracts=contract).to_pylist()
    assert (row["taa_source"], row["taa_cents"]) == ("history", 40000)
