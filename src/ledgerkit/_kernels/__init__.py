"""Numba kernels over flat numpy arrays.

Nothing here validates, allocates big outputs or imports pyarrow: the public
modules do that and call these. Each kernel ``x_nb`` has an obviously correct
twin ``x_ref`` in ``tests/reference.py``.
"""
