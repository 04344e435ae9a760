"""The server process's heap at start: what every page run needs, imported once, then left out of the
garbage collector's work (``gc.freeze()``, issue 15).

Why: CPython's cyclic collector walks every tracked container object of the generation it collects. A
server process holds ~150,000 of them before the first visitor arrives (Streamlit, Tornado/Starlette,
pandas, numpy, plotly, SQLAlchemy, Alembic, Babel, the catalog: module dicts, classes, functions), and
they never become garbage. Streamlit's own ``gc.collect(2)`` after every script run is already off
(``.streamlit/config.toml`` ``[runner] postScriptGC = false``), but Python still starts a full collection
by itself when enough objects have survived the younger generations (allocation counts, not script
runs): each walked all of them (0.12 s of CPU with the imports alone, 0.2 s with the product's heap:
BENCHMARKS.md section 6 run 3). After ``gc.freeze()`` the objects alive at that moment sit in the
permanent generation: collections never walk them, and one full collection costs what the objects
made since (a few ms). Memory is unchanged: a frozen object is still freed when its reference count
drops to zero; only a reference *cycle* among frozen objects would never be collected, which is why the
freeze happens once, at start, over what lives as long as the process (imported modules, the catalog,
Babel's locale data), never later over sessions' or caches' objects.

Where: :func:`freeze_after_imports` is called by the server entry, ``serve.py`` (``streamlit run
serve.py``, as ``scripts/start.sh``, the browser journeys' harness and ``bench/bench_browser.py`` start
the server; ``uvicorn serve:app`` too), once its imports are done and before the first request. Not
in a page script: AppTest runs the page scripts in the test process, which would then freeze whatever
the tests had made until then (their databases, fixtures) and test a heap no server has;
``bench/bench_pages.py --gc-freeze`` calls it deliberately to measure it. ``METERMITRA_GC_FREEZE=0``
(or ``off``/``false``/``no``) leaves the heap as Python manages it (for measuring the difference).
"""

from __future__ import annotations

import datetime as dt
import gc
import importlib
import os
import threading

# What a page run of any page imports, beyond what serve.py (Streamlit, lib.web: storage, sessions,
# SQLAlchemy, pandas) has already imported. Domain modules only: lib.ui's page modules decorate their
# functions with st.cache_data, which logs "No runtime found" when imported before Streamlit's runtime
# exists (a few hundred objects; they are imported by the first visit instead).
MODULES = (
    "numpy",
    "pandas",
    "plotly.graph_objects",
    "babel.dates",
    "babel.numbers",
    "lib.alerts",
    "lib.analytics",
    "lib.audit",
    "lib.auth",
    "lib.charts",
    "lib.demo",
    "lib.forecast",
    "lib.i18n",
    "lib.ledger",
    "lib.otp",
    "lib.quality",
    "lib.sessions",
    "lib.sms",
    "lib.tariff",
)
ENV = "METERMITRA_GC_FREEZE"
_OFF = {"0", "off", "false", "no"}

_lock = threading.Lock()
_frozen = False


def switched_off() -> bool:
    """Whether ``METERMITRA_GC_FREEZE`` asks to leave the heap alone (``0``, ``off``, ``false``, ``no``,
    any case): ``switched_off()`` is ``False`` when the variable is unset."""
    return os.environ.get(ENV, "").strip().lower() in _OFF


def freeze_after_imports() -> bool:
    """Import :data:`MODULES`, load the catalog and Babel's data of both languages, then ``gc.freeze()``:
    once per process. Returns ``True`` when this call froze the heap, ``False`` when an earlier call had
    (or :func:`switched_off`). Raises ``ImportError`` if a listed module is missing (a broken install:
    the server would fail on the first visit anyway)."""
    global _frozen
    with _lock:
        if _frozen or switched_off():
            return False
        for name in MODULES:
            importlib.import_module(name)
        from lib import i18n

        i18n.catalog()
        for lang in i18n.LANGUAGES:  # Babel loads a locale's data (large nested dicts) on first use
            i18n.format_money(0.0, lang)
            i18n.format_number(0.0, lang)
            i18n.format_date(dt.date(2000, 1, 1), lang)
        gc.collect()  # what the imports left as garbage is freed now, not frozen
        gc.freeze()
        _frozen = True
        return True
