"""The write path of every import: one transaction, strict or skip-invalid, through ``lib.storage``.

``all_or_nothing`` runs a reader inside ``storage.transaction``: a strict import with any bad row is
rolled back as a whole; with ``skip_invalid`` the good rows are committed and the bad ones go to the
rejects CSV. Any exception rolls back and discards the rejects file. ``finish_readings`` refreshes the
``daily`` roll-ups of the touched IST days and bumps ``data_version`` in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from lib.clock import IST, UTC
from lib.importing.report import ImportFailed, ImportReport, Rejects, default_rejects_path

if TYPE_CHECKING:
    from lib.storage import Database

Reading = tuple  # (consumer_id, ts, kwh, balance_inr[, export_kwh])


class _Rollback(Exception):
    """Raised inside the transaction to undo a strict import that found bad rows."""


def all_or_nothing(
    conn: Database,
    path: Path,
    report: ImportReport,
    skip_invalid: bool,
    rejects_path: str | Path | None,
    header: list[str],
    read: Callable[[Rejects], None],
) -> None:
    """Run ``read`` in one transaction: strict mode rolls the whole file back on any bad row.

    With ``skip_invalid`` the good rows are committed and the bad ones written to the rejects CSV
    (``FILE.rejects.csv`` unless ``rejects_path``). Any exception rolls back and discards the rejects file.
    """
    if rejects_path is None and skip_invalid:
        rejects_path = default_rejects_path(path)
    rejects = Rejects(Path(rejects_path) if rejects_path else None, header)
    try:
        with conn.transaction():
            read(rejects)
            if report.rows == 0:
                raise ImportFailed("header_only", path=path)
            if report.rejected and not skip_invalid:
                raise _Rollback
            report.committed = True
    except _Rollback:
        report.added = report.changed = report.unchanged = 0
    except BaseException:
        rejects.close(discard=True)
        raise
    rejects.close()
    report.rejects_path = rejects.path if rejects.written else None


def stored_conflicts(
    conn: Database, pending: list[Reading]
) -> Iterator[tuple[int, tuple[float, float | None, float | None]]]:
    """Indexes of ``pending`` readings whose stored reading differs, with the stored (kWh, balance, export)."""
    by_consumer: dict[str, list[int]] = {}
    for i, row in enumerate(pending):
        by_consumer.setdefault(row[0], []).append(i)
    for cid, indexes in by_consumer.items():
        first = min(pending[i][1] for i in indexes)
        last = max(pending[i][1] for i in indexes)
        stored = conn.readings.stored_readings(cid, first, last)
        for i in indexes:
            _, ts, kwh, balance, *rest = pending[i]
            export = rest[0] if rest else None
            have = stored.get(ts)
            if have is not None and (have[0] != kwh or have[1] != balance or have[2] != export):
                yield i, have


def ist_day(ts: str) -> str:
    """The IST calendar day of stored UTC text: ``ist_day("2026-11-24T18:30:00Z") == "2026-11-25"``."""
    return (
        dt.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).astimezone(IST).date().isoformat()
    )


def finish(conn: Database, report: ImportReport, spans: dict[str, tuple[str, str]]) -> None:
    """After rows were added: refresh the roll-ups of each consumer's touched days, bump data_version."""
    if report.added:
        for cid, (first, last) in sorted(spans.items()):
            conn.readings.refresh_daily(cid, ist_day(first), ist_day(last))
        conn.meta.bump_data_version()
