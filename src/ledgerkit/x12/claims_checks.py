"""The checks of claims read from 837 files: findings of the parser and balancing.

A claim's charge must equal the sum of its lines (CLM02); a claim needs a
line; on a claim sent to a later payer, each earlier payer's adjudication must
balance (seed 003): per line, charge - SVD02 paid = the payer's line CAS; per
claim, charge - AMT*D paid = the payer's claim and line CAS. Messages name
the segment and the element, never a value of the file.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ledgerkit._kernels.groupsums import group_sum_nb
from ledgerkit._kernels.x12 import layout as k
from ledgerkit._kernels.x12 import layout_837 as m
from ledgerkit.x12.tables import findings_table
from ledgerkit.x12.tokenize_837 import FINDING_CODES_837, segment_name

__all__ = ["claim_findings", "claim_finding_rows", "findings_from_rows"]


def _prior_residuals(a, claim_tx):
    """Rows of failed COB balancing checks (seed 003): per line and per other payer,
    charge - SVD paid - that payer's line CAS; per claim and other payer with AMT*D,
    charge - AMT*D - that payer's claim and line CAS."""
    pr_i, pr_n, buf, pr_s = a["pr_i"], a["pr_n"], a["buf"], a["pr_s"]
    if pr_i.shape[1] == 0:
        return []
    src = pr_i[m.PI_SOURCE].astype(np.int64)
    claim = pr_i[m.PI_CLAIM].astype(np.int64)
    line = pr_i[m.PI_LINE].astype(np.int64)
    other = pr_i[m.PI_OTHER].astype(np.int64)
    amount = pr_n[m.PN_AMOUNT]
    qs, qe = pr_s[2 * m.P_AMOUNT_QUAL], pr_s[2 * m.P_AMOUNT_QUAL + 1]
    is_d = (qe - qs == 1) & (buf[np.minimum(qs, len(buf) - 1)] == ord("D"))
    rows = []
    charge_l, charge_c = a["li_n"][m.LN_CHARGE], a["cl_n"][m.CN_CHARGE]
    # line level: an SVD opens a group of rows (its CAS follow it), in file order
    svd = np.flatnonzero(src == m.SOURCE_SVD)
    group = np.cumsum(src == m.SOURCE_SVD) - 1
    is_line = line != k.NULL32
    cas_sum = np.zeros(len(svd), np.int64)
    sel = is_line & (src == m.SOURCE_CAS) & (group >= 0)
    group_sum_nb(amount[sel], group[sel], cas_sum)
    diff = charge_l[line[svd]] - amount[svd] - cas_sum
    for j in np.flatnonzero(diff):
        r, d = svd[j], int(diff[j])
        cl, li = int(claim[r]), int(line[r])
        rows.append((int(pr_i[m.PI_SEG, r]), "SVD", None, "unbalanced_prior_line",
                     int(claim_tx[cl]), cl, li, d,
                     f"line charge - SVD02 paid - the payer's line CAS = {d / 100:.2f}, "
                     "not 0"))  # fmt: skip
    # claim level: per (claim, other payer) that reports AMT*D, all of that payer's CAS
    known = other > 0
    width = int(other.max(initial=0)) + 1
    key = claim * width + other
    cas = known & (src == m.SOURCE_CAS)
    keys, inverse = np.unique(key[cas], return_inverse=True)
    sums = np.zeros(len(keys), np.int64)
    group_sum_nb(amount[cas], inverse.astype(np.int64), sums)
    paid = np.flatnonzero(known & (src == m.SOURCE_AMT) & ~is_line & is_d)
    at = np.minimum(np.searchsorted(keys, key[paid]), max(len(keys) - 1, 0))
    found = (keys[at] == key[paid]) if len(keys) else np.zeros(len(paid), bool)
    adjusted = np.where(found, sums[at] if len(keys) else 0, 0)
    diff = charge_c[claim[paid]] - amount[paid] - adjusted
    for j in np.flatnonzero(diff):
        r, d = paid[j], int(diff[j])
        cl = int(claim[r])
        rows.append((int(pr_i[m.PI_SEG, r]), "AMT", 2, "unbalanced_prior_claim",
                     int(claim_tx[cl]), cl, None, d,
                     f"claim charge - AMT*D paid - the payer's claim and line CAS = "
                     f"{d / 100:.2f}, not 0"))  # fmt: skip
    return rows


def claim_findings(a, file, line_count, code_rows=()) -> pa.Table:
    """The findings table of one file's kernel arrays ``a``, with ``code_rows`` (the
    ``invalid_code`` rows of ``ledgerkit.x12.claim_codes``)."""
    return findings_from_rows(file, claim_finding_rows(a, line_count) + list(code_rows))


def findings_from_rows(file, rows) -> pa.Table:
    """The findings table of finding rows, in segment order."""
    rows = sorted(rows, key=lambda r: (-1 if r[0] is None else r[0], r[3]))
    return findings_table(file, rows)


def claim_finding_rows(a, line_count) -> list:
    """Finding rows of the parser and of the balancing checks. Call it before the
    tables are built from ``a`` (building fills absent numbers in place)."""
    buf, fn = a["buf"], a["fn"]
    rows = []
    for i in range(fn.shape[1]):
        code, seg, elem, tx, cl, li, _vs, _ve, pos = (int(x) for x in fn[:, i])
        name, what = FINDING_CODES_837[code]
        sid = segment_name(buf, pos)
        msg = f"{sid}{elem:02d}: {what}" if elem else f"{sid}: {what}"
        rows.append((seg, sid, elem or None, name, tx, cl, li, None, msg))
    claim_tx = a["cl_i"][m.CI_TX].astype(np.int64)
    claim_seg = a["cl_i"][m.CI_SEG].astype(np.int64)
    line_claim = a["li_i"][m.LI_CLAIM].astype(np.int64)
    ncl = len(claim_tx)
    line_sum = np.zeros(ncl, np.int64)
    group_sum_nb(a["li_n"][m.LN_CHARGE], line_claim, line_sum)
    diff = a["cl_n"][m.CN_CHARGE] - line_sum
    for cl in np.flatnonzero((diff != 0) & (line_count > 0)):
        cl = int(cl)
        rows.append((int(claim_seg[cl]), "CLM", 2, "unbalanced_claim", int(claim_tx[cl]), cl,
                     None, int(diff[cl]), f"CLM02 - sum of line charges = {diff[cl] / 100:.2f}, "
                     "not 0"))  # fmt: skip
    for cl in np.flatnonzero(line_count == 0):
        cl = int(cl)
        rows.append((int(claim_seg[cl]), "CLM", None, "claim_without_lines", int(claim_tx[cl]),
                     cl, None, None, "the claim has no service line (SV1/SV2)"))  # fmt: skip
    rows += _prior_residuals(a, claim_tx)
    return rows
