"""asv benchmarks of the posting engine (seeded synth ledgers and their remits)."""

from ledgerkit.posting import post

from ._posting_data import posting_workload


class Post:
    params = [[(1_000_000, 100_000)]]
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
