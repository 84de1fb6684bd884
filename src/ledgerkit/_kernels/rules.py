"""Adjustment-rule kernels: the rules over every procedure in one pass.

What rule conditions look at (procedure and encounter balances, class, stage)
comes from ``classify.ledger_figures_nb`` through the derived-data layer
(``ledgerkit.analytics.derived``), computed once per ledger and policy.

``evaluate_rules_nb`` walks procedures grouped by encounter and, per
procedure, tries the compiled rules in order: the first that matches wins.
Rules arrive as arrays (see ``ledgerkit.rules.compile_rules``): one int64 row of
scalars per rule (``R_*`` columns below) and boolean lookup tables indexed by
dictionary code (a bitmap per set condition; an unconstrained set is all True).

Movements are capped by what is open (DOMAIN, Settled question 3): a
transfer to PR moves at most the payer balance, a write-off at most the payer
balance or the open PR it names and never more than the balance. A rule's
*requested* amount (the bucket it names, or the adjustments it matched) is
kept beside what it moves, so callers can say where a cap bit.
"""

import numba
import numpy as np

from ledgerkit._kernels._njit import njit, njit_parallel
from ledgerkit._kernels.chunks import CHUNK, chunk_range, n_chunks

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
R_MATCHED_VAR = 11  # row of proc_matched (the rule moves matched adjustments), -1: no
N_R = 12

# Columns of the per-chunk, per-rule accumulators.
S_PROCEDURES = 0
S_ENCOUNTERS = 1
S_WRITTEN_OFF = 2
S_TO_PR = 3
S_CLOSED = 4
S_CAPPED = 5  # procedures where the cap moved less than the rule asked
S_CAPPED_CENTS = 6  # cents asked for but not moved
N_S = 7


@njit
def rule_amounts_nb(action, target, payer_balance, open_pr, balance, matched):
    """(from payer balance, from open PR, requested) of one action; each >= 0.

    ``requested`` is what the rule asks for: ``matched`` (its matched
    adjustments, when >= 0) or the payer balance for the payer part, the open
    PR for the PR part. What moves is capped: the payer part by the payer
    balance, the PR part by the open PR, and a write-off in all by the
    balance (a write-off can never leave a credit).
    """
    payer_open = payer_balance if payer_balance > 0 else 0
    pr_open = open_pr if open_pr > 0 else 0
    room = balance if balance > 0 else 0
    want_payer = matched if matched >= 0 else payer_open
    if action == A_TRANSFER_TO_PR:
        return min(want_payer, payer_open), 0, want_payer
    if action != A_WRITE_OFF:
        return 0, 0, 0
    if target == T_PAYER_BALANCE:
        return min(want_payer, payer_open, room), 0, want_payer
    if target == T_PR:
        return 0, min(pr_open, room), pr_open
    from_payer = min(payer_open, room)
    return from_payer, min(pr_open, room - from_payer), payer_open + pr_open


@njit
def _scalar_ok(r, r_int, balance, allowed, taa_row):
    """Encounter-level scalar conditions of rule ``r``: balance range and TAA."""
    if balance < r_int[r, R_BAL_MIN] or balance > r_int[r, R_BAL_MAX]:
        return False
    var = r_int[r, R_TAA_VAR]
    if var >= 0:
        taa = taa_row[var]
        if taa < 0:
            return False  # no TAA for this configuration: never matches
        reached = allowed * 10000 >= taa * r_int[r, R_TAA_BP]
        if reached != (r_int[r, R_TAA_OP] == TAA_GE):
            return False
    return True


@njit(forceinline=True)  # a call per procedure costs more than the body
def encounter_candidates_nb(
    ecand, m_payer, m_pclass, m_site, m_class, m_stage, enc_codes, m_scalar, r_int, scalars
):
    """Fill ``ecand`` with the rules whose encounter-level conditions hold; any of them?

    ``enc_codes`` are the encounter's (payer, payer class, site, class, stage)
    rows in the ``m_*`` bitmaps; ``scalars`` its (balance, allowed, TAA row)
    for the balance and TAA conditions, checked rule by rule.
    """
    zero = np.uint64(0)
    any_enc = zero
    payer, pclass, site, cls, stage = enc_codes
    balance, allowed, taa_row = scalars
    for w in range(ecand.shape[0]):
        x = m_payer[payer, w] & m_pclass[pclass, w] & m_site[site, w]
        ecand[w] = x & m_class[cls, w] & m_stage[stage, w]
    for w in range(ecand.shape[0]):
        x = ecand[w] & m_scalar[w]  # rules with balance or TAA conditions
        b = 0
        while x != zero:
            if x & np.uint64(1) != zero:
                r = w * 64 + b
                if not _scalar_ok(r, r_int, balance, allowed, taa_row):
                    ecand[w] &= ~(np.uint64(1) << np.uint64(b))
            x >>= np.uint64(1)
            b += 1
    for w in range(ecand.shape[0]):
        any_enc |= ecand[w]
    return any_enc


@njit(forceinline=True)  # a call per procedure costs more than the body
def procedure_candidates_nb(
    cand,
    pmask,
    ecand,
    m_cpt,
    cpt,
    payer_balance,
    open_pr,
    denied_entirely,
    m_need,
    m_nopair,
    m_pair,
    pairs,
    lo,
    hi,
):
    """Fill ``cand`` with the encounter's candidates that also fit one procedure.

    ``cpt`` is the procedure's row in ``m_cpt`` and ``pairs[lo:hi]`` the
    group/CARC pair codes of its entries (-1 none); ``pmask`` is scratch. A
    procedure ``denied_entirely`` drops the rules of ``m_need[3]`` (TAA rules
    that move money and leave appealable denials alone).
    """
    zero = np.uint64(0)
    n_words = cand.shape[0]
    scan = zero
    for w in range(n_words):
        x = ecand[w] & m_cpt[cpt, w]
        # Write-offs and transfers need a positive amount to move.
        if payer_balance <= 0:
            x &= ~m_need[0, w]
            if open_pr <= 0:
                x &= ~m_need[2, w]
        if open_pr <= 0:
            x &= ~m_need[1, w]
        if denied_entirely:
            x &= ~m_need[3, w]
        cand[w] = x
        scan |= x & ~m_nopair[w]
    if scan != zero:  # some candidate has a group/CARC condition
        for w in range(n_words):
            pmask[w] = m_nopair[w]
        for i in range(lo, hi):
            k = pairs[i]
            if k >= 0:
                for w in range(n_words):
                    pmask[w] |= m_pair[k, w]
        for w in range(n_words):
            cand[w] &= pmask[w]


@njit(forceinline=True)  # a call per procedure costs more than the body
def first_applicable_rule_nb(cand, r_int, figures, matched, service_day, last_remit, as_of_day):
    """(rule, from payer balance, from open PR, requested) of the first candidate that applies.

    ``figures`` are the procedure's (payer balance, open PR, balance) and
    ``matched`` its column of ``proc_matched``. Rules are tried in order; one
    applies when its age condition holds and it has something to move after
    the caps (flags and leave-alone rules always apply). Returns
    ``(-1, 0, 0, 0)`` when none does.
    """
    payer_balance, open_pr, balance = figures
    zero = np.uint64(0)
    for w in range(cand.shape[0]):
        x = cand[w]
        b = 0
        while x != zero:
            if x & np.uint64(1) == zero:
                x >>= np.uint64(1)
                b += 1
                continue
            r = w * 64 + b
            x >>= np.uint64(1)
            b += 1
            age_from = r_int[r, R_AGE_FROM]
            if age_from != AGE_NONE:
                day = service_day if age_from == AGE_SERVICE else last_remit
                if day < 0:
                    continue
                age = as_of_day - day
                if age < r_int[r, R_AGE_MIN] or age > r_int[r, R_AGE_MAX]:
                    continue
            action = r_int[r, R_ACTION]
            var = r_int[r, R_MATCHED_VAR]
            a_payer, a_pr, want = rule_amounts_nb(
                action,
                r_int[r, R_TARGET],
                payer_balance,
                open_pr,
                balance,
                matched[var] if var >= 0 else -1,
            )
            if action <= A_TRANSFER_TO_PR and a_payer + a_pr <= 0:
                continue  # nothing to move: the rule does not apply here
            return r, a_payer, a_pr, want
    return -1, 0, 0, 0


@njit_parallel
def evaluate_rules_nb(
    enc_proc_start,
    proc_entry_start,
    entry_pair,
    proc_cpt,
    proc_service_day,
    proc_payer_balance,
    proc_open_pr,
    proc_balance,
    proc_matched,
    proc_denied_entirely,
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
    m_payer,
    m_pclass,
    m_site,
    m_class,
    m_stage,
    m_cpt,
    m_pair,
    m_nopair,
    m_scalar,
    m_need,
    proc_rule,
    proc_from_payer,
    proc_from_pr,
    proc_requested,
    enc_closed_by,
    acc,
):
    """First matching rule per procedure, amounts moved, and per-rule totals.

    Set conditions arrive as bitmaps over rules: ``m_payer[code, w]`` has bit
    ``r % 64`` of word ``w = r // 64`` set when rule ``r`` accepts that payer
    code (all bits for a rule without that condition), and likewise for payer
    class, site, class, stage and CPT. ``m_pair[pair, w]`` marks the rules whose
    group/CARC condition that adjustment satisfies; ``m_nopair`` the rules
    without one; ``m_scalar`` the rules with a balance or TAA condition;
    ``m_need[k]`` the rules that need a positive payer balance (k=0), open PR
    (k=1) or either (k=2) to move anything, and (k=3) the rules that skip a
    procedure denied entirely (``proc_denied_entirely``: allowed 0 with a live
    denial). So every set condition of every
    rule costs one AND per word.

    ``proc_matched[v, p]`` is what the rules of ``R_MATCHED_VAR`` v matched on
    procedure ``p`` (cents of live adjustments still in its payer balance).

    Outputs: ``proc_rule[p]`` (rule index or -1), ``proc_from_payer[p]`` and
    ``proc_from_pr[p]`` (cents moved, capped), ``proc_requested[p]`` (cents
    the rule asked for), ``enc_closed_by[e]`` (the first rule,
    in evaluation order, whose write-offs hit an encounter that they bring to
    a zero balance; -1 otherwise) and ``acc[chunk, rule, S_*]``, one block per
    chunk (summed by the caller).
    """
    n_enc = enc_proc_start.shape[0] - 1
    n_rules = r_int.shape[0]
    n_words = m_nopair.shape[0]
    zero = np.uint64(0)
    for chunk in numba.prange(n_chunks(n_enc, CHUNK)):
        local = np.zeros((n_rules, N_S), np.int64)
        ecand = np.empty(n_words, np.uint64)
        cand = np.empty(n_words, np.uint64)
        pmask = np.empty(n_words, np.uint64)
        e0, e1 = chunk_range(chunk, n_enc, CHUNK)
        for e in range(e0, e1):
            payer = enc_payer[e] + 1
            pclass = enc_pclass[e]
            site = enc_site[e] + 1
            cls = enc_class[e]
            stage = enc_stage[e]
            balance = enc_balance[e]
            allowed = enc_allowed[e]
            taa_row = enc_taa[:, e]
            any_enc = encounter_candidates_nb(
                ecand,
                m_payer,
                m_pclass,
                m_site,
                m_class,
                m_stage,
                (payer, pclass, site, cls, stage),
                m_scalar,
                r_int,
                (balance, allowed, taa_row),
            )
            written = 0
            first_writer = n_rules
            p0 = enc_proc_start[e]
            p1 = enc_proc_start[e + 1]
            for p in range(p0, p1):
                chosen = -1
                from_payer = 0
                from_pr = 0
                requested = 0
                if any_enc != zero:
                    pb = proc_payer_balance[p]
                    opr = proc_open_pr[p]
                    procedure_candidates_nb(
                        cand,
                        pmask,
                        ecand,
                        m_cpt,
                        proc_cpt[p],
                        pb,
                        opr,
                        proc_denied_entirely[p],
                        m_need,
                        m_nopair,
                        m_pair,
                        entry_pair,
                        proc_entry_start[p],
                        proc_entry_start[p + 1],
                    )
                    chosen, from_payer, from_pr, requested = first_applicable_rule_nb(
                        cand,
                        r_int,
                        (pb, opr, proc_balance[p]),
                        proc_matched[:, p],
                        proc_service_day[p],
                        enc_last_remit[e],
                        as_of_day,
                    )
                proc_rule[p] = chosen
                proc_from_payer[p] = from_payer
                proc_from_pr[p] = from_pr
                proc_requested[p] = requested
                if chosen < 0:
                    continue
                held_back = requested - from_payer - from_pr  # 0 for flags and leave
                if held_back > 0:
                    local[chosen, S_CAPPED] += 1
                    local[chosen, S_CAPPED_CENTS] += held_back
                first_hit = True  # count each rule once per encounter
                for q in range(p0, p):
                    if proc_rule[q] == chosen:
                        first_hit = False
                        break
                if first_hit:
                    local[chosen, S_ENCOUNTERS] += 1
                local[chosen, S_PROCEDURES] += 1
                if r_int[chosen, R_ACTION] == A_WRITE_OFF:
                    local[chosen, S_WRITTEN_OFF] += from_payer + from_pr
                    written += from_payer + from_pr
                    if chosen < first_writer:
                        first_writer = chosen
                elif r_int[chosen, R_ACTION] == A_TRANSFER_TO_PR:
                    local[chosen, S_TO_PR] += from_payer
            if first_writer < n_rules and balance != 0 and balance - written == 0:
                enc_closed_by[e] = first_writer
                local[first_writer, S_CLOSED] += 1
            else:
                enc_closed_by[e] = -1
        acc[chunk, :, :] = local
