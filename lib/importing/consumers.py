"""Import the consumer master (``consumer_id,name,registered_mobile`` + optional columns)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from lib.importing import sources
from lib.importing.report import ImportReport, Rejects, RowError, RowProblem
from lib.importing.rules import consumer_row_problem
from lib.importing.sources import CsvSource, Progress
from lib.importing.write import import_csv
from lib.phone import normalise_mobile
from lib.text import plain_text

if TYPE_CHECKING:
    from lib.storage import Database

CONSUMER_OPTIONAL = ("tariff_category", "sanctioned_load_kw", "division", "meter_serial")
_REQUIRED = ("consumer_id", "name", "registered_mobile")


def import_consumers(
    conn: Database,
    path: str | Path,
    *,
    skip_invalid: bool = False,
    rejects_path: str | Path | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import the consumer master (``consumer_id,name,registered_mobile`` + optional columns).

    Mobiles in any common Indian form are stored as E.164; a changed mobile is recorded by
    ``storage.consumers.upsert_consumers`` (links made with the old number stop granting access).
    """
    return import_csv(
        conn,
        Path(path),
        "consumers",
        _REQUIRED,
        dict.fromkeys(CONSUMER_OPTIONAL),
        lambda source, report, rejects, at: _read_consumers(conn, source, report, rejects, at),
        skip_invalid=skip_invalid,
        rejects_path=rejects_path,
        progress=progress,
    )


def _read_consumers(
    conn: Database, source: CsvSource, report: ImportReport, rejects: Rejects, at: dict[str, int]
) -> None:
    seen: dict[str, int] = {}
    pending: list[dict[str, Any]] = []
    width = max(at.values()) + 1

    def flush() -> None:
        stored = conn.consumers.consumer_rows([row["consumer_id"] for row in pending])
        write = []
        for row in pending:
            before = stored.get(row["consumer_id"])
            if before is None:
                report.added += 1
            elif all(before[k] == row[k] for k in conn.consumers.CONSUMER_COLUMNS):
                report.unchanged += 1
                continue
            else:
                report.changed += 1
            write.append(row)
        conn.consumers.upsert_consumers(write)
        pending.clear()
        source.tick()

    for raw in source.rows():
        report.rows += 1
        line = source.line
        row = raw + [""] * (width - len(raw)) if len(raw) < width else raw
        values = {name: row[i].strip() for name, i in at.items()}
        problem = consumer_row_problem(values)
        if problem is None and values["consumer_id"] in seen:
            problem = ("consumer_id", RowProblem("duplicate_consumer", line=seen[values["consumer_id"]]))
        if problem is not None:
            column, reason = problem
            error = RowError.of(line, column, row[at[column]], reason)
            report.reject(error)
            rejects.add(error, raw)
            continue
        seen[values["consumer_id"]] = line
        record = {
            "consumer_id": values["consumer_id"],
            "name": plain_text(values["name"]) or values["consumer_id"],  # no NUL/ESC/RTL override
            "registered_mobile": normalise_mobile(values["registered_mobile"]),
            # Imported text is plain text: controls and bidi overrides out (lib.text), joiners kept.
            "tariff_category": plain_text(values.get("tariff_category")) or "DS-II",
            "sanctioned_load_kw": float(values["sanctioned_load_kw"])
            if values.get("sanctioned_load_kw")
            else 1.0,
            "division": plain_text(values.get("division")),
            "meter_serial": plain_text(values.get("meter_serial")),
            "is_demo": 0,
        }
        pending.append(record)
        if len(pending) >= sources.CHUNK_ROWS:
            flush()
    if pending:
        flush()
    report.consumers = sorted(seen)
    if report.added or report.changed:
        conn.meta.bump_data_version()
