"""Target-allowed-amount kernels: claim configuration keys, TAA lookups, sweeps.

A claim configuration is the multiset of (CPT, modifiers, units) of an
encounter's procedures, its primary payer and its place of service. Its key is
an order-independent 64-bit hash: the wrapping sum of a mixed hash of every
procedure item (a multiset hash), mixed again with the payer, the place of
service and the number of lines. Collisions are possible in principle (about
n^2 / 2^65 for n configurations) and are ignored.

Sweeps reduce into one buffer per chunk
(``acc[chunk, payer slot, level, W_*]``), summed by the caller.
"""

import numba
import numpy as np

from ledgerkit._kernels._njit import njit, njit_parallel
from ledgerkit._kernels.chunks import chunk_range, n_chunks
from ledgerkit._kernels.hashing import GOLDEN, splitmix64_nb

# Columns of sweep accumulators.
W_HIT = 0
W_CLOSED = 1
W_WRITTEN_OFF = 2
W_AR_CLOSED = 3
N_W = 4

SWEEP_PERCENTILE = 0
SWEEP_FRACTION = 1
SWEEP_SMALL_BALANCE = 2


@njit
def _mixed_nb(h, context, n_items):
    h = splitmix64_nb(h ^ splitmix64_nb(np.uint64(context)))
    return splitmix64_nb(h + np.uint64(n_items))


@njit_parallel
def config_hash_nb(
    enc_proc_start, proc_item, enc_context, enc_group_context, out, out_group, chunk_size
):
    """``out[e]``: multiset hash of encounter ``e``'s items mixed with its context;
    ``out_group[e]``: the same items mixed with its group context.

    ``proc_item`` packs (cpt, modifiers, units) of each procedure (grouped
    order) into one int64; ``enc_context`` packs (payer, place of service),
    ``enc_group_context`` the payer alone (the CPT set at any place of service).
    """
    n_enc = enc_proc_start.shape[0] - 1
    for chunk in numba.prange(n_chunks(n_enc, chunk_size)):
        e0, e1 = chunk_range(chunk, n_enc, chunk_size)
        for e in range(e0, e1):
            h = np.uint64(0)
            items = proc_item[enc_proc_start[e] : enc_proc_start[e + 1]]
            for i in range(items.shape[0]):
                h += splitmix64_nb(np.uint64(items[i]) + GOLDEN)
            out[e] = _mixed_nb(h, enc_context[e], items.shape[0])
            out_group[e] = _mixed_nb(h, enc_group_context[e], items.shape[0])


@njit
def quantile_index_nb(n, percentile):
    """Position of the ``percentile`` (0..100) in ``n`` sorted values ("lower" rule)."""
    return int(np.floor((n - 1) * percentile / 100.0))


@njit
def taa_of_configs_nb(cfg_lo, cfg_n, values, percentile, min_claims, out):
    """``out[c]``: the percentile of ``values[cfg_lo[c] : cfg_lo[c] + cfg_n[c]]`` (sorted),
    -1 when it holds fewer than ``min_claims`` amounts (or none).

    A configuration's amounts are a slice, not a copy: configurations that fall
    back to the history of their CPT set share one slice (``ledgerkit.rules.taa``).
    """
    for c in range(cfg_n.shape[0]):
        n = cfg_n[c]
        if n < min_claims or n == 0:
            out[c] = -1
        else:
            out[c] = values[cfg_lo[c] + quantile_index_nb(n, percentile)]


@njit
def clean_encounters_nb(enc_proc_start, proc_entry_start, entry_dirty, out):
    """``out[e]``: True unless some entry of encounter ``e`` is flagged in ``entry_dirty``.

    ``entry_dirty`` marks (grouped order) the entries that keep an encounter
    out of the TAA history: live payer denials and negated payer postings.
    """
    for e in range(enc_proc_start.shape[0] - 1):
        clean = True
        for i in range(
            proc_entry_start[enc_proc_start[e]], proc_entry_start[enc_proc_start[e + 1]]
        ):
            if entry_dirty[i]:
                clean = False
                break
        out[e] = clean


@njit
def _taa_reached(mode, k, allowed, cfg, cfg_lo, cfg_n, values, base_taa, levels, levels_bp):
    if mode == SWEEP_PERCENTILE:
        return values[cfg_lo[cfg] + quantile_index_nb(cfg_n[cfg], levels[k])] <= allowed
    return allowed * 10000 >= base_taa[cfg] * levels_bp[k]


@njit
def _sweep_chunk_nb(
    e0,
    e1,
    mode,
    enc_cfg,
    enc_slot,
    enc_allowed,
    enc_balance,
    enc_amount,
    cfg_lo,
    cfg_n,
    values,
    cfg_ok,
    base_taa,
    levels,
    levels_bp,
    local,
):
    """:func:`sweep_nb` for encounters ``e0:e1`` (serial), adding to ``local[slot,
    level, W_*]`` (this chunk's block of ``acc``)."""
    n_levels = levels.shape[0]
    for e in range(e0, e1):
        amount = enc_amount[e]
        if amount <= 0:
            continue
        balance = enc_balance[e]
        if mode == SWEEP_SMALL_BALANCE:
            if balance < 1:
                continue
            lo = 0
            hi = n_levels
            while lo < hi:  # first level with threshold >= balance
                mid = (lo + hi) // 2
                if levels_bp[mid] >= balance:
                    hi = mid
                else:
                    lo = mid + 1
            k = lo
            if k >= n_levels:
                continue
        else:
            cfg = enc_cfg[e]
            if cfg < 0 or not cfg_ok[cfg]:
                continue
            allowed = enc_allowed[e]
            lo = 0
            hi = n_levels
            while lo < hi:  # first level whose TAA is not reached
                mid = (lo + hi) // 2
                if _taa_reached(
                    mode,
                    mid,
                    allowed,
                    cfg,
                    cfg_lo,
                    cfg_n,
                    values,
                    base_taa,
                    levels,
                    levels_bp,
                ):
                    lo = mid + 1
                else:
                    hi = mid
            k = lo - 1
            if k < 0:
                continue
        s = enc_slot[e]
        local[s, k, W_HIT] += 1
        local[s, k, W_WRITTEN_OFF] += amount
        if balance != 0 and balance - amount == 0:
            local[s, k, W_CLOSED] += 1
            local[s, k, W_AR_CLOSED] += balance


@njit_parallel
def sweep_nb(
    mode,
    enc_cfg,
    enc_slot,
    enc_allowed,
    enc_balance,
    enc_amount,
    cfg_lo,
    cfg_n,
    values,
    cfg_ok,
    base_taa,
    levels,
    levels_bp,
    acc,
    chunk_size,
):
    """Each encounter adds to the one level where its hits start or stop.

    TAA modes (levels ascending, TAA non-decreasing in the level): an encounter
    is hit at levels ``0..k`` where ``k`` is the last level whose TAA it
    reaches, so it adds at ``k`` and the caller takes a reverse cumulative
    sum. Small-balance mode (levels are thresholds, ascending): hit at levels
    ``k..K-1`` where ``k`` is the first threshold >= its balance, so it adds at
    ``k`` and the caller takes a forward cumulative sum. ``enc_amount`` is
    what the rule writes off; an encounter with nothing to write off is skipped.
    Percentile mode reads each configuration's sorted amounts as the slice
    ``values[cfg_lo[c] : cfg_lo[c] + cfg_n[c]]``. ``acc`` arrives as zeros.

    The loop body is :func:`_sweep_chunk_nb`: a large parfor is slow to compile (a
    latency users feel on a cold start), a serial chunk called from a tiny one is not.
    """
    n_enc = enc_cfg.shape[0]
    for chunk in numba.prange(n_chunks(n_enc, chunk_size)):
        e0, e1 = chunk_range(chunk, n_enc, chunk_size)
        _sweep_chunk_nb(
            e0,
            e1,
            mode,
            enc_cfg,
            enc_slot,
            enc_allowed,
            enc_balance,
            enc_amount,
            cfg_lo,
            cfg_n,
            values,
            cfg_ok,
            base_taa,
            levels,
            levels_bp,
            acc[chunk],
        )
