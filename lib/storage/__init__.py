"""Storage: the only package that holds SQL or imports a database driver.

Domain and ui code open a connection here, pass it to the functions of one module per group of
tables, and get frames, rows or dataclasses back:

>>> from lib import storage
>>> with storage.open_db(":memory:") as conn:
...     storage.consumers.holds_real_data(conn)
False

- ``engine``: the one door (``Database``: a SQLAlchemy Core connection with the table groups bound),
  connections for SQLite files and ``postgresql://`` URLs, transactions, ``migrate``;
- ``dialect``: the SQL that differs between SQLite and PostgreSQL (IST day, epoch seconds, locks, …);
- ``schema`` and ``schema_postgresql``: each migration's DDL per engine; ``migrations``: the Alembic
  revisions that run them, one history for both engines;
- the table groups: ``consumers``, ``meta`` (settings, data versions, leases), ``accounts`` (accounts and
  links), ``readings`` (readings, recharges, daily roll-ups, partitions, retention), ``ledger`` (arrears and
  adjustments), ``anchors`` (balances the household typed in), ``meter_events`` (replacements, glitches
  and rollovers a register import detected), ``otp`` (challenges, sends, failure counters), ``sms`` (log,
  outbox and the http queue), ``audit`` (append-only rows), ``alerts``, ``sessions``, ``operator`` (the
  CLI's reads without an account), ``demo`` (whole-database steps of the demo and camp) and ``staging``
  (an SQLite import's rows, staged outside the write lock and moved in at the end).
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
    staging,
)
from lib.storage.dialect import is_busy
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
    display_target,
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
    "display_target",
    "is_busy",
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
    "staging",
    "transaction",
]
