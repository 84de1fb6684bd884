"""Figures from a ledger: balances, classes, summaries, denial metrics, root causes, the
worklist, payer behaviour, secondary claims; all read one derived-data layer (``derived``).
"""
