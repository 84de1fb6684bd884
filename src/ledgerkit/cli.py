"""The ``ledgerkit`` command line: ``demo``, ``classify``, ``sample``, ``post``, ``review``,
``warm``.

Output never contains patient identifiers: only counts and dollars.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tqdm.auto import tqdm

__all__ = ["main"]


def _classify_report(load, label: str, progress: bool) -> str:
    import ledgerkit as lk
    from ledgerkit.analytics.summary import format_summary

    steps = tqdm(total=3, desc=label, disable=not progress, unit="step", leave=False)
    t0 = time.perf_counter()
    steps.set_postfix_str("loading")
    ledger = load()
    steps.update()
    steps.set_postfix_str("integer keys")
    ledger.keys.packed_codes(ledger.entries, ledger.policy)
    steps.update()
    steps.set_postfix_str("classifying")
    table = lk.classify(ledger)
    steps.update()
    steps.close()
    elapsed = time.perf_counter() - t0
    return (
        f"{label}: {ledger}\n{format_summary(table)}\n\n"
        f"(loaded, keyed and classified in {elapsed:.2f} s)"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="ledgerkit", description="Payment ledger toolkit.")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="classify a synthetic ledger and print the summary")
    demo.add_argument(
        "--encounters",
        type=int,
        default=None,
        help="generate this many encounters instead of using the bundled sample",
    )
    demo.add_argument("--seed", type=int, default=2026)
    smp = sub.add_parser("sample", help="rebuild the bundled sample data in a folder")
    smp.add_argument("folder", type=Path, nargs="?", default=Path("data/samples"))
    cls = sub.add_parser("classify", help="classify a ledger folder (Parquet) and summarise")
    cls.add_argument("folder", type=Path)
    pst = sub.add_parser("post", help="post 835 files into a ledger store (Delta Lake)")
    pst.add_argument("store", type=Path)
    pst.add_argument("files", type=Path, nargs="+")
    pst.add_argument("--actor", default="posting engine")
    pst.add_argument("--note", default=None)
    pst.add_argument(
        "--payer-map",
        type=Path,
        default=None,
        help="CSV (columns payer,payer_id) or JSON mapping file payer ids or names to the "
        "ledger's payer ids, for files that name the payer without its id",
    )
    rev = sub.add_parser("review", help="list the flagged remits of a ledger store")
    rev.add_argument("store", type=Path)
    sub.add_parser("warm", help="compile every kernel once (fills Numba's on-disk cache)")
    args = parser.parse_args(argv)
    if args.command in ("post", "review"):
        return _store_command(args)
    progress = not args.no_progress and sys.stderr.isatty()

    import ledgerkit as lk
    from ledgerkit.errors import LedgerError

    try:
        if args.command == "warm":
            from ledgerkit.warmup import warm_up

            for family, seconds in warm_up().items():
                print(f"{family:<22} {seconds:6.2f} s")
            return 0
        if args.command == "sample":
            print(f"wrote {lk.synth.write_sample(args.folder)}")
            return 0
        if args.command == "demo":
            sample = _sample_folder()
            if args.encounters is None and sample is not None:
                report = _classify_report(
                    lambda: lk.Ledger.from_parquet(sample), f"sample {sample}", progress
                )
            else:
                n = args.encounters or lk.synth.SAMPLE_ENCOUNTERS
                report = _classify_report(
                    lambda: lk.synth.generate(n, seed=args.seed),
                    f"synthetic ({n:,} encounters)",
                    progress,
                )
        else:
            report = _classify_report(
                lambda: lk.Ledger.from_parquet(args.folder), str(args.folder), progress
            )
    except LedgerError as exc:
        print(f"ledgerkit: error: {exc}", file=sys.stderr)
        return 2
    print(report)
    return 0


def _store_command(args) -> int:
    """``post`` and ``review``: counts, dollars and remit ids only (no patient data)."""
    import pyarrow.compute as pc

    from ledgerkit.errors import LedgerError
    from ledgerkit.store.ledger_store import LedgerStore
    from ledgerkit.x12 import X12Error, read_835

    try:
        store = LedgerStore(args.store)
        if args.command == "review":
            flagged = store.flagged()
            print(f"{flagged.num_rows:,} flagged remits in {args.store}")
            for row in flagged.select(
                ["remit_id", "payer_id", "status_code", "paid_cents", "reason_code", "reason"]
            ).to_pylist():
                print(
                    f"{row['remit_id']}  payer {row['payer_id']}  status {row['status_code']}  "
                    f"paid ${(row['paid_cents'] or 0) / 100:,.2f}  {row['reason_code']}: "
                    f"{row['reason']}"
                )
            return 0
        # a bad map or file raises before anything is written
        remits = read_835([str(f) for f in args.files], payer_map=args.payer_map)
        result = store.post(remits, actor=args.actor, note=args.note)
    except (LedgerError, X12Error, OSError) as exc:
        print(f"ledgerkit: error: {exc}", file=sys.stderr)
        return 2
    for decision, (n, cents) in result.counts().items():
        print(f"{decision:<9} {n:>9,} claims  ${cents / 100:>16,.2f}")
    for line in _left_out(remits.findings):
        print(line)
    plb = result.provider_adjustments
    if plb is not None and plb.num_rows:
        cents = pc.sum(plb["amount_cents"]).as_py()
        print(f"{plb.num_rows:,} provider-level adjustments (PLB) stored: ${cents / 100:,.2f}")
    print(f"{result.entries.num_rows:,} entries appended; store version {store.version}")
    return 0


def _left_out(findings) -> list[str]:
    """Lines saying which damaged claims ``read_835`` left out (file and segment, no values)."""
    rows = [f for f in findings.to_pylist() if f["code"] == "claim_skipped"]
    if not rows:
        return []
    out = [f"{len(rows):,} damaged claims left out, not posted (their money is in no figure):"]
    out += [f"  {f['file']}: segment {f['segment_number']}: {f['message']}" for f in rows]
    return out


def _sample_folder() -> Path | None:
    """The bundled sample ledger when running from a checkout, else None."""
    from ledgerkit.synth.ledgers import sample_folder

    here = sample_folder()
    return here if (here / "entries.parquet").exists() else None


if __name__ == "__main__":
    sys.exit(main())
