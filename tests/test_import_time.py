"""``import ledgerkit`` stays light (issue #19): the heavy libraries load on first use.

A structural check, not a timing test: a fresh interpreter imports ledgerkit and then
lists which heavy modules came with it. numba alone costs 0.2-0.4 s to import (more
under load); deltalake, plotly, polars, pandas and ipywidgets are only needed by the
store, the reports, the widgets and the comparisons.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("numba", "pyarrow", "pandas", "deltalake", "plotly", "polars", "ipywidgets", "duckdb")


def _modules_after(code: str) -> set:
    listing = "import json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\n{listing}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_import_ledgerkit_loads_no_heavy_library():
    loaded = _modules_after("import ledgerkit")
    assert not [m for m in HEAVY if m in loaded]


def test_public_names_still_resolve_lazily():
    loaded = _modules_after(
        "import ledgerkit as lk\nassert callable(lk.classify) and lk.Ledger.__name__ == 'Ledger'"
        "\nassert 'DENIAL' in lk.CLASSES and lk.synth.generate"
    )
    assert "numba" in loaded  # the kernels came with classify
    assert not {"deltalake", "plotly", "polars", "ipywidgets"} & loaded


@pytest.mark.parametrize(
    "code",
    [
        "import ledgerkit as lk\nlk.Ledger.from_parquet",
        "from ledgerkit import Ledger, classify, LedgerError",
    ],
)
def test_the_cold_path_needs_no_store_or_report_library(code):
    loaded = _modules_after(code)
    assert not {"deltalake", "plotly", "polars", "ipywidgets", "pandas"} & loaded


def test_first_classify_from_a_folder_imports_no_pandas(tmp_path):
    """pa.array's first call imports pandas (0.1-0.2 s): the cold path avoids it."""
    import ledgerkit as lk

    folder = lk.synth.generate(50, seed=0).to_parquet(tmp_path / "ledger")
    loaded = _modules_after(
        f"import ledgerkit as lk\nlk.classify(lk.Ledger.from_parquet({str(folder)!r}))"
    )
    assert "numba" in loaded and "pandas" not in loaded


def test_first_classify_from_a_folder_with_keys_imports_no_pyarrow_compute(tmp_path):
    """Importing pyarrow.compute costs about 0.05 s and the sidecar path calls none of
    its functions: core takes it from ledgerkit.core.compute, imported on first use."""
    import ledgerkit as lk

    folder = lk.synth.generate(50, seed=0).to_parquet(tmp_path / "ledger")
    loaded = _modules_after(
        f"import ledgerkit as lk\nlk.classify(lk.Ledger.from_parquet({str(folder)!r}))"
    )
    assert "numba" in loaded and "pyarrow.compute" not in loaded
    used = _modules_after("from ledgerkit.core.compute import pc\nassert pc.sum is pc.sum")
    assert "pyarrow.compute" in used  # the first use imports it
