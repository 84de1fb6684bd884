"""Strings taken from a few distinct values by code, as Arrow lays them out.

A take from a short dictionary (reason codes: a handful of 1-3 byte values) into
one value per encounter. At 3M procedures (1.3M encounters, one thread) Arrow's
take cost 17 ms a column, this kernel 3.6 ms; classify takes two such columns
beside a ~125 ms pass. :func:`take_strings_nb` writes Arrow's ``string`` buffers
directly, in one serial pass (a parallel one added seconds to a cold compile);
:func:`take_short_strings_nb` does the same without a branch per row when no value
is longer than ``SHORT`` bytes (reason codes). Taking the two columns at once, one
in a thread, measured no quicker at 10M procedures (each took longer: Numba's
OpenMP workers still spin after the classify pass, and the thread's fresh memory
page-faulted on every call).
"""

import numpy as np

from ledgerkit._kernels._njit import njit


@njit
def take_strings_nb(value_offsets, value_data, codes, offsets, data):
    """Fill Arrow's ``offsets`` (``len(codes) + 1``) and ``data`` with value ``codes[r]``
    at row ``r`` (-1: an empty string, null by the caller's validity bitmap); return
    how many bytes of ``data`` were written.

    ``data`` must hold ``len(codes)`` times the longest value.
    """
    at = 0
    offsets[0] = 0
    for r in range(codes.shape[0]):
        code = codes[r]
        if code >= 0:
            for b in range(value_offsets[code], value_offsets[code + 1]):
                data[at] = value_data[b]
                at += 1
        offsets[r + 1] = at
    return at


SHORT = 4  # bytes of a value that take_short_strings_nb copies at once


@njit
def take_short_strings_nb(slots, lengths, codes, offsets, data):
    """:func:`take_strings_nb` for values of at most ``SHORT`` bytes, without a branch
    per row: every row copies its value's ``SHORT`` bytes and moves on by its length.

    ``slots`` (uint8, ``SHORT`` bytes a value, zero-padded) and ``lengths`` hold the
    values and, last, an empty one that code -1 takes. ``data`` must hold ``len(codes)``
    times the longest value, plus ``SHORT`` bytes (the last row's copy overruns).
    Measured (4.3M rows, the benchmark ledger's explanation codes): 13-15 ms a column
    with :func:`take_strings_nb`, whose branch on the code and loop over the value's
    bytes mispredict on most explained rows; 6-9 ms so.
    """
    n_values = lengths.shape[0] - 1
    at = np.uint64(0)
    offsets[0] = 0
    for r in range(codes.shape[0]):
        code = codes[r]
        v = np.uint64(code if code >= 0 else n_values)  # unsigned: no negative-index check
        for b in range(SHORT):
            data[at + np.uint64(b)] = slots[v * np.uint64(SHORT) + np.uint64(b)]
        at += np.uint64(lengths[v])
        offsets[r + 1] = at
    return at
