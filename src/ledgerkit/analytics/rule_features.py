"""What rule conditions, TAA and what-if read of a ledger (:class:`LedgerFeatures`).

Dense integer codes of the dimensions rules match on (CPT, modifiers, payer, payer
class, site, place of service, the (group, CARC) pair of every live adjustment), the
procedure balance kernel's figures, and the last remit day per encounter. Built by
:func:`rule_features` for ``Derived.features`` (``analytics.derived``), which keeps
them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from ledgerkit.core.arrow import codes_in, day_numbers, dictionary_codes, int_array
from ledgerkit.core.schema import KINDS, PAYER_CLASSES

__all__ = ["LedgerFeatures", "rule_features"]


@dataclass
class LedgerFeatures:
    """Integer views for rules. Procedure and entry arrays are in grouped order."""

    n_encounters: int
    n_procedures: int
    enc_proc_start: np.ndarray
    proc_entry_start: np.ndarray
    # entries: group code * n_carcs + carc code of live adjustments, else -1
    entry_pair: np.ndarray
    group_values: list
    carc_values: list
    # procedures
    proc_cpt: np.ndarray
    cpt_values: list
    proc_modifiers: np.ndarray
    modifier_values: list
    proc_units: np.ndarray
    proc_service_day: np.ndarray
    proc_balance: np.ndarray
    proc_payer_balance: np.ndarray
    proc_open_pr: np.ndarray
    proc_last: np.ndarray
    # encounters
    enc_payer: np.ndarray  # primary payer code, -1 self-pay
    payer_values: list
    enc_pclass: np.ndarray  # index into PAYER_CLASSES
    enc_site: np.ndarray
    site_values: list
    enc_pos: np.ndarray
    pos_values: list
    enc_class: np.ndarray
    enc_stage: np.ndarray
    enc_balance: np.ndarray
    enc_allowed: np.ndarray
    enc_last_remit: np.ndarray  # day number, -1 when no remit
    latest_day: int  # day of the latest posting (default "as of" day)
    cache: dict = field(default_factory=dict, repr=False)  # the Derived's memo

    def proc_encounter(self) -> np.ndarray:
        """Encounter position of every grouped procedure."""
        out = self.cache.get("proc_enc")
        if out is None:
            counts = np.diff(self.enc_proc_start)
            out = np.repeat(np.arange(self.n_encounters, dtype=np.int64), counts)
            self.cache["proc_enc"] = out
        return out


def rule_features(data) -> LedgerFeatures:
    """The features of ``data`` (a ``Derived``): the dense codes and figures rule
    conditions, TAA and what-if read.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> from ledgerkit.analytics.derived import Derived
    >>> ledger = lk.synth.generate(50, seed=1)
    >>> f = rule_features(Derived(ledger, ledger.policy))
    >>> f.n_encounters, len(f.proc_cpt) == f.n_procedures
    (50, True)
    """
    keys = data.keys
    ledger = data.ledger
    n_enc, n_proc = keys.n_encounters, keys.n_procedures
    entry_pair, group_values, carc_values, enc_last_remit = _entry_features(data)

    procedures = ledger.procedures
    cpt, cpt_values = _codes(procedures["cpt"], data.grouped_procedures)
    mods, modifier_values = _codes(procedures["modifiers"], data.grouped_procedures)
    units = data.grouped_procedures(int_array(procedures["units"], np.int32))
    service_day = data.grouped_procedures(day_numbers(procedures["service_date"]))
    if len(data.posted_day):
        latest_day = int(data.posted_day.max())
    else:
        latest_day = int(service_day.max()) if n_proc else 0

    encounters = ledger.encounters
    payer, payer_values = _codes(encounters["payer1_id"])
    class_of = dict(
        zip(
            ledger.payers["payer_id"].to_pylist(),
            ledger.payers["payer_class"].cast(pa.string()).to_pylist(),
            strict=True,
        )
    )
    value_class = np.array(
        [PAYER_CLASSES.index(class_of.get(v, "other")) for v in payer_values] or [0], np.int8
    )
    pclass = np.where(
        payer >= 0, value_class[np.maximum(payer, 0)], PAYER_CLASSES.index("self_pay")
    ).astype(np.int8)
    site, site_values = _codes(encounters["site_id"])
    pos, pos_values = _codes(encounters["place_of_service"])
    fig = data.figures
    return LedgerFeatures(
        n_encounters=n_enc,
        n_procedures=n_proc,
        enc_proc_start=keys.enc_proc_start,
        proc_entry_start=keys.proc_entry_start,
        entry_pair=entry_pair,
        group_values=group_values,
        carc_values=carc_values,
        proc_cpt=cpt,
        cpt_values=cpt_values,
        proc_modifiers=mods,
        modifier_values=modifier_values,
        proc_units=units,
        proc_service_day=service_day,
        proc_balance=fig.proc["balance"],
        proc_payer_balance=fig.proc["payer_balance"],
        proc_open_pr=fig.proc["open_pr"],
        proc_last=fig.proc_last,
        enc_payer=payer,
        payer_values=payer_values,
        enc_pclass=pclass,
        enc_site=site,
        site_values=site_values,
        enc_pos=pos,
        pos_values=pos_values,
        enc_class=fig.enc_class,
        enc_stage=fig.enc_stage,
        enc_balance=fig.enc_balance,
        enc_allowed=fig.enc_allowed,
        enc_last_remit=enc_last_remit,
        latest_day=latest_day,
        cache=data.memo,
    )


def _entry_features(data):
    """Pairs (group, CARC) of live adjustments, dictionaries, last remit day per encounter."""
    keys = data.keys
    n_enc = keys.n_encounters
    if len(keys.entry_kind) == 0:
        return np.empty(0, np.int32), [], [], np.full(n_enc, -1, np.int32)
    g_codes, group_values, c_codes, carc_values = keys.reason_codes(data.entries_for_reasons())
    carc_values = [None if v is None else v.strip() for v in carc_values]
    n_carcs = max(len(carc_values), 1)
    pair = np.where(
        (g_codes >= 0) & (c_codes >= 0),
        g_codes.astype(np.int32) * n_carcs + c_codes,
        -1,
    ).astype(np.int32)
    pair = data.grouped_entries(pair)
    adjustment = (keys.entry_kind == KINDS.index("adjustment")) & keys.entry_live
    entry_pair = np.where(adjustment, pair, -1).astype(np.int32)

    is_remit = codes_in(data.entries_column("source"), pa.array(["remit"])) == 0
    remit_day = data.grouped_entries(np.where(is_remit, data.posted_day, -1).astype(np.int32))
    # Latest remit day per encounter: entries are grouped by encounter too.
    enc_entry_start = keys.proc_entry_start[keys.enc_proc_start]
    lo, hi = enc_entry_start[:-1], enc_entry_start[1:]
    nonempty = hi > lo
    last_remit = np.full(n_enc, -1, np.int32)
    if nonempty.any():
        starts = lo[nonempty]
        last_remit[nonempty] = np.maximum.reduceat(remit_day, starts)
    return entry_pair, group_values, carc_values, last_remit


def _codes(column: pa.ChunkedArray, grouped=None) -> tuple[np.ndarray, list]:
    """Dense int32 codes (-1 null) of a string or dictionary column, and its values."""
    if len(column) == 0:
        return np.empty(0, np.int32), []
    codes, values = dictionary_codes(column)
    return (codes if grouped is None else grouped(codes)), values
