"""Kernels that turn string keys into dense integer positions and groupings."""

import numba
import numpy as np

from ledgerkit._kernels import codes as C
from ledgerkit._kernels._njit import njit, njit_parallel
from ledgerkit._kernels.chunks import chunk_range, n_chunks


@njit
def locate_lines_nb(entry_enc, entry_line, enc_proc_start, proc_line, out):
    """Grouped procedure position of each entry, or -1 when it matches none.

    ``enc_proc_start[e]:enc_proc_start[e+1]`` are encounter ``e``'s procedures
    (grouped order) and ``proc_line`` their line numbers in increasing order.
    """
    for i in range(entry_enc.shape[0]):
        e = entry_enc[i]
        if e < 0:
            out[i] = -1
            continue
        lo = enc_proc_start[e]
        hi = enc_proc_start[e + 1]
        want = entry_line[i]
        # Lines are usually 1..n in order: try the direct slot before searching.
        guess = lo + want - 1
        if lo <= guess < hi and proc_line[guess] == want:
            out[i] = guess
            continue
        found = -1
        while lo < hi:
            mid = (lo + hi) // 2
            if proc_line[mid] < want:
                lo = mid + 1
            else:
                hi = mid
        if lo < enc_proc_start[e + 1] and proc_line[lo] == want:
            found = lo
        out[i] = found


@njit
def is_nondecreasing_nb(a):
    """True when ``a[i] <= a[i+1]`` everywhere."""
    for i in range(1, a.shape[0]):
        if a[i] < a[i - 1]:
            return False
    return True


@njit
def counting_order_nb(key, starts, order):
    """Stable counting sort: ``order`` lists rows grouped by ``key`` (0..n-1).

    ``starts`` (length n+1) receives the group offsets. Stable, so entries of
    one procedure stay in posting order.
    """
    starts[:] = 0
    for i in range(key.shape[0]):
        starts[key[i] + 1] += 1
    for k in range(1, starts.shape[0]):
        starts[k] += starts[k - 1]
    fill = starts[:-1].copy()
    for i in range(key.shape[0]):
        k = key[i]
        order[fill[k]] = i
        fill[k] += 1


@njit
def group_starts_nb(sorted_key, n_groups, starts):
    """Offsets of each group in an already sorted key array (length n_groups+1)."""
    j = 0
    for g in range(n_groups + 1):
        while j < sorted_key.shape[0] and sorted_key[j] < g:
            j += 1
        starts[g] = j


_LIVE_SHIFT = 6  # the live bit of a packed entry code (codes.pack_code)
_NOT_LIVE = np.int8(~C.pack_code(0, 0, 1))
MERGE_CHUNK = 65536  # procedures per parallel task of merge_appended_nb


@njit_parallel
def merge_appended_nb(
    old_start,
    old_order,
    has_order,
    new_proc_sorted,
    new_rows_sorted,
    n_old,
    old_seq,
    new_seq,
    old_kind,
    new_kind,
    old_amounts,
    new_amounts,
    old_live,
    new_live,
    negated_old_rows,
    old_entry_proc,
    out_start,
    out_order,
    out_seq,
    out_kind,
    out_amounts,
    out_live,
    old_codes,
    new_codes,
    out_codes,
):
    """Grouped keys of a ledger after an append, from the old grouped keys and the new rows.

    Old entries are grouped (``old_start`` CSR offsets per procedure, ``old_order``
    their rows when ``has_order``, else rows 0..n_old-1 in order); the new rows
    (rows ``n_old + r``) go after the old ones of their procedure, in row order:
    ``new_rows_sorted`` lists them sorted by procedure, stably, and
    ``new_proc_sorted`` their procedures in that order. A new row is live when
    ``new_live`` says so (the caller folds in the batch's negations of its own
    rows); an old one when it was (``old_live``) and is not among
    ``negated_old_rows`` (old rows this batch negates, found in their procedure's
    segment through ``old_entry_proc``, the procedure of each old row): an old
    entry's live bit changes only when this batch negates it.

    Each procedure's place in the output is its old offset plus the new rows of
    the procedures before it, so chunks of procedures are merged in parallel: the
    old entries between two procedures that get new rows move as one block.

    ``old_codes`` (grouped) and ``new_codes`` (per new row) are packed entry codes
    under one policy (``codes.pack_code``; the live bit of the new ones is ignored):
    ``out_codes`` gets them in the merged order with the live bit of ``out_live``, so
    the appended ledger's codes need no pass over its entries. Empty ``out_codes``:
    no codes to carry.
    """
    carry = out_codes.shape[0] > 0
    n_proc = old_start.shape[0] - 1
    n_new = new_rows_sorted.shape[0]
    # The new rows gathered in procedure order first, by a loop of independent reads
    # (the merge's branches, mispredicted at every block, stalled each random read).
    sorted_seq = np.empty(n_new, np.int8)
    sorted_kind = np.empty(n_new, np.int8)
    sorted_amounts = np.empty(n_new, np.int64)
    sorted_live = np.empty(n_new, np.bool_)
    sorted_codes = np.empty(n_new if carry else 0, np.int8)
    for j in numba.prange(n_new):
        r = new_rows_sorted[j]
        sorted_seq[j] = new_seq[r]
        sorted_kind[j] = new_kind[r]
        sorted_amounts[j] = new_amounts[r]
        sorted_live[j] = new_live[r]
        if carry:
            sorted_codes[j] = (new_codes[r] & _NOT_LIVE) | (np.int8(new_live[r]) << _LIVE_SHIFT)
    for chunk in numba.prange(n_chunks(n_proc, MERGE_CHUNK)):
        p0, p1 = chunk_range(chunk, n_proc, MERGE_CHUNK)
        j = np.searchsorted(new_proc_sorted, p0)  # new rows of the procedures before
        p = p0
        cur = old_start[p0]
        while j < n_new and new_proc_sorted[j] < p1:
            q = new_proc_sorted[j]
            for pp in range(p, q + 1):  # the procedures up to q move by j
                out_start[pp] = old_start[pp] + j
            end = old_start[q + 1]
            _copy_old(cur, end, j, old_order, has_order, old_seq, old_kind, old_amounts,
                      old_live, old_codes, carry, out_order, out_seq, out_kind, out_amounts,
                      out_live, out_codes)  # fmt: skip
            k = end + j
            while j < n_new and new_proc_sorted[j] == q:
                out_order[k] = n_old + new_rows_sorted[j]
                out_seq[k] = sorted_seq[j]
                out_kind[k] = sorted_kind[j]
                out_amounts[k] = sorted_amounts[j]
                out_live[k] = sorted_live[j]
                if carry:
                    out_codes[k] = sorted_codes[j]
                k += 1
                j += 1
            p = q + 1
            cur = end
        for pp in range(p, p1):
            out_start[pp] = old_start[pp] + j
        _copy_old(cur, old_start[p1], j, old_order, has_order, old_seq, old_kind, old_amounts,
                  old_live, old_codes, carry, out_order, out_seq, out_kind, out_amounts,
                  out_live, out_codes)  # fmt: skip
    out_start[n_proc] = old_start[n_proc] + n_new
    for t in range(negated_old_rows.shape[0]):  # few: the batch's negations of old rows
        row = negated_old_rows[t]
        p = old_entry_proc[row]
        i = row
        if has_order:
            for g in range(old_start[p], old_start[p + 1]):
                if old_order[g] == row:
                    i = g
                    break
        k = i + out_start[p] - old_start[p]
        out_live[k] = False
        if carry:
            out_codes[k] = out_codes[k] & _NOT_LIVE


@njit(forceinline=True)  # a call per block cost more than the block
def _copy_old(a, b, shift, old_order, has_order, old_seq, old_kind, old_amounts, old_live,
              old_codes, carry, out_order, out_seq, out_kind, out_amounts, out_live,
              out_codes):  # fmt: skip
    """Old grouped entries ``a:b`` to ``a + shift:b + shift``, every array in one loop
    (a block is a few entries long: a loop per array paid a mispredicted exit each)."""
    for i in range(a, b):
        k = i + shift
        out_order[k] = old_order[i] if has_order else i
        out_seq[k] = old_seq[i]
        out_kind[k] = old_kind[i]
        out_amounts[k] = old_amounts[i]
        out_live[k] = old_live[i]
        if carry:
            out_codes[k] = (old_codes[i] & _NOT_LIVE) | (np.int8(old_live[i]) << _LIVE_SHIFT)


@njit
def clear_live_nb(codes, positions):
    """Clear the live bit of the packed codes at ``positions``."""
    for t in range(positions.shape[0]):
        codes[positions[t]] = codes[positions[t]] & _NOT_LIVE


RADIX_BITS = 12  # at most 4,096 buckets a pass: the counts and write heads stay in cache


@njit
def radix_order_nb(key, n_keys, order, sorted_key, tmp_order, tmp_key):
    """Stable order of rows by ``key`` (each in 0..n_keys-1), by least-significant-digit
    radix passes of at most ``RADIX_BITS``: ``order`` receives the rows, ``sorted_key``
    the keys in that order (``tmp_order``, ``tmp_key``: scratch of the same shapes).

    A counting sort by the whole key (``counting_order_nb``) scatters every row into a
    count array the size of the key range (10M procedures: 80 MB, a cache miss a row);
    two passes over 4,096 buckets stay in cache.
    """
    n = key.shape[0]
    bits = 1
    while (1 << bits) < n_keys:
        bits += 1
    passes = (bits + RADIX_BITS - 1) // RADIX_BITS
    width = (bits + passes - 1) // passes
    mask = (1 << width) - 1
    counts = np.empty(1 << width, np.int64)
    src_order, src_key = order, sorted_key  # (unread before the first pass writes them)
    for p in range(passes):
        # the last pass writes to the outputs: the passes alternate back from it
        if (passes - 1 - p) % 2 == 0:
            dst_order, dst_key = order, sorted_key
        else:
            dst_order, dst_key = tmp_order, tmp_key
        shift = width * p
        counts[:] = 0
        for i in range(n):
            k = key[i] if p == 0 else src_key[i]
            counts[(k >> shift) & mask] += 1
        total = 0
        for b in range(counts.shape[0]):
            c = counts[b]
            counts[b] = total
            total += c
        for i in range(n):
            k = key[i] if p == 0 else src_key[i]
            b = (k >> shift) & mask
            at = counts[b]
            dst_order[at] = i if p == 0 else src_order[i]
            dst_key[at] = k
            counts[b] = at + 1
        src_order, src_key = dst_order, dst_key


@njit
def check_positions_nb(positions, lines, proc_line, out):
    """Copy ``positions`` (grouped procedures named by a caller) into ``out`` and check
    them in the same pass: 0 when every one is in ``0..len(proc_line)-1`` and names its
    row's ``lines[i]``; 1 when one is out of range (whatever else is wrong); 2 when one
    names another line."""
    n_proc = proc_line.shape[0]
    problem = 0
    for i in range(positions.shape[0]):
        p = positions[i]
        if p < 0 or p >= n_proc:
            return 1
        out[i] = p
        if proc_line[p] != lines[i]:
            problem = 2
    return problem


@njit
def lookup_ids_nb(
    sorted_hashes, bucket_start, shift, order, hashes, valid, visit, q_offsets, q_data,
    id_offsets, id_data, out,
):  # fmt: skip
    """Position of each query string among distinct ids, by fingerprint: ``out[i]`` is
    ``order[j]`` for the ``j`` with ``sorted_hashes[j] == hashes[i]`` whose id has the
    query's bytes, else -1 (a null query, ``valid[i]`` False, too).

    ``bucket_start[b]:bucket_start[b + 1]`` are the sorted hashes whose top bits
    (``hash >> shift``) are ``b``: about one id a bucket, so a query reads a bucket
    instead of a binary search's ~22 steps. The queries are visited in ``visit`` (any
    order gives the same ``out``; by bucket, the index's arrays are read front to back),
    then their bytes compared in their own order (a batch's rows come by encounter), so
    a fingerprint shared by a query and another id never gives a wrong position.
    """
    for k in range(visit.shape[0]):
        i = visit[k]
        out[i] = -1
        if not valid[i]:
            continue
        h = hashes[i]
        b = np.int64(h >> np.uint64(shift))
        for j in range(bucket_start[b], bucket_start[b + 1]):
            if sorted_hashes[j] == h:
                out[i] = order[j]
                break  # the ids' fingerprints are distinct: no other j has h
    for i in range(out.shape[0]):
        p = out[i]
        if p < 0:
            continue
        qs = q_offsets[i]
        n = q_offsets[i + 1] - qs
        ps = id_offsets[p]
        if id_offsets[p + 1] - ps != n:
            out[i] = -1
            continue
        for k in range(n):
            if q_data[qs + k] != id_data[ps + k]:
                out[i] = -1
                break
