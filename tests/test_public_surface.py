"""Every public name of ledgerkit before the package was re-cut still works.

``data/public_surface.json`` was written from the flat layout (ledgerkit 0.1 as of
b82508c): every name of ``dir(lk)`` and every name each public module defined or
listed in ``__all__``. Users' notebooks call these; the move must not break one.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import ledgerkit as lk

SURFACE = json.loads((Path(__file__).parent / "data" / "public_surface.json").read_text())
MODULES = sorted(k for k in SURFACE if k != "ledgerkit")


def test_every_top_level_name_resolves():
    listed = set(dir(lk))
    for name in SURFACE["ledgerkit"]:
        assert name in listed, name
        assert getattr(lk, name) is not None, name


def test_classify_and_balances_stay_functions():
    # A module imported under these names would shadow the functions.
    import ledgerkit.analytics.classify  # noqa: F401

    assert callable(lk.classify) and callable(lk.balances)


@pytest.mark.parametrize("path", MODULES)
def test_every_module_path_imports_with_its_names(path):
    module = importlib.import_module(path)
    missing = [name for name in SURFACE[path] if not hasattr(module, name)]
    assert not missing, f"{path} lost {missing}"


@pytest.mark.parametrize(
    ("old", "attribute"),
    [("metrics", "metrics"), ("dask", "dask"), ("taa", "taa"), ("review", "review")],
)
def test_old_paths_and_attributes_are_one_module(old, attribute):
    assert importlib.import_module(f"ledgerkit.{old}") is getattr(lk, attribute)


def test_moved_module_keeps_its_own_name():
    module = importlib.import_module("ledgerkit.partitioning")
    assert module.__name__ == module.__spec__.name == "ledgerkit.scale.partitioning"


def test_cli_commands_unchanged():
    out = subprocess.run(
        [sys.executable, "-m", "ledgerkit.cli", "--help"], capture_output=True, text=True
    )
    assert out.returncode == 0
    for command in ("demo", "classify", "sample", "post", "review", "warm"):
        assert command in out.stdout
