"""The CARC catalogue: what each claim adjustment reason code means for denial work.

Packaged as ``data/carc_catalog.csv`` (descriptions in our own words, not the
official X12 text). One row per CARC and group:

``group_code``
    ``"*"`` (any group: the row every code has) or a group code (``CO``,
    ``PR``, ``OA``, ``PI``, ``CR``) whose row replaces the ``"*"`` row for
    adjustments of that group. The group code decides who is liable (DOMAIN,
    Settled question 4): ``bill_patient`` is allowed only on ``PR`` rows, so
    CO-96 is never billed to the patient while PR-96 is. Optional in
    user tables (missing: ``"*"``).
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
    the usual next step: one of :data:`ACTIONS` (:meth:`CarcCatalog.next_action_of`
    takes the group code).

Unknown codes are never dropped: they resolve to category ``"other"``, next
action ``"appeal"`` (someone has to read the remit), ``known = False``, and
:meth:`CarcCatalog.unknown` lists them. Users override rows with
:meth:`CarcCatalog.override`.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ledgerkit.core.compute import pc
from ledgerkit.core.schema import GROUP_CODES
from ledgerkit.core.shipped import read_shipped_csv

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
ANY_GROUP = "*"
# Only the payer's "patient responsibility" group makes an amount the patient's.
PATIENT_GROUP = "PR"

# What an unknown code resolves to.
UNKNOWN = {
    "description": "code not in the catalogue",
    "category": "other",
    "type": "administrative",
    "avoidable": False,
    "next_action": "appeal",
}


class CarcCatalog:
    """(group code, CARC) -> description, denial category, type, avoidable, next action.

    Parameters
    ----------
    table : pyarrow.Table
        Columns ``carc, description, category, type, avoidable, next_action``
        and optionally ``group_code`` (``"*"`` when absent or null);
        ``avoidable`` may be bool or "yes"/"no". A later row for the same
        group and code replaces an earlier one.

    Raises
    ------
    ValueError
        A missing column, an empty code, a group outside ``"*"`` and the group
        codes, a category / type / action outside :data:`CATEGORIES` /
        :data:`TYPES` / :data:`ACTIONS`, or ``bill_patient`` on a row that is
        not for group ``PR``.

    Examples
    --------
    >>> cat = CarcCatalog.default()
    >>> cat.category_of("197"), cat.next_action_of("197")
    ('prior_authorization', 'appeal')
    >>> cat.category_of("ZZ9")  # unknown codes fall into "other"
    'other'
    >>> cat.override("197", category="coding").category_of("197")
    'coding'
    >>> cat.next_action_of("96", "PR"), cat.next_action_of("96", "CO")
    ('bill_patient', 'write_off')
    """

    def __init__(self, table: pa.Table):
        missing = [c for c in COLUMNS if c not in table.column_names]
        if missing:
            raise ValueError(f"CARC catalogue: missing column {missing[0]!r} (need {COLUMNS})")
        if "group_code" not in table.column_names:
            table = table.append_column(
                "group_code", pa.array([ANY_GROUP] * table.num_rows, pa.string())
            )
        rows: dict[str, dict] = {}
        by_group: dict[tuple[str, str], dict] = {}
        for i, row in enumerate(table.select(["group_code", *COLUMNS]).to_pylist()):
            code = str(row["carc"] or "").strip()
            if not code:
                raise ValueError(f"CARC catalogue row {i}: carc is empty")
            group = str(row["group_code"] or ANY_GROUP).strip()
            if group != ANY_GROUP and group not in GROUP_CODES:
                raise ValueError(
                    f"CARC catalogue row {i} ({code}): group_code {group!r} is not "
                    f"{ANY_GROUP!r} or one of {GROUP_CODES}"
                )
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
            if row["next_action"] == "bill_patient" and group != PATIENT_GROUP:
                raise ValueError(
                    f"CARC catalogue row {i} ({group} {code}): next_action 'bill_patient' is "
                    f"only for group {PATIENT_GROUP!r}: the group code decides who is liable "
                    "(CO is the provider's obligation)"
                )
            row["carc"] = code
            row["group_code"] = group
            row["avoidable"] = _yes(row["avoidable"], i, code)
            if group == ANY_GROUP:
                rows[code] = row
            else:
                by_group[(group, code)] = row
        self._rows = rows
        self._by_group = by_group

    @classmethod
    def default(cls) -> CarcCatalog:
        """The shipped catalogue (``ledgerkit/data/carc_catalog.csv``)."""
        table = read_shipped_csv(
            "carc_catalog.csv", {c: pa.string() for c in ("group_code", *COLUMNS)}
        )
        return cls(table)

    def override(self, carc: str, group_code: str = ANY_GROUP, **fields) -> CarcCatalog:
        """A new catalogue with one row changed (or added, for a new code or group).

        Fields not given keep their current value (for a new group row: the
        code's ``"*"`` row; for a new code: the unknown-code defaults).

        Examples
        --------
        >>> cat = CarcCatalog.default().override("X9", category="coding", avoidable=True)
        >>> cat.lookup(["X9"]).to_pylist()[0]["known"]
        True
        >>> cat.override("X9", "PR", next_action="bill_patient").next_action_of("X9", "PR")
        'bill_patient'
        """
        bad = [k for k in fields if k not in COLUMNS[1:]]
        if bad:
            raise ValueError(f"override: unknown field {bad[0]!r} (fields: {COLUMNS[1:]})")
        code = str(carc).strip()
        group = str(group_code).strip()
        row = dict(self._row(code, None if group == ANY_GROUP else group))
        row.update(fields, carc=code, group_code=group)
        rows = [r for r in self._all_rows() if (r["group_code"], r["carc"]) != (group, code)]
        return CarcCatalog(pa.Table.from_pylist([*rows, row]))

    def _all_rows(self) -> list[dict]:
        return [*self._rows.values(), *self._by_group.values()]

    def __len__(self) -> int:
        """The number of codes (a code with group rows counts once)."""
        return len(self._rows.keys() | {c for _, c in self._by_group})

    def __contains__(self, carc) -> bool:
        code = str(carc).strip()
        return code in self._rows or any(c == code for _, c in self._by_group)

    def _row(self, carc, group_code=None) -> dict:
        code = "" if carc is None else str(carc).strip()
        if group_code is not None:
            row = self._by_group.get((str(group_code).strip(), code))
            if row is not None:
                return row
        return self._rows.get(code) or {"carc": code, "group_code": ANY_GROUP, **UNKNOWN}

    def category_of(self, carc: str, group_code: str | None = None) -> str:
        """The denial category of one code ("other" when unknown)."""
        return self._row(carc, group_code)["category"]

    def next_action_of(self, carc: str, group_code: str | None = None) -> str:
        """The usual next action for one code under ``group_code`` (None: any group).

        Only a ``PR`` adjustment is billed to the patient: the same CARC
        under ``CO`` is the provider's obligation.

        Examples
        --------
        >>> cat = CarcCatalog.default()
        >>> cat.next_action_of("119", "PR"), cat.next_action_of("119", "CO")
        ('bill_patient', 'write_off')
        """
        return self._row(carc, group_code)["next_action"]

    def next_actions(self, carcs, group_codes) -> list[str]:
        """:meth:`next_action_of` for parallel lists of codes and groups (None: "appeal").

        Examples
        --------
        >>> CarcCatalog.default().next_actions(["2", "2", None], ["PR", "CO", "CO"])
        ['bill_patient', 'appeal', 'appeal']
        """
        memo: dict = {}
        out = []
        for carc, group in zip(carcs, group_codes, strict=True):
            if carc is None:
                out.append(UNKNOWN["next_action"])
                continue
            key = (carc, group)
            if key not in memo:
                memo[key] = self.next_action_of(carc, group)
            out.append(memo[key])
        return out

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
        """The whole catalogue as an Arrow table (``"*"`` rows, then group rows)."""
        return pa.Table.from_pylist(
            [{k: r[k] for k in ("group_code", *COLUMNS)} for r in self._all_rows()]
        )

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
