"""Reading one column of a contract table, cell by cell, with errors naming file, row and column.

Rows are numbered as a user sees them: 1-based data rows, the header not
counted (row 1 is a spreadsheet's second line).
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pyarrow as pa

from ledgerkit.contracts.model import code_key
from ledgerkit.core.arrow import EPOCH, plain
from ledgerkit.errors import LedgerError

__all__ = ["Cells"]

_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


class Cells:
    """Reads the cells of one column and names file, row and column in errors."""

    def __init__(self, table: pa.Table, source: str):
        self.table = table
        self.source = source
        self.n = table.num_rows

    def where(self, row: int, column: str) -> str:
        return f"{self.source}, row {row + 1} (1-based data row), column {column!r}"

    def fail(self, row: int, column: str, what: str):
        raise LedgerError(f"{self.where(row, column)}: {what}")

    def values(self, column: str) -> list:
        if column not in self.table.column_names:
            return [None] * self.n
        return plain(self.table[column]).to_pylist()

    def text(self, column: str, *, star_is_any=False) -> list:
        out = []
        for row, value in enumerate(self.values(column)):
            if (
                isinstance(value, int)
                and not isinstance(value, bool)
                and column == "place_of_service"
            ):
                value = f"{value:02d}"  # a POS column read as numbers lost its leading 0
            if value is not None and not isinstance(value, str):
                self.fail(row, column, f"expected text, got {value!r}")
            value = None if value is None else value.strip()
            if value == "" or (star_is_any and value == "*"):
                value = None
            out.append(value)
        return out

    def code(self, column: str, values: list) -> np.ndarray:
        keys = np.full(self.n, -1, np.int64)
        for row, value in enumerate(values):
            if value is None:
                continue
            key = code_key(value.upper())
            if key < 0:
                self.fail(
                    row,
                    column,
                    f"expected a CPT/HCPCS code of 1 to 8 letters or digits, got {value!r}",
                )
            keys[row] = key
        return keys

    def day(self, column: str, open_day: int) -> np.ndarray:
        out = np.full(self.n, open_day, np.int32)
        for row, value in enumerate(self.values(column)):
            if value is None:
                continue
            if isinstance(value, str):
                try:
                    value = dt.date.fromisoformat(value.strip())
                except ValueError:
                    self.fail(row, column, f"expected a date as YYYY-MM-DD, got {value!r}")
            if isinstance(value, dt.datetime):
                value = value.date()
            if not isinstance(value, dt.date):
                self.fail(row, column, f"expected a date, got {value!r}")
            out[row] = (value - EPOCH).days
        return out

    def whole(self, column: str, limit: int) -> np.ndarray:
        out = np.full(self.n, -1, np.int64)
        for row, value in enumerate(self.values(column)):
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            number = _whole_number(value)
            if number is None or not 0 <= number <= limit:
                self.fail(row, column, f"expected whole cents >= 0, got {value!r}")
            out[row] = number
        return out

    def basis_points(self, column: str, low: float, high: float) -> np.ndarray:
        """Percents as int64 basis points (120.5 -> 12050), -1 null; 0.01 % at most."""
        out = np.full(self.n, -1, np.int64)
        for row, value in enumerate(self.values(column)):
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            try:
                number = float(value.strip() if isinstance(value, str) else value)
            except (TypeError, ValueError):
                number = math.nan
            if isinstance(value, bool) or not low < number <= high:
                self.fail(
                    row,
                    column,
                    f"expected a percent above {low:g} and at most {high:g}, got {value!r}",
                )
            bp = round(number * 100)
            if abs(number * 100 - bp) > 1e-6:
                self.fail(
                    row, column, f"expected a percent with at most 2 decimals, got {value!r}"
                )
            out[row] = bp
        return out

    def flag(self, column: str, default: bool) -> np.ndarray:
        out = np.full(self.n, default, bool)
        for row, value in enumerate(self.values(column)):
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            if isinstance(value, bool):
                out[row] = value
            elif isinstance(value, int) and value in (0, 1):
                out[row] = bool(value)
            elif isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
                out[row] = value.strip().lower() in _TRUE
            else:
                self.fail(row, column, f"expected true or false, got {value!r}")
        return out


def _whole_number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None
