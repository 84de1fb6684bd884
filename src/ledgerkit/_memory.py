"""How this process allocates large arrays, settled when ledgerkit is imported.

Two defaults change, each only when the user has not set its variable (then the
user's choice stands):

* ``NUMPY_MADVISE_HUGEPAGE=0``: on Linux, numpy advises the kernel to back each
  large array with 2 MB pages. Where transparent huge pages are in ``madvise``
  mode, every fresh array then faults in and zeroes 2 MB at a time.
* ``ARROW_DEFAULT_MEMORY_POOL=system``: pyarrow's default pool (mimalloc) hands
  freed memory back to the kernel within milliseconds and takes it again 2 MB page
  at a time, so every Arrow take, concatenation or conversion of a large column
  paid for zeroed pages anew. glibc's allocator keeps that cost to the pages
  actually touched.

On the shared virtual machines our users run on, that system time set the
figures (README, Figures; alternating runs at 10M procedures): a post of 1M
claims took 12.4-17.3 s without numpy's advice against 15.4-28.7 s with it, and
with both defaults 5.0-8.3 s against 9.9-20.3 s on mimalloc; the analytics facts'
first call 1.3-1.6 s against 3.4-5.1 s. Warm kernels and the cold read of a
folder showed no loss. ``NUMPY_MADVISE_HUGEPAGE=1`` or
``ARROW_DEFAULT_MEMORY_POOL=mimalloc`` keeps the library's own default.

Within the long operations (``post``, ``Ledger.from_arrow`` and ``from_parquet``,
building a ledger's keys), :func:`freed_memory_reused` has glibc keep the large
blocks freed for the next ones, and hands them back when the operation ends: a post
of 1M claims into 10M procedures took 7.1-9.1 s with it against 10.4-13.2 s
without (alternating processes, system time 0.7-1.2 s against 2.2-4.5 s a post).
"""

import contextlib
import functools
import os
import sys
import threading

SETTINGS = {"NUMPY_MADVISE_HUGEPAGE": "0", "ARROW_DEFAULT_MEMORY_POOL": "system"}


def settle_memory() -> list[str]:
    """Apply :data:`SETTINGS` that the user has not set; the variables it set.

    The variables reach numpy and pyarrow imported later and child processes
    (Dask workers, benchmarks' children); numpy or pyarrow imported already are
    told directly.

    Examples
    --------
    >>> from ledgerkit._memory import settle_memory
    >>> settle_memory()  # ledgerkit's import did it already, or the user chose
    []
    """
    chosen = [name for name in SETTINGS if name not in os.environ]
    for name in chosen:
        os.environ[name] = SETTINGS[name]
    numpy = sys.modules.get("numpy")
    if "NUMPY_MADVISE_HUGEPAGE" in chosen and numpy is not None:
        core = getattr(numpy, "_core", None) or numpy.core
        core.multiarray._set_madvise_hugepage(False)
    pyarrow = sys.modules.get("pyarrow")
    if "ARROW_DEFAULT_MEMORY_POOL" in chosen and hasattr(pyarrow, "system_memory_pool"):
        pyarrow.set_memory_pool(pyarrow.system_memory_pool())
    return chosen


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4
_GLIBC_MMAP_MAX = 65536  # glibc's default
_KEEP = 2**31 - 1  # the largest trim threshold mallopt takes (an int)
_AFTER = 64 << 20  # twice glibc's largest dynamic mmap threshold, as glibc would
# set by the user for glibc: then the user's allocator settings stand
_GLIBC_VARIABLES = (
    "GLIBC_TUNABLES",
    "MALLOC_MMAP_MAX_",
    "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_TOP_PAD_",
    "MALLOC_TRIM_THRESHOLD_",
)
_lock = threading.Lock()
_depth = 0


def _glibc():
    """glibc, when it allocates here and the user left its settings alone; else None."""
    if os.environ.get("LEDGERKIT_REUSE_FREED_MEMORY") == "0":
        return None
    if any(name in os.environ for name in _GLIBC_VARIABLES):
        return None
    return _libc()


@functools.cache
def _libc():
    # imported here: `import ledgerkit` stays light (tests/test_import_time.py)
    import ctypes
    import platform

    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return None
    return ctypes.CDLL(None)


@contextlib.contextmanager
def freed_memory_reused():
    """Within: glibc reuses the large blocks freed; at the end, hands them back.

    glibc maps every block over its threshold (32 MB at most) afresh and unmaps it
    when freed, so each large temporary of a long operation (a post builds and drops
    dozens of column-sized arrays) pays for zeroed pages again. Within this context
    large blocks come from the heap and stay there when freed, ready for the next
    one; when the outermost context ends, the heap's free pages are handed back
    (``malloc_trim``), so a notebook keeps no more than it did before. Nested and
    concurrent uses share one setting. Nothing changes off glibc, when the user set
    glibc's variables (``MALLOC_*_``, ``GLIBC_TUNABLES``) or
    ``LEDGERKIT_REUSE_FREED_MEMORY=0``.

    Examples
    --------
    >>> import numpy as np
    >>> with freed_memory_reused():
    ...     total = sum(int(np.ones(1 << 22).sum()) for _ in range(3))
    >>> total
    12582912
    """
    global _depth
    libc = _glibc()
    if libc is None:
        yield
        return
    with _lock:
        _depth += 1
        if _depth == 1:
            libc.mallopt(_M_MMAP_MAX, 0)
            libc.mallopt(_M_TRIM_THRESHOLD, _KEEP)
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                libc.mallopt(_M_MMAP_MAX, _GLIBC_MMAP_MAX)
                libc.mallopt(_M_TRIM_THRESHOLD, _AFTER)
                libc.malloc_trim(0)
