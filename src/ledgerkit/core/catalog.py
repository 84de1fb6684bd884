"""The CARC catalogue: what each claim adjustment reason code means for denial work.

Packaged as ``data/carc_catalog.csv`` (descriptions in our own words, not the
official X12 text). One row per CARC:

``carc``
    the code as it appears on the 835 ("50", "B7", "P12"; alphanumeric).
``description``
    a short plain-language description.
``category``
    one of :data:`CATEGORIES`.
``type``
    ``technical`` (claim data or coding errors), ``clinical`` (necessity,
    documentation) or ``administrative`` (coverage, authorization, filing,
    contract terms).
``avoidable``
    ``True`` when the practice could have prevented it before submission
    (front-end checks, coding review).
``next_action``
    the usual next step: one of :data:`ACTIONS`.

Unknown codes are never dropped: they resolve to category ``"other"``, next
action ``"appeal"`` (someone has to read the remit), ``known = False``, and
:meth:`CarcCatalog.unknown` lists them. Users override rows with
:meth:`CarcCatalog.override`.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

__all__ = ["CarcCatalog", "CATEGORIES", "TYPES", "ACTIONS", "DENIAL_CATEGORIES"]

CATEGORIES = (
    "eligibility_cob",
    "prior_authorization",
    "coding",
    "medical_necessity",
    "timely_filing",
    "duplicate",
    "bundling",
    "contractual",
    "patient_responsibility",
    "other",
)
# Categories that are denials (contractual and patient responsibility are not).
DENIAL_CATEGORIES = tuple(
    c for c in CATEGORIES if c not in ("contractual", "patient_responsibility")
)
TYPES = ("technical", "clinical", "administrative")
ACTIONS = ("correct_resubmit", "appeal", "write_off", "bill_patient")
COLUMNS = ("carc", "description", "category", "type", "avoidable", "next_action")

# What an unknown code resolves to.
UNKNOWN = {
    "description": "code not in the catalogue",
    "category": "other",
    "type": "administrative",
    "avoidable": False,
    "next_action": "appeal",
}


class CarcCatalog:
    """CARC -> description, denial category, type, avoidable, next action.

    Parameters
    ----------
    table : pyarrow.Table
        Columns ``carc, description, category, type, avoidable, next_action``;
        ``avoidable`` may be bool or "yes"/"no". A later row for the same code
        replaces an earlier one.

    Raises
    ------
    ValueError
        A missing column, an empty code, or a category / type / action outside
        :data:`CATEGORIES` / :data:`TYPES` / :data:`ACTIONS`.

    Examples
    --------
    >>> cat = CarcCatalog.default()
    >>> cat.category_of("197"), cat.next_action_of("197")
    ('prior_authorization', 'appeal')
    >>> cat.category_of("ZZ9")  # unknown codes fall into "other"
    'other'
    >>> cat.override("197", category="coding").category_of("197")
    'coding'
    """

    def __init__(self, table: pa.Table):
        missing = [c for c in COLUMNS if c not in table.column_names]
        if missing:
            raise ValueError(f"CARC catalogue: missing column {missing[0]!r} (need {COLUMNS})")
        rows: dict[str, dict] = {}
        for i, row in enumerate(table.select(list(COLUMNS)).to_pylist()):
            code = str(row["carc"] or "").strip()
            if not code:
                raise ValueError(f"CARC catalogue row {i}: carc is empty")
            for col, allowed in (
                ("category", CATEGORIES),
                ("type", TYPES),
                ("next_action", ACTIONS),
            ):
                if row[col] not in allowed:
                    raise ValueError(
                        f"CARC catalogue row {i} ({code}): {col} {row[col]!r} is not one of "
                        f"{allowed}"
                    )
            row["carc"] = code
            row["avoidable"] = _yes(row["avoidable"], i, code)
            rows[code] = row
        self._rows = rows

    @classmethod
    def default(cls) -> CarcCatalog:
        """The shipped catalogue (``ledgerkit/data/carc_catalog.csv``)."""
        with resources.files("ledgerkit.core").joinpath("data/carc_catalog.csv").open("rb") as f:
            table = pacsv.read_csv(
                f,
                convert_options=pacsv.ConvertOptions(
                    column_types={c: pa.string() for c in COLUMNS}
                ),
            )
        return cls(table)

    def override(self, carc: str, **fields) -> CarcCatalog:
        """A new catalogue with one row changed (or added, for a new code).

        Fields not given keep their current value (for a new code: the
        unknown-code defaults).

        Examples
        --------
        >>> cat = CarcCatalog.default().override("X9", category="coding", avoidable=True)
        >>> cat.lookup(["X9"]).to_pylist()[0]["known"]
        True
        """
        bad = [k for k in fields if k not in COLUMNS[1:]]
        if bad:
            raise ValueError(f"override: unknown field {bad[0]!r} (fields: {COLUMNS[1:]})")
        code = str(carc).strip()
        row = dict(self._rows.get(code) or {"carc": code, **UNKNOWN})
        row.update(fields)
        rows = [*(r for c, r in self._rows.items() if c != code), row]
        return CarcCatalog(pa.Table.from_pylist(rows))

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, carc) -> bool:
        return str(carc).strip() in self._rows

    def _row(self, carc) -> dict:
        code = "" if carc is None else str(carc).strip()
        return self._rows.get(code) or {"carc": code, **UNKNOWN}

    def category_of(self, carc: str) -> str:
        """The denial category of one code ("other" when unknown)."""
        return self._row(carc)["category"]

    def next_action_of(self, carc: str) -> str:
        """The usual next action for one code."""
        return self._row(carc)["next_action"]

    def unknown(self, carcs) -> list[str]:
        """The distinct codes of ``carcs`` (list or Arrow column) not in the catalogue.

        Examples
        --------
        >>> CarcCatalog.default().unknown(["45", "ZZ9", None, "ZZ9"])
        ['ZZ9']
        """
        values = _distinct(carcs)
        return sorted(v for v in values if v.strip() not in self._rows)

    def lookup(self, carcs) -> pa.Table:
        """One row per distinct code of ``carcs`` with every catalogue field and ``known``."""
        values = sorted(_distinct(carcs))
        rows = [{**self._row(v), "carc": v, "known": v.strip() in self._rows} for v in values]
        schema = pa.schema(
            [
                ("carc", pa.string()),
                ("description", pa.string()),
                ("category", pa.string()),
                ("type", pa.string()),
                ("avoidable", pa.bool_()),
                ("next_action", pa.string()),
                ("known", pa.bool_()),
            ]
        )
        return pa.Table.from_pylist(rows, schema=schema)

    def table(self) -> pa.Table:
        """The whole catalogue as an Arrow table."""
        return pa.Table.from_pylist(list(self._rows.values()))

    def codes_for(self, values: list) -> dict[str, np.ndarray]:
        """Integer codes of each field for a list of CARC values (a dictionary).

        Returns ``category`` (index into CATEGORIES), ``type``, ``next_action``
        (index into ACTIONS), ``avoidable`` (bool) and ``known`` arrays, one
        entry per value, so that per-row fields are one gather away.
        """
        rows = [self._row(v) for v in values]
        return {
            "category": np.array([CATEGORIES.index(r["category"]) for r in rows], np.int32),
            "type": np.array([TYPES.index(r["type"]) for r in rows], np.int32),
            "next_action": np.array([ACTIONS.index(r["next_action"]) for r in rows], np.int32),
            "avoidable": np.array([bool(r["avoidable"]) for r in rows], np.bool_),
            "known": np.array(
                [v is not None and str(v).strip() in self._rows for v in values], np.bool_
            ),
        }

    def __repr__(self) -> str:
        return f"CarcCatalog({len(self)} codes)"


def _yes(value, i, code) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("yes", "y", "true", "1"):
        return True
    if text in ("no", "n", "false", "0"):
        return False
    raise ValueError(f"CARC catalogue row {i} ({code}): avoidable {value!r} is not yes/no")


def _distinct(carcs) -> set[str]:
    if isinstance(carcs, pa.ChunkedArray | pa.Array):
        carcs = pc.unique(carcs.cast(pa.string())).to_pylist()
    return {str(v) for v in carcs if v is not None}
