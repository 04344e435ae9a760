"""A module of this repository as it was at a git revision, loaded beside today's: the baseline of the
one-process A/B benchmarks (``bench_compare_figure.py``, ``bench_figures.py``, ``bench_range_ab.py``,
``bench_overview_ab.py``), so before and after run in the same process under the same load.

    charts_before = module_at("6f8ea79", "lib/charts.py", "charts_baseline")
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def module_at(revision: str, path: str, name: str, *, register: bool = False) -> ModuleType:
    """``path`` (relative to the repository) as of git ``revision``, executed as a module called ``name``;
    ``register``: put it in ``sys.modules`` under ``name`` first (dataclasses and pickling look their module
    up there). Raises ``subprocess.CalledProcessError`` when git does not know the revision or path."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{revision}:{path}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / f"{name.rsplit('.', 1)[-1]}.py"
        file.write_text(source)
        spec = importlib.util.spec_from_file_location(name, file)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        if register:
            sys.modules[name] = module
        spec.loader.exec_module(module)
    return module
