"""One formatter for every table a person reads: money, rates, days, codes, labels.

Money is int64 cents end to end; it becomes dollars only here, and from the
integers (``divmod``), so $0.29 never shows as $0.28999. Every widget table
and every notebook table goes through these functions (see docs/glossary.md,
"Figures", for what each figure adds up).

- :func:`money`: ``"$1,234.56"`` (negative ``"-$0.05"``) from cents;
- :func:`rate`: ``"21.0%"`` from a fraction;
- :func:`days`: a whole number of days;
- :func:`label`: a column name in words (``at_stake_cents`` -> ``"At stake ($)"``);
- :func:`carc_text`, :func:`rarc_text`, :func:`claim_status_text`: codes with
  what they mean (the CARC catalogue, ``core.remark_codes``, ``x12.codes``);
- :func:`format_value` / :func:`format_table`: any value or Arrow table by its
  column name (:func:`column_kind` decides which of the above applies).
"""

from __future__ import annotations

import datetime as dt
import math
from functools import lru_cache

import pyarrow as pa

from ledgerkit.core.limits import dollars
from ledgerkit.core.remark_codes import rarc_description
from ledgerkit.x12.codes import claim_status_words

__all__ = [
    "money",
    "rate",
    "days",
    "count",
    "label",
    "column_kind",
    "carc_text",
    "carc_description",
    "rarc_text",
    "claim_status_text",
    "format_value",
    "format_table",
]

# Columns that hold cents without a ``_cents`` suffix (the bucket figures of
# ``lk.classify`` / ``lk.balances`` and the per-unit averages of payer behaviour).
MONEY_COLUMNS = frozenset(
    (
        "charge paid contractual pr_deductible pr_coinsurance pr_copay pr_other pr denied "
        "other written_off pushed_to_pr patient_paid allowed balance open_pr payer_balance "
        "credit explain_amount mean_allowed_per_unit expected_per_unit "
        "days_0_30 days_31_60 days_61_90 days_91_120 days_over_120"
    ).split()
)
RATE_WORDS = ("rate", "share", "likelihood")
DAY_COLUMNS = frozenset(("days_left", "age_days", "lag_days"))
PAYER_COLUMNS = frozenset(("payer", "payer_id"))
SELF_PAY = "self-pay"

# Words for the column names whose parts do not read well on their own.
LABELS = {
    "encounter_id": "Encounter",
    "payer_id": "Payer",
    "payer_seq": "Payer no.",
    "last_payer_seq": "Last payer no.",
    "carc": "CARC",
    "rarc": "RARC",
    "cpt": "CPT",
    "pr": "Patient resp. ($)",
    "open_pr": "Open patient resp. ($)",
    "pr_deductible": "Deductible ($)",
    "pr_coinsurance": "Coinsurance ($)",
    "pr_copay": "Copay ($)",
    "pr_other": "Other patient resp. ($)",
    "pushed_to_pr": "Pushed to patient ($)",
    "ar_closed_cents": "A/R removed ($)",
    "days_0_30": "0-30 days ($)",
    "days_31_60": "31-60 days ($)",
    "days_61_90": "61-90 days ($)",
    "days_91_120": "91-120 days ($)",
    "days_over_120": "Over 120 days ($)",
    "explain_line": "Line",
    "explain_group": "Group",
    "explain_carc": "CARC",
    "explain_amount": "Amount ($)",
    "explain_payer_seq": "Payer no.",
    "mean_allowed_per_unit": "Mean allowed per unit ($)",
    "expected_per_unit": "Expected per unit ($)",
    "p10_days": "10th pct. days",
    "p25_days": "25th pct. days",
    "median_days": "Median days",
    "p75_days": "75th pct. days",
    "p90_days": "90th pct. days",
    "taa_source": "TAA source",
    "taa_cents": "TAA ($)",
    "status_code": "Claim status",
}


def money(cents, *, dollar_sign: bool = True) -> str:
    """Cents as dollars: 2 decimals, thousands separators, exact.

    Integers are split with ``divmod`` (no float on the way); a float (an
    average of cents) is rounded to the nearest cent first. ``None`` and NaN
    are ``""``.

    Examples
    --------
    >>> money(123456789), money(-5), money(29), money(17972.093023)
    ('$1,234,567.89', '-$0.05', '$0.29', '$179.72')
    >>> money(0, dollar_sign=False)
    '0.00'
    """
    if cents is None or (isinstance(cents, float) and math.isnan(cents)):
        return ""
    if not isinstance(cents, int):
        cents = int(round(float(cents)))
    text = dollars(cents)  # the exact integer split lives in core.limits
    return text if dollar_sign else text.replace("$", "", 1)


def rate(value, digits: int = 1) -> str:
    """A fraction as a percentage.

    Examples
    --------
    >>> rate(0.209906), rate(1), rate(None)
    ('21.0%', '100.0%', '')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{100 * float(value):.{digits}f}%"


def days(value) -> str:
    """A number of days as a whole number (rounded half away from zero).

    Examples
    --------
    >>> days(13.53), days(12.5), days(-3), days(None)
    ('14', '13', '-3', '')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    v = float(value)
    return f"{int(math.floor(abs(v) + 0.5)) * (1 if v >= 0 else -1):,}"


def count(value) -> str:
    """A count with thousands separators.

    Examples
    --------
    >>> count(20000)
    '20,000'
    """
    return "" if value is None else f"{int(value):,}"


# Integer columns that are keys or positions, not counts: shown without separators.
KEY_COLUMNS = frozenset(
    "line rank negates version payer_seq last_payer_seq explain_line explain_payer_seq "
    "position order".split()
)


def _is_key(name: str) -> bool:
    return name in KEY_COLUMNS or name.endswith("_id") or name.endswith("_line")


def column_kind(name: str, type_: pa.DataType | None = None) -> str:
    """How a column is shown: ``"money"``, ``"rate"``, ``"days"``, ``"count"`` or ``"text"``.

    Examples
    --------
    >>> [column_kind(c) for c in ("at_stake_cents", "balance", "denial_rate", "days_left")]
    ['money', 'money', 'rate', 'days']
    >>> column_kind("days_0_30"), column_kind("median_days"), column_kind("claims", pa.int64())
    ('money', 'days', 'count')
    >>> column_kind("entry_id", pa.int64()), column_kind("line", pa.int32())
    ('text', 'text')
    """
    if name.endswith("_cents") or name in MONEY_COLUMNS:
        return "money"
    if name.endswith("_rate") or name in RATE_WORDS or name == "share":
        return "rate"
    if name in DAY_COLUMNS or name.endswith("_days"):
        return "days"
    if type_ is not None and pa.types.is_integer(type_) and not _is_key(name):
        return "count"
    return "text"


def label(name: str) -> str:
    """A column name in words; money columns say ``($)``.

    Examples
    --------
    >>> label("at_stake_cents"), label("denial_rate"), label("encounters_closed")
    ('At stake ($)', 'Denial rate', 'Encounters closed')
    >>> label("balance"), label("reason_code")
    ('Balance ($)', 'Reason code')
    """
    if name in LABELS:
        return LABELS[name]
    base = name[: -len("_cents")] if name.endswith("_cents") else name
    words = base.replace("_", " ").strip()
    words = words[:1].upper() + words[1:]
    return f"{words} ($)" if column_kind(name) == "money" else words


@lru_cache(maxsize=1)
def _default_descriptions() -> dict:
    from ledgerkit.core.catalog import CarcCatalog

    return _descriptions(CarcCatalog.default())


def _descriptions(catalog) -> dict:
    """``{(group_code or "*", carc): description}`` of a catalogue."""
    return {(r["group_code"], r["carc"]): r["description"] for r in catalog.table().to_pylist()}


def carc_description(carc, group_code=None, *, catalog=None) -> str:
    """What a CARC means, from the catalogue (its group's row first); ``""`` if unknown.

    Examples
    --------
    >>> carc_description("45")
    'Billed amount above the contracted or scheduled fee'
    """
    if carc is None:
        return ""
    known = _descriptions(catalog) if catalog is not None else _default_descriptions()
    code = str(carc).strip()
    return known.get((group_code, code)) or known.get(("*", code)) or ""


def carc_text(carc, group_code=None, *, catalog=None) -> str:
    """A CARC with its description from the catalogue (``"CO-45: ..."`` with a group).

    Examples
    --------
    >>> carc_text("197", "CO")
    'CO-197: Precertification or authorization missing'
    >>> carc_text(None)
    ''
    """
    if carc is None:
        return ""
    desc = carc_description(carc, group_code, catalog=catalog)
    code = f"{group_code}-{carc}" if group_code else str(carc)
    return f"{code}: {desc}" if desc else code


def rarc_text(code) -> str:
    """A remark code with its description (``core.remark_codes``), or the code alone.

    Examples
    --------
    >>> rarc_text("N54")
    'N54: The claim was sent to the wrong payer or plan'
    """
    if code is None:
        return ""
    desc = rarc_description(code)
    return f"{code}: {desc}" if desc else str(code)


def claim_status_text(code) -> str:
    """A CLP02 claim status code with its meaning (``ledgerkit.x12.codes``).

    Examples
    --------
    >>> claim_status_text("22"), claim_status_text(1)
    ('22 (reversal of a previous payment)', '1 (processed as primary)')
    """
    return claim_status_words(code)


def format_value(value, name: str, type_: pa.DataType | None = None) -> str:
    """One value as shown in a table, by its column name (see :func:`column_kind`).

    Examples
    --------
    >>> format_value(28000, "charge"), format_value(None, "payer_id")
    ('$280.00', 'self-pay')
    >>> format_value(0.209906, "denial_rate"), format_value(True, "expired")
    ('21.0%', 'yes')
    """
    if value is None and name in PAYER_COLUMNS:
        return SELF_PAY
    kind = column_kind(name, type_)
    if kind == "money":
        return money(value)
    if kind == "rate":
        return rate(value)
    if kind == "days":
        return days(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if kind == "count":
        return count(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, list):
        return ", ".join(format_value(v, name) for v in value)
    return str(value)


def format_table(table, columns=None, *, carc_descriptions: bool = True):
    """An Arrow table as a pandas DataFrame of display strings with worded labels.

    Money in dollars, rates in %, days whole, a null payer as "self-pay", and
    a CARC column (``carc`` / ``explain_carc``) with its description beside it
    (``carc_descriptions=False`` leaves the codes alone). The figures stay in
    the Arrow table; this is for reading.

    Examples
    --------
    >>> import pyarrow as pa
    >>> t = pa.table({"payer": ["MCR01", None], "denied_cents": [28000, 5],
    ...               "denial_rate": [0.209906, 0.5]})
    >>> format_table(t).to_dict("list")
    {'Payer': ['MCR01', 'self-pay'], 'Denied ($)': ['$280.00', '$0.05'], \
'Denial rate': ['21.0%', '50.0%']}
    """
    import pandas as pd

    if not isinstance(table, pa.Table):
        table = pa.Table.from_pandas(table, preserve_index=False)
    columns = list(columns or table.column_names)
    out = {}
    for name in columns:
        col = table[name]
        type_ = col.type.value_type if pa.types.is_dictionary(col.type) else col.type
        values = col.to_pylist()
        out[label(name)] = [format_value(v, name, type_) for v in values]
        if carc_descriptions and name == "rarc":
            out["Remark"] = [rarc_description(c) or "" for c in values]
        if carc_descriptions and name in ("carc", "explain_carc"):
            group = {"carc": "group_code", "explain_carc": "explain_group"}[name]
            groups = (
                table[group].to_pylist() if group in table.column_names else [None] * len(values)
            )
            out["Reason"] = [carc_description(c, g) for c, g in zip(values, groups, strict=True)]
    frame = pd.DataFrame(out)
    frame.index = range(1, len(frame) + 1)
    return frame
