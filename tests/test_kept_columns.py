"""A Parquet folder's ledger keeps the encounter columns it read alone: a second
classify reads no encounter_id again, and the answer is the same."""

import pyarrow as pa
import pytest

import ledgerkit as lk
from ledgerkit.core import parquet_read, sidecar


@pytest.fixture
def reads(monkeypatch):
    """(table, column) of every column read alone from a Parquet file."""
    seen = []
    for cls in (sidecar.LazyTable, parquet_read.PartTable):
        original = cls.column

        def counted(self, column, _original=original):
            seen.append((self.name, column))
            return _original(self, column)

        monkeypatch.setattr(cls, "column", counted)
    return seen


@pytest.mark.parametrize("sidecar_kept", [True, False], ids=["keys sidecar", "plain Parquet"])
def test_classify_twice_reads_encounter_ids_once(tmp_path, reads, sidecar_kept):
    ledger = lk.synth.generate(300, seed=7)
    folder = ledger.to_parquet(tmp_path / "ledger")
    if not sidecar_kept:
        for path in folder.iterdir():
            if not path.name.endswith(".parquet"):
                path.unlink()
    opened = lk.Ledger.from_parquet(folder)
    first = lk.classify(opened)
    second = lk.classify(opened)
    assert first.equals(second)
    assert first.equals(lk.classify(ledger))
    assert reads.count(("encounters", "encounter_id")) == 1


def test_only_encounter_and_payer_columns_are_kept(tmp_path, reads):
    ledger = lk.synth.generate(50, seed=3)
    opened = lk.Ledger.from_parquet(ledger.to_parquet(tmp_path / "ledger"))
    for _ in range(2):
        assert opened.column("encounters", "encounter_id").equals(
            ledger.encounters["encounter_id"]
        )
        column = opened.column("entries", "amount_cents")
        assert pa.chunked_array(column).to_pylist() == ledger.entries["amount_cents"].to_pylist()
    assert reads.count(("encounters", "encounter_id")) == 1
    # the entries are many: read again rather than held twice
    assert reads.count(("entries", "amount_cents")) == 2
