"""Figures computed from a ledger: balances, classes, summaries, denial metrics, root
causes, the worklist, payer behaviour and secondary-claim adjustments, over one
derived-data layer (``analytics.facts``).
"""
