"""The server freezes its imported heap once (lib/ui/heap.py, issue 15); page scripts never do.

The freezing tests run in a subprocess: a freeze in the test process would keep every object the suite
had made until then out of the collector's reach for the rest of the run.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib.ui import heap

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import gc, sys
before = gc.get_freeze_count()
import serve
from lib.ui import heap
frozen = gc.get_freeze_count()
again = heap.freeze_after_imports()
missing = [name for name in heap.MODULES if name not in sys.modules]
print(before, frozen, again, gc.get_freeze_count(), len(missing))
"""


def _probe(**env: str) -> list[str]:
    environment = {**os.environ, **env}
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return done.stdout.split()


def test_the_server_entry_freezes_its_imported_heap_once():
    before, frozen, again, after, missing = _probe(METERMITRA_GC_FREEZE="")
    assert before == "0"
    # Streamlit, pandas, plotly, SQLAlchemy and the domain modules: well over 100,000 container objects
    assert int(frozen) > 100_000
    assert again == "False"  # a second call does nothing
    assert after == frozen
    assert missing == "0"  # every listed module was imported before the freeze


@pytest.mark.parametrize("value", ["0", "off", "False", " no "])
def test_the_freeze_can_be_switched_off(value):
    before, frozen, again, after, _missing = _probe(METERMITRA_GC_FREEZE=value)
    assert (before, frozen, again, after) == ("0", "0", "False", "0")


def test_switched_off_reads_the_variable(monkeypatch):
    monkeypatch.delenv(heap.ENV, raising=False)
    assert not heap.switched_off()
    for value, off in [("1", False), ("on", False), ("OFF", True), ("false", True), ("0", True)]:
        monkeypatch.setenv(heap.ENV, value)
        assert heap.switched_off() is off


def test_a_page_run_freezes_nothing(db_path):
    """AppTest runs the page scripts in the test process: they must not freeze the suite's heap (only
    serve.py, the server's entry, calls the freeze)."""
    frozen = gc.get_freeze_count()
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120).run()
    assert not at.exception
    assert gc.get_freeze_count() == frozen == 0
    calls = [
        path.relative_to(ROOT).as_posix()
        for path in [*ROOT.glob("lib/**/*.py"), *ROOT.glob("pages/*.py"), ROOT / "dashboard.py"]
        if "freeze_after_imports(" in path.read_text(encoding="utf-8") and path.name != "heap.py"
    ]
    assert calls == []
