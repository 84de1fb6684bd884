"""Encounter classes, stages and their explanation (DOMAIN.md, "Classes", "Stages").

Over the procedures a payer adjudicated (a live payment or adjustment from
payer_seq >= 1):

- DENIAL: the encounter's allowed amount is 0 as a whole and some procedure
  is denied entirely (allowed 0 *and* a live denial);
- PARTIAL_DENIAL: allowed > 0 and some procedure is denied entirely;
- UNRESOLVED: no procedure denied entirely, but some amount was denied (by
  any payer: a primary's denial stays when a secondary pays its share);
- PAID: none of the above, including lines brought to allowed $0 by
  contractual adjustments alone (an encounter of only such lines is PAID at $0);
- AWAITING: no payer has adjudicated any procedure yet.

The class says what the payers decided; ``balanced`` says whether work is left
(DOMAIN.md, Settled questions 1 and 2).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ledgerkit._kernels import codes as C
from ledgerkit._kernels.balances import FIGURES, N_FIGURES
from ledgerkit._kernels.classify import classify_nb
from ledgerkit.core.arrow import arrow_array, arrow_strings, codes_in
from ledgerkit.core.ledger import Ledger, require_ledger

__all__ = ["classify", "CLASSES", "STAGES", "WORKLIST_CLASSES", "encounter_figures"]

CLASSES = C.CLASS_NAMES
STAGES = C.STAGE_NAMES
WORKLIST_CLASSES = ("DENIAL", "PARTIAL_DENIAL", "UNRESOLVED")


def encounter_figures(ledger: Ledger, policy=None, pending=None):
    """Run the one-pass kernel: (figures, class, stage, last payer, proc, entry, amount,
    denying payer).

    ``proc`` and ``entry`` are procedures/entries *table rows* (-1 when none);
    ``denying payer`` is the payer_seq of the explaining denial (0 when none).
    """
    out = _kernel_figures(ledger, policy, pending)
    keys = ledger.keys
    return (*out[:4], keys.proc_rows(out[4]), keys.entry_rows(out[5]), *out[6:])


def _kernel_figures(ledger: Ledger, policy, pending):
    """:func:`encounter_figures` with the explaining procedure as a grouped position."""
    require_ledger(ledger, "classify")
    policy = policy or ledger.policy
    keys = ledger.keys
    codes = ledger.packed_codes(policy)
    n_enc = keys.n_encounters
    pending_mask = _pending_mask(ledger, pending)
    figures = np.empty((N_FIGURES, n_enc), np.int64)
    enc_class = np.empty(n_enc, np.int8)
    enc_stage = np.empty(n_enc, np.int8)
    enc_last = np.empty(n_enc, np.int8)
    explain_proc = np.empty(n_enc, np.int64)
    explain_entry = np.empty(n_enc, np.int64)
    explain_amount = np.empty(n_enc, np.int64)
    explain_payer = np.empty(n_enc, np.int8)
    classify_nb(
        codes,
        keys.amounts,
        keys.enc_proc_start,
        keys.proc_entry_start,
        keys.enc_n_payers,
        pending_mask,
        figures,
        enc_class,
        enc_stage,
        enc_last,
        explain_proc,
        explain_entry,
        explain_amount,
        explain_payer,
    )
    return (
        figures,
        enc_class,
        enc_stage,
        enc_last,
        explain_proc,
        explain_entry,
        explain_amount,
        explain_payer,
    )


def classify(ledger: Ledger, *, policy=None, pending=None) -> pa.Table:
    """One row per encounter: class, stage, balanced, figures and the explanation.

    Classes (what the payers decided; over the procedures a payer adjudicated,
    a procedure is *denied entirely* when its allowed is 0 and it carries a
    live denial):

    - ``DENIAL``: allowed is 0 for the whole encounter, and something is denied;
    - ``PARTIAL_DENIAL``: some procedure has allowed > 0 and at least one is
      denied entirely;
    - ``UNRESOLVED``: every procedure has allowed > 0, but some amount was denied;
    - ``PAID``: none of the above (zero-allowed lines only: PAID at $0);
    - ``AWAITING``: no remit yet.

    Stages (who owes the balance now): ``payer_1`` .. ``payer_3``, ``patient``
    (only open PR is left), ``finalized`` (balance 0) or
    ``finalization_pending`` (balance 0, remits still wait for review).
    *Balanced* means a balance of exactly 0. Every word, figure and bucket is
    defined in docs/glossary.md (in the repository).

    Parameters
    ----------
    ledger : Ledger
    policy : CarcPolicy, optional
        Defaults to ``ledger.policy``.
    pending : iterable of str, optional
        Encounter ids with remits waiting for review: a zero balance is then
        ``finalization_pending`` instead of ``finalized``.

    Returns
    -------
    pyarrow.Table
        ``encounter_id``, ``class``, ``stage``, ``balanced``, ``last_payer_seq``,
        the figures of :func:`ledgerkit.balances` (encounter level), and the
        explanation: ``explain_line`` (procedure line), ``explain_group``,
        ``explain_carc`` (the largest live denial on it, of any payer),
        ``explain_amount`` (denied on that line, by every payer; > 0),
        ``explain_payer_seq`` (the payer that posted that denial; its id is the
        encounter's ``payer{k}_id``), null for PAID and AWAITING. Every payer's live denials
        count, so a primary's denial stays open when a secondary pays its
        share; a procedure is denied entirely only when its allowed is 0 and
        it carries a live denial (DOMAIN.md, Settled questions 1 and 2).

    Examples
    --------
    >>> import ledgerkit as lk
    >>> ledger = lk.synth.generate(200, seed=7)
    >>> table = lk.classify(ledger)
    >>> sorted(set(table["class"].to_pylist())) <= sorted(lk.CLASSES)
    True
    """
    figures, enc_class, enc_stage, enc_last, grouped_proc, grouped_entry, amount, seq = (
        _kernel_figures(ledger, policy, pending)
    )
    entry_rows = ledger.keys.entry_rows(grouped_entry)
    # arrow_array, not pa.array: a fresh process's first pa.array imports pandas
    columns = {
        "encounter_id": ledger.encounters["encounter_id"],
        "class": pa.DictionaryArray.from_arrays(arrow_array(enc_class), arrow_strings(CLASSES)),
        "stage": pa.DictionaryArray.from_arrays(arrow_array(enc_stage), arrow_strings(STAGES)),
        "balanced": arrow_array(figures[FIGURES.index("balance")] == 0),
        "last_payer_seq": arrow_array(enc_last),
    }
    for i, name in enumerate(FIGURES):
        columns[name] = arrow_array(figures[i])
    columns.update(_explanation(ledger, grouped_proc, entry_rows, amount, seq))
    return pa.table(columns)


def _explanation(ledger: Ledger, grouped_proc, entry_rows, amount, seq) -> dict:
    # Gather from the cached dense reason codes (one value per encounter);
    # null indices give nulls.
    none = grouped_proc < 0
    lines = ledger.keys.proc_line
    line = lines[np.maximum(grouped_proc, 0)] if len(lines) else np.zeros(len(none), np.int32)
    out = {"explain_line": arrow_array(line.astype(np.int32), mask=none)}
    g_codes, g_values, c_codes, c_values = ledger.reason_codes()
    rows = np.maximum(entry_rows, 0)
    for name, codes, values in (("group", g_codes, g_values), ("carc", c_codes, c_values)):
        picked = codes[rows] if len(codes) else np.full(len(rows), -1, np.int8)
        indices = arrow_array(picked.astype(np.int32), mask=(entry_rows < 0) | (picked < 0))
        # a take from the few distinct values (null index: null), quicker than a cast
        out[f"explain_{name}"] = arrow_strings(values).take(indices)
    out["explain_amount"] = arrow_array(amount, mask=none)
    # Which payer denied: under Settled question 1 it may be an earlier payer
    # than the last adjudicating one.
    out["explain_payer_seq"] = arrow_array(seq, mask=none)
    return out


def _pending_mask(ledger: Ledger, pending) -> np.ndarray:
    n_enc = ledger.keys.n_encounters
    if pending is None:
        return np.zeros(n_enc, np.bool_)
    ids = pa.array(list(pending), pa.string())
    pos = codes_in(pa.chunked_array([ids]), ledger.encounters["encounter_id"].combine_chunks())
    mask = np.zeros(n_enc, np.bool_)
    mask[pos[pos >= 0]] = True
    return mask
