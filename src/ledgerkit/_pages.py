"""numpy's huge-page advice: off in a process that imports ledgerkit, unless asked for.

On Linux, numpy advises the kernel to back each large array with 2 MB pages
(``madvise(MADV_HUGEPAGE)``). Where transparent huge pages are in ``madvise``
mode, every fresh array then faults in and zeroes 2 MB at a time. On the shared
virtual machines our users run on, that system time set the figures: the
analytics facts' first call at 10M procedures took 3.4-5.1 s with the advice and
1.3-1.6 s without, and a post of 1M claims into 10M procedures 15.4-28.7 s
against 12.4-17.3 s (README, Figures). The warm kernels showed no loss without it.

So ``import ledgerkit`` turns the advice off, for numpy imported before or after
it and for child processes (Dask workers, benchmarks' children), unless
``NUMPY_MADVISE_HUGEPAGE`` is set: then it is the user's choice and stands
(``NUMPY_MADVISE_HUGEPAGE=1`` keeps numpy's advice).
"""

import os
import sys

VARIABLE = "NUMPY_MADVISE_HUGEPAGE"


def settle_huge_pages() -> bool:
    """Turn numpy's huge-page advice off unless ``NUMPY_MADVISE_HUGEPAGE`` is set.

    Returns whether this call changed anything (False when the variable was set).

    Examples
    --------
    >>> import os
    >>> from ledgerkit._pages import settle_huge_pages
    >>> settle_huge_pages()  # ledgerkit's import did it already, or the user chose
    False
    >>> "NUMPY_MADVISE_HUGEPAGE" in os.environ
    True
    """
    if VARIABLE in os.environ:
        return False
    os.environ[VARIABLE] = "0"  # numpy reads it when imported, here and in children
    numpy = sys.modules.get("numpy")
    if numpy is not None:  # imported already: tell the running numpy too
        core = getattr(numpy, "_core", None) or numpy.core
        core.multiarray._set_madvise_hugepage(False)
    return True
