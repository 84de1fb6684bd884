"""8-byte loads and copies of uint8 arrays, as single unaligned moves, and a prefetch
(LLVM intrinsics)."""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from ledgerkit._kernels._njit import njit


def copy8(dst, o, src, s):
    """``dst[o:o+8] = src[s:s+8]`` (uint8 arrays); compiled as one unaligned 8-byte move.

    Numba copies bytes one at a time (with an index check each) and cannot use
    wider moves because it cannot prove the arrays do not overlap: gathering
    short strings that way was ~5x slower. No bounds check: callers make sure
    both ranges are inside their arrays.
    """
    dst[o : o + 8] = src[s : s + 8]


@intrinsic
def _copy8(typingctx, dst, o, src, s):
    sig = types.void(dst, o, src, s)

    def codegen(context, builder, signature, args):
        d = context.make_array(signature.args[0])(context, builder, args[0])
        r = context.make_array(signature.args[2])(context, builder, args[2])
        oi = context.cast(builder, args[1], signature.args[1], types.intp)
        si = context.cast(builder, args[3], signature.args[3], types.intp)
        p64 = ir.IntType(64).as_pointer()
        v = builder.load(builder.bitcast(builder.gep(r.data, [si]), p64), align=1)
        builder.store(v, builder.bitcast(builder.gep(d.data, [oi]), p64), align=1)
        return context.get_dummy_value()

    return sig, codegen


@overload(copy8, jit_options={"cache": True})
def _copy8_overload(dst, o, src, s):
    if dst.dtype == types.uint8 and src.dtype == types.uint8:
        return lambda dst, o, src, s: _copy8(dst, o, src, s)


def load8(src, s):
    """The 8 bytes ``src[s:s+8]`` (uint8 array) as a little-endian uint64; one load.

    No bounds check: callers make sure the range is inside the array.
    """
    return np.uint64(int.from_bytes(bytes(src[s : s + 8]), "little"))


@intrinsic
def _load8(typingctx, src, s):
    sig = types.uint64(src, s)

    def codegen(context, builder, signature, args):
        r = context.make_array(signature.args[0])(context, builder, args[0])
        si = context.cast(builder, args[1], signature.args[1], types.intp)
        p64 = ir.IntType(64).as_pointer()
        return builder.load(builder.bitcast(builder.gep(r.data, [si]), p64), align=1)

    return sig, codegen


@overload(load8, jit_options={"cache": True})
def _load8_overload(src, s):
    if src.dtype == types.uint8:
        return lambda src, s: _load8(src, s)


def prefetch(src, s):
    """Ask the CPU to bring the cache line of ``src[s]`` (uint8 array) in; no effect on values.

    The export kernels read the file's bytes at the spans the parser found,
    one table at a time: a forward walk with irregular strides (a claim's CLP
    every few hundred bytes) that the hardware prefetcher follows poorly.
    Asking for the line a few rows ahead took 15% off gathering the claims'
    strings of a 204 MB file. A prefetch never faults, so ``s`` need not be a
    valid index; callers still pass one.
    """


@intrinsic
def _prefetch(typingctx, src, s):
    sig = types.void(src, s)

    def codegen(context, builder, signature, args):
        r = context.make_array(signature.args[0])(context, builder, args[0])
        si = context.cast(builder, args[1], signature.args[1], types.intp)
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch")
        ptr = builder.bitcast(builder.gep(r.data, [si]), i8p)
        builder.call(fn, [ptr, i32(0), i32(3), i32(1)])  # read, keep in all levels, data
        return context.get_dummy_value()

    return sig, codegen


@overload(prefetch, jit_options={"cache": True})
def _prefetch_overload(src, s):
    if src.dtype == types.uint8:
        return lambda src, s: _prefetch(src, s)


_B80 = np.uint64(0x8080808080808080)


@njit
def all_hex8(w):
    """All 8 bytes of ``w`` are upper-case hex digits (SWAR range checks, no branch)."""
    digit = (w + np.uint64(0x5050505050505050)) & ~(w + np.uint64(0x4646464646464646))
    upper = (w + np.uint64(0x3F3F3F3F3F3F3F3F)) & ~(w + np.uint64(0x3939393939393939))
    return ((w & _B80) == 0) & (((digit | upper) & _B80) == _B80)
