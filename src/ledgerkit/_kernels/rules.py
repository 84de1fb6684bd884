"""Adjustment-rule kernels: ledger features in one pass, then rules in one pass.

``rule_features_nb`` reads the grouped entries once and keeps what rule
conditions look at (procedure balance, payer balance, open PR, encounter class,
stage, allowed, last remit day). It reuses ``procedure_figures_nb``,
``classify_encounter_nb`` and ``stage_nb`` so bucket logic lives in one place.

``evaluate_rules_nb`` walks procedures grouped by encounter and, per
procedure, tries the compiled rules in order: the first that matches wins.
Rules arrive as arrays (see ``ledgerkit.rules._compile``): one int64 row of
scalars per rule (``R_*`` columns below) and boolean lookup tables indexed by
dictionary code (a bitmap per set condition; an unconstrained set is all True).
"""

import numba
import numpy as np

from ledgerkit._kernels._njit import njit, njit_parallel
from ledgerkit._kernels.balances import (
    F_ALLOWED,
    F_BALANCE,
    F_DENIED,
    F_OPEN_PR,
    F_PAYER_BALANCE,
    N_FIGURES,
    classify_encounter_nb,
    procedure_figures_nb,
    stage_nb,
)

CHUNK = 4096  # encounters per parallel task

# Actions and write-off targets (codes shared with ledgerkit.rules).
A_WRITE_OFF = 0
A_TRANSFER_TO_PR = 1
A_FLAG = 2
A_LEAVE = 3
T_PAYER_BALANCE = 0
T_PR = 1
T_BALANCE = 2
AGE_NONE = 0
AGE_SERVICE = 1
AGE_LAST_REMIT = 2
TAA_GE = 0
TAA_LT = 1

# Columns of the per-rule int64 matrix.
R_ACTION = 0
R_TARGET = 1
R_HAS_PAIR = 2
R_BAL_MIN = 3
R_BAL_MAX = 4
R_AGE_FROM = 5
R_AGE_MIN = 6
R_AGE_MAX = 7
R_TAA_VAR = 8
R_TAA_BP = 9
R_TAA_OP = 10
N_R = 11

# Columns of the per-chunk, per-rule accumulators.
S_PROCEDURES = 0
S_ENCOUNTERS = 1
S_WRITTEN_OFF = 2
S_TO_PR = 3
S_CLOSED = 4
N_S = 5


@njit_parallel
def rule_features_nb(
    codes,
    amounts,
    remit_day,
    enc_proc_start,
    proc_entry_start,
    enc_n_payers,
    proc_balance,
    proc_payer_balance,
    proc_open_pr,
    proc_last,
    enc_balance,
    enc_allowed,
    enc_class,
    enc_stage,
    enc_last_remit,
):
    """Per-procedure and per-encounter figures the rule conditions read.

    ``remit_day`` is the posting day of each entry that came from a remit
    (-1 otherwise); ``enc_last_remit`` receives the latest one (-1 when none).
    Class and allowed follow ``classify_nb`` exactly.
    """
    n_enc = enc_proc_start.shape[0] - 1
    n_chunks = (n_enc + CHUNK - 1) // CHUNK
    for chunk in numba.prange(n_chunks):
        buf = np.empty(N_FIGURES, np.int64)
        for e in range(chunk * CHUNK, min(n_enc, (chunk + 1) * CHUNK)):
            self_pay = enc_n_payers[e] == 0
            n_adj = 0
            enc_last = 0
            allowed_adj = 0
            any_zero = False
            any_denied = False
            balance = 0
            payer_balance = 0
            open_pr = 0
            allowed = 0
            last_remit = -1
            for p in range(enc_proc_start[e], enc_proc_start[e + 1]):
                lo = proc_entry_start[p]
                hi = proc_entry_start[p + 1]
                last, _ = procedure_figures_nb(codes[lo:hi], amounts[lo:hi], self_pay, buf)
                days = remit_day[lo:hi]
                for i in range(days.shape[0]):
                    if days[i] > last_remit:
                        last_remit = days[i]
                proc_balance[p] = buf[F_BALANCE]
                proc_payer_balance[p] = buf[F_PAYER_BALANCE]
                proc_open_pr[p] = buf[F_OPEN_PR]
                proc_last[p] = last
                balance += buf[F_BALANCE]
                payer_balance += buf[F_PAYER_BALANCE]
                open_pr += buf[F_OPEN_PR]
                allowed += buf[F_ALLOWED]
                if last == 0:
                    continue
                n_adj += 1
                enc_last = max(enc_last, last)
                allowed_adj += buf[F_ALLOWED]
                if buf[F_ALLOWED] <= 0:
                    any_zero = True
                if buf[F_DENIED] > 0:
                    any_denied = True
            enc_balance[e] = balance
            enc_allowed[e] = allowed
            enc_class[e] = classify_encounter_nb(n_adj, allowed_adj, any_zero, any_denied)
            enc_stage[e] = stage_nb(
                balance, payer_balance, open_pr, enc_last, enc_n_payers[e], False
            )
            enc_last_remit[e] = last_remit


@njit
def rule_amounts_nb(action, target, payer_balance, open_pr):
    """(from payer balance, from open PR) that one action would move; >= 0 each."""
    from_payer = payer_balance if payer_balance > 0 else 0
    from_pr = open_pr if open_pr > 0 else 0
    if action == A_WRITE_OFF:
        if target == T_PAYER_BALANCE:
            return from_payer, 0
        if target == T_PR:
            return 0, from_pr
        return from_payer, from_pr
    if action == A_TRANSFER_TO_PR:
        return from_payer, 0
    return 0, 0


@njit
def _has_pair(pairs, table):
    for i in range(pairs.shape[0]):
        k = pairs[i]
        if k >= 0 and table[k]:
            return True
    return False


@njit
def _encounter_ok(r, e, r_int, r_payer, r_pclass, r_site, r_class, r_stage, enc, enc_taa):
    """Encounter-level conditions of rule ``r`` (payer, site, class, stage, balance, TAA)."""
    payer, pclass, site, cls, stage, balance, allowed, _ = enc
    if not r_payer[r, payer + 1] or not r_pclass[r, pclass] or not r_site[r, site + 1]:
        return False
    if not r_class[r, cls] or not r_stage[r, stage]:
        return False
    if balance < r_int[r, R_BAL_MIN] or balance > r_int[r, R_BAL_MAX]:
        return False
    var = r_int[r, R_TAA_VAR]
    if var >= 0:
        taa = enc_taa[var, e]
        if taa < 0:
            return False  # no TAA for this configuration: never matches
        reached = allowed * 10000 >= taa * r_int[r, R_TAA_BP]
        if reached != (r_int[r, R_TAA_OP] == TAA_GE):
            return False
    return True


@njit_parallel
def evaluate_rules_nb(
    enc_proc_start,
    proc_entry_start,
    entry_pair,
    proc_cpt,
    proc_service_day,
    proc_payer_balance,
    proc_open_pr,
    enc_payer,
    enc_pclass,
    enc_site,
    enc_class,
    enc_stage,
    enc_balance,
    enc_allowed,
    enc_last_remit,
    enc_taa,
    as_of_day,
    r_int,
    r_payer,
    r_pclass,
    r_site,
    r_class,
    r_stage,
    r_cpt,
    r_pair,
    proc_rule,
    proc_from_payer,
    proc_from_pr,
    enc_closed_by,
    acc,
):
    """First matching rule per procedure, amounts moved, and per-rule totals.

    Outputs: ``proc_rule[p]`` (rule index or -1), ``proc_from_payer[p]`` and
    ``proc_from_pr[p]`` (cents moved), ``enc_closed_by[e]`` (the first rule,
    in evaluation order, whose write-offs hit an encounter that they bring
    to a zero balance; -1 otherwise) and ``acc[chunk, rule, S_*]``, one block
    per chunk (summed by the caller).
    """
    n_enc = enc_proc_start.shape[0] - 1
    n_rules = r_int.shape[0]
    n_chunks = (n_enc + CHUNK - 1) // CHUNK
    for chunk in numba.prange(n_chunks):
        local = np.zeros((n_rules, N_S), np.int64)
        hit = np.zeros(n_rules, np.bool_)
        enc_ok = np.zeros(n_rules, np.int8)  # 0 unknown, 1 yes, 2 no (cached per encounter)
        for e in range(chunk * CHUNK, min(n_enc, (chunk + 1) * CHUNK)):
            hit[:] = False
            enc_ok[:] = 0
            enc = (
                enc_payer[e],
                enc_pclass[e],
                enc_site[e],
                enc_class[e],
                enc_stage[e],
                enc_balance[e],
                enc_allowed[e],
                enc_last_remit[e],
            )
            written = 0
            first_writer = n_rules
            p0 = enc_proc_start[e]
            p1 = enc_proc_start[e + 1]
            cpts = proc_cpt[p0:p1]
            days = proc_service_day[p0:p1]
            pbs = proc_payer_balance[p0:p1]
            oprs = proc_open_pr[p0:p1]
            for j in range(p1 - p0):
                p = p0 + j
                chosen = -1
                from_payer = 0
                from_pr = 0
                for r in range(n_rules):
                    if enc_ok[r] == 0:
                        ok = _encounter_ok(
                            r, e, r_int, r_payer, r_pclass, r_site, r_class, r_stage, enc, enc_taa
                        )
                        enc_ok[r] = 1 if ok else 2
                    if enc_ok[r] == 2:
                        continue
                    if not r_cpt[r, cpts[j]]:
                        continue
                    age_from = r_int[r, R_AGE_FROM]
                    if age_from != AGE_NONE:
                        day = days[j] if age_from == AGE_SERVICE else enc_last_remit[e]
                        if day < 0:
                            continue
                        age = as_of_day - day
                        if age < r_int[r, R_AGE_MIN] or age > r_int[r, R_AGE_MAX]:
                            continue
                    action = r_int[r, R_ACTION]
                    a_payer, a_pr = rule_amounts_nb(action, r_int[r, R_TARGET], pbs[j], oprs[j])
                    if action <= A_TRANSFER_TO_PR and a_payer + a_pr <= 0:
                        continue  # nothing to move: the rule does not apply here
                    if r_int[r, R_HAS_PAIR] == 1:
                        lo = proc_entry_start[p]
                        hi = proc_entry_start[p + 1]
                        if not _has_pair(entry_pair[lo:hi], r_pair[r]):
                            continue
                    chosen = r
                    from_payer = a_payer
                    from_pr = a_pr
                    break
                proc_rule[p] = chosen
                proc_from_payer[p] = from_payer
                proc_from_pr[p] = from_pr
                if chosen < 0:
                    continue
                hit[chosen] = True
                local[chosen, S_PROCEDURES] += 1
                if r_int[chosen, R_ACTION] == A_WRITE_OFF:
                    local[chosen, S_WRITTEN_OFF] += from_payer + from_pr
                    written += from_payer + from_pr
                    if chosen < first_writer:
                        first_writer = chosen
                elif r_int[chosen, R_ACTION] == A_TRANSFER_TO_PR:
                    local[chosen, S_TO_PR] += from_payer
            for r in range(n_rules):
                if hit[r]:
                    local[r, S_ENCOUNTERS] += 1
            balance = enc_balance[e]
            if first_writer < n_rules and balance != 0 and balance - written == 0:
                enc_closed_by[e] = first_writer
                local[first_writer, S_CLOSED] += 1
            else:
                enc_closed_by[e] = -1
        acc[chunk, :, :] = local
