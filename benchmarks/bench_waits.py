"""asv benchmarks of what users wait for: cold starts, a RuleTuner built, a store opened.

* ``RuleTunerBuild``: ``RuleTuner(ledger)`` on a loaded ledger, its derived data not yet
  computed (what a notebook cell waits for; the slider itself is ``RuleTunerUpdate``).
* ``timeraw_first_classify_from_parquet``: a fresh process reads a Parquet ledger folder
  (as ``Ledger.to_parquet`` writes it, with its keys sidecar) and classifies it (Numba's
  on-disk cache warm): where a notebook starts. ``benchmarks/compare.py`` times the same
  against polars and DuckDB (its cold table).
  ``timeraw_first_classify_from_plain_parquet`` the same four files without the sidecar.
* ``timeraw_first_ledger_from_store``: a fresh process opens a ``LedgerStore`` and reads
  its ledger (whose keys an earlier reader saved); ``StoreOpen`` the same in a warm
  process.
* ``timeraw_warm_cold`` (size ``full`` only: a minute or more even on a tiny ledger):
  ``ledgerkit warm`` in a fresh process whose ``NUMBA_CACHE_DIR`` is empty, i.e. every
  kernel compiled, what a user waits for after installing or upgrading.

The Parquet folders and stores are written by the ledgerkit under test, once per
version of its storage code (``storage_key``), so that two commits never read each
other's files. Every body also runs once, small, in tests/test_bench_tools.py.
"""

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from ._data import CACHE, PROCEDURES, TUNER_PROCEDURES, bench_size, ledger_with_procedures

WORK = CACHE.parent  # .asv/ (ignored by git)


def storage_key() -> str:
    """A short hash of the ledgerkit code that writes and reads ledger files and stores."""
    import ledgerkit

    package = Path(ledgerkit.__file__).parent
    digest = hashlib.sha256()
    for path in sorted([*package.glob("core/*.py"), *package.glob("store/*.py")]):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def parquet_folder(procedures: int) -> Path:
    """A Parquet ledger folder of about ``procedures`` procedures (written once)."""
    folder = WORK / "cold" / f"parquet-{procedures}-{storage_key()}"
    if not (folder / "entries.parquet").exists():
        _write_once(folder, lambda tmp: ledger_with_procedures(procedures).to_parquet(tmp))
    return folder


def store_folder(procedures: int) -> Path:
    """A ``LedgerStore`` holding the ledger of about ``procedures`` procedures (made once)."""
    from ledgerkit.store.ledger_store import LedgerStore

    folder = WORK / "cold" / f"store-{procedures}-{storage_key()}"
    if not folder.is_dir():
        ledger = ledger_with_procedures(procedures)

        def create(tmp):
            LedgerStore.create(tmp, ledger, actor="bench")
            LedgerStore(tmp).ledger()  # a first reader saves the keys every later one uses

        _write_once(folder, create)
    return folder


def _write_once(folder: Path, write) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
    shutil.rmtree(tmp)  # writers want a new folder
    write(tmp)
    try:
        tmp.rename(folder)
    except OSError:  # another process wrote it meanwhile
        shutil.rmtree(tmp)


class RuleTunerBuild:
    """``RuleTuner(ledger)`` on a ledger whose keys are built but whose derived data
    (features, dry run, TAA history) is not: the wait before the widget appears."""

    params = [TUNER_PROCEDURES]
    param_names = ["procedures"]
    timeout = 900
    number = 1
    repeat = 3

    def setup(self, procedures):
        from ledgerkit.widgets import RuleTuner

        self.cls = RuleTuner
        self.ledger = ledger_with_procedures(procedures)
        self.cls(self.ledger, export_path=os.devnull)  # JIT warm-up

    def time_build(self, procedures):
        self.ledger.keys.policy_cache(self.ledger.policy).pop("derived", None)
        self.cls(self.ledger, export_path=os.devnull)


class StoreOpen:
    """``LedgerStore(path).ledger()`` in a process that has done it before."""

    params = [PROCEDURES]
    param_names = ["procedures"]
    timeout = 900
    number = 1
    repeat = 5

    def setup(self, procedures):
        from ledgerkit.store.ledger_store import LedgerStore

        self.cls = LedgerStore
        self.path = store_folder(procedures)
        self.cls(self.path).ledger()

    def time_open_and_read(self, procedures):
        self.cls(self.path).ledger()


def timeraw_first_classify_from_parquet(procedures):
    """Fresh process: ``Ledger.from_parquet`` + ``classify`` (kernels from the cache)."""
    return f"""
import ledgerkit as lk
lk.classify(lk.Ledger.from_parquet({str(parquet_folder(procedures))!r}))
"""


timeraw_first_classify_from_parquet.params = [PROCEDURES]
timeraw_first_classify_from_parquet.param_names = ["procedures"]
timeraw_first_classify_from_parquet.repeat = 3
timeraw_first_classify_from_parquet.timeout = 900


def plain_parquet_folder(procedures: int) -> Path:
    """The four Parquet files of :func:`parquet_folder` without the keys sidecar (hard
    links): a folder another tool wrote."""
    folder = parquet_folder(procedures)
    plain = folder.with_name(folder.name + "-plain")
    if not (plain / "entries.parquet").exists():

        def link(tmp):
            tmp.mkdir()
            for name in ("encounters", "procedures", "entries", "payers"):
                os.link(folder / f"{name}.parquet", tmp / f"{name}.parquet")

        _write_once(plain, link)
    return plain


def timeraw_first_classify_from_plain_parquet(procedures):
    """Fresh process: ``Ledger.from_parquet`` + ``classify`` of Parquet files without a
    keys sidecar (the checks' columns read and validated, keys built)."""
    return f"""
import ledgerkit as lk
lk.classify(lk.Ledger.from_parquet({str(plain_parquet_folder(procedures))!r}))
"""


timeraw_first_classify_from_plain_parquet.params = [PROCEDURES]
timeraw_first_classify_from_plain_parquet.param_names = ["procedures"]
timeraw_first_classify_from_plain_parquet.repeat = 3
timeraw_first_classify_from_plain_parquet.timeout = 900


def timeraw_first_ledger_from_store(procedures):
    """Fresh process: open a ``LedgerStore`` and read its ledger."""
    return f"""
from ledgerkit.store.ledger_store import LedgerStore
LedgerStore({str(store_folder(procedures))!r}).ledger()
"""


timeraw_first_ledger_from_store.params = [PROCEDURES]
timeraw_first_ledger_from_store.param_names = ["procedures"]
timeraw_first_ledger_from_store.repeat = 3
timeraw_first_ledger_from_store.timeout = 900


def warm_cold_code(cache_dir: Path) -> tuple[str, str]:
    """(statement, setup) of ``ledgerkit warm`` compiling into an empty ``cache_dir``."""
    if cache_dir.exists():
        shutil.rmtree(cache_dir)
    cache_dir.mkdir(parents=True)
    # Numba reads NUMBA_CACHE_DIR when it is first imported: set it in the untimed setup
    setup = f"import os; os.environ['NUMBA_CACHE_DIR'] = {str(cache_dir)!r}"
    # what `ledgerkit warm` runs, without its printing (timeraw reads the time off stdout)
    stmt = "from ledgerkit.warmup import warm_up; warm_up()"
    return stmt, setup


if bench_size() == "full":

    def timeraw_warm_cold():
        """``ledgerkit warm`` with an empty Numba cache: every kernel compiled."""
        return warm_cold_code(WORK / "numba-cold")

    timeraw_warm_cold.repeat = 1
    timeraw_warm_cold.number = 1
    timeraw_warm_cold.timeout = 1800
