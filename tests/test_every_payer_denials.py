"""Every payer's denials count; "denied entirely" needs a denial (issue #13, part A).

The kernels against the plain reference (``reference.py``) on ledgers where
earlier payers deny and later payers pay (``cob_ledgers``), and the property
that every DENIAL / PARTIAL_DENIAL / UNRESOLVED row is explained by a CARC, a
payer and a positive amount.
"""

import reference_metrics as ref_metrics
from cob_ledgers import cob_ledgers
from hypothesis import given, settings
from ledgers import random_ledgers
from reference import balances_ref, classify_ref

import ledgerkit as lk
from ledgerkit.analytics import metrics
from ledgerkit.core.catalog import CarcCatalog

WORK = ("DENIAL", "PARTIAL_DENIAL", "UNRESOLVED")
CATALOG = CarcCatalog.default()


def _rows(table):
    rows = table.to_pylist()
    for r in rows:
        for k in ("class", "stage"):
            r[k] = str(r[k])
    return rows


def _assert_explained(ledger):
    rows = _rows(lk.classify(ledger))
    for r in rows:
        if r["class"] in WORK:
            assert r["explain_carc"] is not None, r["encounter_id"]
            assert r["explain_group"] is not None, r["encounter_id"]
            assert r["explain_line"] is not None, r["encounter_id"]
            assert r["explain_payer_seq"] in (1, 2, 3), r["encounter_id"]
            assert r["explain_amount"] > 0, r["encounter_id"]
            assert r["denied"] > 0, r["encounter_id"]
        else:
            assert r["explain_carc"] is None and r["explain_amount"] is None
    return rows


@settings(max_examples=50)
@given(cob_ledgers())
def test_cob_classify_matches_reference(ledger):
    got = _rows(lk.classify(ledger))
    want = classify_ref(ledger)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g == {k: w[k] for k in g}, g["encounter_id"]


@settings(max_examples=30)
@given(cob_ledgers())
def test_cob_procedure_figures_match_reference(ledger):
    got = lk.balances(ledger, level="procedure").to_pylist()
    want = balances_ref(ledger, "procedure")
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g["last_payer_seq"] == w["last"]
        assert {k: g[k] for k in g if k != "last_payer_seq"} == {
            k: w[k] for k in g if k != "last_payer_seq"
        }


@settings(max_examples=25)
@given(cob_ledgers())
def test_cob_open_denied_and_denial_dollars_match_reference(ledger):
    """Downstream of the denied bucket: open denied dollars (reason = the largest live
    denial of any payer) and denial dollars by payer and CARC."""
    for fn, ref in (
        (metrics.open_denial_dollars, ref_metrics.open_denial_dollars_ref),
        (metrics.denial_dollars, ref_metrics.denial_dollars_ref),
    ):
        for by in ("payer", ("payer", "carc"), "carc"):
            got = fn(ledger, by=by, catalog=CATALOG).to_pylist()
            assert got == ref(ledger, by=by, catalog=CATALOG), (fn.__name__, by)


@settings(max_examples=50)
@given(cob_ledgers())
def test_every_worked_class_names_a_carc_and_an_amount(ledger):
    rows = _assert_explained(ledger)
    # And the explanation is consistent with the class: the named line is denied
    # entirely for DENIAL / PARTIAL_DENIAL.
    procs = {
        (r["encounter_id"], r["line"]): r for r in lk.balances(ledger, "procedure").to_pylist()
    }
    for r in rows:
        if r["class"] in ("DENIAL", "PARTIAL_DENIAL"):
            p = procs[(r["encounter_id"], r["explain_line"])]
            assert p["allowed"] <= 0 < p["denied"] == r["explain_amount"]


@settings(max_examples=40)
@given(random_ledgers())
def test_every_worked_class_names_a_carc_and_an_amount_on_any_ledger(ledger):
    """The same property on unconstrained ledgers (negative amounts, negations, self-pay)."""
    _assert_explained(ledger)


@settings(max_examples=30)
@given(cob_ledgers())
def test_worklist_chases_the_denying_payer(ledger):
    """Every not-balanced worked encounter with something left to chase is on the
    worklist, chased with the payer whose denial explains it (an earlier payer when a
    later one paid); a write-off or push of the whole payer balance ends the work."""
    table = lk.classify(ledger).to_pylist()
    open_denied = {}
    for p in lk.balances(ledger, "procedure").to_pylist():
        line_open = max(min(p["denied"], p["payer_balance"]), 0)
        open_denied[p["encounter_id"]] = open_denied.get(p["encounter_id"], 0) + line_open
    todo = {
        r["encounter_id"]: r
        for r in table
        if r["class"] in WORK
        and not r["balanced"]
        and (open_denied[r["encounter_id"]] > 0 or r["payer_balance"] > 0)
    }
    wl = lk.worklist(ledger).to_pylist()
    assert {r["encounter_id"] for r in wl} == set(todo)
    payers = {e["encounter_id"]: e for e in ledger.encounters.to_pylist()}
    for r in wl:
        c = todo[r["encounter_id"]]
        denying = payers[r["encounter_id"]][f"payer{c['explain_payer_seq']}_id"]
        assert (r["payer_id"], r["payer_seq"], r["carc"], r["line"]) == (
            denying,
            c["explain_payer_seq"],
            c["explain_carc"],
            c["explain_line"],
        )
