"""The container the X12 readers return: named Arrow tables linked by row ids.

``Remittances`` (835) and ``Claims`` (837) are both a fixed list of tables
whose ``transaction_id``, ``claim_id`` and ``line_id`` columns are row numbers
of the ``transactions``, ``claims`` and ``service_lines`` tables, plus the
files a reader skipped. This base holds what they share: construction (by
position or name), the tables by name, a short repr, equality and
concatenation with renumbered ids.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["TableSet"]

# id column -> the table whose row numbers it holds
ROW_IDS = {"transaction_id": "transactions", "claim_id": "claims", "line_id": "service_lines"}


class TableSet:
    """Named Arrow tables linked by row ids (see the module docstring); subclassed.

    A subclass sets ``TABLE_NAMES`` (the tables, in order), ``SHOWN`` ((table,
    words) pairs its repr counts) and ``empty_table(name)`` (an empty table of
    that schema).
    """

    TABLE_NAMES: tuple[str, ...] = ()
    SHOWN: tuple[tuple[str, str], ...] = ()

    def __init__(self, *tables, skipped=None, **named):
        names = self.TABLE_NAMES
        if len(tables) > len(names):
            raise TypeError(f"{type(self).__name__} takes {len(names)} tables, got {len(tables)}")
        given = dict(zip(names, tables, strict=False))
        for name, table in named.items():
            if name not in names or name in given:
                raise TypeError(f"{type(self).__name__}: unexpected or repeated table {name!r}")
            given[name] = table
        missing = [n for n in names if n not in given]
        if missing:
            raise TypeError(f"{type(self).__name__}: missing tables {missing}")
        for name in names:
            setattr(self, name, given[name])
        self.skipped: list[tuple[str, str]] = list(skipped or [])

    @classmethod
    def empty_table(cls, name: str) -> pa.Table:  # pragma: no cover - always overridden
        raise NotImplementedError

    @property
    def tables(self) -> dict[str, pa.Table]:
        """The tables by name, in order."""
        return {name: getattr(self, name) for name in self.TABLE_NAMES}

    def __repr__(self) -> str:
        parts = [f"{getattr(self, t).num_rows} {words}" for t, words in self.SHOWN]
        if self.skipped:
            parts.append(f"{len(self.skipped)} files skipped")
        return f"{type(self).__name__}({', '.join(parts)})"

    def equals(self, other, *, check_files: bool = False) -> bool:
        """Same tables (values and types); file names compared only if ``check_files``."""
        for name in self.TABLE_NAMES:
            a, b = getattr(self, name), getattr(other, name)
            if not check_files and "file" in a.column_names:
                a, b = a.drop_columns(["file"]), b.drop_columns(["file"])
            if not a.equals(b):
                return False
        return True

    @classmethod
    def concat(cls, parts):
        """Concatenate several objects, renumbering ids so they stay unique."""
        parts = list(parts)
        if not parts:
            return cls(*(cls.empty_table(t) for t in cls.TABLE_NAMES))
        if len(parts) == 1:
            return parts[0]
        out = {t: [] for t in cls.TABLE_NAMES}
        base = dict.fromkeys(ROW_IDS, 0)
        skipped = []
        for part in parts:
            for t in cls.TABLE_NAMES:
                table = getattr(part, t)
                for col, off in base.items():
                    if col in table.column_names and off:
                        i = table.column_names.index(col)
                        shifted = pc.add(table.column(col), pa.scalar(off, pa.int32()))
                        table = table.set_column(i, table.schema.field(i), shifted)
                out[t].append(table)
            for col, table in ROW_IDS.items():
                base[col] += getattr(part, table).num_rows
            skipped.extend(part.skipped)
        tables = [pa.concat_tables(out[t]).combine_chunks() for t in cls.TABLE_NAMES]
        return cls(*tables, skipped=skipped)
