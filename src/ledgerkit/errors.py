"""The exceptions ledgerkit raises on bad input."""


class LedgerError(ValueError):
    """A ledger table, entry or store is invalid.

    The message names the table, the row and the column at fault, and what to do.
    """
