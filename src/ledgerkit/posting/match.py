"""Matching remitted service lines to ledger procedures (DOMAIN.md, "Posting").

By line item control number (REF*6R) when it names a procedure of the
encounter, else by billed code + modifiers + service date + charge: the k-th
identical line to the k-th identical procedure, only when the claim names all
of them. Arrow joins over the whole batch, no loop per claim.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit._kernels import posting as K
from ledgerkit._kernels.keys import radix_order_nb
from ledgerkit.core.arrow import (
    encode,
    numpy_array,
    plain,
    string_buffers,
    string_views,
    valid_array,
)
from ledgerkit.core.keys import dense_unique
from ledgerkit.core.ledger import Ledger
from ledgerkit.posting.batch import Batch, ints


def _candidate_procedures(ledger: Ledger, enc_pos: np.ndarray):
    """Grouped procedure positions of the given encounters, and their encounter."""
    keys = ledger.keys
    enc = dense_unique(enc_pos[enc_pos >= 0], keys.n_encounters)[0]
    start = keys.enc_proc_start[enc]
    count = keys.enc_proc_start[enc + 1] - start
    total = int(count.sum())
    proc = np.repeat(start - np.concatenate([[0], np.cumsum(count)[:-1]]), count) + np.arange(
        total
    )
    return proc.astype(np.int64), np.repeat(enc, count)


def _rank_within(*keys) -> tuple[np.ndarray, np.ndarray]:
    """0-based rank of each row among rows with equal keys (input order), and group size."""
    n = len(keys[0])
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    order = np.lexsort((np.arange(n),) + tuple(reversed(keys)))
    change = np.zeros(n, bool)
    change[0] = True
    for k in keys:
        ks = k[order]
        change[1:] |= ks[1:] != ks[:-1]
    run_start = np.maximum.accumulate(np.where(change, np.arange(n), 0))
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n) - run_start
    starts = np.flatnonzero(change)
    sizes = np.diff(np.append(starts, n))
    size = np.empty(n, np.int64)
    size[order] = np.repeat(sizes, sizes)
    return rank, size


def _shared_codes(a, b):
    """Integer codes of two string arrays against one dictionary (null -> '')."""
    a = pc.fill_null(plain(a), "")
    b = pc.fill_null(plain(b), "")
    idx, _ = encode(pa.chunked_array([a, b], pa.string()))
    idx = idx.astype(np.int64)
    return idx[: len(a)], idx[len(a) :]


def _match_control_numbers(ledger: Ledger, lcn, line_enc: np.ndarray, out: np.ndarray) -> None:
    """``out[i]``: the encounter's first procedure (grouped) with line ``i``'s control number."""
    lcn = plain(lcn)
    if not pa.types.is_string(lcn.type):
        lcn = lcn.cast(pa.string())
    if lcn.null_count == len(lcn):
        return
    keys = ledger.keys
    proc_lcn = keys.proc_control_numbers
    if proc_lcn is None:  # one chunk of strings, kept with the keys (procedures never change)
        proc_lcn = plain(ledger.procedures["line_control_number"])
        if not pa.types.is_string(proc_lcn.type):
            proc_lcn = proc_lcn.cast(pa.string())
        keys.proc_control_numbers = proc_lcn
    line_offsets, line_data = string_buffers(lcn)
    proc_offsets, proc_data = string_views(proc_lcn)
    order = keys.proc_order
    # lines come claim by claim, their encounters at random: visited in encounter order,
    # the ledger-sized procedure arrays are read front to back, not at random
    line_order = _encounter_order(line_enc, keys.n_encounters)
    K.match_control_numbers_nb(
        line_order, line_enc, line_offsets, line_data, valid_array(lcn), keys.enc_proc_start,
        order if order is not None else np.empty(0, np.int64), order is not None,
        proc_offsets, proc_data, valid_array(proc_lcn), out,
    )  # fmt: skip


def _encounter_order(line_enc: np.ndarray, n_encounters: int) -> np.ndarray:
    """The lines in order of their encounter (-1 first), by radix passes (an argsort of
    1.9M lines took 0.15-0.2 s)."""
    key = (line_enc + 1).astype(np.int32 if n_encounters < 2**31 - 1 else np.int64)
    n = len(key)
    order, tmp_order = np.empty(n, np.int64), np.empty(n, np.int64)
    radix_order_nb(key, n_encounters + 1, order, np.empty_like(key), tmp_order,
                   np.empty_like(key))  # fmt: skip
    return order


def _match_lines(ledger: Ledger, b: Batch, claim_enc: np.ndarray) -> np.ndarray:
    """Grouped procedure position of every service line (-1 when unmatched)."""
    li = b.lines
    nl = li.num_rows
    out = np.full(nl, -1, np.int64)
    if nl == 0:
        return out
    line_enc = np.where(b.line_claim >= 0, claim_enc[np.maximum(b.line_claim, 0)], -1)
    # 1. line item control number, within the encounter: a scan of its few procedures
    _match_control_numbers(ledger, li["line_control_number"], line_enc, out)
    # 2. code + modifiers + service date + charge, k-th identical to k-th identical
    rest = np.flatnonzero((out < 0) & (line_enc >= 0))
    if len(rest):
        # the procedures of those lines' encounters only
        cand, cand_enc = _candidate_procedures(ledger, line_enc[rest])
        rows = ledger.keys.proc_rows(cand)
        wanted = ["cpt", "modifiers", "service_date", "charge_cents"]
        procs = ledger.procedures.select(wanted).take(pa.array(rows))
        billed = pc.coalesce(li["original_procedure_code"], li["procedure_code"])
        recoded = pc.is_valid(li["original_procedure_code"])
        mods = pc.if_else(recoded, li["original_modifiers"], li["modifiers"])
        cl_from = b.claims["statement_from"].take(pa.array(np.maximum(b.line_claim, 0)))
        date = pc.coalesce(li["service_date"], li["service_start"], cl_from)
        take = pa.array(rest)
        l_code, p_code = _shared_codes(plain(billed).take(take), procs["cpt"])
        l_mod, p_mod = _shared_codes(plain(mods).take(take), procs["modifiers"])
        l_date = ints(pc.cast(plain(date).take(take), pa.int32()), -(2**40))
        p_date = ints(pc.cast(plain(procs["service_date"]), pa.int32()))
        # reversals (status 22) report the billed charge negated
        l_charge = np.abs(ints(plain(li["charge_cents"]).take(take), -(2**62)))
        p_charge = ints(procs["charge_cents"])
        l_enc = line_enc[rest]
        # rank within the claim (several claims of one encounter name the same lines)
        l_rank, l_size = _rank_within(b.line_claim[rest], l_code, l_mod, l_date, l_charge)
        p_rank, p_size = _rank_within(cand_enc, p_code, p_mod, p_date, p_charge)
        left = pa.table(
            {"e": l_enc, "c": l_code, "m": l_mod, "d": l_date, "a": l_charge, "r": l_rank,
             "i": rest, "n": l_size}
        )  # fmt: skip
        right = pa.table(
            {"e": cand_enc, "c": p_code, "m": p_mod, "d": p_date, "a": p_charge, "r": p_rank,
             "p": cand, "pn": p_size}
        )  # fmt: skip
        j = left.join(right, keys=["e", "c", "m", "d", "a", "r"], join_type="inner")
        if j.num_rows:
            # identical procedures are matched in order only when the claim names them
            # all; otherwise which one is meant is ambiguous and the line stays unmatched
            sure = numpy_array(j["n"]) == numpy_array(j["pn"])
            out[numpy_array(j["i"])[sure]] = numpy_array(j["p"])[sure]
    return out
