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

import threading

from numba.core.compiler_lock import global_compiler_lock
from numba.core.runtime import rtsys

__all__ = ["PREFETCH", "Prefetch", "load_cached"]


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


class Prefetch:
    """Cached kernels loaded by one background thread while the caller reads files.

    Reading Parquet and checking a sidecar's CRCs release the GIL; loading machine code
    does not, for the most part. A thread that loads the kernels a first call will need
    while the caller reads overlaps the two. :meth:`start` starts at most one thread at a
    time, and none when every kernel asked for is loaded already; :meth:`wait` joins it,
    so that no thread is left working once the call that needed the kernels returns. The
    thread only calls :func:`load_cached`, which never raises: whatever it could not load
    is loaded (or compiled, or refused with Numba's own error) by the call itself.

    Examples
    --------
    >>> import numpy as np
    >>> from ledgerkit._kernels.strings import take_strings_nb
    >>> prefetch = Prefetch()
    >>> jobs = [(take_strings_nb, (np.zeros(1, np.int32), np.zeros(1, np.uint8),
    ...          np.zeros(1, np.int32), np.zeros(2, np.int32), np.zeros(1, np.uint8)))]
    >>> started = prefetch.start(jobs)
    >>> prefetch.wait()
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self, jobs) -> bool:
        """Load ``jobs`` (``(dispatcher, example arguments)`` pairs: the types matter,
        not the values) in a daemon thread; False when none was started (one runs
        already, or everything is loaded)."""
        jobs = [(d, args) for d, args in jobs if not _is_loaded(d, args)]
        with self._lock:
            if not jobs or (self._thread is not None and self._thread.is_alive()):
                return False
            self._thread = threading.Thread(
                target=_load_all, args=(jobs,), name="ledgerkit-kernel-prefetch", daemon=True
            )
            self._thread.start()
            return True

    def wait(self) -> None:
        """Return once no prefetch is running (at once when none was started)."""
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()


def _is_loaded(dispatcher, args) -> bool:
    try:
        return tuple(dispatcher.typeof_pyval(a) for a in args) in dispatcher.overloads
    except Exception:  # noqa: BLE001 - not a dispatcher: nothing to load
        return True


def _load_all(jobs) -> None:
    for dispatcher, args in jobs:
        load_cached(dispatcher, *args)


# The one prefetch of the process: Ledger.from_parquet starts it, the first call waits.
PREFETCH = Prefetch()
