"""X12 835 kernels: bytes in, offsets and typed columns out (``parse.parse_835_nb``);
segment scanning, field parsing and output buffers each in a file of their own.

``layout``/``scan``/``fields``/``buffers`` serve the parser; ``columns``/``keys``/``sums`` export.
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
from ledgerkit._kernels.x12.sums import adjustment_sums_nb

__all__ = [
    "adjustment_sums_nb",
    "count_835_nb",
    "count_samples_nb",
    "float_validity_nb",
    "gather_strings_nb",
    "gather_table_nb",
    "parse_835_nb",
    "person_keys_nb",
    "span_offsets_nb",
    "table_offsets_nb",
    "validity_nb",
]
