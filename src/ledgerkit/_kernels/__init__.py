"""Numba kernels over flat numpy arrays: one kernel family per file, shared pieces once.

Arrays in, arrays out: nothing here validates, allocates big outputs, imports
pyarrow or imports anything outside ``_kernels``. Shared pieces: ``codes``
(integer codes, the packed entry code), ``chunks`` (parallel task ranges),
``hashing`` (splitmix64, string hashes), ``groupsums``. Families: ``balances``,
``classify``, ``payers``, ``denials``, ``rules``, ``taa``, ``posting``,
``keys``, ``x12``; ``bandwidth`` is a benchmark floor. The public
computations built on them are tested against plain references in ``tests/``.
"""
