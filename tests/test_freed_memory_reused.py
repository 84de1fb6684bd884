"""Within ``freed_memory_reused`` glibc reuses freed large blocks instead of faulting in
fresh pages, and hands them back when the outermost context ends
(ledgerkit/_memory.py). Each case runs in a fresh interpreter: the settings are
process-wide."""

import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="the settings are glibc's (elsewhere the context changes nothing)",
)

# Prints, for a block of 256 MB written, freed and written again: the page faults of
# the second write over those of the first, and the resident MB before, after the
# free (while inside), and after the context; ``SCOPE`` wraps the work.
PROBE = """
import resource, numpy as np
from ledgerkit._memory import freed_memory_reused
N = 1 << 25  # 256 MB of float64
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
def rss_mb():
    return int(next(l.split()[1] for l in open('/proc/self/status') if l[:6] == 'VmRSS:')) // 1024
before = rss_mb()
with SCOPE:
    f0 = faults(); a = np.ones(N); f1 = faults(); del a
    held = rss_mb()
    f2 = faults(); b = np.ones(N); f3 = faults(); del b
    inside = rss_mb()
print((f3 - f2) / (f1 - f0), before, held, inside, rss_mb())
"""


def _probe(scope: str, prelude: str = "", **env: str) -> tuple[float, int, int, int, int]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_"))}
    clean.pop("LEDGERKIT_REUSE_FREED_MEMORY", None)
    code = prelude + PROBE.replace("SCOPE", scope)
    out = subprocess.run(
        [sys.executable, "-c", code], env=clean | env, capture_output=True, text=True, check=True
    ).stdout.split()
    return float(out[0]), *map(int, out[1:])


def test_a_freed_block_is_reused_and_handed_back_at_the_end():
    again, before, held, inside, after = _probe("freed_memory_reused()")
    assert again < 0.1  # the second 256 MB reused the first's pages
    assert held - before > 200  # kept while inside
    assert after - before < 50  # handed back when the context ended


@pytest.mark.parametrize(
    ("scope", "env"),
    [
        ("__import__('contextlib').nullcontext()", {}),  # the control: glibc's default
        ("freed_memory_reused()", {"LEDGERKIT_REUSE_FREED_MEMORY": "0"}),
        ("freed_memory_reused()", {"MALLOC_MMAP_MAX_": "65536"}),  # the user's setting
        ("freed_memory_reused()", {"GLIBC_TUNABLES": "glibc.malloc.mmap_max=65536"}),
    ],
    ids=["without the context", "switched off", "MALLOC_MMAP_MAX_ set", "GLIBC_TUNABLES set"],
)
def test_without_it_or_against_the_users_settings_every_block_is_fresh(scope, env):
    again, before, held, inside, after = _probe(scope, **env)
    assert again > 0.5  # the second 256 MB faulted in afresh
    assert held - before < 50  # the freed block went back at once


NESTED = """
import contextlib, threading
from ledgerkit._memory import freed_memory_reused
def use():
    with freed_memory_reused():
        pass
@contextlib.contextmanager
def outer():
    with freed_memory_reused():
        use()  # a nested use ends
        worker = threading.Thread(target=use)  # a concurrent one begins and ends
        worker.start()
        worker.join()
        yield
"""


def test_nested_and_concurrent_uses_keep_it_until_the_outermost_ends():
    again, before, held, inside, after = _probe("outer()", prelude=NESTED)
    assert again < 0.1  # the inner uses ending did not end the outer one's
    assert held - before > 200
    assert after - before < 50
