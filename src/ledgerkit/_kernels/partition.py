"""Stable string hashes for partitioning: the same id lands in the same partition everywhere.

``hash_strings_nb`` hashes the UTF-8 bytes of every string of an Arrow
``string`` array (its offsets and data buffers) with 64-bit FNV-1a, then
mixes the result with the splitmix64 finaliser so that ``hash % n`` is well
spread even for ids that differ only in their last digits. Python's
``hash()`` is salted per process and could not be used.
"""

import numpy as np

from ledgerkit._kernels._njit import njit

FNV_OFFSET = np.uint64(0xCBF29CE484222325)
FNV_PRIME = np.uint64(0x100000001B3)


@njit
def hash_strings_nb(offsets, data, out):
    """``out[i]``: mixed FNV-1a 64 of bytes ``data[offsets[i]:offsets[i + 1]]``."""
    for i in range(out.shape[0]):
        h = FNV_OFFSET
        for j in range(offsets[i], offsets[i + 1]):
            h = (h ^ np.uint64(data[j])) * FNV_PRIME
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        out[i] = h ^ (h >> np.uint64(31))
