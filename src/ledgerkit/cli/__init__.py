"""The ``ledgerkit`` command line: from files to answers.

``store create`` makes a ledger store (from a Parquet ledger, the bundled
sample or 837 claim files), ``post`` posts 835 files into it, ``review`` lists
what was flagged, ``classify`` summarises a store or a ledger folder; ``demo``,
``sample`` and ``warm`` help a new user start.

Output never contains patient identifiers: only counts, dollars, codes and the
remit ids the store gives. Every input mistake is one line on stderr, starting
``ledgerkit: error:``, and exit code 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

__all__ = ["main"]

EPILOG = """\
from files to answers:
  ledgerkit store create STORE --sample        (or --ledger FOLDER, --claims 837_FILES)
  ledgerkit post STORE data/samples/835/*.835
  ledgerkit review STORE
  ledgerkit classify STORE
"""


class CommandError(Exception):
    """A mistake in the user's input: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (with where to look), exit code 2."""

    def error(self, message):
        raise CommandError(f"{message} (see '{self.prog} --help')")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of 1 or more, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ledgerkit",
        description="Payment ledger toolkit.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    store = sub.add_parser("store", help="create a ledger store (Delta Lake folder)")
    store_sub = store.add_subparsers(dest="store_command", required=True, parser_class=_Parser)
    create = store_sub.add_parser(
        "create", help="create a store from a Parquet ledger, the bundled sample or 837 claims"
    )
    create.add_argument("store", type=Path, help="a new (or empty) folder")
    source = create.add_mutually_exclusive_group(required=True)
    source.add_argument("--ledger", type=Path, metavar="FOLDER", help="a Parquet ledger folder")
    source.add_argument("--sample", action="store_true", help="the bundled sample ledger")
    source.add_argument(
        "--claims", type=Path, nargs="+", metavar="FILE_OR_FOLDER", help="837 claim files"
    )
    create.add_argument("--actor", default=None, help="who creates it (default: your user)")
    create.add_argument("--note", default=None)

    pst = sub.add_parser("post", help="post 835 files into a ledger store")
    pst.add_argument("store", type=Path)
    pst.add_argument("files", type=Path, nargs="+", metavar="835_FILE_OR_FOLDER")
    pst.add_argument("--actor", default="posting engine")
    pst.add_argument("--note", default=None)
    pst.add_argument(
        "--payer-map",
        type=Path,
        default=None,
        help="CSV (columns payer,payer_id) or JSON mapping file payer ids or names to the "
        "ledger's payer ids, for files that name the payer without its id",
    )
    pst.add_argument("--quiet", action="store_true", help="no progress bar")

    rev = sub.add_parser("review", help="list the flagged remits of a ledger store")
    rev.add_argument("store", type=Path)

    cls = sub.add_parser("classify", help="classify a ledger store or folder and summarise")
    cls.add_argument("source", type=Path, metavar="STORE_OR_FOLDER")

    demo = sub.add_parser("demo", help="classify a synthetic ledger and print the summary")
    demo.add_argument(
        "--encounters",
        type=_positive_int,
        default=None,
        help="generate this many encounters instead of using the bundled sample",
    )
    demo.add_argument("--seed", type=int, default=2026)
    smp = sub.add_parser(
        "sample", help="rebuild the bundled sample (ledger/ and the matching 835/ files)"
    )
    smp.add_argument("folder", type=Path, nargs="?", default=Path("data/samples"))
    sub.add_parser("warm", help="compile every kernel once (fills Numba's on-disk cache)")
    return parser


def main(argv=None) -> int:
    """Run one command; returns the exit code (0, or 2 for a mistake in the input).

    Examples
    --------
    >>> main(["demo", "--encounters", "-5"])
    2
    """
    try:
        code = _run(argv)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler
        return code
    except BrokenPipeError:
        # The reader went away (`ledgerkit review | head`): what it wanted was written.
        # Python's docs: point stdout at devnull so the exit's own flush stays quiet.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def _run(argv) -> int:
    from ledgerkit.errors import LedgerError
    from ledgerkit.x12.errors import X12Error

    try:
        args = _parser().parse_args(argv)
        if args.command in ("store", "post", "review"):
            from ledgerkit.cli import store_commands as commands
        else:
            from ledgerkit.cli import ledger_commands as commands
        return getattr(commands, f"run_{args.command}")(args)
    except (CommandError, LedgerError, X12Error, OSError) as exc:
        if isinstance(exc, BrokenPipeError):
            raise
        return fail(exc)


def fail(exc) -> int:
    """Print ``exc`` as one line on stderr; the exit code of an input mistake (2)."""
    text = str(exc)
    if isinstance(exc, OSError) and exc.filename is not None:
        text = f"{exc.filename}: {exc.strerror or text}"
    text = " ".join(line.strip() for line in text.splitlines() if line.strip())
    print(f"ledgerkit: error: {text}", file=sys.stderr)
    return 2


def progress_enabled(args) -> bool:
    """Progress bars go to stderr, only for a person at a terminal."""
    quiet = args.no_progress or getattr(args, "quiet", False)
    return not quiet and sys.stderr.isatty()
