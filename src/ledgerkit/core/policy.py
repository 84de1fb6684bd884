"""The CARC policy table: which group code + CARC counts as which bucket.

Policy is data, not code: the default ships as ``data/carc_policy.csv``. Each
row maps ``(group_code, carc)`` to a bucket; ``carc == "*"`` is the fallback for
a group. Users override single rows with :meth:`CarcPolicy.override`.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ledgerkit._kernels import codes
from ledgerkit.core.schema import GROUP_CODES
from ledgerkit.core.shipped import read_shipped_csv
from ledgerkit.errors import LedgerError

__all__ = ["CarcPolicy", "BUCKETS"]

BUCKETS = tuple(codes.ADJUSTMENT_BUCKETS)
_SCHEMA = pa.schema([(name, pa.string()) for name in ("group_code", "carc", "bucket", "why")])


class CarcPolicy:
    """Group code + CARC -> bucket, with a fallback per group code.

    Parameters
    ----------
    table : pyarrow.Table
        Columns ``group_code``, ``carc``, ``bucket`` (and optionally ``why``).

    Examples
    --------
    >>> policy = CarcPolicy.default()
    >>> policy.bucket_of("CO", "45"), policy.bucket_of("CO", "97")
    ('contractual', 'denied')
    >>> policy.override("CO", "97", "contractual").bucket_of("CO", "97")
    'contractual'
    """

    def __init__(self, table: pa.Table):
        for name in ("group_code", "carc", "bucket"):
            if name not in table.column_names:
                raise LedgerError(f"CARC policy: missing column {name!r}")
        if "why" not in table.column_names:
            table = table.append_column("why", pa.nulls(table.num_rows, pa.string()))
        table = table.select(["group_code", "carc", "bucket", "why"])
        if table.schema != _SCHEMA:  # (a cast imports pyarrow.compute: not for the default)
            table = table.cast(_SCHEMA)
        rules: dict[tuple[str, str], str] = {}
        for i, (g, c, b) in enumerate(
            zip(
                table["group_code"].to_pylist(),
                table["carc"].to_pylist(),
                table["bucket"].to_pylist(),
                strict=True,
            )
        ):
            if g not in GROUP_CODES:
                raise LedgerError(
                    f"CARC policy row {i}: group_code {g!r} is not one of {GROUP_CODES}"
                )
            if not c:
                raise LedgerError(f"CARC policy row {i}: carc is empty (use '*' for a fallback)")
            if b not in codes.ADJUSTMENT_BUCKETS:
                raise LedgerError(f"CARC policy row {i}: bucket {b!r} is not one of {BUCKETS}")
            rules[(g, c.strip())] = b  # a later row overrides an earlier one
        for g in GROUP_CODES:
            if (g, "*") not in rules:
                raise LedgerError(f"CARC policy: no fallback row for group {g!r} (carc '*')")
        self._rules = rules
        self.table = table

    @classmethod
    def default(cls) -> CarcPolicy:
        """The shipped policy (``ledgerkit/data/carc_policy.csv``)."""
        table = read_shipped_csv(
            "carc_policy.csv", {"carc": pa.string(), "group_code": pa.string()}
        )
        return cls(table)

    def override(self, group_code: str, carc: str, bucket: str, why: str = "user override"):
        """A new policy with one row replaced or added."""
        row = pa.table(
            {
                "group_code": [group_code],
                "carc": [carc],
                "bucket": [bucket],
                "why": [why],
            }
        )
        return CarcPolicy(pa.concat_tables([self.table, row]))

    def bucket_of(self, group_code: str, carc: str) -> str:
        """The bucket name of one group code + CARC."""
        carc = carc.strip()
        return self._rules.get((group_code, carc)) or self._rules[(group_code, "*")]

    def bucket_matrix(self, group_codes: list[str], carcs: list[str]) -> np.ndarray:
        """int8 bucket codes for every (group, carc) pair of two dictionaries.

        ``out[g, c]`` is the bucket code of ``group_codes[g]`` with ``carcs[c]``;
        used to turn dictionary-encoded columns into per-entry codes in one gather.
        """
        out = np.empty((len(group_codes), len(carcs)), dtype=np.int8)
        for i, g in enumerate(group_codes):
            for j, c in enumerate(carcs):
                out[i, j] = codes.ADJUSTMENT_BUCKETS[self.bucket_of(g, c)]
        return out

    def __repr__(self) -> str:
        return f"CarcPolicy({len(self._rules)} rows)"
