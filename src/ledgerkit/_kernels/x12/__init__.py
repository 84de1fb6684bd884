"""X12 835 kernels: bytes in, byte offsets and typed columns out (``parse_835_nb``).

``layout`` names the rows of the output arrays, ``scan`` finds segments and
counts rows, ``fields`` reads element values, ``buffers`` writes rows, ``parse``
is the parser, and ``columns``, ``keys`` and ``sums`` turn its arrays into
Arrow buffers, pseudonyms and totals. Strings are never copied by the parser:
a string field is a ``(start, end)`` pair of byte offsets into the file.
Every array index written is bounds-checked first (the fuzz tests feed mutated
bytes, and Numba does not check bounds).
"""

from ledgerkit._kernels.x12.columns import (
    float_validity_nb,
    gather_strings_nb,
    gather_table_nb,
    span_offsets_nb,
    table_offsets_nb,
    validity_nb,
)
from ledgerkit._kernels.x12.keys import person_keys_nb
from ledgerkit._kernels.x12.parse import parse_835_nb
from ledgerkit._kernels.x12.scan import count_835_nb, count_samples_nb
from ledgerkit._kernels.x12.sums import adjustment_sums_nb, group_sum_nb

__all__ = [
    "adjustment_sums_nb",
    "count_835_nb",
    "count_samples_nb",
    "float_validity_nb",
    "gather_strings_nb",
    "gather_table_nb",
    "group_sum_nb",
    "parse_835_nb",
    "person_keys_nb",
    "span_offsets_nb",
    "table_offsets_nb",
    "validity_nb",
]
