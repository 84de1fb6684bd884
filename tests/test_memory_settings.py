"""numpy's huge-page advice is off and Arrow allocates with glibc in a process that
imports ledgerkit, unless the user set the variable (ledgerkit/_memory.py says why)."""

import os
import subprocess
import sys

import pytest

VARIABLES = ("NUMPY_MADVISE_HUGEPAGE", "ARROW_DEFAULT_MEMORY_POOL")
# what the process does after ``code``: numpy's switch returns the advice in force
# before the call; the pool that allocates a new Arrow array
REPORT = (
    "import numpy, pyarrow\n"
    "core = getattr(numpy, '_core', None) or numpy.core\n"
    "advice = core.multiarray._set_madvise_hugepage(False)\n"
    "print(advice, pyarrow.default_memory_pool().backend_name)"
)


def _run(code: str, **env: str) -> str:
    """What a fresh interpreter reports after running ``code`` (variables as given)."""
    clean = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\n{REPORT}"],
        env=clean | env,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


@pytest.mark.parametrize(
    "code",
    [
        "import ledgerkit",
        "import numpy\nimport ledgerkit",
        "import numpy, pyarrow as pa\npa.array([1, 2])\nimport ledgerkit",
    ],
    ids=["ledgerkit first", "numpy first", "pyarrow used first"],
)
def test_ledgerkit_settles_both_whatever_came_first(code):
    assert _run(code) == "False system"


@pytest.mark.parametrize(
    "env",
    [
        {"NUMPY_MADVISE_HUGEPAGE": "1"},
        {"NUMPY_MADVISE_HUGEPAGE": "0"},
        {"ARROW_DEFAULT_MEMORY_POOL": "mimalloc"},
        {"ARROW_DEFAULT_MEMORY_POOL": "jemalloc", "NUMPY_MADVISE_HUGEPAGE": "1"},
    ],
)
def test_a_users_setting_stands(env):
    alone = _run("", **env).split()
    with_ledgerkit = _run("import ledgerkit", **env).split()
    for k, name in enumerate(VARIABLES):
        if name in env:  # the user's choice: as without ledgerkit
            assert with_ledgerkit[k] == alone[k]
        else:  # ledgerkit's
            assert with_ledgerkit[k] == ["False", "system"][k]


def test_child_processes_inherit_the_choice():
    code = (
        "import ledgerkit, subprocess, sys\n"
        f"child = subprocess.run([sys.executable, '-c', {REPORT!r}], capture_output=True,"
        " text=True, check=True)\n"
        "print(child.stdout.strip())\n"
        "raise SystemExit\n"
    )
    clean = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    out = subprocess.run(
        [sys.executable, "-c", code], env=clean, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False system"


def test_without_ledgerkit_nothing_changes():
    """The control: numpy advises on Linux >= 4.6; pyarrow's pool is its own (not glibc's)."""
    advice, pool = _run("").split()
    assert advice == ("True" if sys.platform == "linux" else "False")
    assert pool != "system"
