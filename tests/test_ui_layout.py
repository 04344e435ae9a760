"""The shape of lib/ui: no page module imports another, the frame imports no page, page paths come from
one registry, and no view touches the database driver."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from lib.ui import paths

ROOT = Path(__file__).resolve().parent.parent
UI = ROOT / "lib" / "ui"
SCRIPTS = [ROOT / "dashboard.py", *sorted((ROOT / "pages").glob("*.py"))]


def imported_ui_modules(path: Path) -> set[str]:
    """Names of lib.ui modules a file imports, at top level or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == "lib.ui":
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("lib.ui."):
            found.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[2] for a in node.names if a.name.startswith("lib.ui."))
    return found


def imported_top_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module.split(".")[0])
    return found


# The page modules: what the page scripts draw (besides the frame every script opens with).
PAGE_MODULES = {m for script in SCRIPTS for m in imported_ui_modules(script)} - {"frame"}


def test_the_page_modules_are_found():
    assert {"overview", "compare", "ledger", "camp", "manage_connection"} <= PAGE_MODULES


@pytest.mark.parametrize("path", sorted(UI.glob("*.py")), ids=lambda p: p.name)
def test_no_ui_module_imports_a_page_module_but_its_own(path):
    others = (imported_ui_modules(path) & PAGE_MODULES) - {path.stem}
    assert others == set(), f"{path.name} imports page modules {sorted(others)}"


@pytest.mark.parametrize("path", sorted(UI.glob("*.py")), ids=lambda p: p.name)
def test_no_ui_module_imports_the_database_driver(path):
    assert "sqlite3" not in imported_top_modules(path)
    assert "sqlite3." not in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", [*sorted(UI.glob("*.py")), *SCRIPTS], ids=lambda p: p.name)
def test_page_paths_come_from_the_registry(path):
    if path == UI / "paths.py":
        return
    tree = ast.parse(path.read_text(encoding="utf-8"))
    literals = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in _PATHS
    ]
    assert literals == []


_PATHS = {path for _, path, _ in paths.PAGES}


def test_every_registered_page_has_its_script():
    for _, path, _ in paths.PAGES:
        assert paths.exists(path), path
    assert {p.relative_to(ROOT).as_posix() for p in SCRIPTS} == _PATHS
