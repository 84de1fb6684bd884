"""What rules, TAAs and what-if sweeps read of a ledger, as numpy arrays (cached).

``ledger_features(ledger, policy)`` runs one pass over the grouped entries
(``_kernels.rules.rule_features_nb``) and converts the Arrow columns rule
conditions need into dense integer codes. The result does not depend on any
rule set, so it is computed once per ledger and policy and kept on a weak
cache: a dry run after the first only evaluates rules.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from ledgerkit._kernels.rules import rule_features_nb
from ledgerkit.core.arrow import US_PER_DAY, codes_in, day_numbers, dictionary_codes, int_array
from ledgerkit.core.schema import KINDS, PAYER_CLASSES

__all__ = ["LedgerFeatures", "ledger_features", "US_PER_DAY"]

_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


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
    cache: dict = field(default_factory=dict, repr=False)

    def proc_encounter(self) -> np.ndarray:
        """Encounter position of every grouped procedure."""
        out = self.cache.get("proc_enc")
        if out is None:
            counts = np.diff(self.enc_proc_start)
            out = np.repeat(np.arange(self.n_encounters, dtype=np.int64), counts)
            self.cache["proc_enc"] = out
        return out


def ledger_features(ledger, policy=None) -> LedgerFeatures:
    """The features of ``ledger`` under ``policy`` (computed once, then cached)."""
    policy = policy or ledger.policy
    per_ledger = _CACHE.setdefault(ledger, {})
    hit = per_ledger.get(id(policy))
    if hit is not None and hit[0] is policy:
        return hit[1]
    features = _compute(ledger, policy)
    per_ledger.clear()  # one policy per ledger: the arrays are large
    per_ledger[id(policy)] = (policy, features)
    return features


def _grouped(values: np.ndarray, order) -> np.ndarray:
    return values if order is None else values[order]


def _compute(ledger, policy) -> LedgerFeatures:
    keys = ledger.keys
    entries = ledger.entries
    n_enc = keys.n_encounters
    n_proc = keys.n_procedures
    codes = keys.packed_codes(entries, policy)

    # Entries: posting day of remit entries, (group, carc) pair of live adjustments.
    n_entries = entries.num_rows
    if n_entries:
        posted = day_numbers(entries["posted_at"], np.int64)
        is_remit = codes_in(entries["source"], pa.array(["remit"])) == 0
        remit_day = _grouped(np.where(is_remit, posted, -1).astype(np.int32), keys.entry_order)
        g_codes, group_values = dictionary_codes(entries["group_code"])
        c_codes, carc_values = dictionary_codes(entries["carc"])
        carc_values = [None if v is None else v.strip() for v in carc_values]
        n_carcs = max(len(carc_values), 1)
        pair = np.where(
            (g_codes >= 0) & (c_codes >= 0), g_codes.astype(np.int32) * n_carcs + c_codes, -1
        ).astype(np.int32)
        pair = _grouped(pair, keys.entry_order)
        adjustment = (keys.entry_kind == KINDS.index("adjustment")) & keys.entry_live
        entry_pair = np.where(adjustment, pair, -1).astype(np.int32)
        latest_day = int(posted.max())
    else:
        remit_day = np.empty(0, np.int32)
        entry_pair = np.empty(0, np.int32)
        group_values, carc_values = [], []
        latest_day = -1

    procedures = ledger.procedures
    cpt, cpt_values = _codes(procedures["cpt"], keys.proc_order)
    mods, modifier_values = _codes(procedures["modifiers"], keys.proc_order)
    units = _grouped(int_array(procedures["units"], np.int32), keys.proc_order)
    service_day = _grouped(day_numbers(procedures["service_date"]), keys.proc_order)
    if latest_day < 0:
        latest_day = int(service_day.max()) if n_proc else 0

    encounters = ledger.encounters
    payer, payer_values = _codes(encounters["payer1_id"], None)
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
    site, site_values = _codes(encounters["site_id"], None)
    pos, pos_values = _codes(encounters["place_of_service"], None)

    proc_balance = np.empty(n_proc, np.int64)
    proc_payer_balance = np.empty(n_proc, np.int64)
    proc_open_pr = np.empty(n_proc, np.int64)
    proc_last = np.empty(n_proc, np.int8)
    enc_balance = np.empty(n_enc, np.int64)
    enc_allowed = np.empty(n_enc, np.int64)
    enc_class = np.empty(n_enc, np.int8)
    enc_stage = np.empty(n_enc, np.int8)
    enc_last_remit = np.empty(n_enc, np.int32)
    rule_features_nb(
        codes,
        keys.amounts,
        remit_day,
        keys.enc_proc_start,
        keys.proc_entry_start,
        keys.enc_n_payers,
        proc_balance,
        proc_payer_balance,
        proc_open_pr,
        proc_last,
        enc_balance,
        enc_allowed,
        enc_class,
        enc_stage,
        enc_last_remit,
    )
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
        proc_balance=proc_balance,
        proc_payer_balance=proc_payer_balance,
        proc_open_pr=proc_open_pr,
        proc_last=proc_last,
        enc_payer=payer,
        payer_values=payer_values,
        enc_pclass=pclass,
        enc_site=site,
        site_values=site_values,
        enc_pos=pos,
        pos_values=pos_values,
        enc_class=enc_class,
        enc_stage=enc_stage,
        enc_balance=enc_balance,
        enc_allowed=enc_allowed,
        enc_last_remit=enc_last_remit,
        latest_day=latest_day,
    )


def _codes(column: pa.ChunkedArray, order) -> tuple[np.ndarray, list]:
    """Dense int32 codes (-1 null) of a column in grouped order, and its values."""
    if len(column) == 0:
        return np.empty(0, np.int32), []
    codes, values = dictionary_codes(column)
    return _grouped(codes, order), values
