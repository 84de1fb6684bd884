"""lk.report: the proposal's parts, its Excel / HTML / CSV / Parquet writers, and the
one formatter (money exact from cents, rates, days, labels, CARC descriptions)."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ledgerkit as lk
from ledgerkit.report import flatten, format_table, proposal, write_table
from ledgerkit.report.definitions import DEFINITIONS
from ledgerkit.report.excel import COUNT_FORMAT, MONEY_FORMAT, SHEETS
from ledgerkit.report.format import (
    carc_description,
    carc_text,
    claim_status_text,
    column_kind,
    days,
    format_value,
    label,
    money,
    rarc_text,
    rate,
)
from ledgerkit.rules import default_rules, dry_run

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ledger():
    return lk.synth.generate(1500, seed=11)


@pytest.fixture(scope="module")
def rules():
    return default_rules().enable("taa_write_off")


@pytest.fixture(scope="module")
def prop(ledger, rules):
    return proposal(ledger, rules, samples_per_rule=3)


# ----------------------------------------------------------------- formatter
def _dollars_reference(cents: int) -> str:
    d = (Decimal(abs(cents)) / 100).quantize(Decimal("0.01"))
    return ("-" if cents < 0 else "") + f"${d:,.2f}"


@settings(max_examples=200)
@given(st.one_of(st.integers(-(2**63), 2**63 - 1), st.integers(-10_000, 10_000)))
def test_money_is_exact_from_integer_cents(cents):
    assert money(cents) == _dollars_reference(cents)


def test_money_edges():
    assert money(0) == "$0.00"
    assert money(29) == "$0.29"  # 0.29 is not a double: no float on the way
    assert money(-1) == "-$0.01"
    assert money(100_000_000_000) == "$1,000,000,000.00"
    assert money(None) == "" and money(float("nan")) == ""
    assert money(17972.093023) == "$179.72"  # a mean of cents rounds to a cent


def test_rates_days_labels():
    assert rate(0.209906) == "21.0%" and rate(0) == "0.0%" and rate(None) == ""
    assert days(13.530450) == "14" and days(6.0) == "6" and days(0.5) == "1"
    assert label("mean_allowed_per_unit") == "Mean allowed per unit ($)"
    assert label("written_off_cents") == "Written off ($)"
    assert label("days_0_30") == "0-30 days ($)"
    assert label("reason_code") == "Reason code"
    assert column_kind("dollar_denial_rate") == "rate"
    assert column_kind("p90_days") == "days"
    assert column_kind("claims", pa.int64()) == "count"
    assert column_kind("line", pa.int32()) == "text"


def test_codes_have_their_meaning():
    assert carc_description("45") == "Billed amount above the contracted or scheduled fee"
    assert carc_text("45", "CO") == "CO-45: Billed amount above the contracted or scheduled fee"
    assert carc_text("ZZ9") == "ZZ9"  # unknown: the code alone, never dropped
    assert claim_status_text("22") == "22 (reversal of a previous payment)"
    assert claim_status_text("1") == "1 (processed as primary)"
    assert claim_status_text("99") == "99 (not a claim status code)"
    assert rarc_text("N54") == "N54: The claim was sent to the wrong payer or plan"
    assert rarc_text("N9999") == "N9999"


def test_format_table_shows_every_kind():
    t = pa.table(
        {
            "payer": ["MCR01", None],
            "charge": [28000, 5],
            "mean_allowed_per_unit": [17972.093023, None],
            "denial_rate": [0.209906, 0.0],
            "median_days": [12.0, 6.49],
            "carc": ["45", None],
            "claims": [20000, 3],
        }
    )
    out = format_table(t).to_dict("list")
    assert out == {
        "Payer": ["MCR01", "self-pay"],
        "Charge ($)": ["$280.00", "$0.05"],
        "Mean allowed per unit ($)": ["$179.72", ""],
        "Denial rate": ["21.0%", "0.0%"],
        "Median days": ["12", "6"],
        "CARC": ["45", ""],
        "Reason": ["Billed amount above the contracted or scheduled fee", ""],
        "Claims": ["20,000", "3"],
    }
    assert "NaN" not in format_table(t).to_html()
    assert format_value(False, "expired") == "no"


# ----------------------------------------------------------------- proposal parts
def test_parts_add_up(ledger, rules, prop):
    run = dry_run(ledger, rules)
    total = prop.rules.to_pylist()[-1]
    assert total["rule"] == "TOTAL"
    assert total["written_off_cents"] == sum(run.summary["written_off_cents"].to_pylist())
    payers = prop.payers.to_pylist()
    for name in ("written_off_cents", "ar_closed_cents", "to_pr_cents", "encounters_closed"):
        assert sum(p[name] for p in payers) == total[name], name
    classes = lk.classify(ledger)
    assert sum(p["open_balance_cents"] for p in payers) == sum(classes["balance"].to_pylist())
    for p in payers:
        assert p["left_to_collect_cents"] == p["open_balance_cents"] - p["written_off_cents"]
    assert any(p["payer_id"] is None for p in payers)  # self-pay keeps its row


def test_denials_excluded_are_untouched_lines_denied_entirely(ledger, rules, prop):
    run = dry_run(ledger, rules)
    hits = run.hits.to_pylist()
    moved = {(h["encounter_id"], h["line"]) for h in hits if h["amount_cents"] > 0}
    hit = {h["encounter_id"] for h in hits}
    payer = dict(
        zip(
            ledger.encounters["encounter_id"].to_pylist(),
            ledger.encounters["payer1_id"].cast(pa.string()).to_pylist(),
            strict=True,
        )
    )
    want_lines: dict = {}
    want_cents: dict = {}
    for r in lk.balances(ledger, level="procedure").to_pylist():
        key = (r["encounter_id"], r["line"])
        if r["allowed"] == 0 and r["denied"] > 0 and key[0] in hit and key not in moved:
            p = payer[key[0]]
            want_lines[p] = want_lines.get(p, 0) + 1
            want_cents[p] = want_cents.get(p, 0) + r["denied"]
    got = {p["payer_id"]: p for p in prop.payers.to_pylist()}
    for p, row in got.items():
        assert row["denied_lines_excluded"] == want_lines.get(p, 0)
        assert row["denied_excluded_cents"] == want_cents.get(p, 0)


def test_samples_per_rule(ledger, rules, prop):
    s = prop.samples.to_pylist()
    assert s, "no sample encounters"
    by_rule: dict = {}
    for r in s:
        by_rule.setdefault(r["rule"], []).append(r)
        assert r["closed"] == (r["balance_after_cents"] == 0)
        assert 0 < r["moved_cents"] <= r["balance_cents"]
    for rows in by_rule.values():
        assert len(rows) <= 3
        moved = [r["moved_cents"] for r in rows]
        assert moved == sorted(moved, reverse=True)
    one = s[0]
    hits = dry_run(ledger, rules).hits.to_pylist()
    assert one["moved_cents"] == sum(
        h["amount_cents"]
        for h in hits
        if h["encounter_id"] == one["encounter_id"] and h["rule"] == one["rule"]
    )


def test_taas_carry_their_source(ledger, prop):
    sources = set(prop.taas["taa_source"].to_pylist())
    assert sources <= {"history", "contract", "cpt_set_any_pos", None}
    assert "history" in sources
    assert prop.taa_curve.column_names[0] == "taa_percentile"
    assert prop.small_balance_curve["threshold_cents"].to_pylist()[:3] == [0, 25, 50]


def test_definitions_are_the_glossarys_words():
    glossary = " ".join((ROOT / "docs" / "glossary.md").read_text().split())
    for term, text in DEFINITIONS:
        assert " ".join(text.split()) in glossary, term


def test_bad_arguments(ledger):
    with pytest.raises(TypeError, match="RuleSet"):
        proposal(ledger, rules="taa")
    with pytest.raises(ValueError, match="samples_per_rule"):
        proposal(ledger, samples_per_rule=-1)


# ----------------------------------------------------------------- writers
def test_excel_workbook(prop, tmp_path):
    path = prop.to_excel(tmp_path / "proposal.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == list(SHEETS.values())
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2", ws.title
    ws = wb["Rules"]
    head = [c.value for c in ws[1]]
    assert head[:3] == ["Rule", "Action", "Procedures"]
    col = head.index("Written off ($)") + 1
    total_row = ws.max_row
    assert ws.cell(total_row, 1).value == "TOTAL"
    cell = ws.cell(total_row, col)
    assert cell.number_format == MONEY_FORMAT
    assert cell.value == prop.rules["written_off_cents"].to_pylist()[-1] / 100
    assert ws.cell(2, head.index("Procedures") + 1).number_format == COUNT_FORMAT
    payers = wb["Payers"]
    phead = [c.value for c in payers[1]]
    left = phead.index("Left to collect ($)") + 1
    for i, p in enumerate(prop.payers.to_pylist(), start=2):
        assert payers.cell(i, 1).value == (p["payer_id"] or "self-pay")
        assert payers.cell(i, left).value == p["left_to_collect_cents"] / 100
        assert payers.cell(i, left).number_format == MONEY_FORMAT
    assert len(wb["TAA curve"]._charts) == 1
    assert len(wb["Small-balance curve"]._charts) == 1
    assert wb["Small-balance curve"].cell(3, 1).value == 0.25  # 25 cents, in dollars


def test_html_is_self_contained(prop, tmp_path):
    text = prop.to_html(tmp_path / "proposal.html").read_text()
    assert not re.search(r"<script[^>]*\bsrc\s*=", text, re.I)
    assert not re.search(r"<link[^>]*href\s*=\s*[\"']?https?:", text, re.I)
    assert "Plotly.newPlot" in text
    total = prop.rules.to_pylist()[-1]["written_off_cents"]
    assert money(total) in text
    assert "Balance left to collect" in text


def test_csv_and_parquet(prop, tmp_path):
    csvs = prop.to_csv(tmp_path / "csv")
    assert sorted(p.name for p in csvs) == sorted(f"{n}.csv" for n in prop.parts())
    back = pacsv.read_csv(tmp_path / "csv" / "payers.csv")
    assert (
        back["left_to_collect_cents"].to_pylist()
        == prop.payers["left_to_collect_cents"].to_pylist()
    )
    prop.to_parquet(tmp_path / "pq")
    assert pq.read_table(tmp_path / "pq" / "taas.parquet").equals(prop.taas)


def test_root_causes_csv_export(ledger, tmp_path):
    causes = lk.root_causes(ledger)
    assert pa.types.is_list(causes.schema.field("monthly_cents").type)
    out = write_table(causes, tmp_path / "root_causes.csv")
    back = pacsv.read_csv(out, convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
    want = [";".join(str(x) for x in v) for v in causes["monthly_cents"].to_pylist()]
    assert [str(v) for v in back["monthly_cents"].to_pylist()] == want
    assert flatten(causes).num_rows == causes.num_rows
    with pytest.raises(ValueError, match=r"\.csv or \.parquet"):
        write_table(causes, tmp_path / "root_causes.txt")


def test_writers_refuse_a_missing_folder(prop, tmp_path):
    with pytest.raises(FileNotFoundError, match="no folder"):
        prop.to_excel(tmp_path / "nope" / "p.xlsx")
    with pytest.raises(FileNotFoundError, match="no folder"):
        prop.to_html(tmp_path / "nope" / "p.html")
