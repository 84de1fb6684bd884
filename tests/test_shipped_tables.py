"""The shipped CSV tables reach Arrow as paths, never as Python file objects.

A Python file read by Arrow's CSV reader leaves Python-owned buffers in Arrow's
I/O threads; released after the interpreter began to exit, one aborted a fresh
process that had only opened a store (CI, stop 28: SIGABRT, "terminate called
without an active exception", about one run in ten).
"""

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from ledgerkit.core.catalog import CarcCatalog
from ledgerkit.core.policy import CarcPolicy
from ledgerkit.core.shipped import read_shipped_csv


@pytest.fixture
def csv_sources(monkeypatch):
    seen = []
    read = pacsv.read_csv

    def recording(source, *args, **kwargs):
        seen.append(source)
        return read(source, *args, **kwargs)

    monkeypatch.setattr(pacsv, "read_csv", recording)
    return seen


@pytest.mark.parametrize("default", [CarcPolicy.default, CarcCatalog.default])
def test_defaults_read_their_csv_from_a_path(csv_sources, default):
    assert default() is not None
    assert csv_sources and all(isinstance(s, str) for s in csv_sources)


def test_read_shipped_csv_keeps_codes_as_strings():
    table = read_shipped_csv("carc_policy.csv", {"carc": pa.string()})
    assert table.schema.field("carc").type == pa.string()
    # CARC "1" must not become the integer 1
    assert "*" in table["carc"].to_pylist()
