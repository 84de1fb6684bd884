"""Loading a kernel's machine code from Numba's disk cache without the context refresh.

A dispatcher's first call in a process goes through ``Dispatcher.compile``, whose cache
load starts with ``target_context.refresh()``: it imports about 90 modules of
``numba.cpython``, ``numba.np``, ``numba.typed`` (cffi and pycparser with them) and
installs every typing and lowering registry. A compiler needs all of that; machine
code read from the cache needs none of it, only the runtime's symbols. The refresh
took 0.2-0.3 s of a 0.9 s cold ``classify`` of a 1M-procedure folder, more than the
kernel itself (``benchmarks/compare.py --tables cold``).

:func:`load_cached` does what ``compile`` does for a cached signature, minus the
refresh. Anything it does not expect (another Numba version's internals, no cache,
a cache miss) leaves the dispatcher as it was: the call that follows then loads or
compiles the usual way, so the answer never depends on this module. The refresh still
happens the first time anything is compiled, or loaded by Numba's own path.

Only kernels whose machine code needs no symbol that the refresh registers may use
it: ``tests/test_kernel_loading.py`` runs each of them in a fresh process (an
unresolved symbol would abort it) and compares the answer.
"""

from __future__ import annotations

from numba.core.compiler_lock import global_compiler_lock
from numba.core.runtime import rtsys

__all__ = ["load_cached", "load_first", "prepare_runtime"]


def load_cached(dispatcher, *args) -> bool:
    """Load ``dispatcher``'s cached machine code for the types of ``args``.

    Returns True when that specialisation is loaded (now or before), False when it
    is not (not in the cache, caching off, or Numba's internals not as expected):
    calling the dispatcher then loads or compiles it as usual.

    Examples
    --------
    >>> import numpy as np
    >>> from ledgerkit._kernels.strings import take_strings_nb
    >>> values, data = np.array([0, 2], np.int32), np.frombuffer(b"CO", np.uint8)
    >>> args = (values, data, np.zeros(1, np.int32), np.empty(2, np.int32), np.empty(2, np.uint8))
    >>> load_cached(take_strings_nb, *args) in (True, False)  # False: not in the cache yet
    True
    >>> int(take_strings_nb(*args))  # loaded, or compiled as usual
    2
    """
    try:
        signature = tuple(dispatcher.typeof_pyval(a) for a in args)
        if signature in dispatcher.overloads:
            return True
        with global_compiler_lock:  # as Dispatcher.compile: one loader at a time
            if signature in dispatcher.overloads:
                return True
            context = dispatcher.targetctx
            rtsys.initialize(context)  # the runtime's symbols (what the refresh does first)
            result = dispatcher._cache._load_overload(signature, context)
            if result is None or result.objectmode:
                return False
            context.insert_user_function(result.entry_point, result.fndesc, [result.library])
            dispatcher.add_overload(result)
            return True
    except Exception:  # noqa: BLE001 - any surprise: the call takes Numba's own path
        return False


def prepare_runtime() -> None:
    """Create Numba's CPU target and its runtime's helpers now, ahead of the first load.

    Every kernel's first load in a process needs both (:func:`load_cached` starts with
    them): building the target and compiling the runtime's atomic helpers took 0.02-0.05
    s of a cold ``classify`` of a 1M-procedure folder. ``Ledger.from_parquet`` calls
    this while a thread checksums the folder's files, time this thread would otherwise
    spend waiting. Nothing happens with the JIT disabled or on any surprise: the first
    load then does it, as before.

    Examples
    --------
    >>> prepare_runtime()  # then the first load skips it
    """
    try:
        from numba.core import config

        if config.DISABLE_JIT:
            return
        from numba.core.registry import cpu_target

        rtsys.initialize(cpu_target.target_context)  # once per process (rtsys checks)
    except Exception:  # noqa: BLE001 - the first load does it the usual way
        return


def load_first(dispatcher, *args) -> None:
    """:func:`load_cached` before ``dispatcher``'s first call in this process; nothing after.

    Once any specialisation is loaded, typing ``args`` here would only repeat what the
    call's own dispatch does (tens of microseconds on every small call).

    Examples
    --------
    >>> import numpy as np
    >>> from ledgerkit._kernels.keys import is_nondecreasing_nb
    >>> load_first(is_nondecreasing_nb, np.arange(3))  # then nothing: one is loaded
    >>> bool(is_nondecreasing_nb(np.arange(3)))
    True
    """
    if not getattr(dispatcher, "overloads", True):
        load_cached(dispatcher, *args)
