"""Realistic, deterministic synthetic ledgers, generated with vectorised numpy.

``generate(n_encounters, seed=...)`` builds encounters with 1-6 service lines,
payers with their own classes and behaviour (allowed amounts around a fee
schedule, denial rates by CARC and CPT, payment lags), secondary payers that
pay the primary's PR, patient payments, write-offs, transfers to PR and
reversals with their corrections. The same seed always gives the same ledger.

It makes on purpose the shapes the validation and the classes must handle
(DOMAIN.md, Settled questions): a primary's reduction or denial (PI-59, ...)
followed by the secondary's payment, OA-23 and PR-2; lines brought to allowed
$0 by CO-45 alone (bundled lab codes); transfers to PR and write-offs within
their caps (the payer balance); and a few patient overpayments left as credit
balances, posted as ``allow_credit=True`` would accept them (their note says
so). Every generated ledger passes ``ledgerkit.core.limits.check_history`` with
``allow_credit=True``.

The bundled sample is rebuilt with ``ledgerkit sample data/samples`` (see
:func:`write_sample`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit.core.arrow import EPOCH, US_PER_DAY, int_array
from ledgerkit.core.keys import build_keys
from ledgerkit.core.ledger import Ledger
from ledgerkit.core.schema import arrow_schema
from ledgerkit.errors import LedgerError

__all__ = [
    "generate",
    "PAYERS",
    "CPTS",
    "write_sample",
    "load_sample",
    "remittances",
    "sample_folder",
    "SAMPLE_ENCOUNTERS",
    "SAMPLE_SEED",
]

SAMPLE_ENCOUNTERS = 20_000
SAMPLE_SEED = 2026
MEAN_PROCEDURES_PER_ENCOUNTER = 2.3

# payer id, name, class, timely filing days, appeal days, allowed/fee ratio,
# encounter denial rate, line denial multiplier, mean days to remit, share as primary
PAYERS = (
    ("MCR01", "Medicare Part B", "medicare", 365, 120, 0.52, 0.05, 0.8, 14, 0.22),
    ("MCD01", "State Medicaid", "medicaid", 180, 60, 0.42, 0.09, 1.3, 30, 0.12),
    ("MA001", "Medicare Advantage Plan", "medicare_advantage", 180, 60, 0.55, 0.10, 1.2, 25, 0.12),
    ("BCBS1", "Blue Plan", "commercial", 180, 180, 0.68, 0.06, 0.9, 18, 0.20),
    ("AET01", "Aetna-like Commercial", "commercial", 120, 180, 0.66, 0.08, 1.0, 21, 0.14),
    ("UHC01", "United-like Commercial", "commercial", 90, 180, 0.64, 0.09, 1.1, 24, 0.14),
    ("WC001", "Workers Comp Carrier", "workers_comp", 365, 90, 0.80, 0.14, 1.5, 40, 0.03),
    ("SUPP1", "Medigap Supplement", "commercial", 365, 180, 1.00, 0.02, 0.3, 12, 0.0),
)
_PAYER_IDS = [p[0] for p in PAYERS]
SECONDARY_IDS = ("SUPP1", "MCD01", "BCBS1")

# cpt, fee (dollars), line denial probability, typical denial CARC, group, units max
CPTS = (
    ("99213", 150.0, 0.03, "16", "CO", 1),
    ("99214", 220.0, 0.04, "50", "CO", 1),
    ("99203", 190.0, 0.04, "16", "CO", 1),
    ("99204", 280.0, 0.05, "50", "CO", 1),
    ("99395", 240.0, 0.05, "96", "CO", 1),
    ("G0439", 210.0, 0.06, "119", "CO", 1),
    ("36415", 25.0, 0.12, "97", "CO", 1),
    ("80053", 60.0, 0.05, "11", "CO", 1),
    ("85025", 45.0, 0.04, "11", "CO", 1),
    ("81001", 20.0, 0.06, "97", "CO", 1),
    ("93000", 80.0, 0.05, "50", "CO", 1),
    ("71046", 120.0, 0.05, "50", "CO", 1),
    ("97110", 90.0, 0.08, "50", "CO", 4),
    ("97140", 85.0, 0.08, "B5", "CO", 3),
    ("20610", 250.0, 0.07, "197", "CO", 1),
    ("J1030", 40.0, 0.06, "B7", "CO", 2),
    ("90471", 35.0, 0.03, "97", "CO", 1),
    ("90686", 45.0, 0.03, "204", "PR", 1),
    ("11721", 95.0, 0.06, "4", "CO", 1),
    ("29125", 160.0, 0.05, "59", "PI", 1),
)
_CPT_CODES = [c[0] for c in CPTS]
# Encounter-level denials (the whole claim): CARC, group, relative frequency.
CLAIM_DENIALS = (
    ("27", "CO", 0.25),  # coverage terminated (eligibility)
    ("31", "CO", 0.10),  # not identified as our insured
    ("22", "CO", 0.15),  # coordination of benefits
    ("197", "CO", 0.15),  # prior authorization missing
    ("29", "CO", 0.10),  # timely filing
    ("18", "OA", 0.10),  # duplicate
    ("16", "CO", 0.15),  # missing information
)
# Partial reductions that leave a procedure unresolved: CARC, group.
REDUCTIONS = (("59", "PI"), ("45", "PI"), ("B15", "CO"), ("253", "CO"))

SITES = ("MAIN", "NORTH", "EAST")
PROVIDERS = tuple(f"PRV{i:02d}" for i in range(1, 13))
POS = ("11", "22", "02", "21")
POS_P = (0.78, 0.15, 0.05, 0.02)


class _Entries:
    """Column blocks of entries, at most one entry per procedure in each block.

    Blocks are added in posting order; :func:`_assemble` lays them out grouped
    by procedure (block order within a procedure) with a counting pass, no sort.
    """

    def __init__(self):
        self.blocks = []

    def add(
        self,
        proc,
        seq,
        payer,
        kind,
        amount,
        day,
        *,
        group=None,
        carc=None,
        source=1,
        negates=None,
        actor=None,
        note=None,
        order=0,
    ):
        n = len(proc)
        self.blocks.append(
            dict(
                proc=np.asarray(proc, np.int64),
                seq=np.broadcast_to(np.asarray(seq, np.int8), n),
                payer=np.broadcast_to(np.asarray(payer, np.int32), n),
                kind=np.broadcast_to(np.int8(kind), n),
                group=np.broadcast_to(np.asarray(-1 if group is None else group, np.int8), n),
                carc=np.broadcast_to(np.asarray(-1 if carc is None else carc, np.int16), n),
                amount=np.asarray(amount, np.int64),
                day=np.asarray(day, np.int32),
                source=np.broadcast_to(np.int8(source), n),
                negates=np.broadcast_to(
                    np.asarray(-1 if negates is None else negates, np.int64), n
                ),
                actor=np.broadcast_to(np.int8(-1 if actor is None else actor), n),
                note=np.broadcast_to(np.int8(-1 if note is None else note), n),
                order=np.broadcast_to(np.int8(order), n),
            )
        )
        return len(self.blocks) - 1


KIND = {
    "charge": 0,
    "payment": 1,
    "adjustment": 2,
    "patient_payment": 3,
    "write_off": 4,
    "transfer_to_pr": 5,
}
GROUPS = ("CO", "PR", "OA", "PI", "CR")
SOURCES = ("charge", "remit", "rule", "manual")
ACTORS = ("billing team", "payment poster")
NOTES = ("overpaid: credit balance accepted with allow_credit=True (refund due)",)


def generate(
    n_encounters: int,
    seed: int = 0,
    *,
    start: dt.date = dt.date(2025, 1, 1),
    days: int = 365,
    credits: bool = True,
    contracts=None,
    underpay_rate: float = 0.0,
) -> Ledger:
    """A synthetic ledger of ``n_encounters`` encounters (about 2.3 procedures each).

    Parameters
    ----------
    n_encounters : int
        Number of encounters (claims).
    seed : int
        Seed of the generator: the same seed gives the same ledger.
    start, days : date, int
        Services fall in ``[start, start + days)``; remits, patient payments
        and follow-up work arrive up to ``today = start + days + 30``.
    credits : bool
        Make a few patient overpayments (credit balances, as ``allow_credit=True``
        accepts them). ``False`` for a ledger whose remits re-post exactly onto
        its other entries: posting flags a remit that would leave a credit.
    contracts : True, (table, schedules) or Contracts, optional
        Price the primary payers' allowed amounts by a contract (``True``: the
        synthetic :func:`ledgerkit.synth.contracts`; a loaded
        ``ledgerkit.contracts.Contracts`` too) instead of a payer ratio
        with noise; lines without a contract row keep the ratio. Every other
        draw is the same as without it. :func:`ledgerkit.synth.contract_ledger`
        also returns the lines paid below contract.
    underpay_rate : float
        With ``contracts``: the share of lines planted as underpaid (see
        ``contract_ledger``).

    Examples
    --------
    >>> ledger = generate(100, seed=1)
    >>> ledger.encounters.num_rows
    100
    >>> generate(100, seed=1).entries.equals(ledger.entries)
    True
    """
    if contracts is None:
        if underpay_rate:
            raise ValueError("underpay_rate needs contracts=")
        return _generate(n_encounters, seed, start=start, days=days, credits=credits)[0]
    from ledgerkit.synth.pricing import contracts as synthetic_contracts

    tables = synthetic_contracts(start=start, days=days) if contracts is True else contracts
    return _generate(
        n_encounters, seed, start=start, days=days, credits=credits,
        contract_tables=tables, underpay_rate=underpay_rate,
    )[0]  # fmt: skip


def _generate(
    n_encounters, seed, *, start, days, credits, contract_tables=None, underpay_rate=0.0
):
    """(ledger, planted table or None); see :func:`generate` and ``synth.contracts``."""
    if n_encounters < 0:
        raise ValueError("n_encounters must be >= 0")
    pricing = plain_encounters = None
    if contract_tables is not None:
        pricing, plain_encounters = _contract_pricing(
            n_encounters, seed, start, days, credits, contract_tables, underpay_rate
        )
    rng = np.random.default_rng(seed)
    start_day = (start - EPOCH).days
    today = start_day + days + 30
    # Each step draws from ``rng`` in turn: their order is part of what a seed means.
    enc = _draw_encounters(rng, int(n_encounters), start_day, days)
    proc = _draw_procedures(rng, enc)
    primary = _adjudicate(rng, enc, proc, start_day, today, pricing)
    # The shapes below draw from their own stream, so the draws above keep
    # meaning what they meant before the shapes existed.
    shapes = np.random.default_rng([seed, 13])
    _zero_allowed(shapes, proc, primary)
    E = _Entries()
    _post_charges(E, rng, enc, proc)
    _post_primary_remits(E, proc, primary)
    secondary = _post_secondary_remits(E, rng, enc, proc, primary, today)
    _post_patient_payments(E, rng, enc, proc, primary, secondary, today, shapes, credits)
    _post_follow_up(E, rng, proc, primary, today, shapes)
    corrected = _reversals(E, rng, today, proc.n)
    entries = _assemble(E, proc.n)
    enc_ids = _ids("E", len(enc.primary))
    if plain_encounters is None:
        encounters = _encounters_table(rng, enc_ids, enc)
    else:
        # The contract priced the plain ledger's places of service. (The draws of the
        # reversals depend on which lines were paid, so this rng has moved on.)
        encounters = plain_encounters
    procedures = _procedures_table(enc_ids, proc)
    entries_table = _entries_table(entries, enc_ids, proc.enc_of, proc.line, _PAYER_IDS)
    keys = build_keys(encounters, procedures, entries_table)
    ledger = Ledger(encounters, procedures, entries_table, _payers_table(), _keys=keys)
    if pricing is None:
        return ledger, None
    from ledgerkit.synth.pricing import planted_table

    payer = pa.array(_PAYER_IDS).take(pa.array(proc.primary))
    return ledger, planted_table(procedures, payer, pricing[0], primary, corrected)


def _contract_pricing(n_encounters, seed, start, days, credits, tables, underpay_rate):
    """((expected allowed per procedure, -1 where no contract row applies; planted;
    cut), the encounters table).

    The contract is priced by ``ledgerkit.expected_allowed`` on the same ledger
    generated without contracts; the priced ledger keeps its procedures and
    encounters.
    """
    from ledgerkit.contracts import Contracts, expected_allowed, load
    from ledgerkit.synth.pricing import planted_draws

    plain = _generate(n_encounters, seed, start=start, days=days, credits=credits)[0]
    if not isinstance(tables, Contracts):
        table, schedules = tables
        tables = load(table, schedules=schedules)
    out = expected_allowed(plain, tables)
    expected = out["expected_allowed_cents"]
    charge = int_array(plain.procedures["charge_cents"], np.int64)
    expected = np.minimum(int_array(expected.fill_null(-1), np.int64), charge)
    picked, cut = planted_draws(seed, expected, underpay_rate)
    return (expected, picked, cut), plain.encounters


@dataclass
class _EncounterDraws:
    """Per encounter: coverage (payer indexes into ``PAYERS``) and date of service."""

    self_pay: np.ndarray
    primary: np.ndarray
    has_secondary: np.ndarray
    secondary: np.ndarray
    has_tertiary: np.ndarray
    tertiary: np.ndarray
    service_day: np.ndarray  # days since 1970-01-01


@dataclass
class _ProcedureDraws:
    """Per procedure: its encounter, line, code, units and charge (cents)."""

    n_lines: np.ndarray  # per encounter
    enc_of: np.ndarray
    line: np.ndarray
    cpt: np.ndarray  # index into CPTS
    units: np.ndarray
    charge: np.ndarray
    modifier: np.ndarray  # 0 none, 1 "25", 2 "59", 3 "LT", 4 "25:59"
    service_day: np.ndarray
    primary: np.ndarray  # the encounter's primary payer

    @property
    def n(self) -> int:
        return len(self.enc_of)


@dataclass
class _PrimaryDecisions:
    """Per procedure: what the primary payer decided (cents; 0 where it does not apply)."""

    remit_day: np.ndarray
    adjudicated: np.ndarray  # remitted by today (self-pay never is)
    claim_denied: np.ndarray  # the whole encounter denied
    claim_carc: np.ndarray  # index into CLAIM_DENIALS
    line_denied: np.ndarray
    reduction_kind: np.ndarray  # index into REDUCTIONS
    reduction: np.ndarray
    contractual: np.ndarray  # CO-45
    deductible: np.ndarray  # PR-1
    coinsurance: np.ndarray  # PR-2
    copay: np.ndarray  # PR-3
    paid: np.ndarray
    ok: np.ndarray  # paid (not denied)
    cut: np.ndarray | None = None  # planted underpayment (contracts only)

    @property
    def patient_responsibility(self) -> np.ndarray:
        return self.deductible + self.coinsurance + self.copay


@dataclass
class _SecondaryRemits:
    """Per procedure: whether the secondary paid, the PR it left, and when."""

    ok: np.ndarray
    patient_responsibility: np.ndarray
    day: np.ndarray


def _payer_values(field: int) -> np.ndarray:
    return np.array([p[field] for p in PAYERS])


def _draw_encounters(rng, n_enc: int, start_day: int, days: int) -> _EncounterDraws:
    """Coverage of each encounter: self-pay, primary, secondary, tertiary; service date."""
    primary_share = _payer_values(9)
    self_pay = rng.random(n_enc) < 0.03
    primary = rng.choice(len(PAYERS), size=n_enc, p=primary_share / primary_share.sum())
    is_medicare = np.isin(primary, [_PAYER_IDS.index("MCR01")])
    has_secondary = ~self_pay & (rng.random(n_enc) < np.where(is_medicare, 0.5, 0.15))
    secondary = np.array([_PAYER_IDS.index(s) for s in SECONDARY_IDS])[
        rng.integers(0, len(SECONDARY_IDS), n_enc)
    ]
    secondary = np.where(secondary == primary, _PAYER_IDS.index("SUPP1"), secondary)
    has_secondary &= secondary != primary
    has_tertiary = has_secondary & (rng.random(n_enc) < 0.03)
    tertiary = np.full(n_enc, _PAYER_IDS.index("MCD01"))
    has_tertiary &= (tertiary != primary) & (tertiary != secondary)
    service_day = start_day + rng.integers(0, days, n_enc)
    return _EncounterDraws(
        self_pay, primary, has_secondary, secondary, has_tertiary, tertiary, service_day
    )


def _draw_procedures(rng, enc: _EncounterDraws) -> _ProcedureDraws:
    """1-6 service lines per encounter, mostly an E/M code first; units and charges."""
    n_enc = len(enc.primary)
    n_lines = np.minimum(1 + rng.poisson(MEAN_PROCEDURES_PER_ENCOUNTER - 1, n_enc), 6)
    n_proc = int(n_lines.sum())
    enc_of = np.repeat(np.arange(n_enc), n_lines)
    first = np.zeros(n_enc + 1, np.int64)
    np.cumsum(n_lines, out=first[1:])
    line = (np.arange(n_proc) - first[enc_of] + 1).astype(np.int32)
    cpt = rng.integers(0, len(CPTS), n_proc)
    # The first line of most visits is an E/M code.
    em = rng.integers(0, 6, n_proc)
    cpt = np.where((line == 1) & (rng.random(n_proc) < 0.8), em, cpt)
    fee = np.array([c[1] for c in CPTS])
    max_units = np.array([c[5] for c in CPTS])
    units = 1 + (rng.random(n_proc) * max_units[cpt]).astype(np.int32)
    charge = np.round(fee[cpt] * 100).astype(np.int64) * units
    modifier = np.zeros(n_proc, np.int8)
    modifier[(cpt < 6) & (n_lines[enc_of] > 1)] = 1
    modifier[(cpt == 12) & (rng.random(n_proc) < 0.3)] = 2
    modifier[(cpt == 18) & (rng.random(n_proc) < 0.5)] = 3
    return _ProcedureDraws(
        n_lines, enc_of, line, cpt, units, charge, modifier,
        service_day=enc.service_day[enc_of], primary=enc.primary[enc_of],
    )  # fmt: skip


def _adjudicate(rng, enc, proc: _ProcedureDraws, start_day, today, pricing) -> _PrimaryDecisions:
    """The primary payer's decisions: claim and line denials, reductions, allowed
    amounts and the patient's share (deductible early in the year, coinsurance,
    copays on E/M). ``pricing`` (expected, planted, cut) replaces the allowed
    amounts of the lines a contract prices, less the planted cuts on lines
    paid without a reduction."""
    enc_of, cpt, charge, n_proc = proc.enc_of, proc.cpt, proc.charge, proc.n
    n_enc = len(enc.primary)
    remit_lag = np.array([p[8] for p in PAYERS], float)
    lag = np.maximum(3, rng.gamma(4.0, remit_lag[enc.primary] / 4.0)).astype(np.int32)
    remit_day = enc.service_day + lag
    adjudicated = ~enc.self_pay & (remit_day <= today)
    p_enc_denial = _payer_values(6)[enc.primary]
    claim_denied = adjudicated & (rng.random(n_enc) < p_enc_denial)
    denial_p = np.array([d[2] for d in CLAIM_DENIALS])
    claim_carc = rng.choice(len(CLAIM_DENIALS), size=n_enc, p=denial_p / denial_p.sum())

    p_adj = adjudicated[enc_of]
    line_p = np.array([c[2] for c in CPTS])[cpt] * _payer_values(7)[proc.primary]
    line_denied = p_adj & ~claim_denied[enc_of] & (rng.random(n_proc) < line_p)
    reduced = p_adj & ~claim_denied[enc_of] & ~line_denied & (rng.random(n_proc) < 0.04)
    reduction_kind = rng.integers(0, len(REDUCTIONS), n_proc)

    noise = rng.normal(1.0, 0.03, n_proc)
    allowed = np.minimum(
        charge, np.round(charge * _payer_values(5)[proc.primary] * noise).astype(np.int64)
    )
    allowed = np.maximum(allowed, 0)
    cut = None
    if pricing is not None:
        expected, picked, cut = pricing
        cut = np.where(picked & ~reduced & (expected >= 0), cut, 0)
        allowed = np.where(expected >= 0, expected - cut, allowed)
    reduction = np.where(reduced, (allowed * rng.uniform(0.1, 0.5, n_proc)).astype(np.int64), 0)
    allowed_after = allowed - reduction
    payer_class = [p[2] for p in PAYERS]
    pcls = np.array([payer_class.index(c) for c in payer_class])[proc.primary]
    commercial = np.isin(pcls, [3, 4, 5])
    month = ((proc.service_day - start_day) // 30).astype(np.int32)
    ded = np.where((month < 3) & (rng.random(n_proc) < 0.25), allowed_after, 0)
    ded = np.where(ded > 0, np.minimum(ded, rng.integers(2000, 50000, n_proc)), 0)
    copay = np.where(
        commercial & (cpt < 6) & (proc.line == 1),
        np.minimum(allowed_after - ded, rng.choice([2000, 3000, 4000], n_proc)),
        0,
    )
    coins_rate = np.where(np.isin(pcls, [0, 2]), 0.2, np.where(commercial, 0.1, 0.0))
    coins = np.round((allowed_after - ded - copay) * coins_rate).astype(np.int64)
    return _PrimaryDecisions(
        remit_day=remit_day[enc_of],
        adjudicated=p_adj,
        claim_denied=claim_denied[enc_of],
        claim_carc=claim_carc[enc_of],
        line_denied=line_denied,
        reduction_kind=reduction_kind,
        reduction=reduction,
        contractual=charge - allowed,
        deductible=ded,
        coinsurance=coins,
        copay=copay,
        paid=allowed_after - ded - copay - coins,
        ok=p_adj & ~claim_denied[enc_of] & ~line_denied,
        cut=cut,
    )


def _post_charges(E, rng, enc, proc: _ProcedureDraws) -> None:
    """One charge per procedure, 1-3 days after the service, on the primary (or
    the patient when self-pay)."""
    self_pay = enc.self_pay[proc.enc_of]
    E.add(
        np.arange(proc.n),
        np.where(self_pay, 0, 1).astype(np.int8),
        np.where(self_pay, -1, proc.primary),
        KIND["charge"],
        proc.charge,
        proc.service_day + rng.integers(1, 4, proc.n),
        source=0,
        order=0,
    )


def _line_denial_codes(cpt):
    """(CARC, group) a denied line of each procedure gets, by CPT."""
    return np.array([c[3] for c in CPTS])[cpt], np.array([c[4] for c in CPTS])[cpt]


def _post_primary_remits(E, proc: _ProcedureDraws, d: _PrimaryDecisions) -> None:
    """Paid lines (payment, CO-45, PR-1/2/3, reductions), denied lines and whole-claim
    denials (paid 0, the charge denied)."""
    payer, rday, charge = proc.primary, d.remit_day, proc.charge
    sel = np.flatnonzero(d.ok)
    E.add(sel, 1, payer[sel], KIND["payment"], d.paid[sel], rday[sel], order=1)
    _adj(E, sel, payer, d.contractual, "CO", "45", rday)
    _adj(E, sel, payer, d.deductible, "PR", "1", rday)
    _adj(E, sel, payer, d.coinsurance, "PR", "2", rday)
    _adj(E, sel, payer, d.copay, "PR", "3", rday)
    for k, (carc, group) in enumerate(REDUCTIONS):
        _adj(E, sel[d.reduction_kind[sel] == k], payer, d.reduction, group, carc, rday)
    line_carc, line_group = _line_denial_codes(proc.cpt)
    sel = np.flatnonzero(d.line_denied)
    E.add(sel, 1, payer[sel], KIND["payment"], np.zeros(len(sel)), rday[sel], order=1)
    for carc in np.unique(line_carc[sel]):
        for group in np.unique(line_group[sel]):
            part = sel[(line_carc[sel] == carc) & (line_group[sel] == group)]
            _adj(E, part, payer, charge, group, carc, rday)
    sel = np.flatnonzero(d.claim_denied)
    E.add(sel, 1, payer[sel], KIND["payment"], np.zeros(len(sel)), rday[sel], order=1)
    for k, (carc, group, _) in enumerate(CLAIM_DENIALS):
        _adj(E, sel[d.claim_carc[sel] == k], payer, charge, group, carc, rday)


def _post_secondary_remits(E, rng, enc, proc, d: _PrimaryDecisions, today) -> _SecondaryRemits:
    """The secondary pays most of the primary's PR; OA-23 restates the prior payer."""
    sec_p = enc.secondary[proc.enc_of]
    pr1 = d.patient_responsibility
    sec_lag = d.remit_day + 7 + rng.integers(0, 20, proc.n)
    sec_ok = d.ok & enc.has_secondary[proc.enc_of] & (pr1 > 0) & (sec_lag <= today)
    sel = np.flatnonzero(sec_ok)
    sec_share = np.where(_PAYER_IDS.index("SUPP1") == sec_p, 1.0, rng.uniform(0.6, 1.0, proc.n))
    sec_paid = np.round(pr1 * sec_share).astype(np.int64)
    sec_pr = pr1 - sec_paid
    E.add(sel, 2, sec_p[sel], KIND["payment"], sec_paid[sel], sec_lag[sel], order=2)
    _adj(E, sel, sec_p, proc.charge - pr1, "OA", "23", sec_lag, seq=2, order=2)
    _adj(E, sel, sec_p, sec_pr, "PR", "2", sec_lag, seq=2, order=2)
    return _SecondaryRemits(sec_ok, sec_pr, sec_lag)


def _post_patient_payments(
    E, rng, enc, proc, d, secondary: _SecondaryRemits, today, shapes, credits
) -> None:
    """Patients pay (part of) their open PR; self-pay patients part of their bills.

    One in 500 patients paying in full pays $1-$50 too much: a credit balance,
    noted as accepted with ``allow_credit=True`` (a refund is owed).
    """
    has_secondary = enc.has_secondary[proc.enc_of]
    open_pr = np.where(
        secondary.ok,
        secondary.patient_responsibility,
        np.where(d.ok & ~has_secondary, d.patient_responsibility, 0),
    )
    pat_day = np.where(secondary.ok, secondary.day, d.remit_day) + rng.integers(10, 60, proc.n)
    pays = (open_pr > 0) & (rng.random(proc.n) < 0.6) & (pat_day <= today)
    part = np.where(rng.random(proc.n) < 0.8, open_pr, open_pr // 2)
    over = pays & (part == open_pr) & (shapes.random(proc.n) < 0.002) & credits
    part = part + np.where(over, shapes.integers(1, 51, proc.n) * 100, 0)
    sel = np.flatnonzero(pays & ~over)
    E.add(sel, 0, -1, KIND["patient_payment"], part[sel], pat_day[sel], order=3)
    sel = np.flatnonzero(over)
    E.add(sel, 0, -1, KIND["patient_payment"], part[sel], pat_day[sel], order=3, note=0)
    sp = enc.self_pay[proc.enc_of] & (rng.random(proc.n) < 0.5)
    sel = np.flatnonzero(sp)
    E.add(
        sel,
        0,
        -1,
        KIND["patient_payment"],
        (proc.charge[sel] * 0.7).astype(np.int64),
        proc.service_day[sel] + rng.integers(1, 40, len(sel)),
        order=3,
    )


def _zero_allowed(shapes, proc: _ProcedureDraws, d: _PrimaryDecisions) -> None:
    """A fifth of the paid venipuncture and urinalysis lines are bundled: CO-45 brings
    their allowed to $0 (nothing paid, no PR, no denial: a zero-allowed line)."""
    bundled = np.isin(proc.cpt, [_CPT_CODES.index("36415"), _CPT_CODES.index("81001")])
    zero = d.ok & bundled & (d.reduction == 0) & (shapes.random(proc.n) < 0.2)
    for figure in (d.deductible, d.coinsurance, d.copay, d.paid):
        figure[zero] = 0
    d.contractual[zero] = proc.charge[zero]


def _post_follow_up(E, rng, proc, d: _PrimaryDecisions, today, shapes) -> None:
    """Work on old denials, each within its cap (the payer balance, DOMAIN.md Settled
    question 3): eligibility denials of the whole claim (CO-27 coverage ended, CO-31
    not the payer's insured) transferred to the patient (PR, same CARC); a quarter of
    the other payer-owed denials written off (CO-A2). A PR-group line denial is
    already the patient's (open PR = charge): nothing to move."""
    work_day = d.remit_day + rng.integers(30, 90, proc.n)
    denied_line = d.line_denied | (d.claim_denied & d.adjudicated)
    old = denied_line & (work_day <= today)
    wo_draw = rng.random(proc.n) < 0.25
    _, line_group = _line_denial_codes(proc.cpt)
    payer_owes = d.claim_denied | (line_group != "PR")
    claim_carc = np.array([c[0] for c in CLAIM_DENIALS])[d.claim_carc]
    eligibility = d.claim_denied & np.isin(claim_carc, ["27", "31"])
    tp = old & eligibility & (shapes.random(proc.n) < 0.6)
    wo = old & payer_owes & ~tp & wo_draw
    for mask, kind, group, carc in (
        (wo, "write_off", "CO", np.full(proc.n, "A2")),
        (tp, "transfer_to_pr", "PR", claim_carc),
    ):
        for code in np.unique(carc[mask]):
            sel = np.flatnonzero(mask & (carc == code))
            E.add(
                sel,
                1,
                proc.primary[sel],
                KIND[kind],
                proc.charge[sel],  # the payer balance of a denied line
                work_day[sel],
                group=GROUPS.index(group),
                carc=_carc_code(str(code)),
                source=3,
                actor=0,
                order=4,
            )


def _payer_column(mask, idx) -> pa.DictionaryArray:
    arr = pa.array(np.where(mask, idx, -1).astype(np.int32), mask=~mask)
    return pa.DictionaryArray.from_arrays(arr, pa.array(_PAYER_IDS))


def _encounters_table(rng, enc_ids, enc: _EncounterDraws) -> pa.Table:
    """The encounters table; patient, site, provider, location and place of service
    are drawn here (in this order)."""
    n_enc = len(enc.primary)
    return pa.table(
        {
            "encounter_id": enc_ids,
            "patient_key": pc.binary_join_element_wise(
                "P", pc.cast(pa.array(rng.integers(0, max(1, n_enc // 2), n_enc)), pa.string()), ""
            ),
            "site_id": _dict(rng.integers(0, len(SITES), n_enc), SITES),
            "provider_id": _dict(rng.integers(0, len(PROVIDERS), n_enc), PROVIDERS),
            "location_id": _dict(rng.integers(0, len(SITES), n_enc), SITES),
            "place_of_service": _dict(rng.choice(len(POS), n_enc, p=POS_P), POS, pa.int8()),
            "service_date": pa.array(enc.service_day.astype(np.int32), pa.date32()),
            "payer1_id": _payer_column(~enc.self_pay, enc.primary),
            "payer2_id": _payer_column(enc.has_secondary, enc.secondary),
            "payer3_id": _payer_column(enc.has_tertiary, enc.tertiary),
        },
        schema=arrow_schema("encounters"),
    )


def _procedures_table(enc_ids, proc: _ProcedureDraws) -> pa.Table:
    mods = pa.DictionaryArray.from_arrays(
        pa.array(proc.modifier.astype(np.int32), mask=proc.modifier == 0),
        pa.array(["", "25", "59", "LT", "25:59"]),
    )
    return pa.table(
        {
            "encounter_id": enc_ids.take(pa.array(proc.enc_of)),
            "line": pa.array(proc.line),
            "cpt": _dict(proc.cpt, [c[0] for c in CPTS]),
            "modifiers": mods,
            "units": pa.array(proc.units, pa.int32()),
            "charge_cents": pa.array(proc.charge),
            "service_date": pa.array(proc.service_day.astype(np.int32), pa.date32()),
            "line_control_number": pc.binary_join_element_wise(
                enc_ids.take(pa.array(proc.enc_of)), pc.cast(pa.array(proc.line), pa.string()), "-"
            ),
        },
        schema=arrow_schema("procedures"),
    )


def _payers_table() -> pa.Table:
    return pa.table(
        {
            "payer_id": [p[0] for p in PAYERS],
            "name": [p[1] for p in PAYERS],
            "payer_class": pa.array([p[2] for p in PAYERS])
            .dictionary_encode()
            .cast(pa.dictionary(pa.int8(), pa.string())),
            "timely_filing_days": pa.array([p[3] for p in PAYERS], pa.int32()),
            "appeal_days": pa.array([p[4] for p in PAYERS], pa.int32()),
        },
        schema=arrow_schema("payers"),
    )


# Every CARC synth uses, in a fixed order: the carc dictionary is the same in every run.
_CARC_VALUES = list(
    dict.fromkeys(
        ["45", "1", "2", "3", "23", "A2", "204"]
        + [c[3] for c in CPTS]
        + [d[0] for d in CLAIM_DENIALS]
        + [r[0] for r in REDUCTIONS]
    )
)


def _carc_code(carc: str) -> int:
    return _CARC_VALUES.index(carc)


def _adj(E, sel, payer, amount, group, carc, day, *, seq=1, order=1):
    sel = sel[amount[sel] != 0]
    E.add(
        sel,
        seq,
        payer[sel],
        KIND["adjustment"],
        amount[sel],
        day[sel],
        group=GROUPS.index(str(group)),
        carc=_carc_code(str(carc)),
        order=order,
    )


def _assemble(E, n_proc):
    """Concatenate blocks grouped by procedure; resolve negation targets to ids."""
    counts = np.zeros(n_proc, np.int64)
    for b in E.blocks:
        counts[b["proc"]] += 1  # each block holds a procedure at most once
    start = np.zeros(n_proc + 1, np.int64)
    np.cumsum(counts, out=start[1:])
    n = int(start[-1])
    fill = start[:-1].copy()
    names = [k for k in E.blocks[0] if not k.startswith("target_")] if E.blocks else []
    cols = {k: np.empty(n, E.blocks[0][k].dtype) for k in names}
    positions = []
    for b in E.blocks:
        pos = fill[b["proc"]]
        fill[b["proc"]] += 1
        positions.append(pos)
        for k in names:
            cols[k][pos] = b[k]
    # Negations name (block, row) of their target; ids are positions + 1.
    for b, pos in zip(E.blocks, positions, strict=True):
        if "target_block" in b:
            cols["negates"][pos] = positions[b["target_block"]][b["target_rows"]] + 1
    cols["entry_id"] = np.arange(1, n + 1, dtype=np.int64)
    return cols


def _reversals(E, rng, today, n_proc):
    """Reverse ~1% of paid primary remits and post a corrected remit the same day.

    The correction moves 5% of the payment into CO-45, so the procedure stays
    balanced and its allowed amount changes, as real corrections do. Returns
    the cents moved per procedure (0 where none).
    """
    pay = [
        i
        for i, b in enumerate(E.blocks)
        if b["kind"][:1].tolist() == [KIND["payment"]] and b["seq"][:1].tolist() == [1]
    ]
    delta = np.zeros(n_proc, np.int64)
    if not pay:
        return delta
    paid_block = E.blocks[pay[0]]  # the paid lines' payment block comes first
    candidates = paid_block["proc"][paid_block["amount"] > 0]
    chosen = np.zeros(n_proc, bool)
    chosen[candidates[rng.random(len(candidates)) < 0.01]] = True
    if not chosen.any():
        return delta
    sel = chosen[paid_block["proc"]]
    delta[paid_block["proc"][sel]] = paid_block["amount"][sel] // 20
    originals = [
        i
        for i, b in enumerate(E.blocks)
        if len(b["proc"]) and b["seq"][0] == 1 and b["source"][0] == 1
    ]
    for i in originals:
        b = E.blocks[i]
        rows = np.flatnonzero(chosen[b["proc"]])
        if not len(rows):
            continue
        neg = {k: np.array(v[rows]) for k, v in b.items()}
        neg["amount"] = -neg["amount"]
        neg["day"] = np.full(len(rows), today, np.int32)
        neg["order"] = np.full(len(rows), 5, np.int8)
        neg["target_block"] = i
        neg["target_rows"] = rows
        E.blocks.append(neg)
    co45 = _carc_code("45")
    for i in originals:
        b = E.blocks[i]
        rows = np.flatnonzero(chosen[b["proc"]])
        if not len(rows):
            continue
        cor = {k: np.array(v[rows]) for k, v in b.items()}
        cor["day"] = np.full(len(rows), today, np.int32)
        cor["order"] = np.full(len(rows), 6, np.int8)
        if cor["kind"][0] == KIND["payment"]:
            cor["amount"] -= delta[cor["proc"]]
        elif (
            cor["kind"][0] == KIND["adjustment"]
            and cor["carc"][0] == co45
            and cor["group"][0] == GROUPS.index("CO")
        ):
            cor["amount"] += delta[cor["proc"]]
        E.blocks.append(cor)
    return delta


def _entries_table(cols, enc_ids, enc_of, line, payer_ids) -> pa.Table:
    n = len(cols.get("proc", []))
    if "entry_id" not in cols:
        cols["entry_id"] = np.arange(1, n + 1, dtype=np.int64)
    proc = cols["proc"]
    day = cols["day"].astype(np.int64)
    # 14:00 on the day, plus up to an hour so entries of a day keep their order
    posted = day * US_PER_DAY + 14 * 3_600_000_000 + (np.arange(n) % 3_600_000_000)
    # One 835 claim per encounter, payer and remit date: "ERA-<day>-<seq>".
    key = day * 4 + cols["seq"]
    low = int(key.min()) if n else 0
    labels = [f"ERA-{k // 4}-{k % 4}" for k in range(low, int(key.max()) + 1 if n else 0)]
    remit_ref = _dict(key - low, labels, mask=cols["source"] != 1)
    return pa.table(
        {
            "entry_id": pa.array(cols["entry_id"]),
            "encounter_id": enc_ids.take(pa.array(enc_of[proc])),
            "line": pa.array(line[proc]),
            "payer_seq": pa.array(cols["seq"]),
            "payer_id": _dict(cols["payer"], payer_ids, mask=cols["payer"] < 0),
            "kind": _dict(cols["kind"], list(KIND), pa.int8()),
            "group_code": _dict(cols["group"], GROUPS, pa.int8(), mask=cols["group"] < 0),
            "carc": _dict(cols["carc"], _CARC_VALUES, pa.int16(), mask=cols["carc"] < 0),
            "rarc": pa.nulls(n, pa.dictionary(pa.int16(), pa.string())),
            "amount_cents": pa.array(cols["amount"]),
            "posted_at": pa.array(posted, pa.timestamp("us", tz="UTC")),
            "negates": pa.array(cols["negates"], mask=cols["negates"] < 0),
            "source": _dict(cols["source"], SOURCES, pa.int8()),
            "remit_ref": remit_ref,
            "rule_id": pa.nulls(n, pa.dictionary(pa.int32(), pa.string())),
            "actor": _dict(cols["actor"], ACTORS, pa.int32(), mask=cols["actor"] < 0),
            "note": pa.array(np.array(NOTES + (None,), object)[cols["note"]], pa.string()),
        },
        schema=arrow_schema("entries"),
    )


def _dict(codes, values, index_type=pa.int32(), mask=None):
    idx = pa.array(np.asarray(codes).astype(index_type.to_pandas_dtype()), index_type, mask=mask)
    return pa.DictionaryArray.from_arrays(idx, pa.array(list(values), pa.string()))


def _ids(prefix: str, n: int) -> pa.Array:
    width = max(7, len(str(n)))
    digits = pc.utf8_lpad(pc.cast(pa.array(np.arange(1, n + 1)), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def write_sample(folder, n_encounters: int = SAMPLE_ENCOUNTERS, seed: int = SAMPLE_SEED):
    """Rebuild the bundled sample in ``folder``: the ledger (Parquet, well under 5 MB) in
    ``ledger/``, in ``835/`` the sample 835 files that answer its open encounters
    (see :mod:`ledgerkit.synth.samples`), so posting them posts, and in
    ``contracts/`` the sample contracts
    (:func:`ledgerkit.synth.pricing.write_sample_contracts`).

    Run ``ledgerkit sample data/samples`` from the repository root. Returns the
    ledger folder.

    Raises
    ------
    LedgerError
        ``folder`` (or its ``ledger`` / ``835`` / ``contracts`` entry) is an existing file.
    """
    from ledgerkit.synth.pricing import write_sample_contracts
    from ledgerkit.synth.samples import write_samples

    folder = Path(folder)
    for path in (folder, folder / "ledger", folder / "835", folder / "contracts"):
        if path.exists() and not path.is_dir():
            raise LedgerError(f"{path}: is a file; give a folder to write the sample into")
    ledger = generate(n_encounters, seed=seed)
    ledger.to_parquet(folder / "ledger")
    write_samples(folder / "835", ledger)
    write_sample_contracts(folder / "contracts")
    return folder / "ledger"


def sample_folder() -> Path:
    """Where the bundled sample ledger lives in a checkout (``data/samples/ledger``)."""
    return Path(__file__).resolve().parents[3] / "data" / "samples" / "ledger"


def load_sample() -> Ledger:
    """The bundled sample ledger; regenerated (same seed, same data) when absent.

    Notebooks call this, so they run from any working directory.

    Examples
    --------
    >>> load_sample().encounters.num_rows == SAMPLE_ENCOUNTERS
    True
    """
    folder = sample_folder()
    if (folder / "entries.parquet").exists():
        return Ledger.from_parquet(folder)
    return generate(SAMPLE_ENCOUNTERS, seed=SAMPLE_SEED)


def remittances(ledger: Ledger):
    """The payer decisions of ``ledger`` as 835 ``Remittances`` (reversals included).

    One 835 claim per encounter, payer and remit; write them with
    ``ledgerkit.write_835``. See :mod:`ledgerkit.x12.from_ledger` for the mapping.
    """
    from ledgerkit.synth.remits import remittances_from_ledger

    return remittances_from_ledger(ledger)
