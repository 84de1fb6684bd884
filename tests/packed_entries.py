"""Hypothesis strategy of procedures' entries as the kernels read them: packed codes
and cents grouped by procedure (shared by the kernel tests that sum or classify them)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from ledgerkit._kernels import codes as C

# any cents a column can hold, and the edges a sign test trips on
CENTS = st.integers(-(10**12), 10**12) | st.sampled_from([0, 1, -1])


@dataclass(frozen=True)
class PackedEntries:
    """Entries grouped by procedure: procedure ``p`` owns ``starts[p]:starts[p + 1]``."""

    starts: np.ndarray  # int64, one more than the procedures
    buckets: list[int]
    seqs: list[int]  # payer_seq 0..3
    lives: list[bool]
    codes: np.ndarray  # int8, C.pack_code of the three above
    amounts: np.ndarray  # int64 cents

    @property
    def n_procedures(self) -> int:
        return len(self.starts) - 1

    @property
    def n_entries(self) -> int:
        return len(self.codes)


@st.composite
def packed_entries(draw, *, procedures=(0, 12), max_entries: int = 6) -> PackedEntries:
    """``procedures`` (min, max) procedures of 0 to ``max_entries`` entries each, every
    entry any bucket, payer_seq and live flag, and any cents."""
    n_proc = draw(st.integers(*procedures))
    sizes = draw(st.lists(st.integers(0, max_entries), min_size=n_proc, max_size=n_proc))
    n = sum(sizes)
    buckets = draw(st.lists(st.integers(0, C.N_BUCKETS - 1), min_size=n, max_size=n))
    seqs = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    lives = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    codes = np.array([C.pack_code(b, s, int(x)) for b, s, x in zip(buckets, seqs, lives)], np.int8)
    amounts = np.array(draw(st.lists(CENTS, min_size=n, max_size=n)), np.int64)
    starts = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    return PackedEntries(starts, buckets, seqs, lives, codes, amounts)
