"""The explanation strings of classify (explain_group, explain_carc) written by
``take_strings_nb`` against Arrow's take from the same values (issue #19, item 2)."""

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

import ledgerkit as lk
from ledgerkit.analytics.classify import _taken_strings
from ledgerkit.core.arrow import arrow_strings

STRINGS = st.lists(st.text(max_size=4), max_size=6)


@settings(max_examples=100, deadline=None)
@given(STRINGS, st.lists(st.integers(-1, 5), max_size=300))
def test_taken_strings_equal_arrows_take(values, codes):
    codes = np.array([c if c < len(values) else -1 for c in codes], np.int32)
    _check_taken(values, codes)


def test_taken_strings_of_many_rows_and_non_ascii_values():
    rng = np.random.default_rng(2)
    codes = rng.integers(-1, 3, 9000).astype(np.int32)
    _check_taken(["CO", "", "PR-é"], codes)


def test_short_and_long_values_take_both_kernels():
    # at most 4 bytes a value: the branch-free kernel; a longer one: the general kernel
    rng = np.random.default_rng(3)
    codes = rng.integers(-1, 4, 5000).astype(np.int32)
    _check_taken(["CO", "", "253", "é"], codes)
    _check_taken(["CO", "", "253", "MA130"], codes)


def _check_taken(values, codes):
    valid = np.packbits(codes >= 0, bitorder="little")
    got = _taken_strings(values, codes, valid)
    got.validate(full=True)
    indices = pa.array(np.where(codes >= 0, codes, 0), pa.int32(), mask=codes < 0)
    assert got.to_pylist() == arrow_strings(values).take(indices).to_pylist()


def test_classify_explanations_are_the_reason_code_strings():
    # the columns name the group code and CARC of the explaining entry, null elsewhere
    ledger = lk.synth.generate(400, seed=9)
    table = lk.classify(ledger)
    explained = [
        c in ("DENIAL", "PARTIAL_DENIAL", "UNRESOLVED") for c in table["class"].to_pylist()
    ]
    assert any(explained)
    groups, carcs = table["explain_group"].to_pylist(), table["explain_carc"].to_pylist()
    for is_explained, group, carc in zip(explained, groups, carcs):
        assert (group is not None) == is_explained and (carc is not None) == is_explained
        assert group is None or group in ("CO", "PR", "OA", "PI", "CR")
