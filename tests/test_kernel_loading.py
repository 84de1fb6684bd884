"""A fresh process loads the cold path's kernels from Numba's cache without the context
refresh (``_kernels/loading.py``), and answers as a process that refreshed.

The fresh-process tests are the guard the loader's docstring names: a kernel on that
path whose machine code needed a symbol only the refresh registers would abort the
child (an unresolved symbol), and the test would fail.
"""

from __future__ import annotations

import subprocess
import sys

import numba
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import ledgerkit as lk
from ledgerkit._kernels.loading import load_cached
from ledgerkit._kernels.strings import take_strings_nb

# A module only Numba's context refresh imports (CPUContext.load_additional_registries;
# a cached kernel's environment may import others of its list, e.g. numba.np.arrayobj)
REFRESH_ONLY = "numba.np.polynomial.polynomial_functions"


def _classify_in_child(folder, out, refresh: bool) -> set:
    """Modules loaded by a fresh process that classifies ``folder`` and writes the
    answer to ``out`` (refreshing Numba's context first when asked)."""
    code = "import sys\nimport ledgerkit as lk\n"
    if refresh:
        code += "from numba.core.registry import cpu_target\ncpu_target.target_context.refresh()\n"
    code += (
        f"table = lk.classify(lk.Ledger.from_parquet({str(folder)!r}))\n"
        f"import pyarrow.parquet as pq\npq.write_table(table, {str(out)!r})\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return set(done.stdout.split())


def test_a_fresh_process_classifies_without_the_refresh_and_answers_alike(tmp_path):
    ledger = lk.synth.generate(300, seed=11)
    ledger = ledger.negate(ledger.entries["entry_id"].to_pylist()[-3:], actor="t", note="x")
    folder = ledger.to_parquet(tmp_path / "ledger")
    _classify_in_child(folder, tmp_path / "fill.parquet", refresh=True)  # fills the cache
    refreshed = _classify_in_child(folder, tmp_path / "refreshed.parquet", refresh=True)
    loaded = _classify_in_child(folder, tmp_path / "loaded.parquet", refresh=False)
    assert REFRESH_ONLY in refreshed
    assert REFRESH_ONLY not in loaded  # the kernels came from the cache, no refresh
    answer = pq.read_table(tmp_path / "loaded.parquet")
    assert answer.equals(pq.read_table(tmp_path / "refreshed.parquet"))
    assert answer.equals(lk.classify(ledger))


def _take_args(codes):
    values = pa.array(["CO", "PR"])
    offsets = np.frombuffer(values.buffers()[1], np.int32)[:3]
    data = np.frombuffer(values.buffers()[2], np.uint8)
    codes = np.asarray(codes, np.int32)
    return (
        offsets,
        data,
        codes,
        np.empty(len(codes) + 1, np.int32),
        np.empty(2 * len(codes), np.uint8),
    )


def test_a_loaded_kernel_answers_as_before():
    args = _take_args([1, -1, 0])
    take_strings_nb(*args)  # compiled or loaded the usual way
    assert load_cached(take_strings_nb, *args)  # already there: nothing to do
    n = take_strings_nb(*args)
    assert bytes(args[4][:n]) == b"PRCO"
    assert args[3].tolist() == [0, 2, 2, 4]


def test_a_kernel_without_a_cache_is_left_to_numba():
    @numba.njit  # cache off: nothing to load, the call compiles
    def twice(x):
        return 2 * x

    assert not load_cached(twice, 3)
    assert not twice.overloads
    assert twice(3) == 6


def test_a_signature_not_in_the_cache_is_left_to_numba():
    args = _take_args([0])
    odd = (args[0].astype(np.int64),) + args[1:]  # int64 offsets: never cached by the package
    before = set(take_strings_nb.overloads)
    if load_cached(take_strings_nb, *odd):  # a test run before may have cached it
        assert set(take_strings_nb.overloads) >= before
    assert take_strings_nb(*odd) == 2


def test_anything_but_a_dispatcher_is_refused_quietly():
    assert not load_cached(len, [1, 2])
    assert not load_cached(object(), 1)
