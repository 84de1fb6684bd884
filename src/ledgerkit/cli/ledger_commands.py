"""``classify``, ``demo``, ``sample`` and ``warm``: a ledger in, a summary out."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from tqdm.auto import tqdm

from ledgerkit.cli import CommandError, progress_enabled


def is_store(path: Path) -> bool:
    """A ledger store folder (it has a commits table), not a Parquet ledger folder."""
    return (Path(path) / "commits" / "_delta_log").is_dir()


def load_ledger(path: Path):
    """The current ledger of a store, or the ledger of a Parquet folder."""
    import ledgerkit as lk

    if is_store(path):
        return lk.LedgerStore(path).ledger()
    if not Path(path).exists():
        raise CommandError(f"{path}: no such store or ledger folder")
    return lk.Ledger.from_parquet(path)


def classify_report(load, label: str, progress: bool) -> str:
    """Load, key and classify a ledger; the summary and how long it took."""
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


def run_classify(args) -> int:
    report = classify_report(
        lambda: load_ledger(args.source), str(args.source), progress_enabled(args)
    )
    print(report)
    return 0


def run_demo(args) -> int:
    import ledgerkit as lk

    sample = _sample_folder()
    if args.encounters is None and sample is not None:
        report = classify_report(
            lambda: lk.Ledger.from_parquet(sample), f"sample {sample}", progress_enabled(args)
        )
    else:
        n = args.encounters or lk.synth.SAMPLE_ENCOUNTERS
        report = classify_report(
            lambda: lk.synth.generate(n, seed=args.seed),
            f"synthetic ({n:,} encounters)",
            progress_enabled(args),
        )
    print(report)
    return 0


def run_sample(args) -> int:
    import ledgerkit as lk

    ledger_folder = lk.synth.write_sample(args.folder)
    answers = ledger_folder.parent / "835"
    print(f"wrote {ledger_folder} (the ledger) and {answers} (835 files answering it)")
    return 0


def run_warm(args) -> int:
    from ledgerkit.warmup import warm_up

    def report(step: int, total: int, family: str, seconds: float | None) -> None:
        if seconds is None:
            print(f"[{step}/{total}] kernels of {family:<22}", end=" ", flush=True)
        else:
            print(f"{seconds:6.2f} s", flush=True)

    t0 = time.perf_counter()
    timings = warm_up(report=report)
    seconds = time.perf_counter() - t0
    # Per process: on a busy machine the wall time grows with the load, the CPU time
    # stays near what an idle one needs (the whole takes about as long as the slower).
    for i, (families, wall, cpu) in enumerate(timings.lanes, start=1):
        print(f"process {i} ({', '.join(families)}): {wall:.1f} s, CPU {cpu:.1f} s")
    print(f"every kernel compiled (or loaded from Numba's cache) in {seconds:.1f} seconds")
    sys.stdout.flush()
    return 0


def _sample_folder() -> Path | None:
    """The bundled sample ledger when running from a checkout, else None."""
    from ledgerkit.synth.ledgers import sample_folder

    here = sample_folder()
    return here if (here / "entries.parquet").exists() else None
