"""benchmarks/children.py: engines in child processes, every process's peak RSS (#19)."""

from __future__ import annotations

import polars as pl
import pyarrow as pa
import pytest

from benchmarks import children


@pytest.fixture(autouse=True)
def _fresh_peaks(monkeypatch):
    monkeypatch.setattr(children, "PEAKS", [])


def test_run_child_answers_with_its_own_peak(capsys):
    out = children.run_child("children", "_echo", [1, "a"], label="echo child")
    assert out["value"] == [1, "a"]
    assert 10 < out["peak_mb"] < children.LIMIT_MB
    assert children.PEAKS == [("echo child", out["peak_mb"])]
    over = children.print_peaks("the test")
    printed = capsys.readouterr().out
    assert over == []
    assert "echo child" in printed and "the test (parent)" in printed
    assert printed.splitlines()[-1] == "every process stayed under 8 GB"


def test_a_failing_child_names_itself():
    with pytest.raises(RuntimeError, match="no_such_function failed in its child process"):
        children.run_child("children", "no_such_function")


def test_print_peaks_says_plainly_which_process_is_over_8_gb(capsys):
    children.record("big engine", children.LIMIT_MB + 1)
    children.record("small engine", 100)
    assert children.print_peaks() == ["big engine"]
    assert capsys.readouterr().out.splitlines()[-1] == "OVER 8 GB: big engine"


def test_column_digests_agree_across_engines_and_see_one_cent():
    table = pa.table(
        {
            "cents": pa.array([100, None, -5], pa.int64()),
            "row": pa.array([3, 1, None], pa.int32()),
            "reason": pa.array(["a", None, "b"]).dictionary_encode(),
        }
    )
    frame = pl.DataFrame(
        {"cents": [100, None, -5], "row": [3, 1, None], "reason": ["a", None, "b"]},
        schema={"cents": pl.Int64, "row": pl.Int64, "reason": pl.String},
    )
    columns = ("cents", "row", "reason")
    assert children.column_digests(table, columns) == children.column_digests(frame, columns)
    one_cent = frame.with_columns(pl.Series("cents", [101, None, -5]))
    a, b = children.column_digests(frame, columns), children.column_digests(one_cent, columns)
    assert a["cents"] != b["cents"] and a["row"] == b["row"]
    # a null is not a zero, nor one reason another
    zero = frame.with_columns(pl.Series("cents", [100, 0, -5]))
    assert children.column_digests(zero, ["cents"]) != children.column_digests(frame, ["cents"])
    swapped = frame.with_columns(pl.Series("reason", ["b", None, "a"]))
    assert children.column_digests(swapped, ["reason"])["reason"] != a["reason"]
