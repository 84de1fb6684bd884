"""X12 835 remittances: read into Arrow (compiled tokenizer), write back, synthesise.

>>> from ledgerkit.x12 import read_835, write_835, Remittances, X12Error
"""

from ledgerkit.x12.errors import X12Error
from ledgerkit.x12.read import read_835
from ledgerkit.x12.remittances import Remittances, describe
from ledgerkit.x12.write import write_835

__all__ = ["read_835", "write_835", "Remittances", "X12Error", "describe"]
