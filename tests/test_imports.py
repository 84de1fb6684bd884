"""One-way imports (issue "One house"): no module takes an underscore name from
another package, and the kernels import nothing outside ``_kernels``.

Read from the source with ``ast`` (imports inside functions count too).
"""

from __future__ import annotations

import ast
from pathlib import Path

import ledgerkit

SRC = Path(ledgerkit.__file__).parent

# Cross-package private imports still being replaced on other branches of the
# issue. Remove as they land (none left).
PENDING: set = set()


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package(module: str) -> str:
    return module.split(".")[0]


def _imports():
    """(importing module, imported module, name) for every ``from ledgerkit... import``."""
    for path in sorted(SRC.rglob("*.py")):
        here = _module_name(path)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ledgerkit"):
                target = node.module.removeprefix("ledgerkit").removeprefix(".")
                for alias in node.names:
                    yield here, target, alias.name
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("ledgerkit"):
                        yield here, alias.name.removeprefix("ledgerkit").removeprefix("."), None


def test_no_private_name_from_another_package():
    found = {
        (here, target, name)
        for here, target, name in _imports()
        if name
        and name.startswith("_")
        and not name.startswith("__")
        and target
        and _package(target) != _package(here)
    }
    assert found - PENDING == set()


def test_kernels_import_only_kernels():
    outside = [
        (here, target)
        for here, target, _ in _imports()
        if here.startswith("_kernels") and not target.startswith("_kernels")
    ]
    assert outside == []
