"""asv benchmarks of the posting engine (seeded synth ledgers and their remits)."""

from ledgerkit.posting.engine import post

from ._data import by_size
from ._posting_data import posting_workload

WORKLOADS = by_size([(3_000, 300)], [(1_000_000, 100_000)], [(1_000_000, 100_000)])


class Post:
    params = [WORKLOADS]
    param_names = ["procedures_claims"]
    small_params = [(3_000, 300)]  # tests/test_benchmarks.py runs the bodies with these
    timeout = 900
    number = 1
    repeat = 3

    def setup(self, size):
        self.base, self.remits = posting_workload(*size)
        post(self.base, self.remits.__class__.concat([]))  # JIT warm-up

    def time_post(self, size):
        post(self.base, self.remits)

    def peakmem_post(self, size):
        post(self.base, self.remits)


class Store:
    """A LedgerStore on Delta Lake: post + commit, and a fresh reader's first ledger().

    One sample per setup (``repeat = 1``): setup creates the empty store the timed
    post commits into, so creating it is not timed.
    """

    params = [WORKLOADS]
    param_names = ["procedures_claims"]
    small_params = [(3_000, 300)]
    timeout = 900
    number = 1
    repeat = 1

    def setup(self, size):
        import tempfile

        from ledgerkit.store.ledger_store import LedgerStore

        self.base, self.remits = posting_workload(*size)
        post(self.base, self.remits.__class__.concat([]))  # JIT warm-up
        self.folder = tempfile.TemporaryDirectory(prefix="ledgerkit-bench-store-")
        self.posted = LedgerStore.create(f"{self.folder.name}/posted", self.base, actor="bench")
        self.posted.post(self.remits, actor="bench")
        self.empty = LedgerStore.create(f"{self.folder.name}/empty", self.base, actor="bench")

    def teardown(self, size):
        self.folder.cleanup()

    def time_post_and_commit(self, size):
        self.empty.post(self.remits, actor="bench")

    def time_open_and_read_ledger(self, size):
        from ledgerkit.store.ledger_store import LedgerStore

        LedgerStore(self.posted.path).ledger()


class StoreHistory:
    """One small change (an archive decision) on a store that already has many commits:
    what each click of a review action costs as a practice's store grows."""

    params = [by_size([3], [200], [200])]
    param_names = ["commits"]
    small_params = [3]
    timeout = 900
    number = 1
    repeat = 5

    def setup(self, commits):
        import tempfile

        import ledgerkit as lk
        from ledgerkit.store.ledger_store import LedgerStore

        self.folder = tempfile.TemporaryDirectory(prefix="ledgerkit-bench-history-")
        ledger = lk.synth.generate(50, seed=1)
        self.store = LedgerStore.create(f"{self.folder.name}/s", ledger, actor="bench")
        for i in range(commits):
            self.store.append(ledger, actor="bench", note=f"no-op {i}")

    def teardown(self, commits):
        self.folder.cleanup()

    def time_one_more_commit(self, commits):
        self.store.append(self.store.ledger(), actor="bench", note="one more")
