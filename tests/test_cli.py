"""The command line: demo, classify, sample and warm (post and review: test_store.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import ledgerkit as lk
from ledgerkit.cli import main
from ledgerkit.warmup import FAMILIES


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
        "denial analytics",
        "denial work on a store",
        "contracts",
    )
    assert len(families) == len(FAMILIES)
    for n, (family, line) in enumerate(zip(families, lines, strict=False), start=1):
        assert line.startswith(f"[{n}/7] kernels of {family}") and line.endswith(" s")
    # then one line per process: its families, wall and CPU seconds (issue #19)
    processes = lines[7:-1]
    assert len(processes) == (2 if (os.cpu_count() or 1) > 1 else 1)
    assert processes[0].startswith("process 1 (ledger and classify, ")
    assert all(" s, CPU " in line and line.endswith(" s") for line in processes)
    assert lines[-1].startswith("every kernel compiled (or loaded from Numba's cache) in")


def test_the_notebooks_need_no_kernel_the_warm_up_leaves_out():
    # issue #19: after `ledgerkit warm` a notebook compiles nothing. In a fresh process
    # (what this one ran before cannot count), the warm-up's families, then the calls
    # of notebooks/: the kernel signatures only the latter held, compiled or loaded
    # from the cache, whatever the cache held (tests/notebook_calls.py; about 15 s
    # with the cache this suite's warm-up filled)
    script = Path(__file__).with_name("notebook_calls.py")
    run = subprocess.run(
        [sys.executable, str(script), "--after-warm"], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert json.loads(run.stdout.splitlines()[-1]) == []


@pytest.mark.parametrize("argv", [[], ["nonsense"]])
def test_usage_errors_exit_2(argv, capsys):
    # issue #18: a usage mistake is one line (not argparse's usage block), exit code 2
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("ledgerkit: error: ")
