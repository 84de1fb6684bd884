"""Hypothesis strategies for rule tests: richer random ledgers and random rule sets."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pyarrow as pa
from hypothesis import strategies as st
from ledgers import CARCS, random_ledgers

import ledgerkit as lk
from ledgerkit.core.schema import PAYER_CLASSES
from ledgerkit.rules.engine import Action, Condition, Rule, RuleSet

PAYERS = pa.table(
    {
        "payer_id": ["P1", "P2", "P3", "P4"],
        "name": ["Medicare", "Commercial", "Medicaid", "Other"],
        "payer_class": ["medicare", "commercial", "medicaid", "other"],
        "timely_filing_days": pa.array([365, 180, 180, 90], pa.int32()),
        "appeal_days": pa.array([120, 180, 60, 90], pa.int32()),
    }
)
SITES = ["S1", "S2", None]
POS = ["11", "22", None]
CPTS = ["99213", "36415", "J1030"]
MODIFIERS = [None, "25", ""]
D0 = dt.date(2025, 1, 1)


@st.composite
def rule_ledgers(draw, max_encounters=6):
    """``random_ledgers`` with sites, places of service, service dates, CPTs,
    modifiers, units and payer classes drawn at random."""
    base = draw(random_ledgers(max_encounters=max_encounters))
    n_enc = base.encounters.num_rows
    n_proc = base.procedures.num_rows
    enc = base.encounters
    enc = enc.set_column(
        enc.schema.get_field_index("site_id"),
        "site_id",
        pa.array([draw(st.sampled_from(SITES)) for _ in range(n_enc)], pa.string()),
    )
    enc = enc.set_column(
        enc.schema.get_field_index("place_of_service"),
        "place_of_service",
        pa.array([draw(st.sampled_from(POS)) for _ in range(n_enc)], pa.string()),
    )
    proc = base.procedures
    cols = {
        "cpt": pa.array([draw(st.sampled_from(CPTS)) for _ in range(n_proc)], pa.string()),
        "modifiers": pa.array(
            [draw(st.sampled_from(MODIFIERS)) for _ in range(n_proc)], pa.string()
        ),
        "units": pa.array([draw(st.integers(1, 2)) for _ in range(n_proc)], pa.int32()),
        "service_date": pa.array(
            [D0 + dt.timedelta(days=draw(st.integers(0, 90))) for _ in range(n_proc)],
            pa.date32(),
        ),
    }
    for name, values in cols.items():
        proc = proc.set_column(proc.schema.get_field_index(name), name, values)
    # A few copies of the same configuration make TAA percentiles non-trivial.
    return lk.Ledger.from_arrow(enc, proc, base.entries, PAYERS)


def _use(draw) -> bool:
    """Each condition field is set in about one rule in five, so rules often match."""
    return draw(st.integers(0, 4)) == 0


def _maybe(draw, strategy):
    return draw(st.one_of(st.none(), strategy))


@st.composite
def conditions(draw, payer_ids=("P1", "P2", "P3", "P4"), cpts=tuple(CPTS), carcs=None):
    carcs = carcs or sorted({c for _, c in CARCS} | {"96"})
    sets = st.lists
    kw = {}
    if _use(draw):
        kw["payer_ids"] = draw(sets(st.sampled_from(payer_ids), max_size=2))
    if _use(draw):
        kw["payer_classes"] = draw(sets(st.sampled_from(PAYER_CLASSES), max_size=2))
    if _use(draw):
        kw["group_codes"] = draw(sets(st.sampled_from(["CO", "PR", "OA", "PI"]), max_size=2))
    if _use(draw):
        kw["carcs"] = draw(sets(st.sampled_from(carcs), max_size=3))
    if _use(draw):
        kw["cpts"] = draw(sets(st.sampled_from(cpts), max_size=2))
    if _use(draw):
        kw["classes"] = draw(sets(st.sampled_from(lk.CLASSES), max_size=3))
    if _use(draw):
        kw["stages"] = draw(sets(st.sampled_from(lk.STAGES), max_size=3))
    if _use(draw):
        lo = _maybe(draw, st.integers(-10_000, 60_000))
        hi = _maybe(draw, st.integers(-10_000, 60_000))
        if lo is not None and hi is not None and lo > hi:
            lo, hi = hi, lo
        kw.update(balance_min=lo, balance_max=hi)
    if _use(draw):
        kw["age_from"] = draw(st.sampled_from(["service", "last_remit"]))
        lo = _maybe(draw, st.integers(0, 200))
        hi = _maybe(draw, st.integers(0, 400))
        if lo is not None and hi is not None and lo > hi:
            lo, hi = hi, lo
        kw.update(age_min_days=lo, age_max_days=hi)
    if _use(draw):
        kw["allowed_vs_taa"] = draw(st.sampled_from([">=", "<"]))
        kw["taa_percentile"] = float(draw(st.sampled_from([0, 25, 50, 90, 100])))
        kw["taa_fraction"] = draw(st.sampled_from([0.5, 0.9, 1.0, 1.25]))
        kw["taa_min_claims"] = draw(st.integers(1, 3))
        kw["taa_includes_denied_lines"] = draw(st.booleans())
    return Condition(**kw)


@st.composite
def actions(draw):
    action = draw(st.sampled_from(["write_off", "write_off", "transfer_to_pr", "flag", "leave"]))
    target = draw(st.sampled_from(["payer_balance", "pr", "balance"]))
    if action != "write_off":
        target = "payer_balance"
    payer_part = action == "transfer_to_pr" or (
        action == "write_off" and target == "payer_balance"
    )
    return Action(
        action,
        target=target,
        group=draw(st.sampled_from(["CO", "OA", "PR"])),
        reason=draw(st.sampled_from(["A2", "45", "204"])),
        amount=draw(st.sampled_from(["all", "matched"])) if payer_part else "all",
    )


def _consistent(draw, when: Condition, then: Action) -> Condition:
    """Give the condition what the action needs: a push to PR by CARC names its
    group codes, and a "matched" amount needs a group/CARC condition."""
    needs_pair = then.amount == "matched" and not (when.group_codes or when.carcs)
    needs_group = then.action == "transfer_to_pr" and when.carcs and not when.group_codes
    if needs_pair or needs_group:
        groups = draw(st.lists(st.sampled_from(["CO", "PR", "OA", "PI"]), min_size=1, max_size=2))
        when = dataclasses.replace(when, group_codes=tuple(groups))
    return when


@st.composite
def rule_sets(draw, max_rules=5, sites=("S1", "S2", "S9"), **condition_pools):
    n = draw(st.integers(0, max_rules))
    rules = []
    for i in range(n):
        site_rule = draw(st.integers(0, 4)) == 0
        then = draw(actions())
        rules.append(
            Rule(
                f"r{i}",
                when=_consistent(draw, draw(conditions(**condition_pools)), then),
                then=then,
                scope="site" if site_rule else "global",
                site=draw(st.sampled_from(sites)) if site_rule else None,
                enabled=draw(st.integers(0, 5)) > 0,
                order=draw(st.integers(0, 3)),
            )
        )
    return RuleSet(tuple(rules))


@st.composite
def taa_ledgers(draw, max_encounters=10):
    """``rule_ledgers`` where, half the time, every line is one CPT with one unit, so
    claim configurations repeat and TAA percentiles have several claims to choose from."""
    ledger = draw(rule_ledgers(max_encounters=max_encounters))
    if draw(st.booleans()):
        return ledger
    proc = ledger.procedures
    n = proc.num_rows
    cols = {
        "cpt": pa.array(["99213"] * n, pa.string()),
        "units": pa.array([1] * n, pa.int32()),
        "modifiers": pa.array([draw(st.sampled_from([None, "25"])) for _ in range(n)]),
    }
    for name, values in cols.items():
        i = proc.schema.get_field_index(name)
        proc = proc.set_column(i, proc.schema.field(i), values.cast(proc.schema.field(i).type))
    return lk.Ledger.from_arrow(ledger.encounters, proc, ledger.entries, ledger.payers)
