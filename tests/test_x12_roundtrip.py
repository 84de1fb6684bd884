# ruff: noqa: E501
"""Round trips: remittances -> write_835 -> read_835 gives identical tables."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ledgerkit as lk
from ledgerkit.synth.remits import remittances_from_ledger
from ledgerkit.x12 import Remittances, read_835
from ledgerkit.x12.tables import findings_table, table_from_columns, with_derived_columns
from ledgerkit.x12.write import format_835

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def roundtrip(r: Remittances, **options) -> Remittances:
    return read_835(format_835(r, **options))


@SETTINGS
@given(n=st.integers(1, 40), seed=st.integers(0, 2**31 - 1))
def test_synth_roundtrip(n, seed):
    r = remittances_from_ledger(lk.synth.generate(n, seed=seed))
    if r.claims.num_rows == 0:
        # A tiny ledger can hold no remit at all (self-pay or still awaiting):
        # nothing to write, and an empty file is not an 835.
        assert r.transactions.num_rows == 0 and format_835(r) == b""
        return
    back = roundtrip(r)
    assert back.findings.num_rows == 0  # synthetic remits balance at every level
    assert back.equals(r)


def test_synth_reversals_roundtrip():
    r = remittances_from_ledger(lk.synth.generate(400, seed=11))
    status = r.claims.column("status_code").to_pylist()
    assert "22" in status and "4" in status and "2" in status
    rev = r.claims.filter(pa.compute.equal(r.claims.column("status_code"), "22"))
    assert (np.asarray(rev.column("paid_cents")) <= 0).all()
    assert roundtrip(r, newline=False, element_separator="|", component_separator=">").equals(r)


# ----------------------------------------------------------------------------- arbitrary remits
code = st.text("ABCDEFGHJKMNPQRSTUVWXYZ0123456789", min_size=1, max_size=4)
# Code fields hold valid codes (the reader withholds anything else: test_x12_phi.py).
digits = "0123456789"
carc_code = st.one_of(
    st.integers(1, 999).map(str),
    st.tuples(st.sampled_from("ABDPW"), st.integers(1, 99)).map(lambda t: f"{t[0]}{t[1]}"),
)
rarc = st.tuples(st.sampled_from(["M", "MA", "N"]), st.text(digits, min_size=1, max_size=3)).map(
    "".join
)
revenue = st.text(digits, min_size=4, max_size=4)
procedure = {
    "HC": st.one_of(
        st.text(digits, min_size=5, max_size=5),
        st.tuples(st.sampled_from("AGJ"), st.text(digits, min_size=4, max_size=4)).map("".join),
    ),
    "NU": revenue,
    "AD": st.text(digits, min_size=4, max_size=4).map("D".__add__),
}
name = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ -.'0123456789", min_size=1, max_size=12).map(str.strip)
money = st.integers(-(10**9), 10**9)
day = st.dates(dt.date(1990, 1, 1), dt.date(2040, 12, 31))
units = st.one_of(st.none(), st.integers(0, 10**6).map(lambda x: x / 1000))


@st.composite
def remittances(draw):
    """Balanced remittances with every kind of value the reader keeps."""
    tx, cl, li, ad, rm, pl = [], [], [], [], [], []
    for t in range(draw(st.integers(1, 3))):
        t_paid = 0
        for _ in range(draw(st.integers(0, 4))):
            c = len(cl)
            cas_total = 0
            n_lines = draw(st.integers(0, 3))
            for g, carc, amt in draw(
                st.lists(
                    st.tuples(st.sampled_from(["CO", "PR", "OA", "PI", "CR"]), carc_code, money),
                    max_size=3,
                )
            ):
                ad.append(dict(claim_id=c, line_id=None, group_code=g, carc=carc, amount_cents=amt,
                               quantity=draw(units)))  # fmt: skip
                cas_total += amt
            if draw(st.booleans()):
                for src in ("MIA", "MOA"):
                    for x in draw(st.lists(rarc, max_size=2)):
                        rm.append(
                            dict(claim_id=c, line_id=None, source=src, qualifier=None, code=x)
                        )
            charge = 0
            for ln in range(n_lines):
                i = len(li)
                l_charge, l_cas = draw(money), 0
                for g, carc, amt in draw(
                    st.lists(
                        st.tuples(st.sampled_from(["CO", "PR", "OA", "PI"]), carc_code, money),
                        max_size=3,
                    )
                ):
                    ad.append(dict(claim_id=c, line_id=i, group_code=g, carc=carc, amount_cents=amt,
                                   quantity=draw(units)))  # fmt: skip
                    l_cas += amt
                mods = draw(
                    st.lists(st.text("0123456789ABXYZ", min_size=2, max_size=2), max_size=4)
                )
                qualifier = draw(st.sampled_from(["HC", "NU", "AD"]))
                li.append(dict(
                    line_id=i, claim_id=c, line_number=ln + 1,
                    procedure_qualifier=qualifier,
                    procedure_code=draw(procedure[qualifier]), modifiers=":".join(mods) or None,
                    charge_cents=l_charge, paid_cents=l_charge - l_cas,
                    revenue_code=draw(st.one_of(st.none(), revenue)), units=draw(units),
                    original_procedure_qualifier=None, original_procedure_code=None,
                    original_modifiers=None, original_units=draw(units),
                    service_date=draw(st.one_of(st.none(), day)),
                    line_control_number=draw(st.one_of(st.none(), code)),
                    reported_allowed_cents=draw(st.one_of(st.none(), money)),
                ))  # fmt: skip
                if draw(st.booleans()):
                    li[-1]["original_procedure_qualifier"] = "HC"
                    li[-1]["original_procedure_code"] = draw(procedure["HC"])
                for x in draw(st.lists(rarc, max_size=2)):
                    rm.append(dict(claim_id=c, line_id=i, source="LQ", qualifier="HE", code=x))
                charge += l_charge
                cas_total += l_cas
            if n_lines == 0:
                charge = draw(money)
            paid = charge - cas_total
            t_paid += paid
            cl.append(dict(
                claim_id=c, transaction_id=t, encounter_id=draw(code) + "-" + str(c),
                status_code=draw(st.sampled_from(["1", "2", "3", "4", "19", "22"])),
                charge_cents=charge, paid_cents=paid,
                reported_patient_responsibility_cents=draw(st.one_of(st.none(), money)),
                claim_filing_indicator=draw(st.sampled_from(["MB", "MC", "CI", "12"])),
                payer_claim_control_number=draw(code), facility_type="11", frequency_code="1",
                statement_from=draw(day), statement_to=None, received_date=draw(st.one_of(st.none(), day)),
                rendering_provider_id=draw(st.one_of(st.none(), code)),
                patient_key="LK" + draw(st.text("0123456789ABCDEF", min_size=24, max_size=24)),
            ))  # fmt: skip
        plb_total = 0
        for reason, amt in draw(
            st.lists(st.tuples(st.sampled_from(["WO", "L6", "72"]), money), max_size=3)
        ):
            pl.append(dict(transaction_id=t, provider_id="1234567893",
                           fiscal_period_date=dt.date(2025, 12, 31), reason_code=reason,
                           reference=draw(st.one_of(st.none(), code)), amount_cents=amt))  # fmt: skip
            plb_total += amt
        total = t_paid - plb_total
        tx.append(dict(
            transaction_id=t, file="<bytes>", isa_sender="PAYER", isa_receiver="CLINIC",
            isa_control="000000001", gs_sender="PAYER", gs_receiver="CLINIC", gs_control="7",
            gs_date=dt.date(2025, 1, 2), version=draw(st.sampled_from(["005010X221A1", "004010X091A1"])),
            st_control=f"{t + 1:04d}", payer_id=draw(code), payer_id_qualifier=draw(st.sampled_from([None, "XV"])),
            payer_name=draw(name) or "P", payee_name=draw(name) or "C", payee_id_qualifier="XX",
            payee_id="1234567893", handling_code="C", payment_cents=abs(total),
            credit_debit="D" if total < 0 else "C", payment_method="ACH",
            payment_date=draw(day), trace_number=draw(code), trace_originator="1999999999",
            production_date=draw(st.one_of(st.none(), day)),
        ))  # fmt: skip
    # one version per group, as written
    for t in tx:
        t["version"] = tx[0]["version"]
    claims = table_from_columns("claims", _cols(cl, "claims"))
    adjustments = table_from_columns("adjustments", _cols(ad, "adjustments"))
    claims, lines = with_derived_columns(claims, _cols(li, "service_lines"), adjustments)
    return Remittances(
        table_from_columns("transactions", _cols(tx, "transactions")), claims, lines, adjustments,
        table_from_columns("remarks", _cols(rm, "remarks")),
        table_from_columns("provider_adjustments", _cols(pl, "provider_adjustments")),
        findings_table("<bytes>", []),
    )  # fmt: skip


def _cols(rows, table):
    from ledgerkit.x12.remittances import schema

    sch = schema(table)
    return {
        f.name: pa.array([r.get(f.name) for r in rows], f.type)
        for f in sch
        if rows and f.name in rows[0] or not rows
    }


@SETTINGS
@given(r=remittances())
def test_arbitrary_remittances_roundtrip(r):
    back = roundtrip(r)
    for t in ("transactions", "claims", "service_lines", "adjustments", "remarks",
              "provider_adjustments"):  # fmt: skip
        a, b = getattr(back, t), getattr(r, t)
        if t == "transactions":
            a, b = a.drop_columns(["file"]), b.drop_columns(["file"])
        assert a.equals(b), (t, a.to_pylist(), b.to_pylist())
    assert back.findings.num_rows == 0, back.findings.to_pylist()
