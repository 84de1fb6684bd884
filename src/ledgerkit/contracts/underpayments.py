"""Underpayments against contracts: ``lk.underpayments`` and ``lk.underpaid_lines``.

(They live with the contracts, above the analytics whose group-bys they use;
``lk.worklist(contracts=...)`` reaches them through
:meth:`Contracts.underpaid_lines <ledgerkit.contracts.Contracts.underpaid_lines>`.)

Each line's contract expectation comes from :func:`ledgerkit.expected_allowed`
(the primary payer's contract, effective dates, modifiers, place of service,
MPPR, charge cap). The words below are the columns of the results; all money
is int64 cents.

compared line
    a line the primary payer (payer_seq 1) has remitted, that a contract row
    prices (``expected_allowed_cents`` not null) and that carries no live
    denial of any payer (a denied line is worked as a denial, on the worklist).
variance
    ``allowed - expected`` (``allowed`` as everywhere: payments + the last
    adjudicating payer's PR-1/2/3).
under contract
    a compared line with ``allowed < expected``; ``under_cents`` sums
    ``expected - allowed`` over them. Sequestration (CO-253) counts here: the
    payer did allow less, by statute.
CO-45 excess
    the CARC 45 cents (CO-45 or PI-45, "charge exceeds fee schedule") the
    primary wrote off beyond what the contract implies:
    ``co45 - (charge - expected)`` when positive. Example: charge $150,
    expected $99, paid $70, PR-2 $14, CO-45 $66 -> allowed $84, excess
    $66 - $51 = $15.
shortfall
    ``min(expected - allowed, CO-45 excess)``, floored at 0: what the payer
    withheld by writing the line down below its contract. A reduction the
    payer explains with another reason (a denial, sequestration, a
    non-covered PR) is not a shortfall.
underpaid, recoverable
    a line is underpaid when its shortfall is above both tolerances:
    ``shortfall > tolerance_cents`` and ``shortfall > expected x
    tolerance_percent / 100`` (compared exactly, in basis points);
    ``recoverable_cents`` sums the whole shortfall of the underpaid lines.
    Example: expected $99.00, shortfall $15.00, tolerances $1.00 and 2%
    ($1.98) -> underpaid, $15.00 recoverable; a shortfall of $1.50 is not.
below contract (a group)
    the group's allowed is below its expected by more than both tolerances
    (the same rule on the group's totals).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ledgerkit._kernels import codes as C
from ledgerkit.analytics.derived import derived
from ledgerkit.analytics.facts import (
    NO_DAY,
    REASON_DIMS,
    Dims,
    Grouping,
    group_sums,
    grouped,
    parse_by,
    proc_of_entries,
    ratio,
)
from ledgerkit.contracts.expected import expected_allowed
from ledgerkit.contracts.load import load
from ledgerkit.contracts.model import Contracts

__all__ = [
    "above_tolerance",
    "DEFAULT_TOLERANCE_CENTS",
    "DEFAULT_TOLERANCE_PERCENT",
    "ContractLines",
    "contract_lines",
    "underpaid_lines",
    "underpayments",
]

DEFAULT_TOLERANCE_CENTS = 100  # $1.00
DEFAULT_TOLERANCE_PERCENT = 2.0  # absorbs rounding; CO-253 is no shortfall anyway


class ContractLines:
    """Per grouped procedure: the contract comparison (module docstring), as numpy arrays.

    ``expected`` is -1 where no contract row applies; ``compared``, ``shortfall``
    and ``underpaid`` follow the definitions above for the given tolerances.
    """

    def __init__(self, ledger, contracts, *, tolerance_cents, tolerance_percent, policy):
        check_tolerances(tolerance_cents, tolerance_percent)
        dims = Dims(ledger, None, policy)
        f = dims.facts
        keys = ledger.keys
        self.dims, self.facts = dims, f
        table = expected_table(ledger, contracts, policy)
        rows = keys.proc_rows(np.arange(keys.n_procedures))
        expected = table["expected_allowed_cents"].fill_null(-1).to_numpy(zero_copy_only=False)
        self.expected = np.asarray(expected, np.int64)[rows]
        contract_row = table["contract_row"].fill_null(-1).to_numpy(zero_copy_only=False)
        self.contract_row = np.asarray(contract_row, np.int64)[rows]
        self.charge = f.figures["charge"]
        self.allowed = f.figures["allowed"]
        self.co45 = _primary_carc45(ledger, f)
        remitted = f.enc_first_day[f.proc_enc, 1] != NO_DAY
        self.compared = remitted & (self.expected >= 0) & (f.figures["denied"] == 0)
        expected0 = np.maximum(self.expected, 0)
        self.variance = np.where(self.compared, self.allowed - expected0, 0)
        self.under = self.compared & (self.variance < 0)
        excess = self.co45 - (self.charge - expected0)
        self.co45_excess = np.where(self.compared & (excess > 0), excess, 0)
        short = np.minimum(expected0 - self.allowed, self.co45_excess)
        self.shortfall = np.where(self.compared, np.maximum(short, 0), 0)
        self.underpaid = above_tolerance(
            self.shortfall, expected0, tolerance_cents, tolerance_percent
        )
        self.tolerance_cents = int(tolerance_cents)
        self.tolerance_percent = float(tolerance_percent)


def check_tolerances(tolerance_cents, tolerance_percent) -> None:
    """Raise ``ValueError`` unless both tolerances are numbers >= 0 (cents an integer)."""
    if isinstance(tolerance_cents, bool) or not isinstance(tolerance_cents, int | np.integer):
        raise ValueError(f"tolerance_cents must be an integer, got {tolerance_cents!r}")
    if tolerance_cents < 0:
        raise ValueError(f"tolerance_cents must be >= 0, got {tolerance_cents!r}")
    if isinstance(tolerance_percent, bool) or not isinstance(tolerance_percent, int | float):
        raise ValueError(f"tolerance_percent must be a number, got {tolerance_percent!r}")
    if not 0 <= tolerance_percent <= 100:
        raise ValueError(f"tolerance_percent must be in [0, 100], got {tolerance_percent!r}")


def above_tolerance(shortfall, expected, tolerance_cents, tolerance_percent) -> np.ndarray:
    """``shortfall > tolerance_cents`` and ``shortfall > expected x percent / 100``, exactly.

    >>> above_tolerance(np.array([150, 1500]), np.array([9900, 9900]), 100, 2.0).tolist()
    [False, True]
    """
    bp = int(round(float(tolerance_percent) * 100))
    shortfall = np.asarray(shortfall, np.int64)
    return (shortfall > tolerance_cents) & (shortfall * 10000 > np.asarray(expected) * bp)


def expected_table(ledger, contracts, policy=None) -> pa.Table:
    """``expected_allowed(ledger, contracts)``, kept on the ledger's derived data.

    ``contracts`` is a loaded ``Contracts`` or anything ``ledgerkit.contracts.load``
    reads (a path or a table). The result is kept per contracts object.
    """
    if not isinstance(contracts, Contracts):
        contracts = load(contracts)
    memo = derived(ledger, policy).memo
    kept = memo.get("contracts.expected_allowed")
    if kept is not None and kept[0] is contracts:
        return kept[1]
    table = expected_allowed(ledger, contracts, policy=policy)
    memo["contracts.expected_allowed"] = (contracts, table)
    return table


def _primary_carc45(ledger, f) -> np.ndarray:
    """Per grouped procedure: the primary's live contractual CARC 45 cents (CO-45, PI-45)."""
    codes = f.codes
    if "45" not in f.carc_values:
        return np.zeros(len(f.proc_enc), np.int64)
    carc45 = list(f.carc_values).index("45")
    rows = np.flatnonzero(
        (C.bucket_of(codes) == C.CONTRACTUAL)
        & C.is_live(codes)
        & (C.payer_seq_of(codes) == 1)
        & (f.entry_carc == carc45)
    )
    proc = proc_of_entries(ledger, rows)
    sums, _ = group_sums(proc, {"co45": ledger.keys.amounts[rows]}, len(f.proc_enc))
    return sums["co45"]


def contract_lines(
    ledger,
    contracts,
    *,
    tolerance_cents: int = DEFAULT_TOLERANCE_CENTS,
    tolerance_percent: float = DEFAULT_TOLERANCE_PERCENT,
    policy=None,
) -> ContractLines:
    """The per-line contract comparison of ``ledger`` (:class:`ContractLines`)."""
    return ContractLines(
        ledger,
        contracts,
        tolerance_cents=tolerance_cents,
        tolerance_percent=tolerance_percent,
        policy=policy,
    )


def underpayments(
    ledger,
    contracts,
    by="payer",
    *,
    tolerance_cents: int = DEFAULT_TOLERANCE_CENTS,
    tolerance_percent: float = DEFAULT_TOLERANCE_PERCENT,
    policy=None,
) -> pa.Table:
    """Lines and dollars under contract, CO-45 excess and recoverable dollars, by ``by``.

    Parameters
    ----------
    ledger : Ledger
    contracts : Contracts, path or table
        The contracts (``ledgerkit.contracts.load``).
    by : str or sequence of str, optional
        ``payer`` (primary), ``payer_class``, ``cpt``, ``month`` (service
        month), ``provider``, ``location``; ``None`` for one total row.
    tolerance_cents, tolerance_percent : int, float
        A shortfall counts when above both (module docstring).

    Returns
    -------
    pyarrow.Table
        ``by`` columns, then ``compared_lines``, ``expected_cents``,
        ``allowed_cents``, ``variance_cents`` (allowed - expected),
        ``percent_of_contract`` (100 x allowed / expected), ``under_lines``,
        ``under_cents``, ``co45_excess_lines``, ``co45_excess_cents``,
        ``underpaid_lines``, ``recoverable_cents`` and ``below_contract``; one
        row per group with a compared line, in label order.

    Examples
    --------
    Two compared lines of one payer: expected $99.00 allowed $84.00 (CO-45 $66
    on a $150 charge: $15 excess) and expected $25.00 allowed $25.00:
    ``compared_lines`` 2, ``variance_cents`` -1500, ``under_lines`` 1,
    ``recoverable_cents`` 1500, ``percent_of_contract`` 87.7, below contract.

    >>> import ledgerkit as lk
    >>> sample = lk.synth.contract_ledger(300, seed=4, underpay_rate=0.1)
    >>> t = lk.underpayments(sample.ledger, sample.loaded(), by=None)
    >>> t["recoverable_cents"][0].as_py() >= sample.planted["shortfall_cents"].to_pylist()[0]
    True
    """
    by = parse_by(by)
    for name in by:
        if name in REASON_DIMS:
            raise ValueError(f"by={name!r} is not available for underpayments")
    c = contract_lines(
        ledger,
        contracts,
        tolerance_cents=tolerance_cents,
        tolerance_percent=tolerance_percent,
        policy=policy,
    )
    proc = np.arange(len(c.expected), dtype=np.int64)
    cols = c.dims.columns(by, proc=proc)
    if cols:
        g = Grouping(cols, mask=c.compared)
    else:
        g = Grouping([], mask=c.compared)
        g.key = np.where(c.compared, 0, -1).astype(np.int64)
        g.n_groups = 1
    expected0 = np.where(c.compared, c.expected, 0)
    values = {
        "expected_cents": expected0,
        "allowed_cents": np.where(c.compared, c.allowed, 0),
        "under_lines": c.under.astype(np.int64),
        "under_cents": np.where(c.under, -c.variance, 0),
        "co45_excess_lines": (c.co45_excess > 0).astype(np.int64),
        "co45_excess_cents": c.co45_excess,
        "underpaid_lines": c.underpaid.astype(np.int64),
        "recoverable_cents": np.where(c.underpaid, c.shortfall, 0),
    }
    sums, counts = g.sums(values)
    present = np.flatnonzero(counts > 0)
    s = {k: v[present] for k, v in sums.items()}
    variance = s["allowed_cents"] - s["expected_cents"]
    below = above_tolerance(-variance, s["expected_cents"], tolerance_cents, tolerance_percent)
    return grouped(
        g,
        present,
        {
            "compared_lines": counts[present],
            "expected_cents": s["expected_cents"],
            "allowed_cents": s["allowed_cents"],
            "variance_cents": variance,
            "percent_of_contract": ratio(s["allowed_cents"] * 100, s["expected_cents"]),
            "under_lines": s["under_lines"],
            "under_cents": s["under_cents"],
            "co45_excess_lines": s["co45_excess_lines"],
            "co45_excess_cents": s["co45_excess_cents"],
            "underpaid_lines": s["underpaid_lines"],
            "recoverable_cents": s["recoverable_cents"],
            "below_contract": pa.array(below, pa.bool_()),
        },
    )


def underpaid_lines(
    ledger,
    contracts,
    *,
    tolerance_cents: int = DEFAULT_TOLERANCE_CENTS,
    tolerance_percent: float = DEFAULT_TOLERANCE_PERCENT,
    policy=None,
) -> pa.Table:
    """The underpaid lines (module docstring), largest shortfall first.

    Returns
    -------
    pyarrow.Table
        ``encounter_id``, ``line``, ``payer_id`` (primary), ``cpt``,
        ``service_date``, ``contract_row``, ``charge_cents``,
        ``expected_allowed_cents``, ``allowed_cents``, ``variance_cents``,
        ``co45_excess_cents`` and ``shortfall_cents`` (recoverable); ties in
        ledger order.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> sample = lk.synth.contract_ledger(300, seed=4, underpay_rate=0.1)
    >>> t = lk.underpaid_lines(sample.ledger, sample.loaded())
    >>> t["shortfall_cents"].to_pylist() == sorted(t["shortfall_cents"].to_pylist())[::-1]
    True
    """
    c = contract_lines(
        ledger,
        contracts,
        tolerance_cents=tolerance_cents,
        tolerance_percent=tolerance_percent,
        policy=policy,
    )
    return lines_table(ledger, c, np.flatnonzero(c.underpaid))


def lines_table(ledger, c: ContractLines, proc: np.ndarray) -> pa.Table:
    """The line columns of :func:`underpaid_lines` for grouped procedures ``proc``."""
    keys = ledger.keys
    proc = proc[np.lexsort((proc, -c.shortfall[proc]))]
    rows = pa.array(keys.proc_rows(proc), pa.int64())
    enc = c.facts.proc_enc[proc]
    payer_codes, payer_labels = c.dims.encounter("payer")
    payer = pa.array(payer_labels, pa.string()).take(pa.array(payer_codes[enc]))
    return pa.table(
        {
            "encounter_id": ledger.procedures["encounter_id"].take(rows),
            "line": pa.array(keys.proc_line[proc]),
            "payer_id": payer,
            "cpt": ledger.procedures["cpt"].take(rows).cast(pa.string()),
            "service_date": ledger.procedures["service_date"].take(rows),
            "contract_row": pa.array(c.contract_row[proc], mask=c.contract_row[proc] < 0),
            "charge_cents": pa.array(c.charge[proc]),
            "expected_allowed_cents": pa.array(c.expected[proc]),
            "allowed_cents": pa.array(c.allowed[proc]),
            "variance_cents": pa.array(c.variance[proc]),
            "co45_excess_cents": pa.array(c.co45_excess[proc]),
            "shortfall_cents": pa.array(c.shortfall[proc]),
        }
    )
