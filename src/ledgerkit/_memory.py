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
"""

import os
import sys

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
