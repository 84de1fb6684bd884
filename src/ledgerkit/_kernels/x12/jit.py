"""``helper``: how the 835 kernels' small functions are compiled."""

from __future__ import annotations

import inspect

from numba.extending import overload


def helper(fn):
    """Make ``fn`` a helper of the kernels, compiled once per argument *types*.

    An @njit function called from a kernel with integer constants (field numbers,
    error codes) is compiled once per combination of their values: ``set_span`` had
    50 variants, ``fail`` 34, 130 in all, a third of the tokenizer's cold
    compile. An ``overload`` tries non-literal types first. ``fn`` stays a plain
    Python function outside compiled code.
    """

    def typing(*args):
        return fn

    typing.__signature__ = inspect.signature(fn)
    overload(fn, jit_options={"error_model": "numpy"}, prefer_literal=False)(typing)
    return fn
