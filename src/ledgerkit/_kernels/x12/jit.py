"""``helper``: how the X12 kernels' small functions are compiled."""

from __future__ import annotations

import inspect

from numba.extending import overload


def helper(fn=None, *, nrt: bool = True):
    """Make ``fn`` a helper of the kernels, compiled once per argument *types*.

    An @njit function called from a kernel with integer constants (field numbers,
    error codes) is compiled once per combination of their values: ``set_span`` had
    50 variants, ``fail`` 34, 130 in all, a third of the tokenizer's cold
    compile; the 835 writer's ``literal_el`` had 19. An ``overload`` tries
    non-literal types first. ``fn`` stays a plain Python function outside compiled
    code. ``helper(nrt=False)`` compiles without reference counting (for helpers
    that allocate nothing, called many times a row).
    """
    if fn is None:
        return lambda fn: helper(fn, nrt=nrt)
    # The kernels' options (_njit.NJIT_OPTIONS but the cache: a helper is cached in its
    # kernel), without the wrappers that would make it callable from Python: each
    # caller links its helpers' code and optimises it again, wrappers included.
    options = {"nogil": True, "error_model": "numpy"}
    options.update(no_cpython_wrapper=True, no_cfunc_wrapper=True)
    if not nrt:
        options["_nrt"] = False

    def typing(*args):
        return fn

    typing.__signature__ = inspect.signature(fn)
    overload(fn, jit_options=options, prefer_literal=False)(typing)
    return fn
