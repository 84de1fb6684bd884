"""numpy's huge-page advice is off in a process that imports ledgerkit, unless the
user set NUMPY_MADVISE_HUGEPAGE (ledgerkit/_pages.py says why)."""

import os
import subprocess
import sys

import pytest

# numpy's own switch returns the advice that was in force before the call
ADVICE = (
    "import numpy; core = getattr(numpy, '_core', None) or numpy.core; "
    "print(core.multiarray._set_madvise_hugepage(False))"
)


def _advice(code: str, **env: str) -> str:
    """The advice numpy followed in a fresh interpreter running ``code`` first."""
    clean = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\n{ADVICE}"],
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
        "import numpy, pyarrow\nimport ledgerkit",
    ],
    ids=["ledgerkit first", "numpy first", "numpy and pyarrow first"],
)
def test_ledgerkit_turns_the_advice_off_whatever_came_first(code):
    assert _advice(code) == "False"


def test_a_users_setting_stands():
    for value in ("0", "1"):
        alone = _advice("", NUMPY_MADVISE_HUGEPAGE=value)
        assert _advice("import ledgerkit", NUMPY_MADVISE_HUGEPAGE=value) == alone
    assert _advice("", NUMPY_MADVISE_HUGEPAGE="0") == "False"


def test_child_processes_inherit_the_choice():
    code = (
        "import ledgerkit, subprocess, sys\n"
        "child = subprocess.run([sys.executable, '-c', "
        f"{ADVICE!r}], capture_output=True, text=True, check=True)\n"
        "print(child.stdout.strip())\n"
        "raise SystemExit\n"
    )
    clean = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=clean, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_numpy_alone_keeps_its_default_here():
    """The control: without ledgerkit nothing is changed (on Linux >= 4.6 numpy advises)."""
    expected = "True" if sys.platform == "linux" else "False"
    assert _advice("") == expected
