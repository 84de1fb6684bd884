"""Synthetic payer contracts, and ledgers whose payers follow them (with planted underpayments).

:func:`contracts` writes one contract per payer of :data:`~ledgerkit.synth.PAYERS`
in the columns of :class:`ledgerkit.contracts.Contracts`, plus a base schedule
``"medicare"`` the percent-of-base rows refer to. Every kind of row appears:

==================  ===========================================================
payer               rows
==================  ===========================================================
MCR01 (Medicare)    100% of the base schedule for every code (range
                    ``00000``-``ZZZZZ``) until the change date, 102% from it
medicare_advantage  a payer-class row (no payer id): 105% of the base
MCD01 (Medicaid)    80% of the base, every code
WC001               150% of the base, every code
BCBS1, AET01,       an exact-code rate per CPT (``fee x the payer's allowed
UHC01, SUPP1        ratio``), a lab range ``80000``-``89999`` at a flat rate
                    (capped by the charge on cheap tests), 97110 with modifier
                    ``59`` at 90%, E/M 99213/99214 at place of service ``22``
                    (facility) at 80%, therapy 97110/97140 as MPPR family
                    ``therapy`` (second and later lines at 50%)
BCBS1               its exact-code rates go up 3% on the change date (two rows
                    per code, adjacent effective ranges)
UHC01               flu vaccine 90686 carved out (not covered)
==================  ===========================================================

The change date is ``start + days // 2`` (2025-07-02 by default).

``generate(..., contracts=..., underpay_rate=...)`` (see
:func:`ledgerkit.synth.generate`) prices the primary payer's allowed amounts by
the contract and plants underpayments; :func:`contract_ledger` returns the
ledger together with the contract, its base schedule and the table of lines
the generator knows are paid below contract (:func:`planted_columns`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

__all__ = [
    "CONTRACT_SCHEMA",
    "ContractLedger",
    "PLANTED_KINDS",
    "contract_ledger",
    "contracts",
    "sample_contracts",
    "write_sample_contracts",
]

# The agreed columns of a contract table (ledgerkit.contracts.Contracts documents each).
CONTRACT_SCHEMA = pa.schema(
    [
        ("payer", pa.string()),
        ("payer_class", pa.string()),
        ("code_from", pa.string()),
        ("code_to", pa.string()),
        ("modifier", pa.string()),
        ("place_of_service", pa.string()),
        ("effective_from", pa.date32()),
        ("effective_to", pa.date32()),
        ("rate_cents_per_unit", pa.int64()),
        ("percent_of_base", pa.float64()),
        ("base_schedule", pa.string()),
        ("carve_out", pa.bool_()),
        ("mppr_family", pa.string()),
        ("mppr_percent", pa.float64()),
        ("cap_at_charge", pa.bool_()),
    ]
)

# Why the generator made a line's allowed amount lower than its contract.
PLANTED_KINDS = (
    "underpaid",  # planted: the payer allowed the contract minus 5-30%
    "fee_reduction",  # a PI-45 reduction on top of the contract amount
    "bundled",  # a venipuncture or urinalysis line brought to $0 by CO-45
    "corrected",  # a reversed remit reposted with 5% of the payment moved to CO-45
)

MEDICARE_RATIO = 0.52  # the base schedule: Medicare's allowed/fee ratio in PAYERS
COMMERCIAL = ("BCBS1", "AET01", "UHC01", "SUPP1")
LAB_FLAT_DOLLARS = 30.0  # the commercial lab range's flat rate before the payer's ratio


def _row(**values) -> dict:
    row = dict.fromkeys(CONTRACT_SCHEMA.names)
    row.update(carve_out=False, cap_at_charge=True)
    row.update(values)
    return row


def _cents(dollars: float) -> int:
    return int(round(dollars * 100))


def contracts(
    *, start: dt.date = dt.date(2025, 1, 1), days: int = 365
) -> tuple[pa.Table, dict[str, pa.Table]]:
    """The synthetic contracts of :data:`~ledgerkit.synth.PAYERS` and their base schedule.

    Parameters
    ----------
    start, days : date, int
        The period ``generate`` draws services from; rows change on
        ``start + days // 2`` (module docstring) and start on ``start``.

    Returns
    -------
    (pyarrow.Table, dict)
        The contract rows (:data:`CONTRACT_SCHEMA`) and ``{"medicare": table}``,
        the base schedule (one exact-code row per CPT, ``fee x 0.52`` per unit).
        Load them with ``ledgerkit.contracts.load(table, schedules=schedules)``.

    Examples
    --------
    >>> table, schedules = contracts()
    >>> sorted(schedules)
    ['medicare']
    >>> row = table.filter(pa.compute.equal(table["payer"], "AET01")).to_pylist()[0]
    >>> row["code_from"], row["rate_cents_per_unit"]  # 99213: $150 fee x 0.66
    ('99213', 9900)
    """
    from ledgerkit.synth.ledgers import CPTS, PAYERS

    change = start + dt.timedelta(days=days // 2)
    before = change - dt.timedelta(days=1)
    base = [
        _row(code_from=cpt, code_to=cpt, effective_from=start,
             rate_cents_per_unit=_cents(fee * MEDICARE_RATIO))
        for cpt, fee, *_ in CPTS
    ]  # fmt: skip
    rows = []

    def of_base(percent, *, payer=None, payer_class=None, frm=start, to=None):
        rows.append(
            _row(payer=payer, payer_class=payer_class, code_from="00000", code_to="ZZZZZ",
                 effective_from=frm, effective_to=to, percent_of_base=percent,
                 base_schedule="medicare")
        )  # fmt: skip

    of_base(100.0, payer="MCR01", to=before)
    of_base(102.0, payer="MCR01", frm=change)
    of_base(105.0, payer_class="medicare_advantage")
    of_base(80.0, payer="MCD01")
    of_base(150.0, payer="WC001")
    ratio = {p[0]: p[5] for p in PAYERS}
    for payer in COMMERCIAL:
        r = ratio[payer]
        periods = [(start, before, 1.0), (change, None, 1.03)] if payer == "BCBS1" else []
        periods = periods or [(start, None, 1.0)]
        for cpt, fee, *_ in CPTS:
            if cpt in ("80053", "85025", "81001"):
                continue  # the lab range prices them
            family = "therapy" if cpt in ("97110", "97140") else None
            carve = payer == "UHC01" and cpt == "90686"
            for frm, to, bump in periods:
                rows.append(
                    _row(payer=payer, code_from=cpt, code_to=cpt, effective_from=frm,
                         effective_to=to,
                         rate_cents_per_unit=None if carve else _cents(fee * r * bump),
                         carve_out=carve, mppr_family=family,
                         mppr_percent=50.0 if family else None)
                )  # fmt: skip
        rows.append(
            _row(payer=payer, code_from="80000", code_to="89999", effective_from=start,
                 rate_cents_per_unit=_cents(LAB_FLAT_DOLLARS * r))
        )  # fmt: skip
        rows.append(
            _row(payer=payer, code_from="97110", code_to="97110", modifier="59",
                 effective_from=start, rate_cents_per_unit=_cents(90.0 * r * 0.9),
                 mppr_family="therapy", mppr_percent=50.0)
        )  # fmt: skip
        for cpt, fee in (("99213", 150.0), ("99214", 220.0)):
            rows.append(
                _row(payer=payer, code_from=cpt, code_to=cpt, place_of_service="22",
                     effective_from=start, rate_cents_per_unit=_cents(fee * r * 0.8))
            )  # fmt: skip
    table = pa.Table.from_pylist(rows, schema=CONTRACT_SCHEMA)
    return table, {"medicare": pa.Table.from_pylist(base, schema=CONTRACT_SCHEMA)}


@dataclass(frozen=True)
class ContractLedger:
    """A synthetic ledger whose primary payers follow ``contracts``, and what was planted.

    ``planted`` has one row per procedure the generator paid below its contract
    (:func:`planted_columns`), in ledger order.
    """

    ledger: object
    contracts: pa.Table
    schedules: dict
    planted: pa.Table

    def loaded(self):
        """``ledgerkit.contracts.load(self.contracts, schedules=self.schedules)``."""
        from ledgerkit.contracts import load

        return load(self.contracts, schedules=self.schedules)


def contract_ledger(
    n_encounters: int,
    seed: int = 0,
    *,
    underpay_rate: float = 0.03,
    start: dt.date = dt.date(2025, 1, 1),
    days: int = 365,
    credits: bool = True,
    contract_tables=None,
) -> ContractLedger:
    """A synthetic ledger priced by contracts, with underpayments planted at a known rate.

    Parameters
    ----------
    n_encounters, seed, start, days, credits
        As :func:`ledgerkit.synth.generate`.
    underpay_rate : float
        Share of the lines with a contract of $10 or more (that the primary pays
        without reduction) on which the payer allows 5-30% less than the
        contract (at least $2 less).
    contract_tables : (table, schedules), optional
        The contract to follow; default :func:`contracts` for the period.

    Returns
    -------
    ContractLedger
        ``ledger``, ``contracts``, ``schedules`` and ``planted``: per line below
        contract ``encounter_id``, ``line``, ``payer_id``, ``cpt``, ``kind``
        (:data:`PLANTED_KINDS`), ``expected_allowed_cents`` and
        ``shortfall_cents`` (what ``lk.underpayments`` should find on it).

    Examples
    --------
    >>> sample = contract_ledger(400, seed=3, underpay_rate=0.05)
    >>> sample.planted.column_names[:4]
    ['encounter_id', 'line', 'payer_id', 'cpt']
    >>> "underpaid" in sample.planted["kind"].to_pylist()
    True
    """
    from ledgerkit.synth.ledgers import _generate

    tables = contract_tables or contracts(start=start, days=days)
    ledger, planted = _generate(
        n_encounters, seed, start=start, days=days, credits=credits,
        contract_tables=tables, underpay_rate=underpay_rate,
    )  # fmt: skip
    return ContractLedger(ledger, tables[0], tables[1], planted)


def planted_draws(seed: int, expected: np.ndarray, underpay_rate: float):
    """(planted mask, cut cents) per procedure, from their own random stream.

    A candidate line has an expected allowed of $10 or more; the cut is 5-30% of
    it and at least $2, so it is above any tolerance up to $2 and 5%.
    """
    if not 0.0 <= underpay_rate <= 1.0:
        raise ValueError(f"underpay_rate must be in [0, 1], got {underpay_rate!r}")
    draws = np.random.default_rng([seed, 15])
    n = len(expected)
    picked = (expected >= 1000) & (draws.random(n) < underpay_rate)
    cut = np.maximum(np.round(expected * draws.uniform(0.05, 0.30, n)).astype(np.int64), 200)
    return picked, np.where(picked, cut, 0)


def planted_table(procedures: pa.Table, payer: pa.Array, expected, d, corrected) -> pa.Table:
    """The lines the generator paid below contract, from its own decisions.

    ``d`` is the primary's decisions (``_PrimaryDecisions`` after the bundled
    shape), ``corrected`` the cents a reversal's correction moved to CO-45.
    Shortfall per kind: ``underpaid`` the planted cut; ``fee_reduction`` the
    PI-45 amount; ``bundled`` the whole expected amount; ``corrected`` the cents
    moved (a line with several takes the first kind and the sum). Sequestration
    (CO-253) is no underpayment; a line with a reduction the default CARC policy
    counts as a denial (PI-59, CO-B15) is worked as a denial and not listed.
    """
    from ledgerkit.synth.ledgers import REDUCTIONS

    # A line with a live denial is worked as a denial, not compared with its contract:
    # the reductions the default CARC policy counts as denials (PI-59, CO-B15).
    denial_kinds = [k for k, r in enumerate(REDUCTIONS) if r in (("59", "PI"), ("B15", "CO"))]
    denied = (d.reduction > 0) & np.isin(d.reduction_kind, denial_kinds)
    priced = d.ok & (expected > 0) & ~denied
    allowed = d.paid + d.patient_responsibility
    bundled = priced & (allowed == 0) & (d.reduction == 0)
    pi45 = [k for k, r in enumerate(REDUCTIONS) if r == ("45", "PI")]
    fee_reduction = np.where(np.isin(d.reduction_kind, pi45), d.reduction, 0)
    cut = d.cut if d.cut is not None else np.zeros(len(expected), np.int64)
    # A correction adds to the line's CO-45; a line paid at its charge has none, so
    # its correction lowers the payment without a write-down: no CO-45 excess.
    corrected = np.where(d.contractual > 0, corrected, 0)
    shortfall = np.where(bundled, expected, cut + fee_reduction + corrected)
    shortfall = np.where(priced, shortfall, 0)
    kind = np.select(
        [bundled, fee_reduction > 0, cut > 0, corrected > 0], [2, 1, 0, 3], default=-1
    )
    rows = np.flatnonzero(shortfall > 0)
    take = pa.array(rows)
    return pa.table(
        {
            "encounter_id": procedures["encounter_id"].take(take),
            "line": procedures["line"].take(take),
            "payer_id": payer.take(take),
            "cpt": procedures["cpt"].take(take).cast(pa.string()),
            "kind": pa.array(PLANTED_KINDS).take(pa.array(kind[rows])),
            "expected_allowed_cents": pa.array(expected[rows]),
            "shortfall_cents": pa.array(shortfall[rows]),
        }
    )


SAMPLE_CONTRACT_FILES = ("contracts.csv", "medicare.csv")


def write_sample_contracts(folder) -> list[Path]:
    """Write the sample contract files: ``contracts.csv`` and its base ``medicare.csv``.

    They are :func:`contracts` for the default period (2025), as CSV in the
    agreed columns (empty cells are nulls). ``ledgerkit sample data/samples``
    writes them to ``data/samples/contracts/``.

    Examples
    --------
    >>> import tempfile
    >>> [p.name for p in write_sample_contracts(tempfile.mkdtemp())]
    ['contracts.csv', 'medicare.csv']
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    table, schedules = contracts()
    paths = []
    for name, t in zip(SAMPLE_CONTRACT_FILES, (table, schedules["medicare"]), strict=True):
        path = folder / name
        pacsv.write_csv(t, path, pacsv.WriteOptions(quoting_style="none"))
        paths.append(path)
    return paths


def sample_contracts_folder() -> Path:
    """Where the sample contracts live in a checkout (``data/samples/contracts``)."""
    return Path(__file__).resolve().parents[3] / "data" / "samples" / "contracts"


def sample_contracts():
    """The sample contracts, loaded (``ledgerkit.contracts.load``); from
    ``data/samples/contracts`` when present, else built by :func:`contracts`.

    Examples
    --------
    >>> sample_contracts().__class__.__name__
    'Contracts'
    """
    from ledgerkit.contracts import load

    folder = sample_contracts_folder()
    main, base = (folder / name for name in SAMPLE_CONTRACT_FILES)
    if main.exists() and base.exists():
        return load(main, schedules={"medicare": load(base)})
    table, schedules = contracts()
    return load(table, schedules=schedules)
