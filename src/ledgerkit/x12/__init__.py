"""X12 835 remittances: read into Arrow tables (compiled tokenizer) and written back;
X12 837 claims read into Arrow tables; synthetic remittances and the bundled
sample files are in ``ledgerkit.synth``.

>>> from ledgerkit.x12 import read_835, write_835, Remittances, X12Error
>>> from ledgerkit.x12 import read_837, Claims
"""

from ledgerkit.x12.claims import Claims
from ledgerkit.x12.errors import X12Error
from ledgerkit.x12.read import read_835
from ledgerkit.x12.read_claims import read_837
from ledgerkit.x12.remittances import Remittances, describe
from ledgerkit.x12.write import write_835
from ledgerkit.x12.write_claims import write_837
from ledgerkit.x12.write_secondary import write_837_secondary

__all__ = [
    "read_835",
    "read_837",
    "write_835",
    "write_837",
    "write_837_secondary",
    "Claims",
    "Remittances",
    "X12Error",
    "describe",
]
