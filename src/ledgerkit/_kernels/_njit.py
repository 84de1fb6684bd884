"""The one place Numba's options are chosen.

``cache=True`` writes compiled kernels next to the package so a fresh process
skips compilation (first ``classify`` of ``synth.generate(60, seed=0)`` in a
fresh process on a busy 2-core machine: 6.5 s with an empty cache, 0.04 s with
a filled one; ``benchmarks/compare.py`` reports the cold figure for its ledger
as "first call"). The known crash reports with
cached parallel kernels concern forked multiprocessing; Dask workers here are
spawned processes and load the cache fine. ``fastmath`` stays off: nothing
here needs it and money is integer anyway.
"""

import numba

NJIT_OPTIONS = {"nogil": True, "cache": True, "error_model": "numpy"}


def njit(*args, **kwargs):
    """``numba.njit`` with the project's options (serial)."""
    return numba.njit(*args, **NJIT_OPTIONS, **kwargs)


def njit_parallel(*args, **kwargs):
    """``numba.njit`` with the project's options and ``parallel=True``."""
    return numba.njit(*args, parallel=True, **NJIT_OPTIONS, **kwargs)
