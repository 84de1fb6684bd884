"""A contract table and a base schedule for a synthetic ledger (benchmarks only).

Every payer gets a row per CPT it is billed for (two effective periods, a
professional-component modifier row, an office-only row for E/M codes), the
surgical codes share an MPPR family, one code per payer is carved out, and
the commercial class falls back to 120 % of a "medicare" base schedule (which
lacks one code), and one payer's contract starts half-way through the dates. The
shapes exercise every path of the pricing kernels at realistic row counts.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

import ledgerkit as lk

SURGICAL = ("1", "2", "3", "4", "5", "6")  # CPT 10000-69999 lead digits


def synthetic_contracts(ledger: lk.Ledger, seed: int = 0) -> lk.contracts.Contracts:
    """Contracts for ``ledger``'s payers and codes, seeded."""
    table, schedules = synthetic_contract_tables(ledger, seed)
    return lk.contracts.load(table, schedules=schedules)


def synthetic_contract_tables(ledger: lk.Ledger, seed: int = 0) -> tuple[pa.Table, dict]:
    """The contract table and base schedules :func:`synthetic_contracts` loads (what a
    benchmark writes for a child process to load)."""
    rng = np.random.default_rng(seed)
    codes = sorted(pc.unique(ledger.procedures["cpt"].cast(pa.string())).to_pylist())
    mean_charge = _mean_charge(ledger, codes)
    base_rate = {c: int(mean_charge[c] * 0.45) for c in codes}
    days = ledger.procedures["service_date"]
    first, last = pc.min(days).as_py(), pc.max(days).as_py()
    middle = first + (last - first) / 2
    rows = []
    commercial = 0
    late_payer = None  # one payer's contract starts mid-way: earlier lines are outside_dates
    for payer, payer_class in zip(
        ledger.payers["payer_id"].to_pylist(),
        ledger.payers["payer_class"].cast(pa.string()).to_pylist(),
        strict=True,
    ):
        if payer_class == "commercial":
            commercial += 1
            if commercial % 2:
                continue  # every other commercial payer is priced by the class row below
        factor = rng.uniform(0.5, 0.9)
        if late_payer is None and payer_class != "commercial":
            late_payer = payer
        carved = codes[int(rng.integers(len(codes)))]
        for code in codes:
            rate = int(mean_charge[code] * factor)
            row = {"payer": payer, "code_from": code}
            if code == carved:
                rows.append({**row, "carve_out": True})
                continue
            family = {}
            if code[0] in SURGICAL:
                family = {"mppr_family": "surgery", "mppr_percent": 50.0}
            if payer != late_payer:
                rows.append({**row, "effective_to": middle, "rate_cents_per_unit": rate, **family})
            rows.append(
                {
                    **row,
                    "effective_from": middle + dt.timedelta(days=1),
                    "rate_cents_per_unit": rate * 103 // 100,
                    **family,
                }
            )
            rows.append({**row, "modifier": "26", "rate_cents_per_unit": rate * 40 // 100})
            if code.startswith("992"):
                rows.append({**row, "place_of_service": "11", "rate_cents_per_unit": rate + 500})
    rows.append(
        {"payer_class": "commercial", "code_from": "00000", "code_to": "ZZZZZ",
         "percent_of_base": 120.0, "base_schedule": "medicare"}
    )  # fmt: skip
    keys = list(dict.fromkeys(k for row in rows for k in row))
    table = pa.Table.from_pylist([{k: row.get(k) for k in keys} for row in rows])
    del base_rate[codes[-1]]  # commercial-class lines of this code: no_base_rate
    medicare = pa.table(
        {"code_from": list(base_rate), "rate_cents_per_unit": list(base_rate.values())}
    )
    return table, {"medicare": medicare}


def _mean_charge(ledger, codes) -> dict:
    grouped = ledger.procedures.group_by("cpt").aggregate(
        [("charge_cents", "mean"), ("units", "mean")]
    )
    mean = {}
    for code, charge, units in zip(
        grouped["cpt"].cast(pa.string()).to_pylist(),
        grouped["charge_cents_mean"].to_pylist(),
        grouped["units_mean"].to_pylist(),
        strict=True,
    ):
        mean[code] = max(charge / max(units, 1), 100)
    return {c: mean[c] for c in codes}
