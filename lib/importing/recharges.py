"""Import recharges (``consumer_id,timestamp,amount_inr`` + optional ``mode,reference``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from lib import storage
from lib.clock import now_utc
from lib.importing import sources
from lib.importing.report import ImportReport, Rejects, RowError, RowProblem
from lib.importing.rules import (
    MAX_RECHARGE_INR,
    consumer_id_ok,
    consumer_problem,
    parse_money,
    parse_timestamp,
    zone_for,
)
from lib.importing.sources import CsvSource, Progress, column_index
from lib.importing.write import all_or_nothing, finish

_REQUIRED = ("consumer_id", "timestamp", "amount_inr")


def import_recharges(
    conn: storage.Conn,
    path: str | Path,
    *,
    tz: str = "Asia/Kolkata",
    time_format: str | None = None,
    skip_invalid: bool = False,
    rejects_path: str | Path | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import recharges (``consumer_id,timestamp,amount_inr`` + optional ``mode,reference``).

    A recharge equal to a stored one (consumer, time, amount) is a no-op.
    """
    path = Path(path)
    zone = zone_for(tz)
    source = CsvSource(path, progress)
    report = ImportReport(path=path, kind="recharges")
    try:
        header = source.read_header(", ".join(_REQUIRED), _REQUIRED)
        at: dict[str, int] = {}
        for name in _REQUIRED:
            at[name] = column_index(header, name, path, delimiter=source.delimiter or ",")  # type: ignore[assignment]
        for name in ("mode", "reference"):
            found = column_index(header, name, path, required=False)
            if found is not None:
                at[name] = found
        all_or_nothing(
            conn,
            path,
            report,
            skip_invalid,
            rejects_path,
            source.header,
            lambda rejects: _read_recharges(conn, source, report, rejects, at, zone, time_format),
        )
    finally:
        source.close()
    return report


def _read_recharges(
    conn: storage.Conn,
    source: CsvSource,
    report: ImportReport,
    rejects: Rejects,
    at: dict[str, int],
    zone: ZoneInfo,
    time_format: str | None,
) -> None:
    now = now_utc()
    known: dict[str, bool] = {}
    seen: dict[tuple[str, str, float], int] = {}
    span: dict[str, list[str]] = {}
    pending: list[dict[str, Any]] = []
    width = max(at.values()) + 1

    def flush() -> None:
        added = storage.readings.insert_recharges(conn, pending)
        report.added += added
        report.unchanged += len(pending) - added
        pending.clear()
        source.tick()

    for raw in source.rows():
        report.rows += 1
        line = source.line
        row = raw + [""] * (width - len(raw)) if len(raw) < width else raw
        cid = row[at["consumer_id"]].strip()
        column, ts, amount = "", "", 0.0
        problem: RowProblem | None = None
        if cid not in known:
            known[cid] = consumer_id_ok(cid) and bool(storage.consumers.existing_consumer_ids(conn, [cid]))
        if not known[cid]:
            column = "consumer_id"
            problem = consumer_problem(cid)
        else:
            try:
                column = "timestamp"
                ts = parse_timestamp(row[at["timestamp"]], zone, time_format, now)
                column = "amount_inr"
                amount = parse_money(row[at["amount_inr"]])
                if not 0 < amount <= MAX_RECHARGE_INR:
                    raise RowProblem("bad_amount", limit=f"{MAX_RECHARGE_INR:,.0f}")
                for name, limit in (("mode", 40), ("reference", 80)):
                    column = name
                    if name in at and len(row[at[name]].strip()) > limit:
                        raise RowProblem("name_too_long", limit=limit)
                column = "timestamp"
                earlier = seen.get((cid, ts, amount))
                if earlier:
                    raise RowProblem("duplicate_recharge", line=earlier)
                column = ""
            except RowProblem as error:
                problem = error
        if problem is not None:
            error = RowError.of(line, column, row[at[column]] if column in at else "", problem)
            report.reject(error)
            rejects.add(error, raw)
            continue
        seen[(cid, ts, amount)] = line
        bounds = span.setdefault(cid, [ts, ts])
        bounds[0], bounds[1] = min(bounds[0], ts), max(bounds[1], ts)
        pending.append(
            {
                "consumer_id": cid,
                "ts": ts,
                "amount_inr": amount,
                "mode": (row[at["mode"]].strip() or None) if "mode" in at else None,
                "reference": (row[at["reference"]].strip() or None) if "reference" in at else None,
            }
        )
        if len(pending) >= sources.CHUNK_ROWS:
            flush()
    if pending:
        flush()
    report.consumers = sorted(span)
    finish(conn, report, {cid: (first, last) for cid, (first, last) in span.items()})
