"""A plain-Python reference for contract pricing, small ledgers to price, and strategies.

The reference reads only ``contracts.table`` (the typed table as loaded) and
the ledger's own tables, tries every row against every line, and does the
arithmetic with ``fractions.Fraction``: nothing of the kernels' dense codes,
candidate lists or basis points.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pyarrow as pa
from hypothesis import strategies as st

import ledgerkit as lk

T0 = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
PAYER_CLASS = {"MCR": "medicare", "BC": "commercial", "AET": "commercial", "WC": "workers_comp"}


# --------------------------------------------------------------------- ledgers
def contract_ledger(lines: list[dict]) -> lk.Ledger:
    """A ledger of one procedure per dict, encounters in order of first mention.

    Keys: ``enc`` (id), ``payer`` (id or None for self-pay; its class from
    ``PAYER_CLASS``), ``pos``, ``cpt``, ``mod`` (``"25:59"`` or None),
    ``units``, ``charge``, ``day`` (date of service), ``paid`` (the primary's
    payment, so allowed = paid). Line numbers count up within each encounter.
    """
    encounters: dict = {}
    procedures, entries = [], []
    for item in lines:
        enc = item["enc"]
        if enc not in encounters:
            encounters[enc] = item
        first = encounters[enc]
        line = sum(1 for p in procedures if p["encounter_id"] == enc) + 1
        day = item.get("day", dt.date(2025, 2, 1))
        procedures.append(
            {
                "encounter_id": enc,
                "line": line,
                "cpt": item.get("cpt", "99213"),
                "modifiers": item.get("mod"),
                "units": item.get("units", 1),
                "charge_cents": item.get("charge", 20_000),
                "service_date": day,
            }
        )
        payer = first.get("payer")
        seq = 1 if payer else 0
        base = {"encounter_id": enc, "line": line, "payer_seq": seq, "payer_id": payer}
        entries.append({**base, "kind": "charge", "amount_cents": item.get("charge", 20_000)})
        if payer and item.get("paid", 0):
            entries.append({**base, "kind": "payment", "amount_cents": item["paid"]})
    enc_table = pa.table(
        {
            "encounter_id": list(encounters),
            "place_of_service": pa.array([e.get("pos", "11") for e in encounters.values()]),
            "service_date": [e.get("day", dt.date(2025, 2, 1)) for e in encounters.values()],
            "payer1_id": pa.array([e.get("payer") for e in encounters.values()], pa.string()),
        }
    )
    proc_table = pa.Table.from_pylist(
        procedures,
        schema=pa.schema(
            [
                ("encounter_id", pa.string()),
                ("line", pa.int32()),
                ("cpt", pa.string()),
                ("modifiers", pa.string()),
                ("units", pa.int32()),
                ("charge_cents", pa.int64()),
                ("service_date", pa.date32()),
            ]
        ),
    )
    rows = [
        {
            **e,
            "entry_id": k + 1,
            "posted_at": T0 + dt.timedelta(minutes=k),
            "source": "remit" if e["kind"] == "payment" else "charge",
        }
        for k, e in enumerate(entries)
    ]
    entry_table = pa.Table.from_pylist(
        rows,
        schema=pa.schema(
            [
                ("entry_id", pa.int64()),
                ("encounter_id", pa.string()),
                ("line", pa.int32()),
                ("payer_seq", pa.int8()),
                ("payer_id", pa.string()),
                ("kind", pa.string()),
                ("amount_cents", pa.int64()),
                ("posted_at", pa.timestamp("us", tz="UTC")),
                ("source", pa.string()),
            ]
        ),
    )
    payers = pa.table(
        {
            "payer_id": list(PAYER_CLASS),
            "name": list(PAYER_CLASS),
            "payer_class": list(PAYER_CLASS.values()),
            "timely_filing_days": pa.array([365] * len(PAYER_CLASS), pa.int32()),
            "appeal_days": pa.array([90] * len(PAYER_CLASS), pa.int32()),
        }
    )
    return lk.Ledger.from_arrow(enc_table, proc_table, entry_table, payers)


# --------------------------------------------------------------------- reference
def _first_modifier(value):
    if value is None:
        return None
    first = value.split(":")[0].strip().upper()
    return first or None


def _key(code: str) -> int:
    """The code read as a base-37 number, left-aligned on 8 places (blank 0, 0-9, A-Z)."""
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    padded = [digits.index(c) + 1 for c in code] + [0] * (8 - len(code))
    value = 0
    for d in padded:
        value = value * 37 + d
    return value


def _half_up(value: Fraction) -> int:
    return int((value + Fraction(1, 2)) // 1)


def _rows(table: pa.Table) -> list[dict]:
    return table.to_pylist()


def _matches(row, payer, pclass, code, mod, pos, *, payer_blind=False) -> bool:
    if not payer_blind:
        if row["payer"] is not None:
            if row["payer"] != payer:
                return False
        elif row["payer_class"] is not None:
            if row["payer_class"] != pclass:
                return False
        elif payer is None:  # self-pay matches class self_pay only
            return False
    if not row["code_from"] <= code <= row["code_to"]:
        return False
    if row["modifier"] is not None and row["modifier"] != mod:
        return False
    return row["place_of_service"] is None or row["place_of_service"] == pos


def _in_dates(row, day) -> bool:
    lo, hi = row["effective_from"], row["effective_to"]
    return (lo is None or lo <= day) and (hi is None or day <= hi)


def _rank(row):
    level = 2 if row["payer"] is not None else 1 if row["payer_class"] is not None else 0
    span = _key(row["code_to"]) - _key(row["code_from"])
    start = row["effective_from"].toordinal() if row["effective_from"] else -(10**9)
    return (level, -span, row["modifier"] is not None, row["place_of_service"] is not None, start)


def _best(rows, day, **match):
    """(best row index or None, 'outside_dates' / 'no_contract' / None)."""
    found = [k for k, row in enumerate(rows) if _matches(row, **match)]
    dated = [k for k in found if _in_dates(rows[k], day)]
    if not dated:
        return None, ("outside_dates" if found else "no_contract")
    dated.sort(key=lambda k: _rank(rows[k]), reverse=True)
    if len(dated) > 1:
        assert _rank(rows[dated[0]]) != _rank(rows[dated[1]]), "a tie load() let through"
    return dated[0], None


def reference_expected(ledger, contracts) -> list[dict]:
    """Per procedure (table order): payer_id, expected, contract_row, reason."""
    rows = _rows(contracts.table)
    schedules = {name: _rows(s.table) for name, s in contracts.schedules.items()}
    classes = dict(
        zip(*(ledger.payers[c].to_pylist() for c in ("payer_id", "payer_class")), strict=True)
    )
    encounters = {e["encounter_id"]: e for e in ledger.encounters.to_pylist()}
    out, amounts = [], []
    for proc in ledger.procedures.to_pylist():
        enc = encounters[proc["encounter_id"]]
        payer = enc["payer1_id"]
        pclass = "self_pay" if payer is None else classes.get(payer, "other")
        match = dict(
            payer=payer,
            pclass=pclass,
            code=proc["cpt"].strip().upper(),
            mod=_first_modifier(proc["modifiers"]),
            pos=enc["place_of_service"],
        )
        day = proc["service_date"]
        best, reason = _best(rows, day, **match)
        amount = None
        if best is not None:
            row = rows[best]
            units = max(proc["units"], 0)
            if row["carve_out"]:
                reason = "carve_out"
            elif row["rate_cents_per_unit"] is not None:
                amount = Fraction(row["rate_cents_per_unit"] * units)
            else:
                base_rows = schedules[row["base_schedule"]]
                b, _ = _best(base_rows, day, payer_blind=True, **match)
                if b is None:
                    reason = "no_base_rate"
                else:
                    base = base_rows[b]["rate_cents_per_unit"] * units
                    amount = _half_up(base * Fraction(str(row["percent_of_base"])) / 100)
        out.append(
            {
                "procedure": proc,
                "payer_id": payer,
                "contract_row": best,
                "reason": reason,
                "expected_allowed_cents": 0 if reason == "carve_out" else None,
            }
        )
        amounts.append(None if amount is None else int(amount))
    # MPPR within each encounter, then the charge cap.
    for k, item in enumerate(out):
        if amounts[k] is None:
            continue
        row = rows[item["contract_row"]]
        value = amounts[k]
        family = row["mppr_family"]
        if family is not None:
            proc = item["procedure"]
            rivals = [
                (amounts[j], out[j]["procedure"]["line"])
                for j, other in enumerate(out)
                if j != k
                and amounts[j] is not None
                and other["procedure"]["encounter_id"] == proc["encounter_id"]
                and rows[other["contract_row"]]["mppr_family"] == family
            ]
            me = (amounts[k], proc["line"])
            if any(a > me[0] or (a == me[0] and line < me[1]) for a, line in rivals):
                value = _half_up(value * Fraction(str(row["mppr_percent"])) / 100)
        if row["cap_at_charge"]:
            value = min(value, item["procedure"]["charge_cents"])
        item["expected_allowed_cents"] = value
    for item in out:
        del item["procedure"]
    return out


def reference_ties(contracts_table: pa.Table) -> bool:
    """True when two rows could match one line with equal precedence (plain pairwise)."""
    columns = ("payer", "payer_class", "modifier", "place_of_service", "effective_from")
    rows = [
        {**r, **{c: None if r.get(c) == "*" else r.get(c) for c in columns}}
        for r in _rows(contracts_table)
    ]
    for a in range(len(rows)):
        for b in range(a + 1, len(rows)):
            ra, rb = rows[a], rows[b]
            same = all(ra[c] == rb[c] for c in columns)
            span_a = _key(ra["code_to"]) - _key(ra["code_from"])
            span_b = _key(rb["code_to"]) - _key(rb["code_from"])
            overlap = ra["code_from"] <= rb["code_to"] and rb["code_from"] <= ra["code_to"]
            if same and span_a == span_b and overlap:
                return True
    return False


# --------------------------------------------------------------------- strategies
CODES = ["99211", "99212", "99213", "99214", "99215", "20610", "G0008", "J1100", "0001F"]
PAYERS = [None, "MCR", "BC", "AET", "WC", "ZZZ"]  # ZZZ: a payer no line has
DAYS = [dt.date(2025, 1, 1) + dt.timedelta(days=30 * k) for k in range(6)]


@st.composite
def ledger_lines(draw, max_lines=10):
    n = draw(st.integers(1, max_lines))
    n_enc = draw(st.integers(1, n))
    enc_info = [
        {
            "payer": draw(st.sampled_from(PAYERS[:5])),
            "pos": draw(st.sampled_from(["11", "22", "02"])),
        }
        for _ in range(n_enc)
    ]
    out = []
    for _ in range(n):
        e = draw(st.integers(0, n_enc - 1))
        out.append(
            {
                "enc": f"E{e}",
                **enc_info[e],
                "cpt": draw(st.sampled_from(CODES)),
                "mod": draw(st.sampled_from([None, "25", "59", "25:59", "26"])),
                "units": draw(st.integers(0, 3)),
                "charge": draw(st.integers(0, 30_000)),
                "day": draw(st.sampled_from(DAYS)),
                "paid": draw(st.integers(0, 20_000)),
            }
        )
    return out


@st.composite
def contract_rows(draw, max_rows=8, base=False):
    rows = []
    for _ in range(draw(st.integers(0 if base else 1, max_rows))):
        lo, hi = sorted(draw(st.lists(st.sampled_from(CODES), min_size=2, max_size=2)))
        exact = draw(st.booleans())
        d1, d2 = (draw(st.sampled_from([None, *DAYS])) for _ in range(2))
        if d1 is not None and d2 is not None and d2 < d1:
            d1, d2 = d2, d1
        row = {
            "code_from": lo,
            "code_to": lo if exact else hi,
            "modifier": draw(st.sampled_from([None, "25", "59", "*"])),
            "place_of_service": draw(st.sampled_from([None, "11", "22"])),
            "effective_from": d1,
            "effective_to": d2,
            "rate_cents_per_unit": draw(st.integers(0, 40_000)),
        }
        if not base:
            who = draw(st.sampled_from(["payer", "class", "any"]))
            row["payer"] = draw(st.sampled_from(PAYERS[1:])) if who == "payer" else None
            row["payer_class"] = (
                draw(st.sampled_from(["medicare", "commercial", "self_pay"]))
                if who == "class"
                else None
            )
            kind = draw(st.sampled_from(["rate", "rate", "percent", "carve"]))
            row["percent_of_base"] = None
            row["base_schedule"] = None
            row["carve_out"] = kind == "carve"
            if kind != "rate":
                row["rate_cents_per_unit"] = None
            if kind == "percent":
                row["percent_of_base"] = draw(st.sampled_from([50.0, 100.0, 120.5, 33.33]))
                row["base_schedule"] = "base"
            if draw(st.booleans()):
                row["mppr_family"] = draw(st.sampled_from(["surgery", "imaging"]))
                row["mppr_percent"] = draw(st.sampled_from([50.0, 25.0, 0.0, 66.67]))
            else:
                row["mppr_family"], row["mppr_percent"] = None, None
            row["cap_at_charge"] = draw(st.sampled_from([None, True, False]))
        rows.append(row)
    return rows


def rows_table(rows: list[dict], *, base=False) -> pa.Table:
    """A contract table from row dicts (every column typed, nulls kept)."""
    types = {
        "payer": pa.string(), "payer_class": pa.string(), "code_from": pa.string(),
        "code_to": pa.string(), "modifier": pa.string(), "place_of_service": pa.string(),
        "effective_from": pa.date32(), "effective_to": pa.date32(),
        "rate_cents_per_unit": pa.int64(), "percent_of_base": pa.float64(),
        "base_schedule": pa.string(), "carve_out": pa.bool_(), "mppr_family": pa.string(),
        "mppr_percent": pa.float64(), "cap_at_charge": pa.bool_(),
    }  # fmt: skip
    names = [n for n in types if not rows or n in rows[0]] if rows else ["code_from"]
    return pa.table({n: pa.array([r.get(n) for r in rows], types[n]) for n in names})
