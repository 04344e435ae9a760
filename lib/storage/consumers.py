"""Consumer master rows (who a consumer ID belongs to, their registered mobile, tariff and load)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from lib.clock import now_utc, to_ts
from lib.storage.engine import raises_storage_error

CONSUMER_COLUMNS = (
    "consumer_id",
    "name",
    "registered_mobile",
    "tariff_category",
    "sanctioned_load_kw",
    "division",
    "meter_serial",
    "is_demo",
)

# The consumer IDs an account may read: linked, and the registered mobile unchanged since the OTP.

# --- consumers --------------------------------------------------------------------------------


def upsert_consumers(conn: sqlite3.Connection, rows: Iterable[Mapping[str, Any]]) -> int:
    """Insert or update consumer master rows (no transaction of its own). Returns the row count.

    A changed registered mobile stamps ``mobile_changed_at``; links made with the old number stop
    granting access until the new number's owner verifies again.
    """
    count = 0
    for row in rows:
        values = {column: row.get(column) for column in CONSUMER_COLUMNS}
        values["tariff_category"] = values["tariff_category"] or "DS-II"
        values["sanctioned_load_kw"] = float(values["sanctioned_load_kw"] or 1.0)
        values["is_demo"] = int(values["is_demo"] or 0)
        values["now"] = to_ts(now_utc())
        conn.execute(
            """
            INSERT INTO consumers (consumer_id, name, registered_mobile, tariff_category,
                                   sanctioned_load_kw, division, meter_serial, is_demo)
            VALUES (:consumer_id, :name, :registered_mobile, :tariff_category,
                    :sanctioned_load_kw, :division, :meter_serial, :is_demo)
            ON CONFLICT (consumer_id) DO UPDATE SET
                name = excluded.name,
                mobile_changed_at = CASE WHEN consumers.registered_mobile != excluded.registered_mobile
                                         THEN :now ELSE consumers.mobile_changed_at END,
                registered_mobile = excluded.registered_mobile,
                tariff_category = excluded.tariff_category,
                sanctioned_load_kw = excluded.sanctioned_load_kw,
                division = excluded.division,
                meter_serial = excluded.meter_serial,
                is_demo = excluded.is_demo
            """,
            values,
        )
        count += 1
    return count


def consumer_record(conn: sqlite3.Connection, consumer_id: str) -> dict[str, Any] | None:
    """The master row of one consumer, for the OTP flow only (who to send to). Not for display."""
    row = conn.execute("SELECT * FROM consumers WHERE consumer_id = ?", (consumer_id,)).fetchone()
    return dict(row) if row else None


def existing_consumer_ids(conn: sqlite3.Connection, consumer_ids: Iterable[str]) -> set[str]:
    """Which of ``consumer_ids`` are in the consumer master (for import validation)."""
    wanted = sorted(set(consumer_ids))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ",".join("?" * len(chunk))
        found.update(
            r[0]
            for r in conn.execute(f"SELECT consumer_id FROM consumers WHERE consumer_id IN ({marks})", chunk)
        )
    return found


def consumer_rows(conn: sqlite3.Connection, consumer_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Master rows (``CONSUMER_COLUMNS``) of those of ``consumer_ids`` that exist, by consumer ID."""
    wanted = list(consumer_ids)
    found: dict[str, dict[str, Any]] = {}
    columns = ", ".join(CONSUMER_COLUMNS)
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for row in conn.execute(f"SELECT {columns} FROM consumers WHERE consumer_id IN ({marks})", chunk):
            found[row[0]] = dict(zip(CONSUMER_COLUMNS, tuple(row), strict=True))
    return found


@raises_storage_error
def holds_real_data(conn: sqlite3.Connection) -> bool:
    """True when any consumer is not demo data (camp mode and ``seed-demo`` refuse such a database)."""
    row = conn.execute("SELECT 1 FROM consumers WHERE is_demo = 0 LIMIT 1").fetchone()
    return row is not None


@raises_storage_error
def has_consumers(conn: sqlite3.Connection) -> bool:
    """True when the consumer master holds any row (an empty database gets the demo on first start)."""
    return conn.execute("SELECT 1 FROM consumers LIMIT 1").fetchone() is not None


@raises_storage_error
def consumer_ids_by_meter_serial(conn: sqlite3.Connection, serials: Iterable[str]) -> dict[str, str]:
    """``{meter_serial: consumer_id}`` for those of ``serials`` in the consumer master (imports of files
    keyed by the meter's serial number, ``--id-kind meter-serial``). A serial held by two consumers is
    absent (ambiguous)."""
    wanted = sorted(set(serials))
    found: dict[str, list[str]] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for serial, cid in conn.execute(
            f"SELECT meter_serial, consumer_id FROM consumers WHERE meter_serial IN ({marks})", chunk
        ):
            found.setdefault(serial, []).append(cid)
    return {serial: ids[0] for serial, ids in found.items() if len(ids) == 1}
