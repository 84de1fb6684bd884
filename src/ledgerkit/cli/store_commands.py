"""``store create``, ``post`` and ``review``: a ledger store from files to a review queue.

Counts, dollars, codes and remit ids only: no patient data.
"""

from __future__ import annotations

import getpass
from pathlib import Path

from tqdm.auto import tqdm

from ledgerkit.cli import CommandError, progress_enabled


def run_store(args) -> int:
    """``store create STORE --ledger FOLDER | --sample | --claims FILES``."""
    import ledgerkit as lk

    if args.sample:
        ledger, source = lk.synth.load_sample(), "the bundled sample ledger"
    elif args.ledger is not None:
        if not args.ledger.is_dir():
            raise CommandError(f"{args.ledger}: not a folder (give a Parquet ledger folder)")
        ledger, source = lk.Ledger.from_parquet(args.ledger), str(args.ledger)
    else:
        claims = _read_claims(args.claims, progress_enabled(args))
        ledger = lk.Ledger.from_837(claims)
        source = f"{len(args.claims):,} 837 file argument(s)"
    actor = args.actor or getpass.getuser()
    store = lk.LedgerStore.create(args.store, ledger, actor=actor, note=args.note)
    print(
        f"created {store.path} from {source}: {ledger.encounters.num_rows:,} encounters, "
        f"{ledger.procedures.num_rows:,} procedures, {ledger.entries.num_rows:,} entries "
        f"(store version {store.version})"
    )
    print(f"next: ledgerkit post {store.path} FILES.835   (then: ledgerkit review {store.path})")
    return 0


def _read_claims(paths, progress: bool):
    from ledgerkit.x12 import read_837
    from ledgerkit.x12.claims import Claims

    parts = []
    for path in tqdm(paths, desc="reading 837", unit="file", disable=not progress):
        parts.append(read_837(str(path)))
    claims = parts[0] if len(parts) == 1 else Claims.concat(parts)
    if claims.claims.num_rows == 0:
        raise CommandError(f"{', '.join(map(str, paths))}: no 837 claims found")
    return claims


def run_post(args) -> int:
    """``post STORE FILES...``: read, post, and say what happened to each claim."""
    import pyarrow.compute as pc

    from ledgerkit.store.ledger_store import LedgerStore
    from ledgerkit.x12 import read_835
    from ledgerkit.x12.payer_map import as_payer_map
    from ledgerkit.x12.remittances import Remittances

    store = LedgerStore(args.store)
    payer_map = as_payer_map(args.payer_map)  # a bad map fails before any file is read
    progress = progress_enabled(args)
    parts = []
    bar = tqdm(args.files, desc="reading 835", unit="file", disable=not progress)
    n_claims = 0
    for path in bar:
        parts.append(read_835(str(path), payer_map=payer_map))
        n_claims += parts[-1].claims.num_rows
        bar.set_postfix_str(f"{n_claims:,} claims")
    remits = parts[0] if len(parts) == 1 else Remittances.concat(parts)
    queued = set(store.flagged()["remit_id"].to_pylist())
    with tqdm(
        total=n_claims, desc="posting", unit="claim", disable=not progress, leave=False
    ) as posting:
        result = store.post(remits, actor=args.actor, note=args.note)
        posting.update(n_claims)
    for line in _post_lines(result, queued):
        print(line)
    for line in left_out(remits.findings):
        print(line)
    plb = result.provider_adjustments
    if plb is not None and plb.num_rows:
        cents = pc.sum(plb["amount_cents"]).as_py()
        print(f"{plb.num_rows:,} provider-level adjustments (PLB) stored: {_dollars(cents)}")
    print(f"{result.entries.num_rows:,} entries appended; store version {store.version}")
    queue = store.flagged().num_rows
    if queue:
        print(f"review queue: {queue:,} flagged remits; next: ledgerkit review {store.path}")
    else:
        print(f"review queue: empty; next: ledgerkit classify {store.path}")
    return 0


def _post_lines(result, queued: set) -> list[str]:
    """One line per decision; re-flags of remits already in the review queue are told apart."""
    import pyarrow.compute as pc

    from ledgerkit.core.arrow import numpy_array

    dec = result.decisions
    lines = []
    for decision, (n, cents) in result.counts().items():
        if decision != "flagged":
            why = (
                "  (already posted: these remits are in the store)"
                if decision == "archived"
                else ""
            )
            lines.append(f"{decision:<9} {n:>9,} claims  {_dollars(cents):>17}{why}")
            continue
        flagged = dec.filter(pc.equal(dec["decision"], "flagged"))
        again = pc.is_in(flagged["remit_id"], value_set=_strings(queued)).to_numpy(
            zero_copy_only=False
        )
        paid = numpy_array(flagged["paid_cents"], fill=0)
        new_n, new_cents = int((~again).sum()), int(paid[~again].sum())
        lines.append(f"{'flagged':<9} {new_n:>9,} claims  {_dollars(new_cents):>17}  (new)")
        if again.any():
            lines.append(
                f"{'':<9} {int(again.sum()):>9,} claims already in the review queue "
                "(posted before and still flagged: not counted again)"
            )
    return lines


def _strings(values):
    import pyarrow as pa

    return pa.array(sorted(values), pa.string())


def _dollars(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents) / 100:,.2f}"


def left_out(findings) -> list[str]:
    """Lines saying which damaged claims ``read_835`` left out (file and segment, no values)."""
    rows = [f for f in findings.to_pylist() if f["code"] == "claim_skipped"]
    if not rows:
        return []
    out = [f"{len(rows):,} damaged claims left out, not posted (their money is in no figure):"]
    out += [f"  {f['file']}: segment {f['segment_number']}: {f['message']}" for f in rows]
    return out


def run_review(args) -> int:
    """``review STORE``: the flagged remits, their claim status in words, and what to do."""
    from ledgerkit.store.ledger_store import LedgerStore
    from ledgerkit.x12.codes import claim_status_words

    store = LedgerStore(args.store)
    flagged = store.flagged()
    print(f"{flagged.num_rows:,} flagged remits in {args.store}")
    columns = ["remit_id", "payer_id", "status_code", "paid_cents", "reason_code", "reason"]
    for row in flagged.select(columns).to_pylist():
        print(
            f"{row['remit_id']}  payer {row['payer_id']}  "
            f"claim status {claim_status_words(row['status_code'])}  "
            f"paid {_dollars(row['paid_cents'] or 0)}  {row['reason_code']}: {row['reason']}"
        )
    if flagged.num_rows:
        print(
            "next: decide each in the PostingReview widget (notebooks/02_posting_review), or in "
            f"Python: lk.LedgerStore({str(Path(args.store))!r}).post_flagged(remit_id, "
            "actor=..., note=...) or .archive(remit_id, actor=..., note=...)"
        )
    else:
        print(f"nothing to review; next: ledgerkit classify {args.store}")
    return 0
