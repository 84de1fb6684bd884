"""Per-entry codes in one parallel pass each: the packed entry code under a policy and
the posting day of a timestamp.

Arrays in, arrays out (allocated by the caller). The numpy versions these replace
(fancy-indexing over every entry, int64 floor division) made several passes over
47M entries at 10M procedures; these make one.
"""

import numba

from ledgerkit._kernels import codes as C
from ledgerkit._kernels._njit import njit, njit_parallel
from ledgerkit._kernels.chunks import chunk_range, n_chunks

ENTRY_CHUNK = 1 << 16  # entries per parallel task

# Entry kind codes (index into ``core.schema.KINDS``) the packed code reads.
KIND_ADJUSTMENT = 2
KIND_WRITE_OFF = 4


@njit
def _pack_chunk_nb(kind, seq, live, group, carc, rows, kind_bucket, matrix, out):
    has_rows = rows.shape[0] > 0
    for i in range(out.shape[0]):
        k = kind[i]
        s = seq[i]
        b = kind_bucket[k]
        if k == KIND_WRITE_OFF and s == 0:
            b = C.PR_WRITTEN_OFF
        elif k == KIND_ADJUSTMENT:
            r = rows[i] if has_rows else i
            b = matrix[group[r], carc[r]]
        out[i] = C.pack_code(b, s, 1 if live[i] else 0)


@njit_parallel
def pack_entry_codes_nb(kind, seq, live, group, carc, order, kind_bucket, matrix, out):
    """``out[i]``: the packed code (``codes.pack_code``) of grouped entry ``i``.

    ``kind``, ``seq`` (payer_seq) and ``live`` (0/1) are in grouped order; ``group``
    and ``carc`` (dictionary codes of the adjustment reason) in entries-row order,
    ``order`` maps grouped entry -> entries row (empty: the identity). The bucket is
    ``kind_bucket[kind]``, a payer-less write-off is ``PR_WRITTEN_OFF`` and an
    adjustment's is ``matrix[group, carc]`` (the policy's bucket per pair).
    """
    n = out.shape[0]
    for chunk in numba.prange(n_chunks(n, ENTRY_CHUNK)):
        i0, i1 = chunk_range(chunk, n, ENTRY_CHUNK)
        rows = order[i0:i1] if order.shape[0] else order
        base_group = group if order.shape[0] else group[i0:i1]
        base_carc = carc if order.shape[0] else carc[i0:i1]
        _pack_chunk_nb(
            kind[i0:i1], seq[i0:i1], live[i0:i1], base_group, base_carc, rows,
            kind_bucket, matrix, out[i0:i1],
        )  # fmt: skip


@njit
def _days_chunk_nb(us, per_day, out):
    for i in range(us.shape[0]):
        out[i] = us[i] // per_day


@njit_parallel
def floor_days_nb(us, per_day, out):
    """``out[i] = floor(us[i] / per_day)``: the day number of a microsecond timestamp
    (floor, so instants before 1970 fall on their own day)."""
    n = us.shape[0]
    for chunk in numba.prange(n_chunks(n, ENTRY_CHUNK)):
        i0, i1 = chunk_range(chunk, n, ENTRY_CHUNK)
        _days_chunk_nb(us[i0:i1], per_day, out[i0:i1])


@njit
def _gather_chunk_nb(values, order, out):
    for i in range(out.shape[0]):
        out[i] = values[order[i]]


@njit_parallel
def gather_nb(values, order, out):
    """``out[i] = values[order[i]]``, in parallel chunks (a numpy take is one thread)."""
    n = out.shape[0]
    for chunk in numba.prange(n_chunks(n, ENTRY_CHUNK)):
        i0, i1 = chunk_range(chunk, n, ENTRY_CHUNK)
        _gather_chunk_nb(values, order[i0:i1], out[i0:i1])
