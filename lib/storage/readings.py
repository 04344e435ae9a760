"""Readings, recharges and the daily roll-ups: the write path of imports and the authorized reads."""

from __future__ import annotations

import datetime as dt
import itertools
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from lib.clock import IST, to_ts
from lib.frames import for_connections
from lib.storage import dialect
from lib.storage.accounts import ALLOWED as _ALLOWED
from lib.storage.engine import Conn, raises_storage_error
from lib.storage.meta import bump_data_version  # noqa: F401

# --- readings, recharges, daily roll-ups (writes) -----------------------------------------------


def refresh_daily(
    conn: Conn,
    consumer_id: str,
    first_day: dt.date | str | None = None,
    last_day: dt.date | str | None = None,
    known_days: Mapping[str, tuple[int, float | None]] | None = None,
) -> None:
    """Recompute the ``daily`` rows of one connection for IST days ``first_day..last_day`` (all days if None).

    Called inside the import/seed transaction, so a reader never sees readings without roll-ups:
    ``refresh_daily(conn, "101234567", "2026-11-01", "2026-11-24")``. A day with neither readings
    nor recharges gets no row; a day with recharges only has ``kwh`` NULL and 0 intervals. Besides
    energy, readings, largest reading, closing balance and recharges: ``export_kwh`` (NULL without an
    export channel), ``minutes`` covered and ``peak_kw``, from each reading's interval (``_DAY_TOTALS``).

    One aggregate per IST day over its primary-key range ``[00:00 IST, next 00:00 IST)`` (in UTC
    text), so SQLite never computes ``date()`` per reading nor sorts for a GROUP BY: about 3x faster
    than one GROUP BY over the whole range (``bench/bench_import.py``), with the same rows
    (``tests/test_store.py`` compares them with a plain GROUP BY reference query).

    ``known_days`` (an importer's own readings, ``lib.importing.write.day_grids``): IST day (ISO text) ->
    ``(n, step)``, n readings of this connection the caller knows are stored that day and, when they lie
    evenly spaced, the step between them in minutes (None when not, or n == 1). A day whose stored count
    is n holds exactly those readings, so its ``minutes`` and ``peak_kw`` follow from the step without the
    per-reading grid check in SQL (a million readings' roll-up: 2.2-2.5 s -> 0.8-0.9 s CPU, ``BENCHMARKS.md``
    run 7); any other day of the range goes through the per-reading query. Without ``known_days`` every day
    is checked in SQL as before. Both give the same rows (``tests/test_store.py``).
    """
    lo = str(first_day) if first_day else None
    hi = str(last_day) if last_day else None
    conn.execute(
        "DELETE FROM daily WHERE consumer_id = :cid AND day BETWEEN :lo AND :hi",
        {"cid": consumer_id, "lo": lo or "0000-01-01", "hi": hi or "9999-12-31"},
    )
    # Only days between this connection's first and last reading or recharge can have a row.
    found = conn.execute(
        f"""
        SELECT min(day), max(day) FROM (
            SELECT {dialect.ist_day(conn, "min(ts)")} AS day FROM readings WHERE consumer_id = :cid
            UNION ALL SELECT {dialect.ist_day(conn, "max(ts)")} FROM readings WHERE consumer_id = :cid
            UNION ALL SELECT {dialect.ist_day(conn, "min(ts)")} FROM recharges WHERE consumer_id = :cid
            UNION ALL SELECT {dialect.ist_day(conn, "max(ts)")} FROM recharges WHERE consumer_id = :cid
        ) AS ends""",
        {"cid": consumer_id},
    ).fetchone()
    if found[0] is None:
        return
    lo = max(lo or found[0], found[0])
    hi = min(hi or found[1], found[1])
    if lo > hi:
        return
    paid = dict(
        conn.execute(
            f"SELECT {dialect.ist_day(conn, 'ts')}, sum(amount_inr) FROM recharges "
            "WHERE consumer_id = :cid AND ts >= :lo AND ts < :hi AND kind != 'refund' GROUP BY 1",
            {"cid": consumer_id, "lo": _ist_day_start_ts(lo), "hi": _ist_day_start_ts(hi, plus_days=1)},
        ).fetchall()
    )
    if conn.dialect == "postgresql":
        _write_daily_postgresql(conn, consumer_id, lo, hi, paid)
        return
    first, last = dt.date.fromisoformat(lo), dt.date.fromisoformat(hi)
    days = [(first + dt.timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    if first.year >= 1946:  # 00:00 IST is 18:30 UTC the day before (each day's text made once)
        bounds = [f"{(first - _ONE_DAY).isoformat()}T18:30:00Z"] + [f"{day}T18:30:00Z" for day in days]
    else:
        bounds = [_ist_midnight_ts(first + dt.timedelta(days=i)) for i in range(len(days) + 1)]
    # SQLite: the driver directly, one IST day per primary-key range (see above).
    cursor = conn.raw.cursor()
    totals: dict[int, tuple[Any, ...]] = {}
    many_days, one_day = (
        (_MANY_DAY_TOTALS, _ONE_DAY_TOTALS) if known_days is None else (_MANY_DAY_SUMS, _ONE_DAY_SUMS)
    )
    at = 0
    while at < len(days):  # _DAYS_PER_QUERY days per statement while they last, then one by one
        many = len(days) - at >= _DAYS_PER_QUERY
        statement, count = (many_days, _DAYS_PER_QUERY) if many else (one_day, 1)
        for index, *values in cursor.execute(statement, (consumer_id, at, *bounds[at : at + count + 1])):
            totals[index] = tuple(values)
        at += count
    rows = []
    for index, day in enumerate(days):
        step: float | None = None
        if known_days is None:
            kwh, intervals, peak_kwh, closing, export, first_s, last_s, off_grid = totals[index]
            if intervals and intervals > 1 and not off_grid:
                step = (last_s - first_s) / (intervals - 1) / 60.0
        else:
            kwh, intervals, peak_kwh, closing, export = totals[index]
            known = known_days.get(day)
            if known is not None and known[0] == intervals:  # the stored readings are the known ones
                step = known[1]
        amount = paid.get(day)
        minutes = peak_kw = None
        if intervals == 1:
            minutes, peak_kw = 30.0, peak_kwh * 2.0
        elif intervals and step is not None:  # evenly spaced: every reading's interval is the one step
            minutes, peak_kw = intervals * step, peak_kwh * 60.0 / step
        elif intervals:
            minutes, peak_kw = cursor.execute(
                _DAY_BY_READING, (consumer_id, bounds[index], bounds[index + 1])
            ).fetchone()
        if intervals or amount is not None:
            rows.append(
                (consumer_id, day, kwh, intervals, peak_kwh, closing, amount or 0.0)
                + (export, minutes, None if peak_kw is None else round(peak_kw, 6))
            )
    conn.raw.executemany(_INSERT_DAILY.replace(":v", "?"), rows)


_INSERT_DAILY = (
    "INSERT INTO daily (consumer_id, day, kwh, intervals, peak_kwh, closing_balance_inr, recharge_inr, "
    "export_kwh, minutes, peak_kw) VALUES (:v, :v, :v, :v, :v, :v, :v, :v, :v, :v)"
)


def _write_daily_postgresql(
    conn: Conn, consumer_id: str, lo: str, hi: str, paid: Mapping[str, float]
) -> None:
    """``refresh_daily``'s rows on PostgreSQL: the day totals in one set-based statement, then the same row
    rules as SQLite (a lone reading covers 30 minutes; peak_kw rounded to 6 places in Python)."""
    totals = _day_totals_postgresql(
        conn, consumer_id, _ist_day_start_ts(lo), _ist_day_start_ts(hi, plus_days=1)
    )
    rows = []
    for day in sorted(set(totals) | {d for d in paid if lo <= d <= hi}):
        kwh, intervals, peak_kwh, closing, export, minutes, peak_kw = totals.get(
            day, (None, 0, None, None, None, None, None)
        )
        amount = paid.get(day)
        rows.append(
            {
                "consumer_id": consumer_id,
                "day": day,
                "kwh": kwh,
                "intervals": intervals,
                "peak_kwh": peak_kwh,
                "closing_balance_inr": closing,
                "recharge_inr": amount or 0.0,
                "export_kwh": export,
                "minutes": minutes,
                "peak_kw": None if peak_kw is None else round(peak_kw, 6),
            }
        )
    if rows:
        columns = list(rows[0])
        conn.executemany(
            f"INSERT INTO daily ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})", rows
        )


_ONE_DAY = dt.timedelta(days=1)


def _ist_midnight_ts(day: dt.date) -> str:
    """Stored UTC text of 00:00 IST on ``day``: ``_ist_midnight_ts(dt.date(2026, 1, 1)) == '2025-12-31T18:30:00Z'``.

    India has kept +05:30 since October 1945; earlier days go through the zone database.
    """
    if day.year >= 1946:
        return f"{(day - _ONE_DAY).isoformat()}T18:30:00Z"
    return to_ts(dt.datetime.combine(day, dt.time(), tzinfo=IST))


# One IST day of one connection (?1), day number ?2 + i, from ?(3+i) to ?(4+i): energy, readings,
# largest interval, last metered balance, export energy, and whether the day's readings lie on one even
# grid: the first and last timestamp (Unix s) and the count of readings off the grid that n readings
# from the first to the last would fill (0: every reading is one interval after the one before). Several
# days go in one statement (fewer round trips).
_DAY_TOTALS = """
SELECT ?2 + {i}, sum(kwh), count(*), max(kwh),
       (SELECT balance_inr FROM readings
        WHERE consumer_id = ?1 AND ts >= ?{start} AND ts < ?{end} AND balance_inr IS NOT NULL
        ORDER BY ts DESC LIMIT 1),
       sum(export_kwh), min(e0), min(e1), sum(({epoch} - e0) * (n - 1) % (e1 - e0) != 0)
FROM readings, (SELECT {first} AS e0, {last} AS e1, count(*) AS n FROM readings
                WHERE consumer_id = ?1 AND ts >= ?{start} AND ts < ?{end})
WHERE consumer_id = ?1 AND ts >= ?{start} AND ts < ?{end}"""

# A day whose readings are not on one even grid (a change of capture period, missing readings): each
# reading's interval (minutes) is the gap to the next reading of the day (readings are stamped at their
# interval's start); the day's last reading takes the gap before it, a lone reading 30 minutes; a gap
# longer than both neighbouring gaps is missing data, not a long interval: it takes the longer
# neighbour's. The rule of ``lib.quality.reading_minutes`` (tests/test_store.py compares the two).
# Window functions cost about 2 us a row in SQLite, so only such days go through this query.
_DAY_BY_READING = """
SELECT sum(m), max(kwh * 60.0 / m)
FROM (SELECT kwh,
             CASE WHEN g IS NULL THEN coalesce(b, 30.0)
                  WHEN (b IS NOT NULL OR a IS NOT NULL) AND (b IS NULL OR g > b) AND (a IS NULL OR g > a)
                  THEN max(coalesce(b, a), coalesce(a, b))
                  ELSE g END AS m
      FROM (SELECT kwh, (t1 - t0) / 60.0 AS g, (t0 - tb) / 60.0 AS b,
                   coalesce((t2 - t1) / 60.0, (t1 - t0) / 60.0) AS a
            FROM (SELECT kwh, {epoch} AS t0, {lead1} AS t1, {lead2} AS t2, {lag1} AS tb
                  FROM readings WHERE consumer_id = ? AND ts >= ? AND ts < ?
                  WINDOW w AS (ORDER BY ts))))"""
_EPOCH = dialect.epoch_seconds(
    type("Sqlite", (), {"dialect": "sqlite"}), "{}"
)  # these statements are SQLite's
_DAY_TOTALS = _DAY_TOTALS.replace("{epoch}", _EPOCH.format("ts"))
_DAY_TOTALS = _DAY_TOTALS.replace("{first}", _EPOCH.format("min(ts)")).replace(
    "{last}", _EPOCH.format("max(ts)")
)
_DAY_BY_READING = _DAY_BY_READING.format(
    epoch=_EPOCH.format("ts"),
    lead1=_EPOCH.format("lead(ts, 1) OVER w"),
    lead2=_EPOCH.format("lead(ts, 2) OVER w"),
    lag1=_EPOCH.format("lag(ts, 1) OVER w"),
)
_DAYS_PER_QUERY = 16
_ONE_DAY_TOTALS = _DAY_TOTALS.format(i=0, start=3, end=4)
_MANY_DAY_TOTALS = "\nUNION ALL".join(
    _DAY_TOTALS.format(i=i, start=3 + i, end=4 + i) for i in range(_DAYS_PER_QUERY)
)
# The same day totals without the grid check (``known_days``: the caller knows each day's spacing).
_DAY_SUMS = """
SELECT ?2 + {i}, sum(kwh), count(*), max(kwh),
       (SELECT balance_inr FROM readings
        WHERE consumer_id = ?1 AND ts >= ?{start} AND ts < ?{end} AND balance_inr IS NOT NULL
        ORDER BY ts DESC LIMIT 1),
       sum(export_kwh)
FROM readings
WHERE consumer_id = ?1 AND ts >= ?{start} AND ts < ?{end}"""
_ONE_DAY_SUMS = _DAY_SUMS.format(i=0, start=3, end=4)
_MANY_DAY_SUMS = "\nUNION ALL".join(
    _DAY_SUMS.format(i=i, start=3 + i, end=4 + i) for i in range(_DAYS_PER_QUERY)
)


def _ist_day_start_ts(day: str, plus_days: int = 0) -> str:
    if day.startswith("0000"):
        return dialect.TS_MIN
    if day.startswith("9999"):
        return dialect.TS_MAX
    start = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), tzinfo=IST)
    return to_ts(start + dt.timedelta(days=plus_days))


RECHARGE_KINDS = ("recharge", "reversal", "refund")


def insert_recharges(conn: Conn, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert recharges that are not stored yet; returns rows added (no transaction of its own).

    Each row: consumer_id, ts (UTC text), amount_inr, and optional mode, reference, kind (one of
    ``RECHARGE_KINDS``, default ``recharge``), status. Identity (migration 0005): a row with a
    ``reference`` is the stored one with the same consumer, reference and kind, whatever its time (a
    second source stamps the credit, not the payment, or adds seconds); a row without one is the stored
    one with the same consumer, time, amount and kind (with or without a reference).
    """
    with_reference: list[dict[str, Any]] = []
    without: list[dict[str, Any]] = []
    for row in rows:
        full = {"mode": None, "reference": None, "kind": "recharge", "status": None, **row}
        reference = full["reference"]
        full["reference"] = str(reference).strip() or None if reference is not None else None
        (with_reference if full["reference"] else without).append(full)
    columns = "consumer_id, ts, amount_inr, mode, reference, kind, status"
    values = ":consumer_id, :ts, :amount_inr, :mode, :reference, :kind, :status"
    added = 0
    for row in with_reference:  # one statement per row: its rowcount says whether it was new
        added += conn.execute(
            f"INSERT INTO recharges ({columns}) VALUES ({values}) "
            "ON CONFLICT (consumer_id, reference, kind) WHERE reference IS NOT NULL DO NOTHING",
            row,
        ).rowcount
    for row in without:
        added += conn.execute(
            f"INSERT INTO recharges ({columns}) SELECT {values} WHERE NOT EXISTS ("
            "SELECT 1 FROM recharges WHERE consumer_id = :consumer_id AND ts = :ts "
            "AND amount_inr = :amount_inr AND kind = :kind)",
            row,
        ).rowcount
    return added


def stored_recharge_references(conn: Conn, consumer_id: str, kind: str = "recharge") -> set[str]:
    """References of one connection's stored recharges of ``kind`` (to tell a reversal from a refund)."""
    return {
        row[0]
        for row in conn.execute(
            "SELECT reference FROM recharges WHERE consumer_id = :cid AND kind = :kind AND reference IS NOT NULL",
            {"cid": consumer_id, "kind": kind},
        )
    }


@raises_storage_error
def insert_readings(conn: Conn, rows: Iterable[tuple[Any, ...]], *, fill_export: bool = False) -> int:
    """Bulk-insert ``(consumer_id, ts, kwh, balance_inr)`` tuples, or ``(..., export_kwh)`` 5-tuples from
    a net-metered file (``kwh`` the energy drawn from the grid, ``export_kwh`` the energy sent to it, kWh,
    None when the meter has no export channel); a stored reading with the same ``(consumer_id, ts)`` is
    left untouched. Returns rows added (no transaction of its own).

    ``fill_export`` (5-tuples of an export-only channel, e.g. a Green Button flowDirection 19 file whose
    ``kwh`` is 0 because that file does not say it): a stored reading without ``export_kwh`` gets the row's
    ``export_kwh`` and keeps its own ``kwh`` and balance (the import channel of the same meter, imported
    from another file); each such fill counts as a row added. A stored ``export_kwh`` is never replaced.
    Raises ``ValueError`` for ``fill_export`` with 4-tuples, ``StorageError`` when the database refuses
    the rows (e.g. a consumer it does not know: the foreign key to ``consumers``).

    The importer compares the count with the rows given to find conflicts with stored readings.
    A plain INSERT is tried first under a savepoint (about 20% faster than the upsert when nothing
    conflicts, the usual case); on a conflict it is undone and the rows go through the upsert.
    """
    rows = rows if isinstance(rows, Sequence) else list(rows)
    if not rows:
        return 0
    if fill_export and len(rows[0]) != 5:
        raise ValueError("fill_export needs (consumer_id, ts, kwh, balance_inr, export_kwh) rows")
    on_conflict = (
        "DO UPDATE SET export_kwh = excluded.export_kwh WHERE readings.export_kwh IS NULL"
        if fill_export
        else "DO NOTHING"
    )
    if conn.dialect == "postgresql":
        if not conn.in_transaction:  # the staging rows live until COMMIT: give the COPY one
            from lib.storage.engine import transaction

            with transaction(conn):
                return _insert_readings_postgresql(conn, rows, on_conflict)
        return _insert_readings_postgresql(conn, rows, on_conflict)
    # SQLite: the driver's own executemany (the fast path of imports).
    raw = conn.raw
    columns = "consumer_id, ts, kwh, balance_inr" + (", export_kwh" if len(rows[0]) == 5 else "")
    values = ", ".join("?" * (5 if len(rows[0]) == 5 else 4))
    before = raw.total_changes
    raw.execute("SAVEPOINT insert_readings")
    try:
        raw.executemany(f"INSERT INTO readings ({columns}) VALUES ({values})", rows)
    except sqlite3.IntegrityError:
        raw.execute("ROLLBACK TO insert_readings")
        before = raw.total_changes  # the rows undone were counted when inserted
        raw.executemany(
            f"INSERT INTO readings ({columns}) VALUES ({values}) ON CONFLICT (consumer_id, ts) {on_conflict}",
            rows,
        )
    finally:
        raw.execute("RELEASE insert_readings")
    return int(raw.total_changes - before)


def register_state(conn: Conn, consumer_id: str) -> tuple[str, float] | None:
    """The last register reading imported for one consumer: ``(stored UTC ts, register kWh)``, or None."""
    row = conn.execute(
        "SELECT ts, kwh FROM register_state WHERE consumer_id = :cid", {"cid": consumer_id}
    ).fetchone()
    return None if row is None else (row[0], row[1])


def save_register_states(conn: Conn, rows: Iterable[tuple[str, str, float]]) -> None:
    """Keep ``(consumer_id, ts, register kWh)`` as each consumer's last register reading, unless a later one
    (by ts) is stored already: an older file imported afterwards does not move the baseline back."""
    conn.executemany(
        "INSERT INTO register_state (consumer_id, ts, kwh) VALUES (:cid, :ts, :kwh) "
        "ON CONFLICT (consumer_id) DO UPDATE SET ts = excluded.ts, kwh = excluded.kwh "
        "WHERE excluded.ts > register_state.ts",
        [{"cid": cid, "ts": ts, "kwh": kwh} for cid, ts, kwh in rows],
    )


def stored_readings(
    conn: Conn, consumer_id: str, first_ts: str, last_ts: str
) -> dict[str, tuple[float, float | None, float | None]]:
    """Stored readings of one consumer in ``[first_ts, last_ts]``: ``{ts: (kwh, balance_inr, export_kwh)}``
    (imports compare them with the file's rows to find conflicts)."""
    return {
        ts: (kwh, balance, export)
        for ts, kwh, balance, export in conn.execute(
            f"SELECT {dialect.ts_text(conn, 'ts')}, kwh, balance_inr, export_kwh FROM readings "
            "WHERE consumer_id = :cid AND ts BETWEEN :lo AND :hi",
            {"cid": consumer_id, "lo": first_ts, "hi": last_ts},
        )
    }


def rises_throughout(conn: Conn, consumer_id: str, first_ts: str, last_ts: str) -> bool:
    """True when one consumer's stored kWh in ``[first_ts, last_ts]`` never fall from one reading to the
    next and rise overall, over at least three readings: cumulative register values, not interval energy
    (the importer's plausibility check names that cause)."""
    row = conn.execute(
        "SELECT count(*), sum(CASE WHEN kwh < before THEN 1 ELSE 0 END), "
        "CASE WHEN max(kwh) > min(kwh) THEN 1 ELSE 0 END FROM ("
        "SELECT kwh, lag(kwh) OVER (ORDER BY ts) AS before FROM readings "
        "WHERE consumer_id = :cid AND ts BETWEEN :lo AND :hi) AS steps",
        {"cid": consumer_id, "lo": first_ts, "hi": last_ts},
    ).fetchone()
    return bool(row[0] >= 3 and not row[1] and row[2])


# --- reads (authorized) -----------------------------------------------------------------------


@raises_storage_error
def daily_frame(
    conn: Conn,
    account_id: int,
    consumer_ids: Sequence[str] | None = None,
    first_day: dt.date | str | None = None,
    last_day: dt.date | str | None = None,
) -> pd.DataFrame:
    """Daily roll-ups of the account's linked connections (optionally only ``consumer_ids``).

    Columns: consumer_id, nickname, day (datetime64, IST date), kwh (energy drawn from the grid),
    intervals, peak_kwh, closing_balance_inr, recharge_inr, export_kwh (energy sent to the grid by a
    net-metered connection, NaN where the meter has no export channel), minutes (of the day the readings
    cover: 1440 = complete), peak_kw (the day's largest reading over its own interval, kW): float64,
    NaN where unknown, whatever rows were read (intervals int64). Unlinked or unknown IDs are silently
    absent.
    """
    params: dict[str, Any] = {
        "account_id": account_id,
        "lo": str(first_day) if first_day else "0000-01-01",
        "hi": str(last_day) if last_day else "9999-12-31",
    }
    where = ""
    if consumer_ids is not None:
        keys = [f"c{i}" for i in range(len(consumer_ids))]
        params.update(dict(zip(keys, consumer_ids, strict=True)))
        where = f"AND d.consumer_id IN ({','.join(':' + k for k in keys) or 'NULL'})"
    frame = conn.frame(
        f"""
        WITH {_ALLOWED}
        SELECT d.consumer_id, a.nickname, d.day, d.kwh, d.intervals, d.peak_kwh,
               d.closing_balance_inr, d.recharge_inr, d.export_kwh, d.minutes, d.peak_kw
        FROM daily d JOIN allowed a ON a.consumer_id = d.consumer_id
        WHERE d.day BETWEEN :lo AND :hi {where}
        ORDER BY d.consumer_id, d.day
        """,
        params,
    )
    for column, dtype in _DAILY_DTYPES.items():  # only the odd column: read_sql's dtype= costs ~4 ms a read
        if frame[column].dtype != dtype:
            frame[column] = frame[column].astype(dtype)
    frame["day"] = pd.to_datetime(frame["day"])
    return frame


# daily_frame's numbers as float64 (intervals int64) whatever the rows hold: read by pandas alone, a column
# whose rows are all NULL came out as object (None), so a connection's frame and a household's put
# together from several changed dtype with the days read (issue 15: a period cut from a longer read is the
# period read on its own, tests/test_compare_year.py).
_DAILY_DTYPES: dict[str, Any] = {
    "kwh": "float64",
    "intervals": "int64",
    "peak_kwh": "float64",
    "closing_balance_inr": "float64",
    "recharge_inr": "float64",
    "export_kwh": "float64",
    "minutes": "float64",
    "peak_kw": "float64",
}


@raises_storage_error
def readings_frame(
    conn: Conn,
    account_id: int,
    consumer_id: str,
    start_ts: str | None = None,
    end_ts: str | None = None,
) -> pd.DataFrame:
    """Raw readings of one linked connection in [start_ts, end_ts) with ``ts`` as UTC datetimes.

    Empty when the account has no active link to ``consumer_id``. Columns: consumer_id, ts
    (``datetime64[us, UTC]``), kwh, balance_inr (NaN where the meter gave none).

    PostgreSQL reads through psycopg's own binary cursor (``_readings_frame_postgresql``): no SQLAlchemy
    row objects, the ``timestamptz`` as float seconds (no text parsed), about 1.1-1.3x a bare indexed
    SELECT for a year of half hours (``BENCHMARKS.md`` section 5).
    """
    if conn.dialect == "postgresql":
        return _readings_frame_postgresql(conn, account_id, consumer_id, start_ts, end_ts)
    # Plain tuples of numbers, built into columns with numpy: a year of half hours is 17,520 rows, and
    # this is ~2-3x faster than read_sql_query + to_datetime on text (bench/bench_query.py).
    rows = conn.execute(
        f"""
        WITH {_ALLOWED}
        SELECT {dialect.epoch_seconds(conn, "r.ts")}, r.kwh, CASE WHEN r.balance_inr IS NULL THEN 1 ELSE 0 END,
               coalesce(r.balance_inr, 0)
        FROM readings r
        -- the link is checked once (a scalar subquery: NULL, so no rows, when not allowed)
        WHERE r.consumer_id = (SELECT consumer_id FROM allowed WHERE consumer_id = :consumer_id)
          AND r.ts >= :lo AND r.ts < :hi
        ORDER BY r.ts
        """,
        {
            "account_id": account_id,
            "consumer_id": consumer_id,
            "lo": start_ts or dialect.TS_MIN,
            "hi": end_ts or dialect.TS_MAX,
        },
    ).fetchall()
    return _frame_from_rows(consumer_id, rows)


def _frame_from_rows(consumer_id: str, rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """``readings_frame``'s columns from rows ``(epoch s, kwh, 1 if balance is NULL else 0, balance or 0)``."""
    flat = itertools.chain.from_iterable(rows)
    values = np.fromiter(flat, dtype=np.float64, count=4 * len(rows)).reshape(-1, 4)
    return pd.DataFrame(
        {
            "consumer_id": pd.Series(consumer_id, index=pd.RangeIndex(len(rows)), dtype="str"),
            "ts": pd.to_datetime(values[:, 0].astype(np.int64), unit="s", utc=True).as_unit("us"),
            "kwh": values[:, 1],
            "balance_inr": np.where(values[:, 2] == 1.0, np.nan, values[:, 3]),
        }
    )


# The same statement as SQLite's, for psycopg's own cursor: ``date_part`` gives float8 seconds straight from
# the timestamptz (``extract`` would give numeric), all four columns float8, so the binary rows are plain
# floats. The link is checked once, as on SQLite.
_READINGS_FRAME_POSTGRESQL = (
    f"WITH {_ALLOWED} "
    """
    SELECT date_part('epoch', r.ts), r.kwh, CASE WHEN r.balance_inr IS NULL THEN 1.0::float8 ELSE 0.0::float8 END,
           coalesce(r.balance_inr, 0.0::float8)
    FROM readings r
    WHERE r.consumer_id = (SELECT consumer_id FROM allowed WHERE consumer_id = %(consumer_id)s)
      AND r.ts >= %(lo)s::timestamptz AND r.ts < %(hi)s::timestamptz
    ORDER BY r.ts
    """
).replace(":account_id", "%(account_id)s")


def _readings_frame_postgresql(
    conn: Conn, account_id: int, consumer_id: str, start_ts: str | None, end_ts: str | None
) -> pd.DataFrame:
    """``readings_frame`` on PostgreSQL through psycopg's binary cursor (see there); the driver's errors
    leave as ``StorageError`` through ``readings_frame``'s decorator."""
    params = {
        "account_id": account_id,
        "consumer_id": consumer_id,
        "lo": start_ts or dialect.TS_MIN,
        "hi": end_ts or dialect.TS_MAX,
    }
    with conn.raw.cursor(binary=True) as cursor:
        rows = cursor.execute(_READINGS_FRAME_POSTGRESQL, params).fetchall()
    return _frame_from_rows(consumer_id, rows)


@raises_storage_error
def recharges_frame(
    conn: Conn,
    account_id: int,
    consumer_ids: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Recharges of the account's linked connections, newest last; ``ts`` as UTC datetimes.

    Columns: consumer_id, nickname, ts, amount_inr, mode, reference, kind (``recharge``; ``reversal``:
    taken back from the balance, negative; ``refund``: returned to the payer, negative, never on the
    balance), status (as the source file wrote it, or None).
    """
    frame = conn.frame(
        f"""
        WITH {_ALLOWED}
        SELECT r.consumer_id, a.nickname, r.ts, r.amount_inr, r.mode, r.reference, r.kind, r.status
        FROM recharges r JOIN allowed a ON a.consumer_id = r.consumer_id
        ORDER BY r.ts
        """,
        {"account_id": account_id},
    )
    if consumer_ids is not None:
        frame = for_connections(frame, consumer_ids)
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame


def daily_export_rows(
    conn: Conn,
    consumer_id: str,
    first_day: str | None = None,
    last_day: str | None = None,
) -> list[dict[str, Any]]:
    """Operator export (CLI, no account): one row per IST day with readings or recharges
    (date, consumer_id, kwh, closing_balance_inr, recharge_inr, export_kwh)."""
    rows = conn.execute(
        "SELECT day AS date, consumer_id, kwh, closing_balance_inr, recharge_inr, export_kwh FROM daily "
        "WHERE consumer_id = :cid AND day BETWEEN :lo AND :hi ORDER BY day",
        {"cid": consumer_id, "lo": first_day or "0000-01-01", "hi": last_day or "9999-12-31"},
    )
    return [dict(row) for row in rows.mappings()]


# --- PostgreSQL: the bulk load, the roll-up and the monthly partitions (issue 12) -------------------

_READING_COLUMNS = ("consumer_id", "ts", "kwh", "balance_inr", "export_kwh")


def _insert_readings_postgresql(
    conn: Conn, rows: Sequence[tuple[Any, ...]], on_conflict: str = "DO NOTHING"
) -> int:
    """``insert_readings`` on PostgreSQL, in the caller's transaction: ``COPY`` straight into ``readings``
    under a savepoint; when a row is stored already (a unique violation) the savepoint is undone and the rows
    go through a temporary staging table and one set-based insert that skips readings already stored ("the
    stored value wins"), as SQLite's plain INSERT falls back to its upsert.

    The direct COPY costs what a bare COPY does; the staging path about 1.3-1.5x that (the second write and
    the sort of the set-based insert, ``BENCHMARKS.md``, "PostgreSQL"). COPY loads about 10x faster than
    ``executemany``; the staging table lives for the session and is emptied at each commit.
    """
    import psycopg

    width = len(rows[0])
    columns = ", ".join(_READING_COLUMNS[:width])
    conn.execute("SAVEPOINT insert_readings")
    try:
        with conn.raw.cursor() as cursor, cursor.copy(f"COPY readings ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    except psycopg.errors.UniqueViolation:
        conn.execute("ROLLBACK TO SAVEPOINT insert_readings")
    else:
        conn.execute("RELEASE SAVEPOINT insert_readings")
        return len(rows)
    conn.execute("RELEASE SAVEPOINT insert_readings")
    conn.execute(
        "CREATE TEMPORARY TABLE IF NOT EXISTS readings_staging_tz "
        "(consumer_id TEXT, ts TIMESTAMPTZ, kwh DOUBLE PRECISION, balance_inr DOUBLE PRECISION, "
        "export_kwh DOUBLE PRECISION) ON COMMIT DELETE ROWS"
    )
    conn.execute("TRUNCATE readings_staging_tz")
    with conn.raw.cursor() as cursor, cursor.copy(f"COPY readings_staging_tz ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    result = conn.execute(
        f"INSERT INTO readings ({columns}) SELECT DISTINCT ON (consumer_id, ts) {columns} FROM readings_staging_tz "
        f"ORDER BY consumer_id, ts ON CONFLICT (consumer_id, ts) {on_conflict}"
    )
    return int(result.rowcount)


def _day_totals_postgresql(
    conn: Conn, consumer_id: str, lo_ts: str, hi_ts: str
) -> dict[str, tuple[Any, ...]]:
    """Per IST day in ``[lo_ts, hi_ts)``: ``(kwh, intervals, peak_kwh, closing_balance_inr, export_kwh, minutes,
    peak_kw)`` in one statement, each reading's interval by the rule of ``_DAY_BY_READING`` (window functions
    over the day's readings; PostgreSQL runs them set-based, so no even-grid shortcut is needed).

    Each stored text is parsed once (the ``OFFSET 0`` subquery keeps the planner from inlining the cast into
    every use), the day is a ``date`` (text only once per day), and times are ``double precision`` seconds:
    ``extract(epoch …)`` gives ``numeric``, whose arithmetic in the window made this 2.5x slower
    (``BENCHMARKS.md``, "PostgreSQL"). Seconds order the readings as the stored text does.
    """
    rows = conn.execute(
        """
        WITH r AS (
            SELECT kwh, balance_inr, export_kwh, (tz AT TIME ZONE 'Asia/Kolkata')::date AS day,
                   extract(epoch FROM tz)::double precision AS t0
            FROM (SELECT kwh, balance_inr, export_kwh, ts::timestamptz AS tz
                  FROM readings WHERE consumer_id = :cid AND ts >= :lo AND ts < :hi OFFSET 0) AS p),
        w AS (
            SELECT day, t0, kwh, balance_inr, export_kwh,
                   (lead(t0, 1) OVER d - t0) / 60.0 AS g, (t0 - lag(t0, 1) OVER d) / 60.0 AS b,
                   coalesce((lead(t0, 2) OVER d - lead(t0, 1) OVER d) / 60.0, (lead(t0, 1) OVER d - t0) / 60.0) AS a
            FROM r WINDOW d AS (PARTITION BY day ORDER BY t0)),
        m AS (
            SELECT day, t0, kwh, balance_inr, export_kwh,
                   CASE WHEN g IS NULL THEN coalesce(b, 30.0)
                        WHEN (b IS NOT NULL OR a IS NOT NULL) AND (b IS NULL OR g > b) AND (a IS NULL OR g > a)
                        THEN greatest(coalesce(b, a), coalesce(a, b))
                        ELSE g END AS m
            FROM w)
        SELECT to_char(day, 'YYYY-MM-DD'), sum(kwh), count(*), max(kwh),
               (array_agg(balance_inr ORDER BY t0 DESC) FILTER (WHERE balance_inr IS NOT NULL))[1],
               sum(export_kwh), sum(m), max(kwh * 60.0 / m)
        FROM m GROUP BY day
        """,
        {"cid": consumer_id, "lo": lo_ts, "hi": hi_ts},
    )
    return {
        row[0]: (row[1], int(row[2]), row[3], row[4], row[5], float(row[6]), float(row[7])) for row in rows
    }


def ensure_months(conn: Conn, first_ts: str, last_ts: str) -> list[str]:
    """Create the monthly ``readings`` partitions from ``first_ts``'s month to ``last_ts``'s (PostgreSQL;
    nothing on SQLite) in a short transaction of its own; returns the partitions made.

    Making a partition locks the parent table until commit, so imports never do it inside their own
    transaction: ``storage.migrate`` makes the months around today, the demo seed its year, and an
    operator loading older data first runs ``python -m lib.cli migrate --reading-months-from YYYY-MM``.
    A reading of a month without a partition goes to the default partition (right, only less tidy); a
    month whose readings already sit there keeps them there (a partition cannot be made over them).

    >>> _month_starts("2026-11-30T18:30:00Z", "2027-01-02T00:00:00Z")
    ['2026-11-01', '2026-12-01', '2027-01-01', '2027-02-01']
    """
    if conn.dialect != "postgresql":
        return []
    from lib.storage.engine import transaction

    starts = _month_starts(first_ts, last_ts)
    made: list[str] = []
    with transaction(conn):
        dialect.lock(conn, "readings partitions")
        have = set(_partitions(conn))
        for lo, hi in itertools.pairwise(starts):
            name = f"readings_{lo[:4]}_{lo[5:7]}"
            if name in have:
                continue
            bounds = {
                "lo": f"{lo}T00:00:00Z",
                "hi": f"{hi}T00:00:00Z",
            }  # UTC months, whatever the session's zone
            taken = conn.execute(
                "SELECT 1 FROM readings_default WHERE ts >= :lo AND ts < :hi LIMIT 1", bounds
            ).fetchone()
            if taken:
                continue
            conn.execute(
                f"CREATE TABLE {name} PARTITION OF readings "
                f"FOR VALUES FROM ('{bounds['lo']}') TO ('{bounds['hi']}')"
            )
            made.append(name)
    return made


def _partitions(conn: Conn) -> list[str]:
    """The monthly partitions of ``readings`` in the current schema (``readings_YYYY_MM``), oldest first."""
    return [
        row[0]
        for row in conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace "
            "WHERE p.relname = 'readings' AND n.nspname = current_schema() "
            "AND c.relname ~ '^readings_[0-9]{4}_[0-9]{2}$' ORDER BY 1"
        )
    ]


def _month_starts(first_ts: str, last_ts: str) -> list[str]:
    """The first days of every month from ``first_ts``'s to the one after ``last_ts``'s (UTC text, ``YYYY-MM-DD``)."""
    year, month = int(first_ts[:4]), int(first_ts[5:7])
    end = (int(last_ts[:4]), int(last_ts[5:7]))
    starts = []
    while (year, month) <= end:
        starts.append(f"{year:04d}-{month:02d}-01")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    starts.append(f"{year:04d}-{month:02d}-01")
    return starts


@raises_storage_error
def count_readings_before(conn: Conn, cutoff_day: str) -> int:
    """How many raw readings are stamped before ``cutoff_day`` (UTC date ``YYYY-MM-DD``)."""
    return int(
        conn.execute(
            "SELECT count(*) FROM readings WHERE ts < :cutoff", {"cutoff": f"{cutoff_day}T00:00:00Z"}
        ).scalar()
        or 0
    )


@raises_storage_error
def drop_readings_before(conn: Conn, cutoff_day: str) -> int:
    """Retention: delete raw readings stamped before ``cutoff_day`` (UTC date ``YYYY-MM-DD``); the ``daily``
    roll-ups stay, so charts, the ledger and exports of those days are unchanged. Returns readings removed.

    PostgreSQL drops whole monthly partitions that end on or before the cutoff (no row-by-row delete, no
    bloat) and deletes the rest row by row; SQLite deletes rows. Run inside ``transaction(conn)``.
    """
    removed = 0
    if conn.dialect == "postgresql":
        for name in _partitions(conn):
            year, month = int(name[9:13]), int(name[14:16])
            end = f"{year + (month == 12):04d}-{month % 12 + 1:02d}-01"
            if end <= cutoff_day:
                removed += int(conn.execute(f"SELECT count(*) FROM {name}").scalar() or 0)
                conn.execute(f"DROP TABLE {name}")
    result = conn.execute("DELETE FROM readings WHERE ts < :cutoff", {"cutoff": f"{cutoff_day}T00:00:00Z"})
    return removed + int(result.rowcount)
