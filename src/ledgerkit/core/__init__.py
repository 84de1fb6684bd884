"""The ledger itself: schema, the ``Ledger`` and its validation, integer keys, the
Arrow<->numpy boundary (``core.arrow``) and the CARC reference data (policy, catalogue).
"""
