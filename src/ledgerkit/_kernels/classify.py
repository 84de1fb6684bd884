"""Encounter classification: class, stage and the entry that explains a denial.

``classify_nb`` sums the procedure figures of ``balances`` per encounter and
decides class (DOMAIN.md, "Classes") and stage (DOMAIN.md, "Stages") in the
same pass. Inputs are grouped entries and CSR offsets as in ``balances``.
"""

import numba
import numpy as np

from ledgerkit._kernels import codes as C
from ledgerkit._kernels._njit import njit, njit_parallel
from ledgerkit._kernels.balances import (
    BANK_SLOTS,
    ENCOUNTER_SLOTS,
    F_ALLOWED,
    F_BALANCE,
    F_DENIED,
    F_OPEN_PR,
    F_PAYER_BALANCE,
    LAST_PR,
    N_FIGURES,
    PR_BANKS,
    ROLE_BY_BANK,
    S_DENIED,
    S_LAST_PR,
    S_PAID,
    S_PR,
    SCRATCH,
    SHORT_PROCEDURE,
    figures_of_slots_nb,
    sum_procedure_nb,
    top_denial_nb,
)
from ledgerkit._kernels.chunks import CHUNK, chunk_range, n_chunks

# copies of the encounter sums classify_chunk_nb cycles through (a power of 2)
ENCOUNTER_COPIES = 4
# int64 scratch of one chunk of classify_nb: the encounter sums' copies, then the figures
CHUNK_SCRATCH = ENCOUNTER_COPIES * ENCOUNTER_SLOTS + N_FIGURES


@njit
def denied_entirely_nb(allowed, denied):
    """A procedure is denied entirely when allowed is 0 *and* it carries a live denial.

    A line brought to allowed 0 by contractual adjustments alone is a
    zero-allowed line, not a denial (DOMAIN.md, Settled question 2).
    """
    return (allowed <= 0) & (denied > 0)  # &, not and: no branch


@njit
def classify_encounter_nb(n_adjudicated, allowed_adj, any_denied_entirely, any_denied):
    """The class of one encounter from its adjudicated procedures (DOMAIN.md).

    DENIAL: allowed 0 as a whole and a procedure denied entirely; PARTIAL_DENIAL:
    allowed > 0 and a procedure denied entirely; UNRESOLVED: some amount denied
    (by any payer); PAID otherwise, including an encounter of zero-allowed
    contractual-only lines (PAID at $0).
    """
    # arithmetic, not branches: classes come in no order a processor could predict
    # (AWAITING 0, PAID 1, UNRESOLVED 2, PARTIAL_DENIAL 3, DENIAL 4)
    denied_entirely = np.int64(any_denied_entirely)
    some_denied = np.int64(any_denied) | denied_entirely
    worse = 1 + some_denied + denied_entirely * (1 + np.int64(allowed_adj <= 0))
    return np.int64(n_adjudicated > 0) * worse


@njit
def stage_nb(balance, payer_balance, open_pr, last, n_payers, pending):
    """Who owes the encounter's balance now (DOMAIN.md, "Stages").

    Selects, not branches (the order of the questions is the order of the rules):
    balance 0 is finalized (or pending), no payer leaves it to the patient, an
    open payer balance is the last payer's (at least payer 1's), and open PR is
    billed to the next payer when there is one (PR of payer k goes to payer k+1).
    """
    billed_on = (open_pr != 0) & (last < n_payers)
    after_payers = last + 1 if billed_on else C.PATIENT
    with_payers = max(last, 1) if payer_balance != 0 else after_payers
    still_open = C.PATIENT if n_payers == 0 else with_payers
    closed = C.FINALIZATION_PENDING if pending else C.FINALIZED
    return closed if balance == 0 else still_open


# Rows of classify_nb's int8 output and of its int32 explanation codes.
SMALL_CLASS, SMALL_STAGE, SMALL_LAST_PAYER, SMALL_PAYER, SMALL_BALANCED = range(5)
N_SMALL = 5
CODE_LINE, CODE_GROUP, CODE_CARC = range(3)
N_CODES = 3
# Rows of its validity bitmaps (Arrow's layout: bit e % 8 of byte e // 8): balanced,
# explained (class UNRESOLVED or worse), explanation's group code and CARC present.
BIT_BALANCED, BIT_EXPLAINED, BIT_GROUP, BIT_CARC = range(4)
N_BITS = 4


@njit
def _allowed_of(sums):
    """Allowed in encounter sums (see ``classify_chunk_nb``): paid + the last payers' PR-1/2/3."""
    return sums[S_PAID] + sums[S_LAST_PR] + sums[S_LAST_PR + 1] + sums[S_LAST_PR + 2]


@njit
def classify_chunk_nb(
    lo_enc,
    hi_enc,
    codes,
    amounts,
    enc_proc_start,
    proc_entry_start,
    enc_n_payers,
    enc_pending,
    kept,
    proc_line,
    entry_order,
    group_codes,
    carc_codes,
    figures,
    small,
    explain_codes,
    bits,
    scratch,
):
    """:func:`classify_nb` for encounters ``lo_enc:hi_enc`` (serial; ``lo_enc`` a
    multiple of 8, so that each byte of ``bits`` is one chunk's), summing in
    ``scratch`` (int64[CHUNK_SCRATCH], zeros; left zeros).

    Branches only where the data is regular (loops): classes, stages and the
    choice of the explaining procedure are selects, because classes come in no
    order a processor could predict; the entry that explains a class is looked
    for in the one procedure chosen, not in every denied one.

    An encounter's sums (int64[ENCOUNTER_SLOTS]) take every entry in its slot,
    PR by payer_seq in PR copy ``p % PR_BANKS``; once a procedure is read, its
    last adjudicating payer's PR is added to the four slots from ``S_LAST_PR``
    and that copy is cleared, so ``figures_of_slots_nb(sums, LAST_PR, ...)``
    gives the encounter's figures (every figure is a sum over procedures).
    Measured, whole kernel, one thread (1M procedures 32.7 -> 26.7 ms; 3M 94.5
    -> 81.5 ms): PR copies, because the next procedure's first loads of a copy
    just cleared (vector stores) waited for the stores to retire instead of
    being forwarded; a fixed body for short procedures, because a loop of ~5
    iterations mispredicts its exit once a procedure (it reads
    ``SHORT_PROCEDURE`` entries and adds 0 for those past the procedure, so it
    reads the whole arrays, not one encounter's slice); the procedure loop
    written here, not called: the same loop in a function of its own (one call
    per encounter, or per procedure even inlined by Numba) kept the old time
    (presumably because there the sums may alias the inputs, so that no load
    of an entry may pass an earlier store to the sums).
    """
    # Encounter e sums into copy e % ENCOUNTER_COPIES, cleared once read: its next
    # user's loads find the clearing stores retired (as the PR copies below). The
    # caller allocates: a kernel that calls np.zeros makes Numba import its array
    # module (numba.np.arrayobj, 0.1-0.2 s) when a fresh process loads it from the cache.
    all_sums = scratch[: ENCOUNTER_COPIES * ENCOUNTER_SLOTS]
    acc = scratch[ENCOUNTER_COPIES * ENCOUNTER_SLOTS :]
    n_kept = kept.shape[0]
    n_all = codes.shape[0]
    any_pending = enc_pending.shape[0] > 0
    ordered = entry_order.shape[0] > 0
    # bits of the byte being filled, one per row of ``bits``
    balanced_bits = explained_bits = group_bits = carc_bits = 0
    for e in range(lo_enc, hi_enc):
        p0 = enc_proc_start[e]
        p1 = enc_proc_start[e + 1]
        copy = (e & (ENCOUNTER_COPIES - 1)) * ENCOUNTER_SLOTS
        sums = all_sums[copy : copy + ENCOUNTER_SLOTS]
        # typed, not literal 0s: else Numba compiles the helpers below once more for
        # the literals it sees on its first typing pass
        n_adj = enc_last = allowed_adj = np.int64(0)
        # The procedure with the largest denied amount (the first on ties) among
        # those denied entirely, and among all denied ones (-1: none).
        whole_p = den_p = -1
        whole_amt = den_amt = 0
        for p in range(p0, p1):
            # a procedure's allowed and denied: what it adds to the encounter's sums
            allowed = -_allowed_of(sums)
            denied = -sums[S_DENIED]
            lo = proc_entry_start[p]
            n = proc_entry_start[p + 1] - lo
            bank = p & (PR_BANKS - 1)
            row = np.uint64(bank * 128)
            last = 0
            if n <= SHORT_PROCEDURE and lo + SHORT_PROCEDURE <= n_all:
                start = np.uint64(lo)  # unsigned: no negative-index check per entry
                for i in range(SHORT_PROCEDURE):
                    role = ROLE_BY_BANK[row + np.uint64(codes[start + np.uint64(i)])]
                    inside = i < n
                    sums[role & 255] += amounts[start + np.uint64(i)] if inside else 0
                    last = max(last, (role >> 8) if inside else 0)
            else:
                for i in range(lo, lo + n):
                    role = ROLE_BY_BANK[row + np.uint64(codes[i])]
                    sums[role & 255] += amounts[i]
                    last = max(last, role >> 8)
            first = S_PR + bank * BANK_SLOTS
            k = first + last * 4
            for j in range(4):
                sums[S_LAST_PR + j] += sums[k + j]
            for j in range(first, first + BANK_SLOTS):
                sums[j] = 0
            allowed += _allowed_of(sums)
            # a procedure no payer adjudicated (last 0) counts for nothing here
            adjudicated = last > 0
            n_adj += adjudicated
            enc_last = max(enc_last, last)
            allowed_adj += allowed * adjudicated
            denied = (denied + sums[S_DENIED]) * adjudicated
            denied *= denied > 0
            more = denied > den_amt
            den_p = p if more else den_p
            den_amt = denied if more else den_amt
            whole = denied * denied_entirely_nb(allowed, denied)
            more = whole > whole_amt
            whole_p = p if more else whole_p
            whole_amt = whole if more else whole_amt
        figures_of_slots_nb(sums, np.int64(LAST_PR), enc_n_payers[e] == 0, acc)
        for j in range(ENCOUNTER_SLOTS):
            sums[j] = 0
        for k in range(n_kept):
            figures[k, e] = acc[kept[k]]
        cls = classify_encounter_nb(n_adj, allowed_adj, whole_p >= 0, den_p >= 0)
        small[SMALL_CLASS, e] = cls
        small[SMALL_STAGE, e] = stage_nb(
            acc[F_BALANCE],
            acc[F_PAYER_BALANCE],
            acc[F_OPEN_PR],
            enc_last,
            enc_n_payers[e],
            any_pending and enc_pending[e],
        )
        small[SMALL_LAST_PAYER, e] = enc_last
        small[SMALL_BALANCED, e] = acc[F_BALANCE] == 0
        # Every DENIAL / PARTIAL_DENIAL / UNRESOLVED names a procedure, a live
        # denied entry (CARC, payer) and a positive amount: the class needs one.
        entirely = cls >= C.PARTIAL_DENIAL
        proc = whole_p if entirely else den_p
        proc = proc if cls >= C.UNRESOLVED else -1
        figures[n_kept, e] = (whole_amt if entirely else den_amt) * (proc >= 0)
        line = payer = 0
        group = carc = -1
        if proc >= 0:
            line = proc_line[proc]
            top = top_denial_nb(codes, amounts, proc_entry_start[proc], proc_entry_start[proc + 1])
            if top >= 0:
                payer = C.payer_seq_of(codes[top])
                row = entry_order[top] if ordered else top
                group = group_codes[row]
                carc = carc_codes[row]
        explain_codes[CODE_LINE, e] = line
        explain_codes[CODE_GROUP, e] = group
        explain_codes[CODE_CARC, e] = carc
        small[SMALL_PAYER, e] = payer
        # Arrow's bitmaps written here: no mask, negation and packing of every row
        # afterwards in the wrapper
        bit = e & 7
        balanced_bits |= np.int64(acc[F_BALANCE] == 0) << bit
        explained_bits |= np.int64(proc >= 0) << bit
        group_bits |= np.int64(group >= 0) << bit
        carc_bits |= np.int64(carc >= 0) << bit
        if bit == 7 or e == hi_enc - 1:
            bits[BIT_BALANCED, e >> 3] = balanced_bits
            bits[BIT_EXPLAINED, e >> 3] = explained_bits
            bits[BIT_GROUP, e >> 3] = group_bits
            bits[BIT_CARC, e >> 3] = carc_bits
            balanced_bits = explained_bits = group_bits = carc_bits = 0


@njit_parallel
def classify_nb(
    codes,
    amounts,
    enc_proc_start,
    proc_entry_start,
    enc_n_payers,
    enc_pending,
    kept,
    proc_line,
    entry_order,
    group_codes,
    carc_codes,
    figures,
    small,
    explain_codes,
    bits,
    scratch,
):
    """Encounter figures, class, stage and explanation in one pass over the entries.

    Inputs: grouped ``codes`` and ``amounts``, the CSR offsets, payers per
    encounter, ``enc_pending`` (bool per encounter, or empty: none pending),
    ``kept`` (the rows of ``FIGURES`` to write), the grouped procedures' lines,
    ``entry_order`` (grouped position -> entries row; empty when the same) and
    the entries rows' dense group-code and CARC codes (-1: none).

    Outputs, per encounter ``e`` (four arrays, so that the parallel kernel
    takes few arguments: each one costs compile time): ``figures[k, e]`` is
    figure ``kept[k]`` summed over the procedures and ``figures[len(kept), e]``
    the explanation's amount; ``small[SMALL_*, e]`` (int8) class, stage, last
    adjudicating payer, the explanation's payer_seq and balanced (0/1);
    ``explain_codes[CODE_*, e]`` (int32) the explanation's line, group code and
    CARC code. The explanation of a DENIAL or PARTIAL_DENIAL is the procedure
    denied entirely with the largest ``denied``, of an UNRESOLVED class the
    procedure with the largest ``denied`` (first on ties), and on it the largest
    live denial of any payer (which may be an earlier payer's); the amount is
    that procedure's ``denied`` (> 0). Other classes: line 0, codes -1, amount
    0, payer 0. ``bits[BIT_*]`` (uint8, ``(n_enc + 7) // 8`` bytes a row) are
    Arrow bitmaps: balanced, explained, group code present, CARC present.
    ``scratch`` (int64, zeros, ``(n_chunks(n_enc, CHUNK), CHUNK_SCRATCH)``) is each
    chunk's working memory, left zeros.

    The parallel loop only hands out chunks: the work is in the serial
    :func:`classify_chunk_nb`, which keeps the parfor small and compilation
    (a latency users feel on a cold start) short.
    """
    n_enc = enc_proc_start.shape[0] - 1
    for chunk in numba.prange(n_chunks(n_enc, CHUNK)):
        e0, e1 = chunk_range(chunk, n_enc, CHUNK)
        classify_chunk_nb(
            e0,
            e1,
            codes,
            amounts,
            enc_proc_start,
            proc_entry_start,
            enc_n_payers,
            enc_pending,
            kept,
            proc_line,
            entry_order,
            group_codes,
            carc_codes,
            figures,
            small,
            explain_codes,
            bits,
            scratch[chunk],
        )


@njit_parallel
def ledger_figures_nb(
    codes,
    amounts,
    enc_proc_start,
    proc_entry_start,
    enc_n_payers,
    kept,
    proc_figures,
    proc_last,
    enc_balance,
    enc_allowed,
    enc_class,
    enc_stage,
):
    """The per-procedure figures the analytics and rules read, and their encounter roll-up.

    ``proc_figures[k, p]`` receives figure ``kept[k]`` (a row of ``FIGURES``) of
    procedure ``p`` and ``proc_last[p]`` its last adjudicating payer; per
    encounter, the balance, allowed, class and stage (as ``classify_nb``).
    One pass: the derived-data layer runs it once per ledger and policy.
    """
    n_enc = enc_proc_start.shape[0] - 1
    n_kept = kept.shape[0]
    for chunk in numba.prange(n_chunks(n_enc, CHUNK)):
        buf = np.empty(N_FIGURES, np.int64)
        scratch = np.empty(SCRATCH, np.int64)
        e0, e1 = chunk_range(chunk, n_enc, CHUNK)
        for e in range(e0, e1):
            self_pay = enc_n_payers[e] == 0
            # typed, not literals: one compile of the helpers for both kernels
            n_adj = enc_last = allowed_adj = np.int64(0)
            any_whole = any_denied = np.bool_(False)
            balance = payer_balance = open_pr = allowed = np.int64(0)
            for p in range(enc_proc_start[e], enc_proc_start[e + 1]):
                lo = proc_entry_start[p]
                hi = proc_entry_start[p + 1]
                last = sum_procedure_nb(codes, amounts, lo, hi, scratch)
                figures_of_slots_nb(scratch, last, self_pay, buf)
                for k in range(n_kept):
                    proc_figures[k, p] = buf[kept[k]]
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
                if denied_entirely_nb(buf[F_ALLOWED], buf[F_DENIED]):
                    any_whole = True
                if buf[F_DENIED] > 0:
                    any_denied = True
            enc_balance[e] = balance
            enc_allowed[e] = allowed
            enc_class[e] = classify_encounter_nb(n_adj, allowed_adj, any_whole, any_denied)
            enc_stage[e] = stage_nb(
                balance, payer_balance, open_pr, enc_last, enc_n_payers[e], np.bool_(False)
            )
