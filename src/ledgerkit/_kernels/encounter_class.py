"""What an encounter is, from its procedures' sums: class, stage, and the explaining entry.

Shared by ``classify_chunk_nb`` and ``classify_lean_chunk_nb`` (one set of rules,
two ways of summing), with the rows of their outputs.
"""

import numpy as np

from ledgerkit._kernels import codes as C
from ledgerkit._kernels._njit import njit
from ledgerkit._kernels.balances import top_denial_nb


@njit
def pick_nb(cond, if_true, if_false):
    """``if_true if cond else if_false`` for integers, without a branch.

    Numba compiles a conditional expression as a branch, which a processor
    mispredicts when the condition follows no pattern (classes, denials): at 1M
    procedures those branches cost a third of classification.
    """
    mask = -np.int64(cond)
    return (np.int64(if_true) & mask) | (np.int64(if_false) & ~mask)


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
def explanation_nb(
    proc,
    enc_codes,
    enc_amounts,
    proc_entry_start,
    base,
    proc_line,
    entry_order,
    group_codes,
    carc_codes,
):
    """(line, payer_seq, group code, CARC code) of the explaining procedure ``proc``.

    Its largest live denial of any payer (``top_denial_nb``) names the payer and
    the codes (-1: none); ``entry_order`` maps grouped positions to entries rows
    (empty: the same).
    """
    line = proc_line[proc]
    lo = proc_entry_start[proc] - base
    top = top_denial_nb(enc_codes, enc_amounts, lo, proc_entry_start[proc + 1] - base)
    if top < 0:
        return line, 0, -1, -1
    row = entry_order[base + top] if entry_order.shape[0] > 0 else base + top
    return line, C.payer_seq_of(enc_codes[top]), group_codes[row], carc_codes[row]
