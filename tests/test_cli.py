"""The command line: demo, classify, sample and warm (post and review: test_store.py)."""

from __future__ import annotations

import os

import pytest

import ledgerkit as lk
from ledgerkit.cli import main


def test_demo_prints_the_summary_without_patient_identifiers(capsys):
    assert main(["--no-progress", "demo"]) == 0
    out = capsys.readouterr().out
    assert "classified in" in out and "PARTIAL_DENIAL" in out and "by stage" in out
    ids = set(lk.synth.load_sample().encounters["encounter_id"].to_pylist())
    assert not any(e in out for e in ids)


def test_sample_then_classify_a_folder(tmp_path, capsys):
    assert main(["sample", str(tmp_path)]) == 0
    assert (tmp_path / "ledger" / "entries.parquet").exists()
    capsys.readouterr()
    assert main(["--no-progress", "classify", str(tmp_path / "ledger")]) == 0
    out = capsys.readouterr().out
    n = lk.Ledger.from_parquet(tmp_path / "ledger").encounters.num_rows
    assert f"{n:,}" in out


def test_classify_a_folder_that_is_not_a_ledger(tmp_path, capsys):
    assert main(["--no-progress", "classify", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert "error" in err and "missing" in err


def test_warm_times_every_kernel_family(capsys):
    assert main(["warm"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    families = (
        "ledger and classify",
        "835 read and write",
        "posting",
        "rules",
        "denial",
        "contracts",
    )
    for n, (family, line) in enumerate(zip(families, lines, strict=False), start=1):
        assert line.startswith(f"[{n}/6] kernels of {family}") and line.endswith(" s")
    # then one line per process: its families, wall and CPU seconds (issue #19)
    processes = lines[6:-1]
    assert len(processes) == (2 if (os.cpu_count() or 1) > 1 else 1)
    assert processes[0].startswith("process 1 (ledger and classify, ")
    assert all(" s, CPU " in line and line.endswith(" s") for line in processes)
    assert lines[-1].startswith("every kernel compiled (or loaded from Numba's cache) in")


@pytest.mark.parametrize("argv", [[], ["nonsense"]])
def test_usage_errors_exit_2(argv, capsys):
    # issue #18: a usage mistake is one line (not argparse's usage block), exit code 2
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("ledgerkit: error: ")
