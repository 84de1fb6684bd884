"""Figures from a ledger: balances, classes, summaries, denial metrics, root causes, the
worklist, payer behaviour, secondary claims; metrics and rules share one derived-data layer.
"""
