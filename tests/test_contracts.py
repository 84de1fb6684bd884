"""Contracts: hand-computed cents for every rule, the precedence, the tie error, bad rows."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from reference_contracts import contract_ledger, reference_expected

import ledgerkit as lk

D = dt.date


def price(lines, rows, schedules=None) -> list[dict]:
    """expected_allowed rows (table order) for procedure dicts and contract row dicts."""
    ledger = contract_ledger(lines)
    contracts = lk.contracts.load(table_of(rows), schedules=schedules)
    result = lk.expected_allowed(ledger, contracts).to_pylist()
    # Every hand-computed case is a reference case too.
    want = reference_expected(ledger, contracts)
    assert [r["expected_allowed_cents"] for r in result] == [
        w["expected_allowed_cents"] for w in want
    ]
    return result


def table_of(rows: list[dict]) -> pa.Table:
    """Rows to a table with every key any row has (``from_pylist`` reads the first's only)."""
    keys = list(dict.fromkeys(k for row in rows for k in row))
    return pa.Table.from_pylist([{k: row.get(k) for k in keys} for row in rows])


def expected(result) -> list:
    return [r["expected_allowed_cents"] for r in result]


def line(enc="E1", **kw) -> dict:
    return {"enc": enc, "payer": kw.pop("payer", "BC"), **kw}


# --------------------------------------------------------------------- effective dates
def test_effective_dates_inclusive_and_latest_start_wins():
    rows = [
        {"payer": "BC", "code_from": "99213", "effective_from": D(2025, 1, 1),
         "effective_to": D(2025, 6, 30), "rate_cents_per_unit": 9000},
        {"payer": "BC", "code_from": "99213", "effective_from": D(2025, 7, 1),
         "rate_cents_per_unit": 9500},
    ]  # fmt: skip
    days = [D(2024, 12, 31), D(2025, 1, 1), D(2025, 6, 30), D(2025, 7, 1), D(2030, 1, 1)]
    result = price([line(f"E{k}", day=d) for k, d in enumerate(days)], rows)
    assert expected(result) == [None, 9000, 9000, 9500, 9500]
    assert [r["contract_row"] for r in result] == [None, 0, 0, 1, 1]
    assert [r["reason"] for r in result] == ["outside_dates", None, None, None, None]
    # An open-ended older row and a newer row overlap: the later effective_from wins.
    rows[0]["effective_to"] = None
    result = price([line(day=D(2025, 8, 1)), line("E2", day=D(2025, 3, 1))], rows)
    assert expected(result) == [9500, 9000]


def test_a_row_out_of_date_falls_through_to_a_less_specific_row():
    rows = [
        {"payer": "BC", "code_from": "99213", "effective_to": D(2024, 12, 31),
         "rate_cents_per_unit": 7000},
        {"payer_class": "commercial", "code_from": "99213", "rate_cents_per_unit": 8000},
    ]  # fmt: skip
    result = price([line(day=D(2025, 3, 1)), line("E2", day=D(2024, 3, 1))], rows)
    assert expected(result) == [8000, 7000]
    assert [r["contract_row"] for r in result] == [1, 0]


# --------------------------------------------------------------------- modifiers, POS
def test_modifiers_match_the_first_modifier_exactly():
    rows = [
        {"payer": "BC", "code_from": "71046", "modifier": "26", "rate_cents_per_unit": 3000},
        {"payer": "BC", "code_from": "71046", "modifier": "*", "rate_cents_per_unit": 10000},
        {"payer": "BC", "code_from": "99214", "modifier": "25", "rate_cents_per_unit": 12000},
    ]
    lines = [
        line(cpt="71046", mod="26:59"),
        line(cpt="71046", mod="59:26"),
        line(cpt="71046", mod=None),
        line(cpt="99214", mod="25"),
        line(cpt="99214", mod=None),
    ]
    result = price(lines, rows)
    assert expected(result) == [3000, 10000, 10000, 12000, None]
    assert result[4]["reason"] == "no_contract"


def test_place_of_service_exact_beats_any():
    rows = [
        {"payer": "BC", "code_from": "99213", "place_of_service": "11",
         "rate_cents_per_unit": 8000},
        {"payer": "BC", "code_from": "99213", "rate_cents_per_unit": 9000},
        {"payer": "BC", "code_from": "99214", "place_of_service": "22",
         "rate_cents_per_unit": 9900},
    ]  # fmt: skip
    lines = [
        line("E1", pos="11"),
        line("E2", pos="22"),
        line("E3", pos="11", cpt="99214"),
        line("E4", pos="22", cpt="99214"),
    ]
    result = price(lines, rows)
    assert expected(result) == [8000, 9000, None, 9900]


# --------------------------------------------------------------------- percent of base
def test_percent_of_base_rounds_half_up_once():
    medicare = {"code_from": ["99213", "99214", "G0008"], "rate_cents_per_unit": [7333, 1500, 101]}
    rows = [
        {"payer": "BC", "code_from": "99213", "percent_of_base": 120.0, "base_schedule": "mcr"},
        {"payer": "BC", "code_from": "99214", "percent_of_base": 33.33, "base_schedule": "mcr"},
        {"payer": "BC", "code_from": "G0008", "percent_of_base": 50.0, "base_schedule": "mcr"},
        {"payer": "BC", "code_from": "99215", "percent_of_base": 120.0, "base_schedule": "mcr"},
    ]
    lines = [
        line(cpt="99213", units=1, charge=50_000),  # 7333 x 1.2 = 8799.6 -> 8800
        line(cpt="99213", units=2, charge=50_000),  # 14666 x 1.2 = 17599.2 -> 17599
        line(cpt="99214", charge=50_000),  # 1500 x 0.3333 = 499.95 -> 500
        line(cpt="G0008", charge=50_000),  # 101 x 0.5 = 50.5 -> 51
        line(cpt="99215", charge=50_000),  # no base rate for 99215
    ]
    result = price(lines, rows, schedules={"mcr": medicare})
    assert expected(result) == [8800, 17599, 500, 51, None]
    assert result[4]["reason"] == "no_base_rate"
    assert result[4]["contract_row"] == 3
    assert result[4]["variance_cents"] is None


def test_base_schedule_is_matched_on_dates_and_modifier_too():
    base = table_of(
        [
            {"code_from": "71046", "modifier": "26", "rate_cents_per_unit": 1000},
            {"code_from": "71046", "rate_cents_per_unit": 4000, "effective_to": D(2025, 1, 31)},
            {"code_from": "71046", "rate_cents_per_unit": 4400, "effective_from": D(2025, 2, 1)},
        ]
    )
    rows = [{"payer": "BC", "code_from": "71046", "percent_of_base": 150.0, "base_schedule": "m"}]
    lines = [
        line(cpt="71046", mod="26", day=D(2025, 3, 1)),
        line(cpt="71046", day=D(2025, 1, 15)),
        line(cpt="71046", day=D(2025, 3, 1)),
    ]
    assert expected(price(lines, rows, schedules={"m": base})) == [1500, 6000, 6600]


# --------------------------------------------------------------------- carve-outs
def test_carve_out_expects_zero_and_names_its_row():
    rows = [
        {"payer": "BC", "code_from": "99213", "rate_cents_per_unit": 9000},
        {"payer": "BC", "code_from": "J1100", "code_to": "J9999", "carve_out": True},
    ]
    result = price([line(cpt="J1100", paid=1234), line(cpt="99213", paid=8000)], rows)
    assert expected(result) == [0, 9000]
    assert result[0]["reason"] == "carve_out" and result[0]["contract_row"] == 1
    assert result[0]["allowed_cents"] == 1234 and result[0]["variance_cents"] == 1234
    assert result[1]["variance_cents"] == 8000 - 9000


# --------------------------------------------------------------------- MPPR
def test_mppr_ranks_by_amount_then_line():
    rows = [
        {"payer": "BC", "code_from": "20610", "rate_cents_per_unit": 20000,
         "mppr_family": "surgery", "mppr_percent": 50.0},
        {"payer": "BC", "code_from": "11721", "rate_cents_per_unit": 9001,
         "mppr_family": "surgery", "mppr_percent": 50.0},
        {"payer": "BC", "code_from": "17000", "rate_cents_per_unit": 5000,
         "mppr_family": "skin", "mppr_percent": 25.0},
        {"payer": "BC", "code_from": "17110", "carve_out": True},
    ]  # fmt: skip
    lines = [
        line(cpt="11721", charge=90_000),  # 9001: ranked third -> 4500.5 -> 4501
        line(cpt="20610", charge=90_000),  # 20000: first of the tie (line 2)
        line(cpt="20610", charge=90_000),  # 20000: second of the tie -> 10000
        line(cpt="17000", charge=90_000),  # its own family, alone: 100 %
        line(cpt="17110", charge=90_000),  # carve-out: no part in any ranking
        line("E2", cpt="11721", charge=90_000),  # another encounter: 100 %
    ]
    assert expected(price(lines, rows)) == [4501, 20000, 10000, 5000, 0, 9001]


def test_mppr_ranks_before_the_cap_and_units_count():
    rows = [
        {"payer": "BC", "code_from": "20610", "rate_cents_per_unit": 20000,
         "mppr_family": "s", "mppr_percent": 50.0},
        {"payer": "BC", "code_from": "11721", "rate_cents_per_unit": 9000,
         "mppr_family": "s", "mppr_percent": 50.0},
    ]  # fmt: skip
    lines = [
        line(cpt="20610", charge=5_000),  # 20000 ranks first, capped at its charge 5000
        line(cpt="11721", units=3, charge=90_000),  # 27000 > 20000: it is first
    ]
    # 11721 x 3 = 27000 ranks first (100 %); 20610 is reduced to 10000, then capped to 5000.
    assert expected(price(lines, rows)) == [5000, 27000]


# --------------------------------------------------------------------- precedence
def test_precedence_payer_then_code_then_modifier_then_pos():
    rows = [
        {"payer": "BC", "code_from": "99202", "code_to": "99215", "rate_cents_per_unit": 1},
        {"payer_class": "commercial", "code_from": "99213", "modifier": "25",
         "rate_cents_per_unit": 2},
        {"code_from": "99213", "modifier": "25", "place_of_service": "11",
         "rate_cents_per_unit": 3},
        {"payer": "AET", "code_from": "99210", "code_to": "99219", "rate_cents_per_unit": 4},
        {"payer": "AET", "code_from": "99212", "code_to": "99214", "rate_cents_per_unit": 5},
        {"payer": "AET", "code_from": "99213", "rate_cents_per_unit": 6},
        {"payer": "AET", "code_from": "99213", "modifier": "59", "rate_cents_per_unit": 7},
        {"payer": "AET", "code_from": "99213", "modifier": "59", "place_of_service": "22",
         "rate_cents_per_unit": 8},
    ]  # fmt: skip
    lines = [
        line("E1", payer="BC", mod="25"),  # exact payer beats class and any: 1
        line("E2", payer="MCR", mod="25"),  # medicare: only the any-payer row: 3
        line("E3", payer="AET", cpt="99211"),  # only the wide AET range: 4
        line("E4", payer="AET", cpt="99214"),  # narrower AET range: 5
        line("E5", payer="AET", cpt="99213"),  # exact code: 6
        line("E6", payer="AET", cpt="99213", mod="59"),  # exact modifier: 7
        line("E7", payer="AET", cpt="99213", mod="59", pos="22"),  # exact POS too: 8
        line("E8", payer="WC", cpt="99213", mod="25", pos="22"),  # nothing: any row needs POS 11
    ]
    result = price([{**item, "charge": 100} for item in lines], rows)
    assert expected(result) == [1, 3, 4, 5, 6, 7, 8, None]


def test_self_pay_matches_only_self_pay_rows():
    rows = [
        {"code_from": "99213", "rate_cents_per_unit": 9000},
        {"payer_class": "self_pay", "code_from": "99214", "rate_cents_per_unit": 6000},
    ]
    result = price([line(payer=None), line("E2", payer=None, cpt="99214")], rows)
    assert expected(result) == [None, 6000]
    assert result[0]["payer_id"] is None and result[0]["reason"] == "no_contract"


def test_payer_without_a_class_in_the_payers_table_is_other():
    rows = [{"payer_class": "other", "code_from": "99213", "rate_cents_per_unit": 100}]
    ledger = contract_ledger([line()])
    # Same ledger, payers table without BC: its class is "other".
    bare = lk.Ledger(
        ledger.encounters, ledger.procedures, ledger.entries, ledger.payers.slice(0, 1)
    )
    result = lk.expected_allowed(bare, lk.contracts.load(table_of(rows)))
    assert expected(result.to_pylist()) == [100]


def test_tie_is_refused_naming_both_rows():
    rows = [
        {"payer": "BC", "code_from": "99213", "rate_cents_per_unit": 9000},
        {"payer": "AET", "code_from": "99213", "rate_cents_per_unit": 9000},
        {"payer": "BC", "code_from": "99213", "rate_cents_per_unit": 9100},
    ]
    with pytest.raises(lk.LedgerError, match=r"rows 1 and 3 \(1-based data rows\)"):
        lk.contracts.load(table_of(rows))
    # Equal spans that overlap tie too; disjoint ranges or other dates do not.
    overlapping = [
        {"code_from": "99201", "code_to": "99210", "rate_cents_per_unit": 1},
        {"code_from": "99205", "code_to": "99214", "rate_cents_per_unit": 2},
    ]
    with pytest.raises(lk.LedgerError, match="rows 1 and 2"):
        lk.contracts.load(table_of(overlapping))
    overlapping[1]["effective_from"] = D(2025, 1, 1)
    assert lk.contracts.load(table_of(overlapping)).num_rows == 2


# --------------------------------------------------------------------- charge cap
def test_charge_cap_unless_the_contract_says_otherwise():
    rows = [
        {"payer": "BC", "code_from": "99213", "rate_cents_per_unit": 9000},
        {"payer": "BC", "code_from": "99214", "rate_cents_per_unit": 9000, "cap_at_charge": False},
    ]
    lines = [
        line(cpt="99213", units=2, charge=15_000),  # 18000 -> 15000
        line(cpt="99214", units=2, charge=15_000),  # 18000 kept
        line(cpt="99213", units=1, charge=15_000),  # 9000 under the charge
    ]
    assert expected(price(lines, rows)) == [15_000, 18_000, 9_000]


# --------------------------------------------------------------------- result shape
def test_result_columns_and_order_follow_the_procedures_table():
    rows = [{"payer": "BC", "code_from": "99213", "rate_cents_per_unit": 9000}]
    lines = [line("E2", paid=100), line("E1", paid=200), line("E2", cpt="99214", paid=300)]
    ledger = contract_ledger(lines)
    table = lk.expected_allowed(ledger, lk.contracts.load(table_of(rows)))
    assert table.column_names == [
        "procedure_id", "encounter_id", "line", "payer_id", "expected_allowed_cents",
        "allowed_cents", "variance_cents", "contract_row", "reason",
    ]  # fmt: skip
    assert table.schema.field("expected_allowed_cents").type == pa.int64()
    assert table.schema.field("contract_row").type == pa.int32()
    got = table.to_pylist()
    assert [(r["encounter_id"], r["line"]) for r in got] == [("E2", 1), ("E1", 1), ("E2", 2)]
    assert [r["allowed_cents"] for r in got] == [100, 200, 300]
    assert [r["variance_cents"] for r in got] == [100 - 9000, 200 - 9000, None]
    assert [r["payer_id"] for r in got] == ["BC"] * 3


def test_synthetic_ledger_prices_and_rerun_is_identical():
    ledger = lk.synth.generate(300, seed=3)
    contracts = lk.contracts.load(
        {"payer_class": ["medicare", "commercial"], "code_from": ["0", "0"],
         "code_to": ["ZZZZZ", "ZZZZZ"], "rate_cents_per_unit": [5000, 7000]}
    )  # fmt: skip
    first = lk.expected_allowed(ledger, contracts)
    assert first.equals(lk.expected_allowed(ledger, contracts))
    assert first.num_rows == ledger.procedures.num_rows
    want = reference_expected(ledger, contracts)
    assert first["expected_allowed_cents"].to_pylist() == [
        w["expected_allowed_cents"] for w in want
    ]


# --------------------------------------------------------------------- loading
CSV = """payer,payer_class,code_from,code_to,modifier,place_of_service,effective_from,effective_to,rate_cents_per_unit,percent_of_base,base_schedule,carve_out,mppr_family,mppr_percent,cap_at_charge,description
BC,,99213,,*,11,2025-01-01,,9000,,,false,,,true,office visit
,commercial,99214,99215,,,,,12000,,,no,,,,
BC,,20610,,,,,,20000,,,,surgery,50,,
"""  # noqa: E501


def test_csv_parquet_arrow_and_frames_load_the_same(tmp_path):
    path = tmp_path / "contracts.csv"
    path.write_text(CSV)
    from_csv = lk.contracts.load(path)
    assert from_csv.num_rows == 3 and from_csv.source == "contracts.csv"
    assert from_csv.table["place_of_service"].to_pylist() == ["11", None, None]
    assert from_csv.table["modifier"].to_pylist() == [None, None, None]
    assert from_csv.table["mppr_percent"].to_pylist() == [None, None, 50.0]
    parquet = tmp_path / "contracts.parquet"
    pq.write_table(from_csv.table, parquet)
    for other in (
        lk.contracts.load(parquet),
        lk.contracts.load(from_csv.table),
        lk.contracts.load(from_csv.table.to_pandas()),
    ):
        assert other.table.drop_columns(["description"]).equals(
            from_csv.table.drop_columns(["description"])
        )


def _bad_csv(tmp_path, row: int, column: str, value: str) -> str:
    lines = CSV.splitlines()
    header = lines[0].split(",")
    cells = lines[row].split(",")
    cells[header.index(column)] = value
    lines[row] = ",".join(cells)
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(lk.LedgerError) as error:
        lk.contracts.load(path)
    return str(error.value)


@pytest.mark.parametrize(
    ("row", "column", "value", "what"),
    [
        (3, "rate_cents_per_unit", "12.50", "whole cents"),
        (1, "effective_from", "2025-13-01", "YYYY-MM-DD"),
        (2, "code_from", "992-14", "CPT/HCPCS"),
        (2, "payer_class", "commerical", "one of"),
        (3, "mppr_percent", "150", "at most 100"),
        (1, "carve_out", "maybe", "true or false"),
        (2, "code_to", "99100", "comes before"),
        (1, "payer_class", "commercial", "not both"),
        (1, "percent_of_base", "120", "not both"),
        (3, "base_schedule", "mcr", "goes with percent_of_base"),
    ],
)
def test_bad_cells_name_file_row_and_column(tmp_path, row, column, value, what):
    message = _bad_csv(tmp_path, row, column, value)
    assert message.startswith(f"bad.csv, row {row} (1-based data row), column {column!r}")
    assert what in message


def test_bad_tables_name_what_is_wrong(tmp_path):
    def refused(rows, match, schedules=None):
        with pytest.raises(lk.LedgerError, match=match):
            lk.contracts.load(table_of(rows), schedules=schedules)

    refused([{"code_from": "99213"}], "row 1 .*'rate_cents_per_unit'.*required")
    refused([{"code_from": "99213", "rate": 5}], "unknown column 'rate'")
    refused([{"code_from": "99213", "percent_of_base": 120.0}], "'base_schedule'.*needs")
    refused(
        [{"code_from": "99213", "percent_of_base": 120.0, "base_schedule": "x"}],
        r"no schedule 'x' \(schedules=: 'm'\)",
        schedules={"m": {"code_from": ["99213"], "rate_cents_per_unit": [1]}},
    )
    refused([{"code_from": "99213", "carve_out": True, "rate_cents_per_unit": 5}], "carve-out")
    refused([{"code_from": "99213", "rate_cents_per_unit": 1, "mppr_family": "s"}], "mppr_percent")
    refused(
        [{"code_from": "99213", "rate_cents_per_unit": 1}],
        r"base schedule 'm' .*row 1 .*'payer'",
        schedules={"m": {"payer": ["BC"], "code_from": ["99213"], "rate_cents_per_unit": [1]}},
    )
    with pytest.raises(lk.LedgerError, match="no such file"):
        lk.contracts.load(tmp_path / "missing.csv")
    with pytest.raises(TypeError, match="ledgerkit.contracts.load"):
        lk.expected_allowed(contract_ledger([line()]), {"code_from": ["99213"]})


def test_parallel_kernels_give_the_serial_answer(monkeypatch):
    from benchmarks._contracts_data import synthetic_contracts
    from ledgerkit.contracts import expected as expected_module

    ledger = lk.synth.generate(3000, seed=5)
    contracts = synthetic_contracts(ledger, seed=5)
    serial = lk.expected_allowed(ledger, contracts)
    monkeypatch.setattr(expected_module, "PARALLEL_FROM", 0)
    parallel = lk.expected_allowed(ledger, contracts)
    assert parallel.equals(serial)
    reasons = set(serial["reason"].cast(pa.string()).to_pylist())
    assert reasons == {None, "no_contract", "outside_dates", "carve_out", "no_base_rate"}


def test_polars_frames_and_empty_inputs():
    import polars as pl

    rows = [{"payer": "BC", "code_from": "99213", "rate_cents_per_unit": 9000}]
    from_polars = lk.contracts.load(pl.from_arrow(table_of(rows)))
    assert from_polars.table.equals(lk.contracts.load(table_of(rows)).table)
    ledger = contract_ledger([line(), line("E2", payer=None)])
    empty = lk.contracts.load(pa.table({"code_from": pa.array([], pa.string())}))
    result = lk.expected_allowed(ledger, empty).to_pylist()
    assert [r["reason"] for r in result] == ["no_contract", "no_contract"]
    no_lines = contract_ledger([line()])
    no_lines = lk.Ledger(
        no_lines.encounters.slice(0, 0),
        no_lines.procedures.slice(0, 0),
        no_lines.entries.slice(0, 0),
        no_lines.payers,
    )
    assert lk.expected_allowed(no_lines, from_polars).num_rows == 0
