"""Numba kernels over flat numpy arrays: one kernel family per file, shared pieces once;
no Arrow and nothing of ledgerkit outside ``_kernels`` (``tests/test_imports.py``).

Arrays in, arrays out: nothing here validates, allocates big outputs, imports
pyarrow or imports anything outside ``_kernels``. Shared pieces: ``codes``
(integer codes, the packed entry code), ``chunks`` (parallel task ranges),
``hashing`` (splitmix64, string hashes), ``groupsums``. Families: ``balances``,
``classify``, ``payers``, ``denials``, ``rules``, ``taa``, ``posting``,
``keys``, ``x12``; ``bandwidth`` is a benchmark floor.

Kernels have no ``*_ref`` twins of their own: every public computation built on
them (classify, balances, dry run, TAA history and suggestion, what-if sweeps,
each metric, root causes, payer behaviour, the worklist, posting decisions) has
a plain, obviously-correct reference in ``tests/reference*.py`` and a
hypothesis test against it.
"""
