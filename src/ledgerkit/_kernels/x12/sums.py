"""Per claim and per line sums of the adjustments read by the parser (exact int64)."""

from __future__ import annotations

from ledgerkit._kernels._njit import njit
from ledgerkit._kernels.x12.columns import AHEAD
from ledgerkit._kernels.x12.layout import A_CARC, A_GROUP, AI_CLAIM, AI_LINE, AN_AMOUNT
from ledgerkit._kernels.x12.words import prefetch


@njit
def adjustment_sums_nb(
    buf, ad_s, ad_i, ad_n, n, claim_pr, claim_pr123, claim_cas, line_cas, line_pr123
):
    """Per claim and per line sums of the first ``n`` CAS rows, read from the kernel arrays.

    ``claim_pr``: group PR; ``*_pr123``: PR with CARC 1, 2 or 3 (deductible,
    coinsurance, copay); ``*_cas``: every adjustment. ``line_*`` only take
    line-level rows. Outputs are zeroed by the caller.
    """
    nc = claim_cas.shape[0]
    nl = line_cas.shape[0]
    for a in range(n):
        if a + AHEAD < n:  # the CAS segment of a row ahead (see words.prefetch)
            prefetch(buf, ad_s[2 * A_GROUP, a + AHEAD])
        v = ad_n[AN_AMOUNT, a]
        gs = ad_s[2 * A_GROUP, a]
        is_pr = ad_s[2 * A_GROUP + 1, a] - gs == 2 and buf[gs] == 80 and buf[gs + 1] == 82
        cs = ad_s[2 * A_CARC, a]
        pr123 = is_pr and ad_s[2 * A_CARC + 1, a] - cs == 1 and 49 <= buf[cs] <= 51
        c = ad_i[AI_CLAIM, a]
        if 0 <= c < nc:
            claim_cas[c] += v
            if is_pr:
                claim_pr[c] += v
            if pr123:
                claim_pr123[c] += v
        li = ad_i[AI_LINE, a]
        if 0 <= li < nl:
            line_cas[li] += v
            if pr123:
                line_pr123[li] += v
