"""Contracts as data: the columns of a contract table, the reasons, the precedence.

A contract table has one row per priced service (or group of services) of a
payer. :func:`ledgerkit.contracts.load` reads and checks one into a
:class:`Contracts`; :func:`ledgerkit.contracts.expected_allowed` prices every
procedure of a ledger with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from ledgerkit.core.schema import PAYER_CLASSES, Column

__all__ = [
    "CODE_ALPHABET",
    "COLUMNS",
    "Contracts",
    "MAX_CODE_LENGTH",
    "REASONS",
    "code_key",
    "half_up",
]

COLUMNS = (
    Column("payer", pa.string(), True, "payer id as in the payers table; null: see payer_class"),
    Column("payer_class", pa.string(), True, "a PAYER_CLASSES value, payer null; both null: any"),
    Column("code_from", pa.string(), False, "first CPT/HCPCS code of the range (inclusive)"),
    Column("code_to", pa.string(), True, "last code of the range (inclusive); null: one code"),
    Column("modifier", pa.string(), True, "first modifier the line must carry; null or '*': any"),
    Column("place_of_service", pa.string(), True, "CMS place of service ('11'); null or '*': any"),
    Column("effective_from", pa.date32(), True, "first date of service covered; null: open"),
    Column("effective_to", pa.date32(), True, "last date of service covered; null: open"),
    Column("rate_cents_per_unit", pa.int64(), True, "contracted rate for one unit, int cents"),
    Column("percent_of_base", pa.float64(), True, "or a percent (120.0) of base_schedule's rate"),
    Column("base_schedule", pa.string(), True, "name of the schedule percent_of_base refers to"),
    Column("carve_out", pa.bool_(), False, "not covered: expected 0, reason 'carve_out'"),
    Column("mppr_family", pa.string(), True, "multiple-procedure reduction family, or null"),
    Column("mppr_percent", pa.float64(), True, "percent paid for the family's 2nd, 3rd... line"),
    Column("cap_at_charge", pa.bool_(), False, "expected = min(contract, charge); default true"),
)  # fmt: skip

# Why a procedure has no expected amount (or, for carve_out, an expected 0).
REASONS = ("no_contract", "carve_out", "no_base_rate", "outside_dates")

# Codes are compared as strings; packed into one int64 they compare the same way.
CODE_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
MAX_CODE_LENGTH = 8
_CODE_BASE = len(CODE_ALPHABET) + 1  # 0 pads a short code, so "9921" < "99210"
_DIGIT = {c: k + 1 for k, c in enumerate(CODE_ALPHABET)}


def code_key(code) -> int:
    """A code (1 to 8 of ``0-9A-Z``) as an int64 that sorts like the string; -1 otherwise.

    Each character is a base-37 digit (a blank pad is 0), left-aligned, so
    ``code_key(a) < code_key(b)`` exactly when ``a < b`` as strings. The span of
    a range, ``code_key(code_to) - code_key(code_from)``, is what "narrower"
    means in the precedence: a range inside another is always narrower.

    Examples
    --------
    >>> code_key("99213") < code_key("99214") < code_key("A0425")
    True
    >>> code_key("992-13")
    -1
    """
    if not isinstance(code, str) or not 0 < len(code) <= MAX_CODE_LENGTH:
        return -1
    key = 0
    for k in range(MAX_CODE_LENGTH):
        digit = 0
        if k < len(code):
            digit = _DIGIT.get(code[k], -1)
            if digit < 0:
                return -1
        key = key * _CODE_BASE + digit
    return key


def half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half-up to an integer (both >= 0, exact).

    >>> half_up(12345, 100), half_up(12350, 100), half_up(12349, 100)
    (123, 124, 123)
    """
    return (numerator * 2 + denominator) // (denominator * 2)


@dataclass(frozen=True)
class Contracts:
    """A checked contract table (or a base schedule) ready to price procedures.

    Build one with :func:`ledgerkit.contracts.load`. ``table`` is the contract
    table as loaded (one row per input row, in input order, typed as
    ``COLUMNS``); ``contract_row`` in :func:`expected_allowed` is a 0-based
    row of it. ``schedules`` maps each base schedule name to its
    ``Contracts``.

    Columns
    -------
    payer
        Payer id as in the ledger's ``payers`` table (the encounter's primary
        payer). Null with ``payer_class`` set: every payer of that class. Both
        null: any payer (not self-pay encounters: those match only rows of
        class ``self_pay``).
    payer_class
        One of ``medicare``, ``medicaid``, ``medicare_advantage``,
        ``commercial``, ``workers_comp``, ``self_pay``, ``other``; only
        when ``payer`` is null.
    code_from, code_to
        CPT/HCPCS range, inclusive, compared as strings (``"99202"`` to
        ``"99215"``); ``code_to`` null or equal to ``code_from``: one code.
    modifier
        The line's first modifier must equal it (``"26"``); null or ``"*"``:
        any modifier or none.
    place_of_service
        The encounter's place of service must equal it (``"11"``); null or
        ``"*"``: any.
    effective_from, effective_to
        Dates of service covered, inclusive; null: open on that side. A line
        whose only matching rows are out of date gets reason ``outside_dates``.
    rate_cents_per_unit
        Expected = rate x units. Example: rate 9000, 2 units -> 18000.
    percent_of_base, base_schedule
        Expected = percent of the base schedule's rate x units, rounded
        half-up to the cent once. Example: 120.0 % of a base rate of 7333 x 1
        unit = 8799.6 -> 8800. The base schedule (a ``schedules=`` name) is
        matched on code, modifier, place of service and date; no base row:
        expected null, reason ``no_base_rate`` (``contract_row`` still names
        the row that asked for it).
    carve_out
        Not covered: expected 0, reason ``carve_out``, ``contract_row`` set.
    mppr_family, mppr_percent
        Multiple-procedure payment reduction. The lines of one encounter whose
        rows share a family are ranked by their contract amount (highest
        first, then lower line number); the first keeps 100 %, each other is
        paid its own row's ``mppr_percent``, rounded half-up to the cent once.
        Example: 20000 and 9001 in one family at 50 % -> 20000 and 4501.
        Carve-outs take no part in the ranking.
    cap_at_charge
        Default true: expected = min(contract amount after MPPR, the line's
        billed charge). Example: contract 18000, charge 15000 -> 15000.

    Precedence
    ----------
    When several rows match a line (payer, code, modifier, place of service
    and date of service), the most specific wins, comparing in this order:

    1. exact payer > payer class > any payer;
    2. exact code > narrower range > wider range (see :func:`code_key`);
    3. exact modifier > any;
    4. exact place of service > any;
    5. then the latest ``effective_from`` (null is earliest).

    Two rows that could match one line and tie on all five are refused at
    load time, naming both rows. Example: a row for payer ``BCBS1``, codes
    ``99202``-``99215`` and a row for class ``commercial``, code ``99213``,
    modifier ``25``: a ``BCBS1`` line 99213-25 takes the first (the payer
    comes first), an ``AET01`` line 99213-25 the second.
    """

    table: pa.Table
    source: str
    schedules: dict = field(default_factory=dict)
    # Parsed columns, one entry per row (numpy; see load.py for the codes).
    payer: list = field(default_factory=list, repr=False)  # str or None
    payer_class: np.ndarray = field(default=None, repr=False)  # int8, -1 none
    code_from: np.ndarray = field(default=None, repr=False)  # int64 code_key
    code_to: np.ndarray = field(default=None, repr=False)
    modifier: list = field(default_factory=list, repr=False)  # str or None (any)
    place_of_service: list = field(default_factory=list, repr=False)  # str or None (any)
    day_from: np.ndarray = field(default=None, repr=False)  # int32, open = INT32_MIN
    day_to: np.ndarray = field(default=None, repr=False)  # int32, open = INT32_MAX
    rate: np.ndarray = field(default=None, repr=False)  # int64, -1 none
    percent_bp: np.ndarray = field(default=None, repr=False)  # int64 basis points, -1 none
    base: np.ndarray = field(default=None, repr=False)  # int32 index into schedule_names, -1
    schedule_names: tuple = ()
    carve_out: np.ndarray = field(default=None, repr=False)  # bool
    family: np.ndarray = field(default=None, repr=False)  # int32 family code, -1 none
    family_names: tuple = ()
    mppr_bp: np.ndarray = field(default=None, repr=False)  # int64 basis points
    cap_at_charge: np.ndarray = field(default=None, repr=False)  # bool

    @property
    def num_rows(self) -> int:
        """Number of contract rows."""
        return self.table.num_rows

    def payer_level(self) -> np.ndarray:
        """int8 per row: 2 exact payer, 1 payer class, 0 any payer."""
        exact = np.array([p is not None for p in self.payer], bool)
        return np.where(exact, 2, np.where(self.payer_class >= 0, 1, 0)).astype(np.int8)

    def precedence(self) -> np.ndarray:
        """Row indices, most specific first (the order of the class docstring)."""
        n = self.num_rows
        if n == 0:
            return np.empty(0, np.int64)
        any_modifier = np.array([m is None for m in self.modifier], np.int8)
        any_pos = np.array([p is None for p in self.place_of_service], np.int8)
        span = self.code_to - self.code_from
        # np.lexsort sorts by the last key first.
        return np.lexsort(
            (
                np.arange(n),
                -self.day_from.astype(np.int64),
                any_pos,
                any_modifier,
                span,
                -self.payer_level(),
            )
        )

    def underpaid_lines(self, ledger, **kwargs) -> pa.Table:
        """``ledgerkit.underpaid_lines(ledger, self, **kwargs)``: the worklist, below
        this package, reaches the underpaid lines through the contracts it is given."""
        from ledgerkit.contracts.underpayments import underpaid_lines

        return underpaid_lines(ledger, self, **kwargs)

    def __repr__(self) -> str:
        names = ", ".join(self.schedule_names) or "none"
        return f"Contracts({self.num_rows} rows from {self.source}; base schedules: {names})"


PAYER_CLASS_CODES = {name: k for k, name in enumerate(PAYER_CLASSES)}
