"""Storage: the only package that holds SQL or imports a database driver.

Domain and ui code open a connection here, pass it to the functions of one module per group of
tables, and get frames, rows or dataclasses back:

>>> from lib import storage
>>> with storage.open_db(":memory:") as conn:
...     storage.consumers.holds_real_data(conn)
False

- ``engine``: connections, transactions, migrations, the per-dialect fragments;
- ``schema``: the named migrations;
- ``consumers``, ``meta``, ``accounts`` (accounts and links), ``readings`` (readings, recharges, daily
)
- ``boundary``: ``guarded``, which turns a driver error into ``StorageError``.
  ``meter_events`` (replacements, glitches and rollovers a register import detected), ``otp`` (challenges,
    accounts,
  alert tables;
    alerts,
    anchors,
    consumers,
    demo,
from lib.storage import (
    ledger,
    meta,
    meter_events,
    operator,
    readings,
  roll-ups), ``ledger`` (arrears and adjustments), ``anchors`` (balances the household typed in),
  sends, failure counters), ``sms`` (log, outbox and the http queue), ``audit`` (append-only rows), and the modules of the
"""

from __future__ import annotations

from lib.storage import (
    accounts,
    alerts,
    anchors,
    audit,
    consumers,
    demo,
    ledger,
    meta,
    meter_events,
    operator,
    otp,
    readings,
    sessions,
    sms,
)
from lib.storage.engine import (
    DEFAULT_DB,
    ROOT,
    Conn,
    Database,
    StorageError,
    connect,
    connect_or_raise,
    database,
    db_path,
    migrate,
    open_db,
    transaction,
)

__all__ = [
    "DEFAULT_DB",
    "ROOT",
    "Conn",
    "Database",
    "StorageError",
    "accounts",
    "alerts",
    "anchors",
    "audit",
    "connect",
    "connect_or_raise",
    "consumers",
    "database",
    "demo",
    "db_path",
    "ledger",
    "meta",
    "meter_events",
    "migrate",
    "open_db",
    "operator",
    "otp",
    "readings",
    "sessions",
    "sms",
    "transaction",
]
