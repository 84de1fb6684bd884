"""ledgerkit's asv benchmarks (see benchmarks/asv_runs.py for running them on commits)."""

import os
from pathlib import Path

# benchmarks/asv_runs.py runs a commit's exported src/ through PYTHONPATH: make sure the
# benchmark processes really import that ledgerkit, not the one installed in the venv.
_EXPECTED = os.environ.get("LEDGERKIT_BENCH_EXPECT_SRC")
if _EXPECTED:
    import ledgerkit

    _FOUND = Path(ledgerkit.__file__).resolve()
    if not _FOUND.is_relative_to(Path(_EXPECTED).resolve()):
        raise ImportError(
            f"benchmarks imported ledgerkit from {_FOUND}, not from the commit under test "
            f"({_EXPECTED}): PYTHONPATH did not reach this process"
        )
