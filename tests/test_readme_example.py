"""The README's "Ten lines of Python" run as printed, from any directory (issue #18)."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow.compute as pc

import ledgerkit as lk

README = Path(__file__).resolve().parents[1] / "README.md"


def _example() -> str:
    text = README.read_text()
    return re.search(r"## Ten lines of Python\n\n```python\n(.*?)```", text, re.S).group(1)


def test_the_readme_example_runs_outside_the_repository(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # not the repository root: no data/samples here
    names: dict = {}
    exec(compile(_example(), str(README), "exec"), names)
    out = capsys.readouterr().out
    assert "by class" in out
    ledger, ledger2 = names["ledger"], names["ledger2"]
    # its prose: entry 2 is a payment, negated as "posted to the wrong claim"
    assert "negate([2]" in _example() and "entry 2: a payment" in _example()
    entry = ledger.entries.filter(pc.equal(ledger.entries["entry_id"], 2)).to_pylist()[0]
    assert entry["kind"] == "payment" and entry["source"] == "remit"
    negation = ledger2.entries.filter(pc.equal(ledger2.entries["negates"], 2)).to_pylist()
    assert [n["amount_cents"] for n in negation] == [-entry["amount_cents"]]
    assert negation[0]["note"] == "posted to the wrong claim"
    # the patient's payment of what was open leaves that line with nothing open for them
    owed = names["owed"]

    def line_of(some_ledger):
        lines = lk.balances(some_ledger, level="procedure")
        at = pc.and_(
            pc.equal(lines["encounter_id"], owed["encounter_id"]),
            pc.equal(lines["line"], owed["line"]),
        )
        return lines.filter(at).to_pylist()[0]

    negated_only = line_of(ledger.negate([2], actor="poster", note="posted to the wrong claim"))
    after = line_of(ledger2)
    assert after["open_pr"] == 0
    assert after["balance"] == negated_only["balance"] - owed["open_pr"]
