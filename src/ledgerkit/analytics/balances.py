"""Per-procedure, per-payer and per-encounter balances (DOMAIN.md, "Buckets").

The figures, all int64 cents:

charge, paid, contractual
    sums over every payer's entries.
pr_deductible, pr_coinsurance, pr_copay, pr_other, pr
    patient responsibility assessed by the *last payer that adjudicated* the
    procedure (earlier payers' PR was billed on to the next payer).
denied
    denials (by CARC policy) of the last adjudicating payer. Denials do not
    lower the balance.
other
    adjustments that restate rather than decide (e.g. OA-23); shown only.
written_off, pushed_to_pr, patient_paid
    later adjustments and patient payments.
allowed = paid + PR-1 + PR-2 + PR-3 (computed; the 835's reported AMT*B6 is
    kept by the remittance reader beside it).
balance = charge - paid - patient_paid - contractual - written_off.
open_pr = pr + pushed_to_pr - patient_paid - PR write-offs (self-pay: balance).
payer_balance = balance - open_pr; balanced = balance == 0.
credit (procedure level) = -balance where the balance is below 0 (an
    overpayment, accepted only with ``allow_credit=True``), else 0.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit._kernels.balances import F_BALANCE, FIGURES, N_FIGURES, procedure_balances_nb
from ledgerkit._kernels.payers import PAYER_FIGURES, payer_balances_nb
from ledgerkit.core.ledger import Ledger

__all__ = ["balances", "FIGURES"]

LEVELS = ("procedure", "payer", "encounter")


def balances(ledger: Ledger, level: str = "procedure", *, policy=None) -> pa.Table:
    """Bucket figures and balances at one level.

    Parameters
    ----------
    ledger : Ledger
    level : {"procedure", "payer", "encounter"}
        ``procedure``: one row per procedure (``encounter_id``, ``line``).
        ``payer``: one row per encounter and payer in its coverage (and the
        patient, ``payer_seq`` 0): what that payer was billed (``billed``: the
        charge for the primary, the previous payer's PR for the next), what it
        paid, adjusted and assessed, and ``balance`` = billed - paid -
        contractual - written_off - pr - pushed_to_pr (0 when that payer has
        accounted for all it was billed; denials stay in it).
        ``encounter``: one row per encounter, sums of its procedures.
    policy : CarcPolicy, optional
        Defaults to ``ledger.policy``.

    Returns
    -------
    pyarrow.Table
        Key columns, then the figures listed in this module's docstring, then
        ``balanced`` (and, per procedure, ``credit``).

    Examples
    --------
    >>> import ledgerkit as lk
    >>> ledger = lk.synth.generate(20, seed=3)
    >>> table = lk.balances(ledger, level="encounter")
    >>> table.num_rows, "payer_balance" in table.column_names
    (20, True)
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    policy = policy or ledger.policy
    keys = ledger.keys
    codes = ledger.packed_codes(policy)
    if level == "encounter":
        from ledgerkit.analytics.classify import encounter_figures

        figures = encounter_figures(ledger, policy)[0]
        columns = {"encounter_id": ledger.encounters["encounter_id"]}
        return _with_figures(columns, figures, FIGURES)
    if level == "procedure":
        n_proc = keys.n_procedures
        figures = np.empty((N_FIGURES, n_proc), np.int64)
        last_payer = np.empty(n_proc, np.int8)
        procedure_balances_nb(
            codes,
            keys.amounts,
            keys.enc_proc_start,
            keys.proc_entry_start,
            keys.enc_n_payers,
            figures,
            last_payer,
        )
        rows = keys.proc_rows(np.arange(n_proc))
        columns = {
            "encounter_id": ledger.procedures["encounter_id"].take(rows),
            "line": pa.array(keys.proc_line),
            "last_payer_seq": pa.array(last_payer),
        }
        table = _with_figures(columns, figures, FIGURES)
        # A line below 0 (accepted only with allow_credit=True) is shown as a credit.
        return table.append_column("credit", pa.array(np.maximum(-figures[F_BALANCE], 0)))
    # payer level
    n_enc = keys.n_encounters
    figures = np.empty((len(PAYER_FIGURES), n_enc * 4), np.int64)
    adjudicated = np.empty(n_enc * 4, np.bool_)
    payer_balances_nb(
        codes,
        keys.amounts,
        keys.enc_proc_start,
        keys.proc_entry_start,
        figures,
        adjudicated,
    )
    seq = np.tile(np.arange(4, dtype=np.int8), n_enc)
    enc = np.repeat(np.arange(n_enc), 4)
    in_coverage = (seq == 0) | (seq <= np.repeat(keys.enc_n_payers, 4))
    keep = np.flatnonzero(in_coverage)
    payer_ids = _payer_id_column(ledger, enc[keep], seq[keep])
    columns = {
        "encounter_id": ledger.encounters["encounter_id"].take(pa.array(enc[keep])),
        "payer_seq": pa.array(seq[keep]),
        "payer_id": payer_ids,
        "adjudicated": pa.array(adjudicated[keep]),
    }
    return _with_figures(columns, figures[:, keep], PAYER_FIGURES)


def _with_figures(columns: dict, figures: np.ndarray, names) -> pa.Table:
    for i, name in enumerate(names):
        columns[name] = pa.array(figures[i])
    columns["balanced"] = pa.array(figures[names.index("balance")] == 0)
    return pa.table(columns)


def _payer_id_column(ledger: Ledger, enc: np.ndarray, seq: np.ndarray) -> pa.Array:
    """payer_id of each (encounter, payer_seq) row from the encounter's coverage."""
    take = pa.array(enc)
    out = pa.nulls(len(enc), pa.string())
    for k in (1, 2, 3):
        ids = ledger.encounters[f"payer{k}_id"].take(take).cast(pa.string())
        out = pc.if_else(pa.array(seq == k), ids, out)
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out
