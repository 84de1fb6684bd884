"""Imports run one way: kernels at the bottom, widgets and the CLI at the top.

Walks every module of ``src/ledgerkit`` with ``ast`` (imports inside functions
count too) and checks three rules of the package layout (README, "How the pieces
fit"):

- ``_kernels/`` imports nothing of ledgerkit outside ``_kernels/`` (and no pyarrow);
- no module imports an underscore name from another package: a private name used
  across packages marks a public function that is missing;
- a package imports only the packages below it (``LAYERS``), so there are no cycles.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "ledgerkit"

# Each package and the packages it may import. Top-level modules (``cli``,
# ``warmup``, ``__init__``, ``_moved``) sit above everything.
LAYERS = {
    "errors": set(),
    # the allocation defaults and freed_memory_reused: imports nothing, used from below
    "_memory": set(),
    # collections paused while Numba loads: imports nothing, used from below
    "_gc": set(),
    "_kernels": set(),
    "core": {"errors", "_kernels", "_memory", "_gc"},
    "x12": {"errors", "_kernels", "core"},
    "analytics": {"errors", "_kernels", "core", "_gc"},
    "posting": {"errors", "_kernels", "core", "x12", "_memory"},
    "store": {"errors", "_kernels", "core", "x12", "posting", "_gc"},
    "contracts": {"errors", "_kernels", "core", "analytics"},
    "rules": {"errors", "_kernels", "core", "analytics", "contracts"},
    "synth": {"errors", "_kernels", "core", "x12", "contracts"},
    "scale": {"errors", "_kernels", "core", "analytics", "contracts", "rules", "synth", "store"},
    "report": {"errors", "_kernels", "core", "x12", "analytics", "rules"},
    "widgets": {
        "errors", "_kernels", "core", "x12", "analytics", "posting", "store", "rules", "synth",
        "contracts", "report",
    },
}  # fmt: skip
TOP = {"__init__", "cli", "warmup", "_moved"}


def _package(parts: list[str]) -> str:
    """``["ledgerkit", "core", "keys"]`` -> ``"core"``; top-level modules -> their name."""
    if len(parts) == 1:
        return "__init__"
    return parts[1]


def _modules():
    for path in sorted(SRC.rglob("*.py")):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        yield path, parts


def _imports(path: Path):
    """(target module parts, imported names, line) of every ledgerkit import in a file."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] == "ledgerkit":
                yield node.module.split("."), [a.name for a in node.names], node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in ("ledgerkit", "pyarrow"):
                    yield alias.name.split("."), [], node.lineno


def _targets(module: list[str], names: list[str]) -> list[tuple[str, str]]:
    """(package, name) pairs: ``from ledgerkit import rules`` imports the package rules."""
    if module == ["ledgerkit"]:
        return [(name, "") for name in names]
    return [(_package(module), name) for name in names] or [(_package(module), "")]


def _violations():
    found = []
    for path, parts in _modules():
        here = _package(parts)
        rel = path.relative_to(SRC.parent)
        for module, names, line in _imports(path):
            if module[0] == "pyarrow":
                if here == "_kernels":
                    found.append(f"{rel}:{line}: _kernels imports pyarrow")
                continue
            for package, name in _targets(module, names):
                if package == here:
                    continue
                if name.startswith("_") and package != "__init__":
                    found.append(f"{rel}:{line}: imports private {name} from {package}")
                if here in TOP:
                    continue
                if package not in LAYERS[here]:
                    found.append(f"{rel}:{line}: {here} imports {package} (not below it)")
    return found


def test_packages_cover_the_tree():
    packages = {_package(parts) for _, parts in _modules()}
    assert packages - TOP <= set(LAYERS), packages - TOP - set(LAYERS)


def test_layers_have_no_cycle():
    seen, order = set(), []

    def visit(package, stack):
        assert package not in stack, f"cycle: {stack + [package]}"
        if package in seen:
            return
        for below in LAYERS[package]:
            visit(below, stack + [package])
        seen.add(package)
        order.append(package)

    for package in LAYERS:
        visit(package, [])


def test_imports_run_one_way():
    violations = _violations()
    assert not violations, "\n".join(violations)


@pytest.mark.parametrize("source", ["from ledgerkit.core.keys import _codes"])
def test_the_walk_sees_a_private_import(tmp_path, source):
    path = tmp_path / "m.py"
    path.write_text(source)
    ((module, names, _),) = _imports(path)
    assert _targets(module, names) == [("core", "_codes")]
