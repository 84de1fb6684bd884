"""Submission metrics: what was sent (837) against what came back first (835).

Words used below:

submitted claim
    one claim of the 837s (a CLM to one payer) that is not a resubmission:
    CLM05-3 frequency 1 (original) or absent. A claim sent to the primary and
    again to the secondary is two submissions, one per payer.
resubmission
    a replacement (frequency 7) or a void (8); counted apart, not submitted
    claims of their own.
clean claim
    a submitted claim the reader found nothing odd about: no finding names it
    (unbalanced charges, an invalid code, a line without a code, a COB line
    that does not balance...). Payer rejections (277CA) are not read yet, so
    this is the clean rate as the practice's own file shows it.
first remit
    the first 835 claim (CLP) with the claim's id (CLP01 = CLM01) from the
    claim's payer (the remit's payer id, when both are known), by payment
    date (BPR16) then reading order; reversals (status 22) are not a first
    answer.
paid in full on the first remit
    the first remit paid something (CLP04 > 0), did not deny the claim
    (status 4) and carries no adjustment the CARC policy calls a denial: what
    it did not pay is contractual or patient responsibility.
denied on the first remit
    status 4, or any adjustment the CARC policy calls a denial (CO-50,
    CO-97, PI-59, ...); partial (line) denials count. ``denied_cents`` is
    their sum.

Rates: ``clean_claim_rate = clean_claims / claims``; ``first_pass_yield =
first_pass_paid / adjudicated`` (claims with a first remit);
``denial_rate = denied / claims`` (over submitted claims, as DOMAIN.md's
initial denial rate) and ``dollar_denial_rate = denied_cents /
charge_cents``. Rates are float64, null when the denominator is 0. For the
same figures on a posted ledger, see ``ledgerkit.metrics``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit.core.policy import CarcPolicy

__all__ = ["submission_metrics", "SUBMISSION_BY"]

SUBMISSION_BY = ("payer", "month", "provider", "claim_type")
RESUBMISSION_CODES = ("7", "8")


def _groups(claims, by) -> list:
    c = claims.claims
    n = c.num_rows
    if by is None:
        return ["all"] * n
    if by == "payer":
        return c["payer_id"].to_pylist()
    if by == "month":
        return [None if d is None else f"{d.year:04d}-{d.month:02d}"
                for d in c["service_from"].to_pylist()]  # fmt: skip
    if by == "provider":
        return pc.coalesce(c["rendering_provider_id"], c["attending_provider_id"]).to_pylist()
    if by == "claim_type":
        kinds = claims.transactions["claim_type"].to_pylist()
        return [kinds[t] for t in c["transaction_id"].to_pylist()]
    raise ValueError(f"by must be None or one of {SUBMISSION_BY}, not {by!r}")


def _first_remits(remits, policy: CarcPolicy) -> dict:
    """(encounter_id, payer_id) and (encounter_id, None) -> (paid, status, denied cents)
    of the first remit."""
    rc = remits.claims
    tx_payer = remits.transactions["payer_id"].to_pylist()
    tx_date = remits.transactions["payment_date"].to_pylist()
    denied = np.zeros(rc.num_rows, np.int64)
    ad = remits.adjustments
    for cl, g, c, amount in zip(
        ad["claim_id"].to_pylist(), ad["group_code"].to_pylist(), ad["carc"].to_pylist(),
        ad["amount_cents"].to_pylist(), strict=True,
    ):  # fmt: skip
        if g is not None and c is not None and policy.bucket_of(g, c) == "denied":
            denied[cl] += amount
    rows = list(range(rc.num_rows))
    tx = rc["transaction_id"].to_pylist()
    rows.sort(key=lambda r: (tx_date[tx[r]] is None, tx_date[tx[r]] or 0, r))
    ids, status = rc["encounter_id"].to_pylist(), rc["status_code"].to_pylist()
    paid = rc["paid_cents"].to_pylist()
    out: dict = {}
    for r in rows:
        if status[r] == "22":
            continue
        answer = (paid[r], status[r], int(denied[r]))
        out.setdefault((ids[r], tx_payer[tx[r]]), answer)
        out.setdefault((ids[r], None), answer)
    return out


def submission_metrics(claims, remits=None, *, by=None, policy=None) -> pa.Table:
    """Clean-claim rate, first-pass yield, denial rate and resubmissions of 837 claims.

    Parameters
    ----------
    claims : ledgerkit.x12.Claims
        What was submitted (:func:`ledgerkit.read_837`).
    remits : ledgerkit.x12.Remittances, optional
        What came back (:func:`ledgerkit.read_835`); without it only the
        clean-claim rate and the resubmissions are known.
    by : {None, "payer", "month", "provider", "claim_type"}
        One row per claim payer, service month (``YYYY-MM``), rendering (or
        attending) provider, or professional/institutional; ``None``: one
        row, ``"all"``.
    policy : CarcPolicy, optional
        Which CARCs are denials (default :meth:`CarcPolicy.default`).

    Returns
    -------
    pyarrow.Table
        ``group``, ``claims``, ``clean_claims``, ``clean_claim_rate``,
        ``charge_cents``, ``adjudicated``, ``first_pass_paid``,
        ``first_pass_yield``, ``denied``, ``denial_rate``, ``denied_cents``,
        ``dollar_denial_rate``, ``replacements``, ``voids``; one row per
        group in sorted order (null last). The words are defined in the
        module docstring.

    Examples
    --------
    Two claims and a replacement; ``E2``'s line charges do not add up to its
    total (a finding). ``E1`` is paid with CO-45 only; ``E2`` gets CO-97
    (a denial) on its first remit.

    >>> import ledgerkit as lk
    >>> head = b"ST*837*1*005010X222A1~HL*1**20*1~HL*2*1*22*0~SBR*P*18~"
    >>> claims = lk.read_837(head + b"CLM*E1*100***11:B:1~LX*1~SV1*HC:99213*100*UN*1~"
    ...     b"CLM*E2*90***11:B:1~LX*1~SV1*HC:99214*80*UN*1~"
    ...     b"CLM*E2*80***11:B:7~LX*1~SV1*HC:99214*80*UN*1~SE*14*1~")
    >>> remits = lk.read_835(b"ST*835*1~BPR*I*70*C*CHK************20250110~"
    ...     b"CLP*E1*1*100*70~CAS*CO*45*30~CLP*E2*1*90*0~CAS*CO*97*90~SE*7*1~")
    >>> row = submission_metrics(claims, remits).to_pylist()[0]
    >>> row["claims"], row["clean_claims"], row["clean_claim_rate"]
    (2, 1, 0.5)
    >>> row["first_pass_paid"], row["first_pass_yield"], row["denied"], row["denied_cents"]
    (1, 0.5, 1, 9000)
    >>> row["replacements"], row["voids"]
    (1, 0)
    """
    policy = policy or CarcPolicy.default()
    c = claims.claims
    groups = _groups(claims, by)
    freq = c["frequency_code"].to_pylist()
    ids = c["encounter_id"].to_pylist()
    payer = c["payer_id"].to_pylist()
    charge = c["charge_cents"].to_pylist()
    flagged = set(pc.drop_null(claims.findings["claim_id"]).to_pylist())
    first = _first_remits(remits, policy) if remits is not None else None
    stats: dict = {}
    for r in range(c.num_rows):
        s = stats.setdefault(groups[r], dict.fromkeys(
            ("claims", "clean_claims", "charge_cents", "adjudicated", "first_pass_paid",
             "denied", "denied_cents", "replacements", "voids"), 0))  # fmt: skip
        if freq[r] in RESUBMISSION_CODES:
            s["replacements" if freq[r] == "7" else "voids"] += 1
            continue
        s["claims"] += 1
        s["charge_cents"] += charge[r]
        s["clean_claims"] += r not in flagged
        if first is None:
            continue
        answer = first.get((ids[r], payer[r])) or first.get((ids[r], None))
        if answer is None:
            continue
        paid, status, denied_cents = answer
        s["adjudicated"] += 1
        is_denied = status == "4" or denied_cents > 0
        s["denied"] += is_denied
        s["denied_cents"] += max(denied_cents, 0)
        s["first_pass_paid"] += paid > 0 and not is_denied
    keys = sorted(stats, key=lambda k: (k is None, "" if k is None else str(k)))

    def col(name):
        return np.array([stats[k][name] for k in keys], np.int64)

    def rate(num, den):
        out = np.divide(num, den, out=np.zeros(len(num)), where=den > 0)
        return pa.array(out, pa.float64(), mask=den == 0)

    n, clean, adj = col("claims"), col("clean_claims"), col("adjudicated")
    fpp = col("first_pass_paid")
    den, dc, ch = col("denied"), col("denied_cents"), col("charge_cents")
    known = remits is not None
    return pa.table(
        {
            "group": pa.array([None if k is None else str(k) for k in keys], pa.string()),
            "claims": n,
            "clean_claims": clean,
            "clean_claim_rate": rate(clean, n),
            "charge_cents": ch,
            "adjudicated": adj,
            "first_pass_paid": fpp,
            "first_pass_yield": rate(fpp, adj) if known else pa.nulls(len(keys), pa.float64()),
            "denied": den,
            "denial_rate": rate(den, n) if known else pa.nulls(len(keys), pa.float64()),
            "denied_cents": dc,
            "dollar_denial_rate": rate(dc, ch) if known else pa.nulls(len(keys), pa.float64()),
            "replacements": col("replacements"),
            "voids": col("voids"),
        }
    )
