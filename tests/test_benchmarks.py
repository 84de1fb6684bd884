"""Every asv benchmark body runs once, small, so benchmarks cannot rot."""

import importlib
import inspect
import subprocess
import sys

import pytest

SMALL = 3_000
MODULES = [
    "benchmarks.bench_core",
    "benchmarks.bench_posting",
    "benchmarks.bench_contracts",
]  # others: their own tests


def _cases():
    for name in MODULES:
        module = importlib.import_module(name)
        for cls_name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__ or not hasattr(cls, "params"):
                continue
            for meth in dir(cls):
                if meth.startswith(("time_", "peakmem_")):
                    yield pytest.param(cls, meth, id=f"{name}.{cls_name}.{meth}")


@pytest.mark.parametrize(("cls", "method"), list(_cases()))
def test_benchmark_body_runs(cls, method):
    params = getattr(cls, "small_params", None) or [
        p[-1] if isinstance(p[0], str) else SMALL for p in cls.params
    ]
    bench = cls()
    bench.setup(*params)
    try:
        getattr(bench, method)(*params)
    finally:
        if hasattr(bench, "teardown"):
            bench.teardown(*params)


@pytest.mark.parametrize("name", ["timeraw_import_ledgerkit", "timeraw_first_classify_of_sample"])
def test_timeraw_code_runs_in_a_fresh_interpreter(name):
    module = importlib.import_module("benchmarks.bench_core")
    code = getattr(module, name)()
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
