"""``helper``: how the X12 kernels' small functions are compiled."""

from __future__ import annotations

import inspect

from numba.core import types
from numba.core.targetconfig import ConfigStack
from numba.core.typing.templates import infer, infer_global, make_overload_template


def helper(fn=None, *, nrt: bool = True):
    """Make ``fn`` a helper of the kernels, compiled once per argument *types*.

    An @njit function called from a kernel with integer constants (field numbers,
    error codes) is compiled once per combination of their values: ``set_span`` had
    50 variants, ``fail`` 34, 130 in all, a third of the tokenizer's cold
    compile; the 835 writer's ``literal_el`` had 19. An ``overload`` tries
    non-literal types first. ``fn`` stays a plain Python function outside compiled
    code. ``helper(nrt=False)`` compiles without reference counting (for helpers
    that allocate nothing, called many times a row).

    Numba's overloads compile once per argument types *and caller's flags*: a helper
    called from a kernel and from another helper (their wrapper flags differ) compiled
    twice, identically (``literal_el``, ``text_el``, ``put_span``...). Here only the
    flags a helper inherits (``nrt``, ``fastmath``, ``forceinline``) tell compiles apart.
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
    options["nopython"] = True  # as numba.extending.overload's defaults
    # numba.extending.overload(fn, jit_options=options, prefer_literal=False)(typing),
    # its template's cache keyed by _get_impl (Numba's as fallback, if it changed shape)
    base = make_overload_template(fn, typing, options, True, "never", False)
    if hasattr(base, "_build_impl") and hasattr(base, "_impl_cache"):
        base = type(base)(base.__name__, (base,), {"_get_impl": _get_impl})
    infer(base)
    infer_global(fn, types.Function(base))
    return fn


def _get_impl(self, args, kws):
    """``_OverloadFunctionTemplate._get_impl``, its cache keyed on the inherited flags only."""
    flags = ConfigStack.top_or_none()
    inherited = None if flags is None else (flags.nrt, repr(flags.fastmath), flags.forceinline)
    cache_key = self.context, tuple(args), tuple(kws.items()), inherited
    try:
        return self._impl_cache[cache_key]
    except KeyError:
        pass
    return self._build_impl(cache_key, args, kws)
