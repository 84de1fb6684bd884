"""ledgerkit's calls that load Numba and read a ledger run no garbage collection (_gc.py)."""

from __future__ import annotations

import gc
import subprocess
import sys
import threading

import pytest

from ledgerkit._gc import collections_paused


@pytest.fixture(autouse=True)
def _collection_restored():
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    gc.enable() if enabled else gc.disable()


def test_paused_within_and_resumed_after_with_new_objects_in_the_oldest_generation():
    gc.collect()
    with collections_paused():
        assert not gc.isenabled()
        made = [[i] for i in range(5000)]  # containers: tracked by the collector
    assert gc.isenabled()
    assert gc.get_count()[0] < 100  # nothing left young to set off a collection
    assert gc.get_freeze_count() == 0  # and nothing left frozen
    assert all(gc.is_tracked(m) for m in made[:10])


def test_garbage_made_while_paused_is_collected_later():
    with collections_paused():
        cycle = []
        cycle.append(cycle)
        del cycle
    assert gc.collect() >= 1


def test_nested_uses_resume_once_at_the_outermost():
    with collections_paused():
        with collections_paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_an_error_inside_still_resumes():
    with pytest.raises(ValueError), collections_paused():
        raise ValueError("inside")
    assert gc.isenabled()


def test_the_users_choices_stand(monkeypatch):
    gc.disable()
    with collections_paused():
        pass
    assert not gc.isenabled()  # the user turned it off: it stays off
    gc.enable()
    frozen = [[1]]
    gc.freeze()
    with collections_paused():
        pass
    assert gc.get_freeze_count() >= 1 and frozen  # the user's frozen objects stay frozen
    gc.unfreeze()
    monkeypatch.setenv("LEDGERKIT_PAUSE_GC", "0")
    with collections_paused():
        assert gc.isenabled()


def test_concurrent_uses_share_one_pause():
    inside, leave = threading.Event(), threading.Event()

    def other():
        with collections_paused():
            inside.set()
            leave.wait(10)

    thread = threading.Thread(target=other)
    thread.start()
    inside.wait(10)
    with collections_paused():
        pass
    assert not gc.isenabled()  # the other thread's pause still holds
    leave.set()
    thread.join()
    assert gc.isenabled()


def test_a_fresh_process_reading_and_classifying_runs_almost_no_collection(tmp_path):
    """Before: 148 collections (135 young, 12 middle, 1 full) at 1M procedures."""
    import ledgerkit as lk

    folder = lk.synth.generate(2000, seed=3).to_parquet(tmp_path / "ledger")
    code = (
        "import gc\ncounts = [0, 0, 0]\n"
        "gc.callbacks.append(lambda phase, info: phase == 'stop' "
        "and counts.__setitem__(info['generation'], counts[info['generation']] + 1))\n"
        "import ledgerkit as lk\nbefore = list(counts)\n"
        f"lk.classify(lk.Ledger.from_parquet({str(folder)!r}))\n"
        "print(*[a - b for a, b in zip(counts, before)])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    young, middle, full = map(int, out.stdout.split())
    assert full == 0 and middle == 0 and young <= 2, out.stdout
