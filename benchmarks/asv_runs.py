"""asv on any commit, results that line up, two commits compared, regressions caught.

Run from the repository root (``make bench``, ``make bench-compare``, ``make bench-check``)::

    python -m benchmarks.asv_runs run [REF] [--size tiny|quick|full] [--bench REGEX]
    python -m benchmarks.asv_runs compare A B [--size ...] [--bench ...] [--factor 1.5] [--check]
    python -m benchmarks.asv_runs report [--size ...]
    python -m benchmarks.asv_runs keep REF [--size ...]

How a commit is benchmarked: asv's ``existing`` environment cannot build commits, so its
``src/`` is exported (``git archive``) to ``.asv/commits/<sha>/src`` and asv runs this
checkout's benchmark suite with ``--python=same --set-commit-hash <sha>`` and that folder
on ``ASV_PYTHONPATH`` and ``PYTHONPATH`` (asv's runner removes plain ``PYTHONPATH`` entries
from its ``sys.path``; every benchmark module checks it imported the commit's ledgerkit,
see ``benchmarks/__init__.py``). Both commits of a comparison are timed by the same suite, in
the same sitting. Each export keeps its own Numba cache, so only a commit's first run
compiles.

Results line up: the machine is always ``ledgerkit-bench`` and the environment
``ledgerkit-<size>`` (asv would name it after this venv's path), in ``.asv/results/<size>/``
(ignored by git). ``keep`` copies a commit's results into ``benchmarks/results/<size>/``
(committed, small JSON) for tagged commits; ``compare --reuse`` and ``report`` read them.

``compare`` runs A and B in interleaved rounds (A, B, A, B: asv's ``rounds`` split across
invocations with ``--append-samples``), so a change of the machine's load falls on both.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MACHINE = "ledgerkit-bench"
SIZES = ("tiny", "quick", "full")
KEPT = ROOT / "benchmarks" / "results"
DEFAULT_FACTOR = 1.5


def env_name(size: str) -> str:
    return f"ledgerkit-{size}"


def results_dir(size: str) -> Path:
    return ROOT / ".asv" / "results" / size


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()


def resolve(ref: str) -> str:
    return git("rev-parse", "--verify", f"{ref}^{{commit}}")


def export_commit(sha: str) -> Path:
    """``src/`` of commit ``sha`` under ``.asv/commits/<sha>/`` (made once)."""
    dest = ROOT / ".asv" / "commits" / sha
    if (dest / "src" / "ledgerkit").is_dir():
        return dest / "src"
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{sha}.", dir=dest.parent))
    archive = subprocess.run(
        ["git", "archive", "--format=tar", sha, "src"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
    try:
        tmp.rename(dest)
    except OSError:  # exported meanwhile by another run
        shutil.rmtree(tmp)
    return dest / "src"


def write_config(size: str) -> Path:
    """asv.conf.json with this size's results and report folders (absolute paths:
    asv changes into the configuration file's folder)."""
    conf = json.loads((ROOT / "asv.conf.json").read_text())
    conf.update(
        repo=str(ROOT),
        benchmark_dir=str(ROOT / "benchmarks"),
        results_dir=str(results_dir(size)),
        html_dir=str(ROOT / ".asv" / "html" / size),
    )
    path = ROOT / ".asv" / "conf" / f"{size}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(conf, indent=2))
    return path


def result_file(sha: str, size: str, folder: Path | None = None) -> Path:
    return (folder or results_dir(size)) / MACHINE / f"{sha[:8]}-{env_name(size)}.json"


def _rename_env(src: Path, dest: Path, name: str) -> None:
    data = json.loads(src.read_text())
    data["env_name"] = name
    dest.write_text(json.dumps(data))
    if src != dest:
        src.unlink()


def run_commit(
    ref: str, size: str, bench: str | None, slowdown: str | None = None, extra=()
) -> Path:
    """Benchmark commit ``ref`` at ``size`` (``extra``: more ``asv run`` arguments);
    returns its results file."""
    sha = resolve(ref)
    src = export_commit(sha)
    conf = write_config(size)
    asv = [sys.executable, "-m", "asv"]
    env = {k: v for k, v in os.environ.items() if k != "LEDGERKIT_BENCH_SLOWDOWN"}
    env.update(
        # asv's benchmark runner drops PYTHONPATH from its own sys.path unless
        # ASV_PYTHONPATH is set; PYTHONPATH still reaches timeraw_'s fresh interpreters
        PYTHONPATH=str(src),
        ASV_PYTHONPATH=str(src),
        LEDGERKIT_BENCH_SIZE=size,
        LEDGERKIT_BENCH_EXPECT_SRC=str(src),
    )
    if slowdown:
        env["LEDGERKIT_BENCH_SLOWDOWN"] = slowdown
    subprocess.run(
        [*asv, "machine", "--yes", "--machine", MACHINE, "--config", str(conf)],
        env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    final = result_file(sha, size)
    raw_name = _asv_env_name(env)
    raw = final.with_name(f"{sha[:8]}-{raw_name}.json")
    if final.exists():  # let asv add to earlier results of this commit
        _rename_env(final, raw, raw_name)
    label = f"{ref} ({sha[:8]}) at size {size}" + (f", slowdown {slowdown}" if slowdown else "")
    print(f"== asv run: {label}", flush=True)
    cmd = [*asv, "run", "--config", str(conf), "--python=same", "--set-commit-hash", sha,
           "--machine", MACHINE, "--show-stderr"]  # fmt: skip
    if bench:
        cmd += ["--bench", bench]
    proc = subprocess.run([*cmd, *extra], env=env, cwd=ROOT)
    if not raw.exists():
        raise SystemExit(f"asv run of {label} wrote no results (exit {proc.returncode})")
    _rename_env(raw, final, env_name(size))
    return final


def _asv_env_name(env: dict) -> str:
    """The name asv gives the ``existing`` environment of this interpreter."""
    code = (
        "import sys; from asv.environment import get_env_name; "
        "print(get_env_name('existing', sys.executable.replace('/', '_'), {}, {}))"
    )
    return subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def stored(ref: str, size: str) -> Path | None:
    """A results file of ``ref`` already stored (local, or kept in benchmarks/results)."""
    sha = resolve(ref)
    final = result_file(sha, size)
    if not final.exists() and result_file(sha, size, KEPT / size).exists():
        final.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(result_file(sha, size, KEPT / size), final)
    return final if final.exists() else None


def run_pair(args) -> tuple[Path, Path]:
    """Benchmark A and B in interleaved rounds (A, B, A, B...: a change in the machine's
    load during the run falls on both), each round adding its samples to the last."""
    kept_a = stored(args.a, args.size) if args.reuse else None
    kept_b = stored(args.b, args.size) if args.reuse else None
    for name, path in (("A", kept_a), ("B", kept_b)):
        if path is not None:
            print(f"== {name}: reusing {path.relative_to(ROOT)}")
    a, b = kept_a, kept_b
    for i in range(args.rounds):
        extra = ["--attribute", "rounds=1", "--append-samples" if i else "--record-samples"]
        if kept_a is None:
            a = run_commit(args.a, args.size, args.bench, extra=extra)
        if kept_b is None:
            b = run_commit(args.b, args.size, args.bench, args.slowdown, extra)
    return a, b


def verdict(a: Path, b: Path, factor: float, label: str, *, check: bool) -> int:
    """Print the regressions from results file ``a`` to ``b``; 1 if any and ``check``."""
    from .regressions import compare_results, format_findings

    findings = compare_results(
        json.loads(Path(a).read_text()), json.loads(Path(b).read_text()), factor=factor
    )
    print(format_findings(findings, factor, label))
    return 1 if check and findings else 0


def compare(args) -> int:
    a, b = run_pair(args)
    conf = write_config(args.size)
    print(f"== asv compare {args.a} {args.b} (size {args.size}, factor {args.factor})")
    subprocess.run(
        [sys.executable, "-m", "asv", "compare", "--config", str(conf), "--machine", MACHINE,
         "--factor", str(args.factor), "--sort", "ratio", resolve(args.a), resolve(args.b)],
        cwd=ROOT, check=True,
    )  # fmt: skip
    return verdict(a, b, args.factor, f"{args.a} -> {args.b}", check=args.check)


def report(args) -> int:
    from .report import write_report

    folders = [results_dir(args.size) / MACHINE, KEPT / args.size / MACHINE]
    out = write_report(folders, ROOT / ".asv" / "html" / args.size / "index.html", args.size)
    print(f"report: {out}")
    return 0


def keep(args) -> int:
    sha = resolve(args.ref)
    src = result_file(sha, args.size)
    if not src.exists():
        run_commit(args.ref, args.size, None)
    dest = result_file(sha, args.size, KEPT / args.size)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(src, dest)
    print(f"kept {dest.relative_to(ROOT)}: commit it")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.asv_runs",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p):
        p.add_argument("--size", choices=SIZES, default="quick")
        p.add_argument("--bench", "-b", default=None, help="asv's benchmark filter (a regex)")

    p_run = sub.add_parser("run", help="benchmark one commit (default HEAD) and publish")
    p_run.add_argument("ref", nargs="?", default="HEAD")
    common(p_run)
    p_cmp = sub.add_parser("compare", help="benchmark two commits and compare them")
    p_cmp.add_argument("a")
    p_cmp.add_argument("b")
    common(p_cmp)
    p_cmp.add_argument("--factor", type=float, default=DEFAULT_FACTOR)
    p_cmp.add_argument("--check", action="store_true", help="exit 1 on a regression")
    p_cmp.add_argument("--reuse", action="store_true", help="reuse results already stored")
    p_cmp.add_argument("--rounds", type=int, default=2, help="interleaved rounds (A, B, A, B)")
    p_cmp.add_argument(
        "--slowdown", default=os.environ.get("LEDGERKIT_BENCH_SLOWDOWN"),
        help="test only: slow these benchmarks (e.g. classify) in B's run",
    )  # fmt: skip
    p_rep = sub.add_parser("report", help="write the offline HTML report")
    common(p_rep)
    p_keep = sub.add_parser("keep", help="copy a commit's results into benchmarks/results")
    p_keep.add_argument("ref")
    common(p_keep)
    args = parser.parse_args(argv)
    if args.command == "run":
        run_commit(args.ref, args.size, args.bench)
        return report(args)
    return {"compare": compare, "report": report, "keep": keep}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
