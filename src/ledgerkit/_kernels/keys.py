"""Kernels that turn string keys into dense integer positions and groupings."""

from ledgerkit._kernels._njit import njit


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
