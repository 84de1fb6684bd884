"""No garbage collection inside the calls that load Numba and read a ledger.

CPython runs a collection every 700 net allocations of container objects, and
each collection traverses every object younger than the generation it collects.
Loading Numba and ledgerkit's kernels creates about 60,000 such objects (types,
functions, registries), none of them garbage and all alive until the process
exits, so the collections that run meanwhile find nothing and traverse them again
and again: a fresh process reading a 1M-procedure folder and classifying ran 148
collections, 0.04-0.06 s of its 0.5 s on an idle machine and 0.2-0.3 s of CPU
time on a loaded one (README, Figures).

Within :func:`collections_paused` nothing is collected. When the outermost use
ends, the objects created meanwhile join the oldest generation untraversed
(``gc.freeze`` then ``gc.unfreeze``: two list moves), so they do not set off a
collection just by existing; any garbage made meanwhile is freed by the next full
collection. Nothing changes when the user disabled collection or froze objects
(``gc.freeze``: then ``unfreeze`` would release theirs), nor with
``LEDGERKIT_PAUSE_GC=0``.
"""

import contextlib
import gc
import os
import threading

_lock = threading.Lock()
_depth = 0
_resume = False  # whether the outermost use found collection on, and so turns it on


@contextlib.contextmanager
def collections_paused():
    """Within: no garbage collection; after: the new objects in the oldest generation.

    Nested and concurrent uses share one pause; the outermost one ends it.

    Examples
    --------
    >>> import gc
    >>> with collections_paused():
    ...     paused = not gc.isenabled()
    >>> paused, gc.isenabled()
    (True, True)
    """
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled() and os.environ.get("LEDGERKIT_PAUSE_GC") != "0"
            if _resume:
                gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                if gc.get_freeze_count() == 0:
                    gc.freeze()  # every tracked object, untraversed, to the permanent list
                    gc.unfreeze()  # and from there to the oldest generation
                gc.enable()
