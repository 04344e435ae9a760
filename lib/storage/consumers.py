"""Consumer master rows (who a consumer ID belongs to, their registered mobile, tariff and load)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from lib.clock import now_utc, to_ts
from lib.storage import dialect
from lib.storage.engine import Conn, raises_storage_error

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


def upsert_consumers(conn: Conn, rows: Iterable[Mapping[str, Any]]) -> int:
    """Insert or update consumer master rows (no transaction of its own). Returns the row count.

    A changed registered mobile stamps ``mobile_changed_at``; links made with the old number stop
    granting access until the new number's owner verifies again.
    """
    now = to_ts(now_utc())
    values = []
    for row in rows:
        value = {column: row.get(column) for column in CONSUMER_COLUMNS}
        value["tariff_category"] = value["tariff_category"] or "DS-II"
        value["sanctioned_load_kw"] = float(value["sanctioned_load_kw"] or 1.0)
        value["is_demo"] = int(value["is_demo"] or 0)
        value["now"] = now
        values.append(value)
    conn.executemany(
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
    return len(values)


def consumer_record(conn: Conn, consumer_id: str) -> dict[str, Any] | None:
    """The master row of one consumer, for the OTP flow only (who to send to). Not for display."""
    row = (
        conn.execute("SELECT * FROM consumers WHERE consumer_id = :cid", {"cid": consumer_id})
        .mappings()
        .first()
    )
    return dict(row) if row else None


def existing_consumer_ids(conn: Conn, consumer_ids: Iterable[str]) -> set[str]:
    """Which of ``consumer_ids`` are in the consumer master (for import validation)."""
    wanted = sorted({str(cid) for cid in consumer_ids})
    if not wanted:
        return set()
    rows = conn.execute(
        f"SELECT consumer_id FROM consumers WHERE consumer_id IN (SELECT j.value FROM {dialect.json_each(conn, ':ids')})",
        {"ids": json.dumps(wanted)},
    )
    return {row[0] for row in rows}


def consumer_rows(conn: Conn, consumer_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Master rows (``CONSUMER_COLUMNS``) of those of ``consumer_ids`` that exist, by consumer ID."""
    wanted = sorted({str(cid) for cid in consumer_ids})
    if not wanted:
        return {}
    rows = conn.execute(
        f"SELECT {', '.join(CONSUMER_COLUMNS)} FROM consumers "
        f"WHERE consumer_id IN (SELECT j.value FROM {dialect.json_each(conn, ':ids')})",
        {"ids": json.dumps(wanted)},
    ).mappings()
    return {row["consumer_id"]: {column: row[column] for column in CONSUMER_COLUMNS} for row in rows}


@raises_storage_error
def holds_real_data(conn: Conn) -> bool:
    """True when any consumer is not demo data (camp mode and ``seed-demo`` refuse such a database)."""
    row = conn.execute("SELECT 1 FROM consumers WHERE is_demo = 0 LIMIT 1").fetchone()
    return row is not None


@raises_storage_error
def has_consumers(conn: Conn) -> bool:
    """True when the consumer master holds any row (an empty database gets the demo on first start)."""
    return conn.execute("SELECT 1 FROM consumers LIMIT 1").fetchone() is not None


@raises_storage_error
def consumer_ids_by_meter_serial(conn: Conn, serials: Iterable[str]) -> dict[str, str]:
    """``{meter_serial: consumer_id}`` for those of ``serials`` in the consumer master (imports of files
    keyed by the meter's serial number, ``--id-kind meter-serial``). A serial held by two consumers is
    absent (ambiguous)."""
    wanted = sorted({str(serial) for serial in serials})
    if not wanted:
        return {}
    found: dict[str, list[str]] = {}
    for serial, cid in conn.execute(
        "SELECT meter_serial, consumer_id FROM consumers "
        f"WHERE meter_serial IN (SELECT j.value FROM {dialect.json_each(conn, ':serials')}) "
        "ORDER BY meter_serial, consumer_id",
        {"serials": json.dumps(wanted)},
    ):
        found.setdefault(serial, []).append(cid)
    return {serial: ids[0] for serial, ids in found.items() if len(ids) == 1}
