"""The command line from files to answers (issue #18): store create, post, review, classify
on the bundled data, and one clear line with exit code 2 for each input mistake."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.compute as pc
import pytest

import ledgerkit as lk
from ledgerkit.cli import main
from ledgerkit.synth.samples import SAMPLE_FILES, sample_remittances

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_835 = ROOT / "data" / "samples" / "835"
CLI = [sys.executable, "-m", "ledgerkit.cli"]


def _run(argv, capsys):
    code = main(["--no-progress", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def _one_line_error(code, err, *words):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ledgerkit: error: "), err
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0], (word, lines[0])


@pytest.fixture(scope="module")
def sample_ids():
    return set(lk.synth.load_sample().encounters["encounter_id"].to_pylist())


# --------------------------------------------------------------------- the end-to-end path
def test_bundled_835_files_answer_the_bundled_ledger():
    # the files on disk are what sample_remittances builds from the bundled ledger
    built = sample_remittances()
    for name in SAMPLE_FILES:
        on_disk = lk.read_835(SAMPLE_835 / name)
        assert on_disk.claims["encounter_id"].equals(built[name].claims["encounter_id"]), name
        assert on_disk.claims["paid_cents"].equals(built[name].claims["paid_cents"]), name
    ids = lk.read_835(sorted(SAMPLE_835.glob("*.835"))).claims["encounter_id"]
    known = lk.synth.load_sample().encounters["encounter_id"]
    assert pc.all(pc.is_in(ids, value_set=known)).as_py()


def test_create_post_classify_the_bundled_data(tmp_path, capsys, sample_ids):
    store = tmp_path / "store"
    code, out, _ = _run(["store", "create", str(store), "--sample", "--actor", "t"], capsys)
    assert code == 0
    assert "20,000 encounters" in out and f"ledgerkit post {store}" in out

    files = [str(p) for p in sorted(SAMPLE_835.glob("*.835"))]
    code, out, err = _run(["post", str(store), *files], capsys)
    assert code == 0, err
    lines = out.splitlines()
    # 9 claims posted: the four of primary_mixed, one each of claim_level_only,
    # provider_adjustment and secondary, the reversal and its correction
    assert lines[0] == "posted            9 claims            $734.35"
    assert lines[2] == "flagged           0 claims              $0.00  (new)"
    assert "2 provider-level adjustments (PLB) stored: $21.88" in out
    assert "41 entries appended; store version 1" in out
    assert f"review queue: empty; next: ledgerkit classify {store}" in out
    assert not any(e in out for e in sample_ids)
    ledger = lk.LedgerStore(store).ledger()
    decisions = lk.LedgerStore(store).decisions()
    assert set(decisions["decision"].to_pylist()) == {"posted"}
    assert sorted(decisions["reason_code"].to_pylist()) == ["first_remit"] * 8 + ["reversal"]

    # what the files were built to show, as classify reads it
    answered = {
        c["encounter_id"]: c["status_code"]
        for name in ("primary_mixed.835",)
        for c in lk.read_835(SAMPLE_835 / name).claims.to_pylist()
    }
    table = lk.classify(ledger)
    classes = dict(zip(table["encounter_id"].to_pylist(), table["class"].to_pylist(), strict=True))
    assert sorted(classes[e] for e in answered) == [
        "DENIAL", "PAID", "PARTIAL_DENIAL", "UNRESOLVED",
    ]  # fmt: skip

    code, out, _ = _run(["classify", str(store)], capsys)
    assert code == 0
    assert "20,000 encounters" in out and "by class" in out

    # the same files again: nothing new, and said so
    code, out, _ = _run(["post", str(store), *files], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "posted            0 claims              $0.00"
    assert lines[1] == (
        "archived          9 claims            $734.35  (already posted: these remits are in "
        "the store)"
    )
    assert "0 entries appended" in out
    assert lk.LedgerStore(store).ledger().entries.num_rows == ledger.entries.num_rows


def test_reposting_a_flagged_file_flags_nothing_new(tmp_path, capsys):
    ledger = lk.synth.generate(30, seed=4)
    charges = ledger.entries.filter(pc.equal(ledger.entries["source"].cast("string"), "charge"))
    base = lk.Ledger.from_arrow(ledger.encounters, ledger.procedures, charges, ledger.payers)
    base.to_parquet(tmp_path / "ledger")
    store = tmp_path / "store"
    assert (
        _run(["store", "create", str(store), "--ledger", str(tmp_path / "ledger")], capsys)[0] == 0
    )
    # remits of another ledger: their claims name encounters with other procedures
    other = lk.synth.remittances(lk.synth.generate(30, seed=5))
    lk.write_835(other, tmp_path / "other.835")
    code, out, _ = _run(["post", str(store), str(tmp_path / "other.835")], capsys)
    assert code == 0
    n_flagged = lk.LedgerStore(store).flagged().num_rows
    assert n_flagged > 0
    flagged_line = next(line for line in out.splitlines() if line.startswith("flagged"))
    assert f"{n_flagged:>9,} claims" in flagged_line and "(new)" in flagged_line
    assert f"review queue: {n_flagged:,} flagged remits; next: ledgerkit review {store}" in out

    code, out, _ = _run(["post", str(store), str(tmp_path / "other.835")], capsys)
    assert code == 0
    lines = out.splitlines()
    i = next(i for i, line in enumerate(lines) if line.startswith("flagged"))
    assert lines[i].startswith("flagged           0 claims              $0.00  (new)")
    assert f"{n_flagged:,} claims already in the review queue" in lines[i + 1]
    assert lk.LedgerStore(store).flagged().num_rows == n_flagged


def test_review_decodes_claim_statuses_and_says_what_next(tmp_path, capsys):
    ledger = lk.synth.generate(30, seed=4)
    store = tmp_path / "store"
    lk.LedgerStore.create(store, ledger, actor="t")
    r = lk.synth.remittances(lk.synth.generate(30, seed=5))
    lk.LedgerStore(store).post(r)
    code, out, _ = _run(["review", str(store)], capsys)
    assert code == 0
    lines = out.splitlines()
    n = lk.LedgerStore(store).flagged().num_rows
    assert lines[0] == f"{n:,} flagged remits in {store}"
    rows = lines[1:-1]
    assert len(rows) == n
    assert all(re.search(r"  claim status \S+ \([a-z ,:]+\)  paid \$", row) for row in rows)
    assert any("claim status 1 (processed as primary)" in row for row in rows)
    assert lines[-1].startswith("next: decide each in the PostingReview widget")
    assert ".post_flagged(remit_id" in lines[-1] and ".archive(remit_id" in lines[-1]
    assert not any(e in out for e in ledger.encounters["encounter_id"].to_pylist())


def test_claim_status_words():
    from ledgerkit.x12.codes import CLAIM_STATUS, claim_status_words

    assert claim_status_words("22") == "22 (reversal of a previous payment)"
    assert claim_status_words("4") == "4 (denied)"
    assert claim_status_words("19") == "19 (processed as primary, forwarded to another payer)"
    assert claim_status_words("23") == "23 (not our claim, forwarded to another payer)"
    assert all("not a claim status" not in claim_status_words(c) for c in CLAIM_STATUS)


def test_review_into_a_closed_pipe_exits_quietly(tmp_path):
    ledger = lk.synth.generate(30, seed=4)
    store = tmp_path / "store"
    lk.LedgerStore.create(store, ledger, actor="t")
    lk.LedgerStore(store).post(lk.synth.remittances(lk.synth.generate(30, seed=5)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [*CLI, "review", str(store)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    proc.stdout.close()  # `| head -0`: the reader is gone before the first line
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=300) == 0, err
    assert err == "", err


def test_store_create_from_837_claims(tmp_path, capsys):
    ledger = lk.synth.generate(25, seed=6)
    folder = tmp_path / "claims"
    folder.mkdir()
    lk.write_837(ledger, folder / "claims.837")
    store = tmp_path / "store"
    code, out, err = _run(["store", "create", str(store), "--claims", str(folder)], capsys)
    assert code == 0, err
    n = lk.read_837(folder).claims.num_rows
    assert f"{n:,} encounters" in out
    created = lk.LedgerStore(store).ledger()
    assert created.encounters.num_rows == n
    assert set(created.entries["source"].cast("string").to_pylist()) == {"charge"}
    charge = pc.sum(created.entries["amount_cents"]).as_py()
    assert charge == pc.sum(lk.read_837(folder).service_lines["charge_cents"]).as_py()


def test_store_create_needs_one_source_and_a_new_folder(tmp_path, capsys):
    code, _, err = _run(["store", "create", str(tmp_path / "s")], capsys)
    _one_line_error(code, err, "one of the arguments --ledger --sample --claims is required")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    code, _, err = _run(["store", "create", str(tmp_path / "full"), "--sample"], capsys)
    _one_line_error(code, err, "full: folder exists and is not empty")
    code, _, err = _run(["store", "create", str(tmp_path / "s"), "--ledger", "nowhere"], capsys)
    _one_line_error(code, err, "nowhere: not a folder")


# --------------------------------------------------------------------- input mistakes
def test_csv_renamed_parquet(tmp_path, capsys):
    lk.synth.generate(10, seed=1).to_parquet(tmp_path / "ledger")
    (tmp_path / "ledger" / "entries.parquet").write_text("entry_id,amount_cents\n1,100\n")
    code, _, err = _run(["classify", str(tmp_path / "ledger")], capsys)
    _one_line_error(code, err, "entries.parquet: not a Parquet file")
    with pytest.raises(lk.LedgerError, match=r"entries\.parquet: not a Parquet file"):
        lk.Ledger.from_parquet(tmp_path / "ledger")
    # one file given where a folder is expected
    code, _, err = _run(["classify", str(tmp_path / "ledger" / "entries.parquet")], capsys)
    _one_line_error(code, err, "is a file, not a ledger folder")


def test_demo_needs_a_positive_number_of_encounters(capsys):
    code, _, err = _run(["demo", "--encounters", "-5"], capsys)
    _one_line_error(code, err, "--encounters", "1 or more, got -5")
    code, _, err = _run(["demo", "--encounters", "many"], capsys)
    _one_line_error(code, err, "expected a whole number")


def test_sample_into_an_existing_file(tmp_path, capsys):
    target = tmp_path / "notes.txt"
    target.write_text("keep me")
    code, _, err = _run(["sample", str(target)], capsys)
    _one_line_error(code, err, "notes.txt: is a file")
    assert target.read_text() == "keep me"


def test_a_readme_given_as_an_835(tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text("# Remits\n\nPut the payer's files here.\n")
    lk.LedgerStore.create(tmp_path / "store", lk.synth.generate(10, seed=1), actor="t")
    code, _, err = _run(["post", str(tmp_path / "store"), str(readme)], capsys)
    _one_line_error(code, err, "README.md: not an X12 file")
    assert lk.LedgerStore(tmp_path / "store").version == 0
    with pytest.raises(lk.X12Error, match=r"README\.md: not an X12 file"):
        lk.read_835(readme)
    with pytest.raises(lk.X12Error, match=r"README\.md: not an X12 file"):
        lk.read_837(readme)


def test_missing_files_and_stores(tmp_path, capsys):
    code, _, err = _run(["post", str(tmp_path / "nostore"), "x.835"], capsys)
    _one_line_error(code, err, "nostore: not a ledger store")
    lk.LedgerStore.create(tmp_path / "store", lk.synth.generate(10, seed=1), actor="t")
    code, _, err = _run(["post", str(tmp_path / "store"), str(tmp_path / "gone.835")], capsys)
    _one_line_error(code, err, "gone.835")
    code, _, err = _run(["review", str(tmp_path / "nostore")], capsys)
    _one_line_error(code, err, "nostore: not a ledger store")
    code, _, err = _run(["classify", str(tmp_path / "nothing")], capsys)
    _one_line_error(code, err, "nothing: no such store or ledger folder")


def test_classify_of_none():
    with pytest.raises(lk.LedgerError, match=r"^classify needs a ledger .* got None; load"):
        lk.classify(None)
    with pytest.raises(lk.LedgerError, match=r"needs a ledger .* got a str"):
        lk.worklist("data/samples/ledger")


def test_a_date_not_in_iso_format():
    ledger = lk.synth.generate(10, seed=1)
    with pytest.raises(
        lk.LedgerError, match=r"as_of: '30/06/2025' is not a date in ISO .*'2025-06-30'"
    ):
        ledger.as_of("30/06/2025")
    from ledgerkit.analytics import metrics

    with pytest.raises(lk.LedgerError, match=r"today: '30/06/2025' is not a date in ISO format"):
        metrics.aging(ledger, today="30/06/2025")
    assert ledger.as_of("2099-01-01").entries.num_rows == ledger.entries.num_rows


def test_usage_mistakes_are_one_line():
    for argv in ([], ["nonsense"], ["store"], ["post"]):
        proc = subprocess.run(
            [*CLI, *argv],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
            timeout=300,
        )
        _one_line_error(proc.returncode, proc.stderr, "see 'ledgerkit")


def test_help_names_the_commands():
    proc = subprocess.run(
        [*CLI, "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        timeout=300,
    )
    assert proc.returncode == 0
    for words in ("store", "ledgerkit store create STORE --sample", "ledgerkit review STORE"):
        assert words in proc.stdout


def test_post_shows_progress_at_a_terminal_only(tmp_path, capsys, monkeypatch):
    store = tmp_path / "store"
    lk.LedgerStore.create(store, lk.synth.load_sample(), actor="t")
    files = [str(p) for p in sorted(SAMPLE_835.glob("*.835"))]
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(["post", str(store), files[0]]) == 0
    err = capsys.readouterr().err
    assert "reading 835" in err and "1/1" in err and "claims" in err and "posting" in err
    assert main(["post", str(store), files[1], "--quiet"]) == 0
    out = capsys.readouterr()
    assert out.err == "" and "posted" in out.out
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)  # a pipe or a log: no bars
    assert main(["post", str(store), files[2]]) == 0
    assert capsys.readouterr().err == ""
