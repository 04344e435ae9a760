"""The write path of every import: one transaction, strict or skip-invalid, through ``lib.storage``.

``all_or_nothing`` runs a reader inside ``storage.transaction``: a strict import with any bad row is
rolled back as a whole; with ``skip_invalid`` the good rows are committed and the bad ones go to the
rejects CSV. Any exception rolls back and discards the rejects file. The readings pipeline refreshes the
``daily`` roll-ups of the touched IST days and bumps ``data_version`` in the same transaction.

Readings on SQLite are staged (issue 13 item 11, ``lib.storage.staging``): the file is read, checked and
written into a private staging database *outside* the main database's write lock, and only the move into
``readings`` (conflicts decided against the rows stored at that moment), the roll-ups and the COMMIT run
under it, so sign-ins and links beside a long import wait for seconds, not for the whole file
(``bench/bench_import.py --lock-only``). :class:`ReadingWriter` is where a chunk of readings goes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING, overload

import numpy as np

from lib.clock import IST, UTC
from lib.importing.report import ImportFailed, ImportReport, Rejects, default_rejects_path
from lib.importing.sources import CsvSource, Progress, column_indexes

if TYPE_CHECKING:
    from lib.storage import Database

Reading = tuple  # (consumer_id, ts, kwh, balance_inr[, export_kwh])


class _Rollback(Exception):
    """Raised inside the transaction to undo a strict import that found bad rows."""


def import_csv(
    conn: Database,
    path: Path,
    kind: str,
    required: Sequence[str],
    optional: Mapping[str, str | None],
    read: Callable[[CsvSource, ImportReport, Rejects, dict[str, int]], None],
    *,
    skip_invalid: bool,
    rejects_path: str | Path | None,
    progress: Progress | None,
) -> ImportReport:
    """A plain CSV import (consumers, recharges): open ``path``, find its header by the ``required``
    columns, locate them and the ``optional`` ones (:func:`lib.importing.sources.column_indexes`), then
    ``read(source, report, rejects, at)`` the rows under :func:`all_or_nothing`; the file is closed
    whatever happens. Returns the :class:`ImportReport` of ``kind``; raises ``ImportFailed`` (nothing
    written) when the file or its header cannot be used, ``storage.StorageError`` when the database fails.
    """
    source = CsvSource(path, progress)
    report = ImportReport(path=path, kind=kind)
    try:
        header = source.read_header(", ".join(required), required)
        at = column_indexes(header, path, required, optional, delimiter=source.delimiter or ",")
        all_or_nothing(
            conn,
            path,
            report,
            skip_invalid,
            rejects_path,
            source.header,
            lambda rejects: read(source, report, rejects, at),
        )
    finally:
        source.close()
    return report


def all_or_nothing(
    conn: Database,
    path: Path,
    report: ImportReport,
    skip_invalid: bool,
    rejects_path: str | Path | None,
    header: list[str],
    read: Callable[[Rejects], Callable[[], None] | None],
    *,
    staged: bool = False,
) -> None:
    """Run ``read`` in one transaction: strict mode rolls the whole file back on any bad row.

    With ``skip_invalid`` the good rows are committed and the bad ones written to the rejects CSV
    (``FILE.rejects.csv`` unless ``rejects_path``). Any exception rolls back and discards the rejects file.

    ``read`` may return a last step (``finish``), run in the transaction after it. ``staged`` (a
    :class:`ReadingWriter` that stages): ``read`` runs first, *outside* the transaction, inside a staging
    area (``storage.staging.area``) its writer fills; only ``finish`` (the move, the roll-ups) runs in the
    transaction, under SQLite's write lock.
    """
    if rejects_path is None and skip_invalid:
        rejects_path = default_rejects_path(path)
    rejects = Rejects(Path(rejects_path) if rejects_path else None, header)
    try:
        with conn.staging.area() if staged else contextlib.nullcontext():
            finish = read(rejects) if staged else None
            with conn.transaction():
                if not staged:
                    finish = read(rejects)
                if finish is not None:
                    finish()
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


Conflicting = Callable[[int, list[str], tuple[float, float | None, float | None]], None]


class SplitRows(Sequence[list[str]]):
    """A chunk's rows as read, where a plain line (``sources.Block``) is kept as its text: its row is
    ``line.split(delimiter)``, made only when asked for (a conflict's report, the rejects file).

    ``split_text``: when every row is such a line, ``(the lines joined by "\\n", delimiter)``, which
    ``storage.staging.stage_readings`` stores as it is instead of encoding each row (else None).

    >>> rows = SplitRows([["101", "x,y"], "102;0.5"], ";")
    >>> rows[1], len(rows), rows.split_text
    (['102', '0.5'], 2, None)
    >>> SplitRows(["101;0.5", "102;0.25"], ";").split_text
    ('101;0.5\\n102;0.25', ';')
    """

    def __init__(self, items: list[list[str] | str], delimiter: str) -> None:
        self._items = items
        self.delimiter = delimiter

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> list[str]: ...
    @overload
    def __getitem__(self, index: slice) -> list[list[str]]: ...
    def __getitem__(self, index: int | slice) -> list[str] | list[list[str]]:
        if isinstance(index, slice):
            return [self._row(item) for item in self._items[index]]
        return self._row(self._items[index])

    def _row(self, item: list[str] | str) -> list[str]:
        return item.split(self.delimiter) if isinstance(item, str) else item

    @property
    def split_text(self) -> tuple[str, str] | None:
        items = self._items
        if not items or not all(map(isinstance, items, repeat(str))):
            return None
        return "\n".join(items), self.delimiter  # type: ignore[arg-type]  # every item is a str


class ReadingWriter:
    """Where an import's readings go, chunk by chunk, and how they reach ``readings``.

    ``write(readings, lines, rows)`` takes one chunk: the readings (``storage.readings.insert_readings``'s
    tuples), each one's file line and its row as read. On SQLite (``staged``) the chunk goes to the staging
    area (``storage.staging.stage_readings``, no write lock) and :meth:`move` moves every staged reading
    into ``readings`` inside the import's transaction; elsewhere (PostgreSQL) the chunk goes straight into
    ``readings`` inside the transaction (``COPY``) and :meth:`move` has nothing to do. Either way each
    reading is counted in ``report`` as added, unchanged (equal to the stored one) or a conflict (a
    different stored reading wins): ``conflict(line, row, (kwh, balance, export))``, which the pipeline
    reports as a bad row. ``export_only``: the readings fill ``export_kwh`` of stored ones
    (``insert_readings(fill_export=True)``).
    """

    def __init__(
        self, conn: Database, report: ImportReport, *, export_only: bool = False, conflict: Conflicting
    ) -> None:
        self.conn = conn
        self.report = report
        self.export_only = export_only
        self.conflict = conflict
        self.staged = bool(conn.staging.needed())

    def write(self, readings: list[Reading], lines: Sequence[int], rows: Sequence[list[str]]) -> None:
        if self.staged:
            self.conn.staging.stage_readings(readings, lines, rows)
            return
        added = self.conn.readings.insert_readings(readings, fill_export=self.export_only)
        self.report.added += added
        conflicts = 0
        if added < len(readings):
            for i, stored in stored_conflicts(self.conn, readings, export_only=self.export_only):
                conflicts += 1
                self.conflict(lines[i], rows[i], stored)
        self.report.unchanged += len(readings) - added - conflicts

    def move(self) -> None:
        """The staged readings into ``readings`` (inside the import's transaction); nothing when not staged."""
        if not self.staged:
            return
        moved = self.conn.staging.move_readings(fill_export=self.export_only)
        self.report.added += moved.added
        for found in moved.conflicts:
            self.conflict(found.line, found.row, found.stored)
        self.report.unchanged += moved.staged - moved.added - len(moved.conflicts)


def stored_conflicts(
    conn: Database, pending: list[Reading], *, export_only: bool = False
) -> Iterator[tuple[int, tuple[float, float | None, float | None]]]:
    """Indexes of ``pending`` readings whose stored reading differs, with the stored (kWh, balance, export).

    ``export_only`` (an export channel's readings, ``insert_readings(fill_export=True)``): only the export
    energy is compared; the stored kWh and balance come from the meter's import channel. Export energy is
    compared only for rows that carry it (5-tuples)."""
    by_consumer: dict[str, list[int]] = {}
    for i, row in enumerate(pending):
        by_consumer.setdefault(row[0], []).append(i)
    for cid, indexes in by_consumer.items():
        first = min(pending[i][1] for i in indexes)
        last = max(pending[i][1] for i in indexes)
        stored = conn.readings.stored_readings(cid, first, last)
        for i in indexes:
            _, ts, kwh, balance, *rest = pending[i]
            have = stored.get(ts)
            if have is None:
                continue
            # a file without an export channel says nothing of a stored export_kwh (the other channel's)
            export_differs = bool(rest) and have[2] != rest[0]
            if export_differs if export_only else (have[0] != kwh or have[1] != balance or export_differs):
                yield i, have


def ist_day(ts: str) -> str:
    """The IST calendar day of stored UTC text: ``ist_day("2026-11-24T18:30:00Z") == "2026-11-25"``."""
    return (
        dt.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).astimezone(IST).date().isoformat()
    )


_IST_OFFSET_S = 19_800  # +05:30, India's offset since October 1945 (imports refuse times before 2000)
_EPOCH_DAY = dt.date(1970, 1, 1)


def epoch_seconds(ts: str) -> int:
    """Unix seconds of stored UTC text (``YYYY-MM-DDTHH:MM:SSZ``).

    >>> epoch_seconds("2026-11-24T18:30:00Z")
    1795545000
    """
    return int((dt.datetime.fromisoformat(ts[:-1]) - _EPOCH).total_seconds())


_EPOCH = dt.datetime(1970, 1, 1)


def day_grids(
    times: Sequence[str], epochs: dict[str, int], seconds: Sequence[np.ndarray] = ()
) -> dict[str, tuple[int, float | None]]:
    """Per IST day, how one connection's readings lie: ``{day: (n, step)}``, n distinct readings and, when
    n >= 2 and every gap between neighbours of that day is the same, that step in minutes (else None).
    The readings: ``times`` (stored UTC text; ``epochs`` caches Unix seconds per text, meters share one
    time grid) and arrays of Unix seconds (``seconds``, the clean chunks').

    What ``storage.readings.refresh_daily(known_days=...)`` takes instead of checking every reading's
    spacing in SQL. The step is ``(last - first) / (n - 1) / 60``, the same float as the SQL check gives.
    Column-wise (numpy): well under 0.1 s for a million readings given as seconds.

    >>> day_grids(["2026-11-24T18:30:00Z", "2026-11-24T19:00:00Z", "2026-11-24T19:30:00Z",
    ...            "2026-11-25T18:30:00Z", "2026-11-25T18:45:00Z"], {}, [np.array([1795638600])])
    {'2026-11-25': (3, 30.0), '2026-11-26': (3, None)}
    """
    for text in set(times).difference(epochs):
        epochs[text] = epoch_seconds(text)
    parts = [np.fromiter(map(epochs.__getitem__, times), dtype=np.int64, count=len(times)), *seconds]
    seconds_all = np.concatenate(parts) if len(parts) > 1 else parts[0]
    if not len(seconds_all):
        return {}
    if not (seconds_all[1:] > seconds_all[:-1]).all():  # out of order or repeated: sort, once each
        seconds_all = np.unique(seconds_all)
    days = (seconds_all + _IST_OFFSET_S) // 86_400
    starts = np.flatnonzero(np.diff(days, prepend=days[0] - 1))
    ends = np.append(starts[1:], len(seconds_all))
    # gaps within a day; the slot after each day's last reading holds a sentinel (min: huge, max: -1)
    gaps = np.diff(seconds_all, append=seconds_all[-1])
    low, high = gaps.copy(), gaps.copy()
    low[ends - 1], high[ends - 1] = np.iinfo(np.int64).max, -1
    even = (np.minimum.reduceat(low, starts) == np.maximum.reduceat(high, starts)).tolist()
    counts = (ends - starts).tolist()
    spans = (seconds_all[ends - 1] - seconds_all[starts]).tolist()
    grids: dict[str, tuple[int, float | None]] = {}
    for day, n, span, flat in zip(days[starts].tolist(), counts, spans, even, strict=True):
        label = _DAY_LABELS.get(day)
        if label is None:
            label = _DAY_LABELS[day] = (_EPOCH_DAY + dt.timedelta(days=day)).isoformat()
        grids[label] = (n, span / (n - 1) / 60.0 if n > 1 and flat else None)
    return grids


_DAY_LABELS: dict[int, str] = {}  # day number since 1970-01-01 -> ISO date text


def finish(
    conn: Database, report: ImportReport, spans: dict[str, tuple[str, str]], *, skip_invalid: bool
) -> None:
    """After rows were added: refresh the roll-ups of each consumer's touched days and bump the data
    version of those consumers (their cached frames only). Not when a strict import with bad rows is about
    to be rolled back (:func:`all_or_nothing`): PostgreSQL's version sequence is not rolled back, so the
    bump would empty those caches for nothing."""
    if report.added and (skip_invalid or not report.rejected):
        for cid, (first, last) in sorted(spans.items()):
            conn.readings.refresh_daily(cid, ist_day(first), ist_day(last))
        conn.meta.bump_data_version(sorted(spans))
