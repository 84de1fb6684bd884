"""How parallel kernels cut encounters into tasks: ``CHUNK`` rows per ``prange`` step.

A chunk is the unit of parallel work and of per-task buffers (one accumulator
per chunk, summed by the caller, so no two threads ever add to the same cell).
"""

from numba.extending import register_jitable

CHUNK = 4096  # encounters per parallel task: small enough to balance 2..64 threads


@register_jitable
def n_chunks(n, size):
    """How many chunks of ``size`` rows cover ``n`` rows."""
    return (n + size - 1) // size


@register_jitable
def chunk_range(chunk, n, size):
    """``(start, stop)`` of chunk number ``chunk`` over ``n`` rows."""
    return chunk * size, min(n, (chunk + 1) * size)
