"""read_837 against the PyPI 837 readers a user would pick: pyx12 and linuxforhealth-x12.

Run (after ``pip install -e .[bench]``)::

    python benchmarks/compare_837.py            # ~3 MB file for the peers, ~50 MB speed check
    python benchmarks/compare_837.py --small    # quick: ~0.5 MB, ~10 MB speed check

What is compared: the number of claims (CLM), of service lines (SV1/SV2) and the
total claim charge (sum of CLM02, in cents) -- what all three read.

- a generated file of a few MB: the claim loops (2000B..2400) of one public sample,
  ``demo.example1`` (an implementation-guide-complete 837P), repeated with renumbered
  HL ids and unique CLM01s, made at run time in ``$LEDGERKIT_BENCH_DIR`` (default
  ``/tmp/ledgerkit-bench``; nothing is copied into the project). ``write_837``'s own
  files are not complete implementation-guide claims (no addresses or birth dates), and
  both peers validate: they cannot read them. The peers know different guide versions
  (pyx12: 005010X222A1 and X223A2; linuxforhealth-x12: X222A2 and X223A3), so the file
  is written twice, byte for byte the same but for the version id in GS08 and ST03;
  ledgerkit reads both;
- every public sample in ``../shared/data/x12-public/837/`` (5010 837P and 837I).

Readers, each timed end to end from a path to the three answers, best of a few runs
after a warm-up, on one thread:

- ledgerkit ``read_837`` (Arrow tables);
- pyx12 (4.0.0) ``X12ContextReader``: its validating, loop-aware reader (the 2300 claim
  loops with their 2400 lines). A file of a guide it has no map for (the public
  samples: X222A2 / X223A3) is read with its segment-level ``X12Reader`` instead, and
  the script says so;
- linuxforhealth-x12 (0.57.0) ``X12ModelReader``: pydantic models per transaction (it
  needs pydantic 1.x; with pydantic 2 it cannot be imported, and the script says so).

Then read_837 alone on a ~50 MB generated file: MB/s on one core (the speed class
asked of it is at least 100 MB/s).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

BENCH_DIR = Path(os.environ.get("LEDGERKIT_BENCH_DIR", "/tmp/ledgerkit-bench"))
SAMPLES = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "x12-public" / "837"
BYTES_PER_ENCOUNTER = 440  # write_837 of synth ledgers, measured


def make_file(megabytes: float, seed: int = 7) -> Path:
    """An 837P file of about ``megabytes`` written by write_837 from a synthetic ledger."""
    import ledgerkit as lk
    from ledgerkit.x12 import write_837

    n = max(int(megabytes * 1e6 / BYTES_PER_ENCOUNTER), 10)
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    path = BENCH_DIR / f"synth_{n}_{seed}.837"
    if not path.exists():
        t = time.perf_counter()
        write_837(lk.synth.generate(n, seed=seed), path.with_suffix(".tmp"))
        path.with_suffix(".tmp").rename(path)
        print(f"  wrote {path} ({path.stat().st_size / 1e6:.1f} MB) in "
              f"{time.perf_counter() - t:.0f} s")  # fmt: skip
    return path


TEMPLATE = "lfh_005010X222A2_demo.example1.837"


def make_peer_files(megabytes: float) -> dict[str, Path]:
    """The generated file in the two guide versions: {"005010X222A1": path, "...A2": path}."""
    raw = (SAMPLES / TEMPLATE).read_text()
    sep, term = raw[3], raw[105]
    segs = [x.strip() for x in raw.split(term) if x.strip()]
    hls = [i for i, x in enumerate(segs) if x.startswith(f"HL{sep}")]
    se = next(i for i, x in enumerate(segs) if x.startswith(f"SE{sep}"))
    head, block, tail = segs[: hls[1]], segs[hls[1] : se], segs[se + 1 :]
    block_ids = [int(x.split(sep)[1]) for x in block if x.startswith(f"HL{sep}")]
    width = len(block_ids)
    copies = max(int(megabytes * 1e6 / len(term.join(block))), 1)
    body = []
    for k in range(copies):
        for x in block:
            parts = x.split(sep)
            if parts[0] == "HL":
                parts[1] = str(int(parts[1]) + k * width)
                if parts[2] and int(parts[2]) in block_ids:
                    parts[2] = str(int(parts[2]) + k * width)
            elif parts[0] == "CLM":
                parts[1] = f"{parts[1]}{k:06d}"
            body.append(sep.join(parts))
    st = head.index(next(x for x in head if x.startswith(f"ST{sep}")))
    n_seg = len(head) - st + len(body) + 1
    control = segs[se].split(sep)[2]
    lines = [*head, *body, f"SE{sep}{n_seg}{sep}{control}", *tail]
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    out = {}
    for version in ("005010X222A1", "005010X222A2"):
        path = BENCH_DIR / f"peers_{copies}_{version}.837"
        if not path.exists():
            text = term.join(x.replace("005010X222A2", version) if x.startswith(("GS", "ST"))
                             else x for x in lines) + term  # fmt: skip
            path.write_text(text)
        out[version] = path
    return out


def cents(text) -> int:
    return int(Decimal(str(text)) * 100)


# ----------------------------------------------------------------------------- readers
def ledgerkit_answer(path: Path) -> tuple[int, int, int]:
    import pyarrow.compute as pc

    from ledgerkit import read_837

    c = read_837(path)
    return c.claims.num_rows, c.service_lines.num_rows, pc.sum(c.claims["charge_cents"]).as_py()


PYX12_MAPS = ("005010X222A1", "005010X223A2")


def _version(path: Path) -> str:
    head = path.read_bytes()[:400].decode("latin-1")
    sep, term = head[3], head[105]
    for seg in head.split(term):
        parts = seg.strip().split(sep)
        if parts[0] == "GS" and len(parts) > 8:
            return parts[8]
    return ""


def pyx12_answer(path: Path) -> tuple[int, int, int]:
    """pyx12's loop-aware reader where it has the guide's map, else its segment reader."""
    import pyx12.error_handler
    import pyx12.params
    import pyx12.x12context
    import pyx12.x12file

    if _version(path) in PYX12_MAPS:
        errh = pyx12.error_handler.errh_null()
        claims = lines = total = 0
        with open(path) as fd:
            reader = pyx12.x12context.X12ContextReader(pyx12.params.params(), errh, fd)
            for loop in reader.iter_segments("2300"):
                if loop.id != "2300":
                    continue
                claims += 1
                total += cents(loop.get_value("CLM02"))
                lines += sum(1 for _ in loop.select("2400"))
        return claims, lines, total
    claims = lines = total = 0
    for seg in pyx12.x12file.X12Reader(str(path)):
        sid = seg.get_seg_id()
        if sid == "CLM":
            claims += 1
            total += cents(seg.get_value("CLM02"))
        elif sid in ("SV1", "SV2"):
            lines += 1
    return claims, lines, total


def _loops(node, name):
    """Every ``name`` loop below a linuxforhealth model node (lists and optional loops)."""
    found = []
    stack = [node]
    while stack:
        cur = stack.pop()
        for field in getattr(cur, "__fields__", {}):
            if not field.startswith("loop_"):
                continue
            value = getattr(cur, field)
            items = value if isinstance(value, list) else [] if value is None else [value]
            if field == name:
                found.extend(items)
            else:
                stack.extend(items)
    return found


def lfh_answer(path: Path) -> tuple[int, int, int]:
    from linuxforhealth.x12.io import X12ModelReader

    claims = lines = total = 0
    with X12ModelReader(str(path)) as reader:
        for model in reader.models():
            for claim in _loops(model, "loop_2300"):
                claims += 1
                total += cents(claim.clm_segment.total_claim_charge_amount)
                lines += len(claim.loop_2400 or [])
    return claims, lines, total


READERS = {"ledgerkit": ledgerkit_answer, "pyx12": pyx12_answer, "linuxforhealth-x12": lfh_answer}


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def try_answer(name, path):
    try:
        return READERS[name](path), None
    except Exception as e:  # a peer that cannot read the file: say so, go on
        return None, f"{type(e).__name__}: {str(e).splitlines()[0][:120] if str(e) else ''}"


# ----------------------------------------------------------------------------- parts
def compare_on(paths: dict[str, Path], repeat: int) -> None:
    """The peers on the generated file: pyx12 on the X222A1 copy, the others on X222A2."""
    files = {"ledgerkit": paths["005010X222A2"], "pyx12": paths["005010X222A1"],
             "linuxforhealth-x12": paths["005010X222A2"]}  # fmt: skip
    size = files["ledgerkit"].stat().st_size / 1e6
    print(f"\n== {files['ledgerkit'].name} ({size:.1f} MB; pyx12 reads the X222A1 copy): "
          f"same answers, time (best of {repeat} for ledgerkit, 1 run for the peers)")  # fmt: skip
    base, _ = try_answer("ledgerkit", files["ledgerkit"])  # warm-up: compiles or loads
    other, _ = try_answer("ledgerkit", files["pyx12"])
    assert other == base, (other, base)
    times = {}
    for name, path in files.items():
        answer, error = try_answer(name, path)
        if error:
            print(f"  {name:20} cannot read it: {error}")
            continue
        same = "same" if answer == base else f"DIFFERENT from ledgerkit {base}"
        runs = repeat if name == "ledgerkit" else 1
        times[name] = best_of(lambda n=name, p=path: READERS[n](p), runs)
        print(f"  {name:20} claims {answer[0]:>7}  lines {answer[1]:>7}  charge "
              f"{answer[2] / 100:>16,.2f}  {times[name]:8.3f} s  {size / times[name]:8.2f} MB/s"
              f"  {same}")  # fmt: skip
    for name, t in times.items():
        if name != "ledgerkit":
            print(f"  ratio {name} / ledgerkit: {t / times['ledgerkit']:,.0f}x slower")


def compare_samples() -> None:
    files = sorted(SAMPLES.glob("lfh_*"))
    if not files:
        print(f"\n(no public samples in {SAMPLES})")
        return
    print(f"\n== the {len(files)} public samples: claims, lines, total charge per file")
    agree = {name: 0 for name in READERS if name != "ledgerkit"}
    for path in files:
        base, _ = try_answer("ledgerkit", path)
        notes = []
        for name in agree:
            answer, error = try_answer(name, path)
            if error:
                notes.append(f"{name}: cannot read ({error})")
            elif answer != base:
                notes.append(f"{name}: {answer} differs")
            else:
                agree[name] += 1
        how = "" if _version(path) in PYX12_MAPS else "  [pyx12: no map, segment reader]"
        print(f"  {path.name[4:60]:56} {base}{how}" + ("".join(f"\n      {n}" for n in notes)))
    for name, n in agree.items():
        print(f"  {name:20} agrees with ledgerkit on {n} of {len(files)} files")


def speed_class(megabytes: float) -> None:
    path = make_file(megabytes, seed=11)
    from ledgerkit import read_837

    read_837(path)
    t = best_of(lambda: read_837(path), 3)
    size = path.stat().st_size / 1e6
    rate = size / t
    verdict = "meets" if rate >= 100 else "BELOW"
    print(f"\n== read_837 speed class: {size:.1f} MB in {t:.3f} s = {rate:.0f} MB/s on one "
          f"thread ({verdict} the 100 MB/s class)")  # fmt: skip


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="~0.5 MB compare, ~10 MB speed check")
    args = ap.parse_args(argv)
    # One core, as the peers use: set at run time (an import-time NUMBA_NUM_THREADS
    # would break later compiles in a process whose thread pool already started).
    import numba

    numba.set_num_threads(1)
    print(f"python {sys.version.split()[0]}, numba threads {numba.get_num_threads()}")
    for name in ("pyx12", "linuxforhealth-x12", "pydantic"):
        try:
            from importlib.metadata import version

            print(f"  {name} {version(name)}")
        except Exception:
            print(f"  {name}: not installed")
    compare_on(make_peer_files(0.5 if args.small else 3), repeat=3)
    compare_samples()
    speed_class(10 if args.small else 50)
    return 0


if __name__ == "__main__":
    code = main()

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script
    from benchmarks._data import print_peak_rss

    print_peak_rss()
    sys.exit(code)
