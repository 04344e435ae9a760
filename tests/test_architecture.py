"""The house rules of docs/DEVELOPING.md as tests over the import graph and the source text.

- pages/ and dashboard.py import only ``lib.ui``;
- ``lib/ui/`` never imports a database driver or storage internals (engine, schema), and no page module of
  ``lib/ui/`` imports another page module; the frame imports no page;
- domain modules (``lib/*.py`` and ``lib/importing/``) import neither Streamlit nor storage nor a driver:
  they get a storage handle (``storage.Database``) passed in;
- SQL keyword strings live only in ``lib/storage/``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LIB = ROOT / "lib"
DRIVERS = {"sqlite3", "sqlite_utils", "psycopg", "sqlalchemy"}
# The ui modules that draw one page each (pages/*.py; the rest of lib/ui is shared by several pages).
UI_PAGES = {
    "manage_connection",
    "overview",
    "compare",
    "ledger",
    "camp",
}  # sign-in is the frame's gate, not a page
# Edges: they open database files and hand the handle to the domain, like the pages do: the command line,
# camp mode (it copies, snapshots and restores whole database files) and the HTTP routes beside Streamlit.
EDGES = {"lib/cli.py", "lib/camp.py", "lib/web.py"}
SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE)\b")  # upper-case keywords, as SQL is written here


def imports_of(path: Path) -> set[str]:
    """Modules a file imports at run time (``if TYPE_CHECKING:`` blocks are type hints only, not arrows)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module:
                found.add(child.module)
                found.update(f"{child.module}.{alias.name}" for alias in child.names)
            visit(child)

    visit(tree)
    return found


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def lib_files(*parts: str) -> list[Path]:
    return sorted(LIB.joinpath(*parts).rglob("*.py"))


DOMAIN = [p for p in sorted(LIB.glob("*.py")) if rel(p) not in EDGES] + lib_files("importing")
UI = lib_files("ui")
STORAGE = lib_files("storage")


def test_the_layers_exist():
    assert UI and STORAGE and DOMAIN
    assert not (LIB / "importer.py").exists(), "the importer lives in lib/importing/"


@pytest.mark.parametrize("path", [ROOT / "dashboard.py", *sorted((ROOT / "pages").glob("*.py"))], ids=rel)
def test_pages_import_only_the_ui(path):
    lib_imports = {m for m in imports_of(path) if m.split(".")[0] == "lib"}
    assert lib_imports and all(m == "lib.ui" or m.startswith("lib.ui.") for m in lib_imports), lib_imports


@pytest.mark.parametrize("path", UI, ids=rel)
def test_ui_never_touches_the_driver_or_storage_internals(path):
    bad = {
        m
        for m in imports_of(path)
        if m.split(".")[0] in DRIVERS or m.startswith(("lib.storage.engine", "lib.storage.schema"))
    }
    assert bad == set()


@pytest.mark.parametrize("path", UI, ids=rel)
def test_no_ui_page_imports_another_page_and_the_frame_no_page(path):
    mine = path.stem
    pages = {f"lib.ui.{name}" for name in UI_PAGES if name != mine}
    hits = {m for m in imports_of(path) if m in pages or any(m.startswith(p + ".") for p in pages)}
    assert hits == set(), f"{rel(path)} imports page module(s) {sorted(hits)}"


@pytest.mark.parametrize("path", DOMAIN, ids=rel)
def test_domain_imports_neither_streamlit_nor_storage(path):
    bad = {
        m
        for m in imports_of(path)
        if m.split(".")[0] in DRIVERS | {"streamlit"}
        or m == "lib.storage"
        or m.startswith("lib.storage.")
        or m.startswith("lib.ui")
    }
    assert bad == set()


@pytest.mark.parametrize(
    "path", [p for p in lib_files() if "storage" not in p.parts] + [ROOT / "dashboard.py"], ids=rel
)
def test_sql_lives_only_in_storage(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    strings = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.strip()
    ]
    docstrings = {
        ast.get_docstring(node, clean=False)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }
    hits = [s[:80] for s in strings if s not in docstrings and SQL.search(s)]
    assert hits == []


def test_the_checks_see_a_violation(tmp_path):
    """The rules above would fail on a file that breaks them (they are not vacuous)."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import sqlite3\nfrom lib.ui import overview\nQ = 'SELECT x FROM readings'\n"
        "if TYPE_CHECKING:\n    from lib.storage import Database\n",
        encoding="utf-8",
    )
    found = imports_of(bad)
    assert {"sqlite3", "lib.ui", "lib.ui.overview"} <= found
    assert "lib.storage" not in found
    assert SQL.search("SELECT x FROM readings") and SQL.search("DELETE FROM t")
    assert not SQL.search("Select the connection from the list")


def test_developing_shows_the_tree():
    """docs/DEVELOPING.md's layout block names every module of lib/ (one line each) and no module that is gone."""
    text = (ROOT / "docs" / "DEVELOPING.md").read_text(encoding="utf-8")
    block = text.split("## Layout and layering", 1)[1].split("```", 2)[1]
    named = set(re.findall(r"^(lib/[\w/]+\.py)\b", block, flags=re.M))
    # Alembic revision files are listed by their folder's line (lib/storage/migrations/).
    actual = {
        rel(p)
        for p in LIB.rglob("*.py")
        if p.name != "__init__.py" and "migrations/versions" not in p.as_posix()
    }
    assert sorted(actual - named) == [], "modules missing from docs/DEVELOPING.md"
    assert sorted(named - actual) == [], "docs/DEVELOPING.md names modules that do not exist"
