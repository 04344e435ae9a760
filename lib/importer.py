"""CSV import of consumers, readings and recharges, and the daily export, for operators (``lib.cli``).

>>> import pathlib, sys, tempfile
>>> from lib.storage.engine import open_db
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "consumers.csv").write_text(
...     "consumer_id,name,registered_mobile\\n101234567,आशा देवी,98765 43210\\n", encoding="utf-8")
>>> _ = (folder / "readings.csv").write_text(
...     "consumer_id,timestamp,kwh,balance_inr\\n101234567,2026-11-24 23:45,0.42,310.5\\n", encoding="utf-8")
>>> with open_db(":memory:") as conn:
...     print(import_consumers(conn, folder / "consumers.csv").added,
...           import_readings(conn, folder / "readings.csv").added)
...     days = export_daily(conn, "101234567", sys.stdout)
1 1
date,consumer_id,kwh,closing_balance_inr,recharge_inr
2026-11-24,101234567,0.420,310.50,0.00

Rules (the issue's part 3; ``BENCHMARKS.md`` has the figures):

- **One transaction per import.** Rows are streamed from the file in chunks of ``CHUNK_ROWS`` and
  written inside a single ``BEGIN IMMEDIATE`` transaction, together with the ``daily`` roll-ups of
  the touched days and a ``data_version`` bump; a crash or kill midway leaves the database as it was.
- **Strict by default.** Any bad row and nothing is committed; the report lists the first
  ``REPORT_FIRST`` problems (line, column, value, reason) and the count. With ``skip_invalid`` the good
  rows are committed and every bad row goes, with its reason, to a rejects CSV.
- **Idempotent.** A row equal to a stored one is a no-op; re-importing a file changes nothing. A
  reading whose ``(consumer_id, timestamp)`` is stored with a *different* value is a bad row (the
  stored value wins): correcting readings is a deliberate act, not a side effect of an import.
- **Duplicates within a file** (same consumer and timestamp twice) are bad rows; the first one counts.
- **Timestamps** are ISO 8601 (``2026-11-24 23:45``, ``2026-11-24T23:45:00+05:30``, ``...Z``) or a
  ``time_format`` for ``strptime``. Without an offset they are read in ``tz`` (default Asia/Kolkata).
  In a zone with daylight saving, a local time in the hour skipped in spring does not exist (bad row)
  and a local time in the hour repeated in autumn is *ambiguous* (bad row: the file must carry an
  offset there, or use ``--tz UTC`` when its clock never changed). Before 2000-01-01 (a reset meter
  clock) or more than a day in the future: bad row.
- **kWh**: a number, not negative, at most ``max_kwh`` per reading (default ``MAX_KWH_PER_READING`` =
  100 kWh: in a 30-minute interval that is a steady 200 kW, far beyond any LT connection; raise it for
  daily or monthly files).
- **Register files** (``kwh_kind="register"``: the meter's cumulative kWh) become interval energy per
  consumer in time order: the energy stamped at a reading is its register value minus the previous
  one. The first reading of each consumer in a file is a baseline (no row). A register value below
  the previous one is a meter reset or replacement: reported, never negative energy, and that reading
  is the new baseline. A rejected register row does not move the baseline (its energy is carried by
  the next good reading). Register rows must come in time order per consumer.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import gc
import io
import math
import re
import sqlite3
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import compress, islice
from operator import itemgetter, lt, ne
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from lib import storage
from lib.clock import IST, UTC, now_utc, to_ts
from lib.phone import normalise_mobile
from lib.storage.engine import transaction

CHUNK_ROWS = 20_000
REPORT_FIRST = 20
MAX_KWH_PER_READING = 100.0
MAX_BALANCE_INR = 10_000_000.0
MAX_RECHARGE_INR = 1_000_000.0
MAX_SANCTIONED_LOAD_KW = 1_000.0
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_SLACK = dt.timedelta(days=1)
_TIME_CACHE_MAX = 100_000
_NUMBER_CACHE_MAX = 100_000

# Every operator-facing text of the import/export, in one place (the CLI is for operators: English).
MESSAGES: dict[str, str] = {
    # file-level failures (nothing imported)
    "cannot_read": "cannot read {path}: {error}",
    "empty_file": "{path} is empty: expected a header row with {columns}",
    "header_only": "{path} has a header but no data rows: nothing to import",
    "missing_column": "{path}: missing required column {column!r} (columns found: {found})",
    "duplicate_column": "{path}: column {column!r} appears more than once in the header",
    "not_utf8": "{path}: not UTF-8 text near line {line} ({error}); save the file as 'CSV UTF-8'",
    "utf16": "{path} is UTF-16/UTF-32 text; save it as 'CSV UTF-8'",
    "csv_error": "{path}: unreadable CSV near line {line}: {error}",
    "unknown_zone": "unknown time zone {zone!r} (use an IANA name such as Asia/Kolkata or Europe/London)",
    "unknown_fixed_consumer": "consumer ID {consumer_id!r} is not in the consumer master; import-consumers first",
    "bad_kwh_kind": "kwh kind must be 'interval' or 'register', not {kind!r}",
    "unknown_export_consumer": "consumer ID {consumer_id!r} is not in the consumer master",
    "bad_range": "--from {first} is after --to {last}",
    # row-level reasons
    "missing_value": "missing value",
    "unknown_consumer": "unknown consumer ID (not in the consumer master)",
    "consumer_id_format": "consumer ID must be 1-40 characters without control characters",
    "time_format": "not a date and time (expected e.g. 2026-11-24 23:45 or 2026-11-24T23:45:00+05:30)",
    "time_impossible": "impossible date or time ({error})",
    "time_pattern": "does not match --time-format {pattern}",
    "time_missing_hour": "does not exist in {zone} (the hour skipped when clocks go forward)",
    "time_ambiguous": "ambiguous in {zone} (the hour repeated when clocks go back); give an offset",
    "time_too_old": "before 2000-01-01: a meter clock that was reset?",
    "time_future": "more than a day in the future",
    "not_a_number": "not a number",
    "not_finite": "not a finite number",
    "negative_kwh": "negative energy",
    "absurd_kwh": "more than {limit:g} kWh in one reading (see --max-kwh)",
    "negative_register": "negative register reading",
    "register_order": "register readings must be in time order per consumer (previous: line {line})",
    "absurd_balance": "balance beyond ±₹{limit:,.0f}",
    "duplicate_in_file": "same consumer and timestamp as line {line}",
    "conflict_stored": "a different reading is stored for this consumer and time (kWh {kwh}, balance {balance})",
    "duplicate_consumer": "same consumer ID as line {line}",
    "bad_mobile": "not an Indian mobile number",
    "name_too_long": "longer than {limit} characters",
    "bad_load": "sanctioned load must be more than 0 and at most {limit:g} kW",
    "bad_amount": "amount must be more than 0 and at most ₹{limit:,.0f}",
    "duplicate_recharge": "same consumer, time and amount as line {line}",
    # summaries
    "summary_ok": "{path}: {rows} rows read, {added} added, {unchanged} already stored{extra}.",
    "summary_consumers": "{path}: {rows} rows read, {added} new, {changed} updated, {unchanged} unchanged.",
    "summary_rejected_strict": "{path}: {rejected} bad rows: nothing imported. First {shown}:",
    "summary_rejected_skipped": "{rejected} bad rows skipped; every one, with its reason, is in {rejects}",
    "summary_rejects_written": "every bad row, with its reason, is in {rejects}",
    "summary_more": "... and {more} more",
    "row_problem": "  line {line}, column {column!r}, value {value!r}: {reason}",
    "resets": "{count} meter resets or replacements detected (new baseline, no negative energy):",
    "reset_line": "  consumer {consumer_id}, line {line} at {ts}: register {previous:g} -> {reading:g} kWh",
    "baselines": "{count} register readings used as baselines (first of a consumer or after a reset)",
    "export_done": "{rows} days of consumer {consumer_id} written to {out}",
    "bad_date": "not a date (YYYY-MM-DD): {text!r}",
    "demo_done": "demo data written to {path}: {consumers} consumers ({linked} linked to the demo account, "
    "{unlinked} not), {readings} readings from {first_day} to {last_reading_ts}, {recharges} recharges",
    "demo_refused": "{path}: {error}",
    "interrupted": "interrupted: nothing was written",
    "database_error": "database error ({path}): {error}",
    "unexpected": "unexpected error: {kind}: {error} (run with --debug for details)",
}

_ISO_SHAPE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}(:\d{1,2}){1,2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def message(key: str, **values: Any) -> str:
    """One text of ``MESSAGES`` with its placeholders filled: ``message("header_only", path="a.csv")``."""
    return MESSAGES[key].format(**values)


class ImportFailed(Exception):
    """The file as a whole cannot be imported (unreadable, empty, missing column, bad option).

    Nothing was written; ``str(error)`` is the operator-facing message.
    """


class _Rollback(Exception):
    """Raised inside the transaction to undo a strict import that found bad rows."""


@dataclass(frozen=True)
class RowError:
    """One rejected row: file line number, the column at fault, its value and why."""

    line: int
    column: str
    value: str
    reason: str


@dataclass(frozen=True)
class MeterReset:
    """A register reading below the previous one (meter reset or replaced)."""

    consumer_id: str
    line: int
    ts: str
    previous: float
    reading: float


@dataclass
class ImportReport:
    """What an import did. ``committed`` is False when a strict import found bad rows."""

    path: Path
    kind: str
    rows: int = 0
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    rejects_path: Path | None = None
    resets: list[MeterReset] = field(default_factory=list)
    baselines: int = 0
    committed: bool = False
    consumers: list[str] = field(default_factory=list)

    def reject(self, error: RowError) -> None:
        self.rejected += 1
        if len(self.errors) < REPORT_FIRST:
            self.errors.append(error)


@dataclass(frozen=True)
class ReadingColumns:
    """Which CSV columns hold what (``--id-col`` and friends). ``balance=None``: optional ``balance_inr``."""

    consumer_id: str = "consumer_id"
    timestamp: str = "timestamp"
    kwh: str = "kwh"
    balance: str | None = None


Progress = Callable[[int, int], None]


# --- reading CSV files ---------------------------------------------------------------------------


class _CsvSource:
    """A CSV file read row by row: BOM and CRLF tolerant, UTF-8 checked, byte progress reported."""

    def __init__(self, path: Path, progress: Progress | None) -> None:
        self.path = path
        self.progress = progress
        try:
            self.total = path.stat().st_size
            self._raw = path.open("rb")
        except OSError as error:
            raise ImportFailed(message("cannot_read", path=path, error=error.strerror or error)) from None
        head = self._raw.read(4)
        self._raw.seek(0)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_BE)):
            self._raw.close()
            raise ImportFailed(message("utf16", path=path))
        self._text = io.TextIOWrapper(self._raw, encoding="utf-8-sig", newline="")
        self.reader = csv.reader(self._text)
        self.header: list[str] = []

    def read_header(self, columns: str) -> list[str]:
        rows = self.rows()
        first = next(rows, None)
        if first is None:
            raise ImportFailed(message("empty_file", path=self.path, columns=columns))
        self.header = first
        return [cell.strip() for cell in first]

    def rows(self) -> Iterator[list[str]]:
        """Rows as lists of text, streamed; blank lines are skipped. ``self.line``: the row's last line."""
        with self.errors_translated():
            for row in self.reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                yield row

    @contextlib.contextmanager
    def errors_translated(self) -> Iterator[None]:
        """Turn decoding and CSV syntax errors met while reading into ``ImportFailed`` with a line."""
        try:
            yield
        except UnicodeDecodeError as error:
            line = self._first_undecodable_line()
            raise ImportFailed(message("not_utf8", path=self.path, line=line, error=error.reason)) from None
        except csv.Error as error:
            raise ImportFailed(message("csv_error", path=self.path, line=self.line, error=error)) from None

    def tick(self) -> None:
        """Report progress (bytes read so far); called once per chunk."""
        if self.progress is not None:
            self.progress(self._raw.tell(), self.total)

    def _first_undecodable_line(self) -> int:
        with self.path.open("rb") as handle:
            for number, data in enumerate(handle, start=1):
                try:
                    data.decode("utf-8")
                except UnicodeDecodeError:
                    return number
        return 0

    @property
    def line(self) -> int:
        return self.reader.line_num

    def close(self) -> None:
        if self.progress is not None:
            self.progress(self.total, self.total)
        self._text.close()


def _column_index(header: list[str], name: str, path: Path, *, required: bool = True) -> int | None:
    wanted = name.strip().lower()
    hits = [i for i, cell in enumerate(header) if cell.lower() == wanted]
    if len(hits) > 1:
        raise ImportFailed(message("duplicate_column", path=path, column=name))
    if not hits:
        if required:
            found = ", ".join(repr(cell) for cell in header) or "none"
            raise ImportFailed(message("missing_column", path=path, column=name, found=found))
        return None
    return hits[0]


class _Rejects:
    """The rejects CSV: ``line,column,value,reason`` then the row as it was. Opened on first use."""

    def __init__(self, path: Path | None, header: list[str]) -> None:
        self.path = path
        self.header = header
        self._handle: IO[str] | None = None
        self._writer: Any = None

    def add(self, error: RowError, row: list[str]) -> None:
        if self.path is None:
            return
        if self._writer is None:
            try:
                self._handle = self.path.open("w", encoding="utf-8", newline="")
            except OSError as problem:
                raise ImportFailed(message("cannot_read", path=self.path, error=problem)) from None
            self._writer = csv.writer(self._handle)
            self._writer.writerow(["line", "column", "value", "reason", *self.header])
        self._writer.writerow([error.line, error.column, error.value, error.reason, *row])

    @property
    def written(self) -> bool:
        return self._writer is not None

    def close(self, *, discard: bool = False) -> None:
        if self._handle is not None:
            self._handle.close()
            if discard and self.path is not None:
                self.path.unlink(missing_ok=True)


def default_rejects_path(path: Path) -> Path:
    """``readings.csv`` → ``readings.csv.rejects.csv`` beside the input."""
    return path.with_name(path.name + ".rejects.csv")


# --- values ---------------------------------------------------------------------------------------


def zone_for(name: str) -> ZoneInfo:
    """The IANA zone ``name`` or ``ImportFailed`` with a clear message."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ImportFailed(message("unknown_zone", zone=name)) from None


def parse_timestamp(
    text: str, zone: ZoneInfo, time_format: str | None = None, now: dt.datetime | None = None
) -> str:
    """Stored UTC text for a CSV timestamp, or ``ValueError`` with the reason.

    >>> parse_timestamp("2026-11-24 23:45", IST)
    '2026-11-24T18:15:00Z'
    >>> parse_timestamp("2013-10-27 01:30", ZoneInfo("Europe/London"))
    Traceback (most recent call last):
    ...
    ValueError: ambiguous in Europe/London (the hour repeated when clocks go back); give an offset
    """
    value = text.strip()
    if not value:
        raise ValueError(message("missing_value"))
    if time_format:
        try:
            moment = dt.datetime.strptime(value, time_format)
        except ValueError:
            raise ValueError(message("time_pattern", pattern=time_format)) from None
    else:
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError as error:
            if _ISO_SHAPE.match(value):
                raise ValueError(message("time_impossible", error=error)) from None
            raise ValueError(message("time_format")) from None
    if moment.tzinfo is None:
        early = moment.replace(tzinfo=zone)
        late = moment.replace(tzinfo=zone, fold=1)
        if early.utcoffset() != late.utcoffset():
            if early.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == moment:
                raise ValueError(message("time_ambiguous", zone=zone.key))
            raise ValueError(message("time_missing_hour", zone=zone.key))
        moment = early
    utc = moment.astimezone(UTC)
    if utc < EARLIEST:
        raise ValueError(message("time_too_old"))
    if utc > (now or now_utc()) + FUTURE_SLACK:
        raise ValueError(message("time_future"))
    return to_ts(utc)


def _number(text: str, *, money: bool = False) -> float:
    value = text.strip()
    if not value:
        raise ValueError(message("missing_value"))
    if money:
        value = value.removeprefix("₹").removeprefix("Rs.").removeprefix("Rs").replace(",", "").strip()
    try:
        number = float(value)
    except ValueError:
        raise ValueError(message("not_a_number")) from None
    if not math.isfinite(number):
        raise ValueError(message("not_finite"))
    return number


def _kwh_reason(text: str, limit: float, *, register: bool = False) -> str:
    """Why ``text`` is not an acceptable kWh value (slow path, for the report)."""
    try:
        number = _number(text)
    except ValueError as error:
        return str(error)
    if number < 0:
        return message("negative_register" if register else "negative_kwh")
    return message("absurd_kwh", limit=limit)


def _consumer_id_ok(value: str) -> bool:
    return 0 < len(value) <= 40 and not _CONTROL.search(value)


def _consumer_reason(value: str) -> str:
    if not value:
        return message("missing_value")
    return message("unknown_consumer") if _consumer_id_ok(value) else message("consumer_id_format")


# --- import readings ------------------------------------------------------------------------------


def import_readings(
    conn: sqlite3.Connection,
    path: str | Path,
    *,
    columns: ReadingColumns | None = None,
    consumer_id: str | None = None,
    tz: str = "Asia/Kolkata",
    kwh_kind: str = "interval",
    time_format: str | None = None,
    max_kwh: float = MAX_KWH_PER_READING,
    skip_invalid: bool = False,
    rejects_path: str | Path | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import meter readings from a CSV file in one transaction (see the module rules).

    ``import_readings(conn, "lcl.csv", columns=ReadingColumns("LCLid", "tstp", "energy(kWh/hh)"),
    tz="Europe/London", skip_invalid=True)``. Raises ``ImportFailed`` for a file that cannot be read
    at all; bad rows are in the returned report.
    """
    path = Path(path)
    columns = columns or ReadingColumns()
    if kwh_kind not in ("interval", "register"):
        raise ImportFailed(message("bad_kwh_kind", kind=kwh_kind))
    zone = zone_for(tz)
    now = now_utc()
    if consumer_id is not None:
        consumer_id = consumer_id.strip()
        if not storage.consumers.existing_consumer_ids(conn, [consumer_id]):
            raise ImportFailed(message("unknown_fixed_consumer", consumer_id=consumer_id))

    source = _CsvSource(path, progress)
    report = ImportReport(path=path, kind="readings")
    required = (
        [columns.timestamp, columns.kwh]
        if consumer_id
        else [columns.consumer_id, columns.timestamp, columns.kwh]
    )
    try:
        header = source.read_header(", ".join(required))
        id_at = None if consumer_id else _column_index(header, columns.consumer_id, path)
        ts_at = _column_index(header, columns.timestamp, path)
        kwh_at = _column_index(header, columns.kwh, path)
        balance_at = (
            _column_index(header, columns.balance, path)
            if columns.balance
            else _column_index(header, "balance_inr", path, required=False)
        )
        names = {id_at: columns.consumer_id, ts_at: columns.timestamp, kwh_at: columns.kwh}
        if balance_at is not None:
            names[balance_at] = header[balance_at]
        _all_or_nothing(
            conn,
            path,
            report,
            skip_invalid,
            rejects_path,
            source.header,
            lambda rejects: _read_readings(
                conn,
                source,
                report,
                rejects,
                names,
                id_at=id_at,
                ts_at=ts_at,
                kwh_at=kwh_at,
                balance_at=balance_at,
                fixed_consumer=consumer_id,
                zone=zone,
                now=now,
                time_format=time_format,
                register=kwh_kind == "register",
                max_kwh=max_kwh,
            ),
        )
    finally:
        source.close()
    return report


def _all_or_nothing(
    conn: sqlite3.Connection,
    path: Path,
    report: ImportReport,
    skip_invalid: bool,
    rejects_path: str | Path | None,
    header: list[str],
    read: Callable[[_Rejects], None],
) -> None:
    """Run ``read`` in one transaction: strict mode rolls the whole file back on any bad row.

    With ``skip_invalid`` the good rows are committed and the bad ones written to the rejects CSV
    (``FILE.rejects.csv`` unless ``rejects_path``). Any exception rolls back and discards the rejects file.
    """
    if rejects_path is None and skip_invalid:
        rejects_path = default_rejects_path(path)
    rejects = _Rejects(Path(rejects_path) if rejects_path else None, header)
    try:
        with transaction(conn):
            read(rejects)
            if report.rows == 0:
                raise ImportFailed(message("header_only", path=path))
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


def _read_readings(
    conn: sqlite3.Connection,
    source: _CsvSource,
    report: ImportReport,
    rejects: _Rejects,
    names: dict[int | None, str],
    *,
    id_at: int | None,
    ts_at: int,
    kwh_at: int,
    balance_at: int | None,
    fixed_consumer: str | None,
    zone: ZoneInfo,
    now: dt.datetime,
    time_format: str | None,
    register: bool,
    max_kwh: float,
) -> None:
    """The hot loop: parse, validate and write readings chunk by chunk (inside the transaction).

    Written for speed (``bench/bench_import.py``). The csv module reads ``CHUNK_ROWS`` rows at a
    time; a chunk in which every row is good (the usual case) is checked and converted column by
    column (``_clean_chunk``); a chunk with any problem, and every chunk of a register file, goes
    through the row-by-row path below, which explains each bad row. Both paths accept exactly the
    same rows, so the report and the rejects file do not depend on which one ran.
    """
    consumers: dict[str, _Seen | None] = {}  # consumer ID as written -> its state (None: unknown)
    registers: dict[str, tuple[str, float, int]] = {}  # consumer -> (ts, register kWh, line)
    pending: list[tuple[str, str, float, float | None]] = []
    pending_lines = array("q")
    pending_rows: list[list[str]] = []
    add_pending, add_line, add_row = pending.append, pending_lines.append, pending_rows.append
    width = max(i for i in (id_at, ts_at, kwh_at, balance_at) if i is not None) + 1
    reader = source.reader
    chunk = CHUNK_ROWS
    rows_read = 0
    good_times: dict[str, str] = {}  # CSV text -> stored ts (cached: many meters share one time grid)
    bad_times: dict[str, str] = {}  # CSV text -> why not
    numbers: dict[str, float] = {}  # kWh text -> float() of it (clean chunks)
    last_key: str | None = None
    mine: _Seen | None = _Seen(fixed_consumer) if fixed_consumer is not None else None
    cid, seen_times, seen_lines = "", [], array("q")
    if mine is not None:
        cid, seen_times, seen_lines = mine.consumer_id, mine.times, mine.lines

    def bad(line: int, at: int | None, value: str, reason: str, row: list[str]) -> None:
        error = RowError(line, names.get(at, ""), value, reason)
        report.reject(error)
        rejects.add(error, row)

    def flush() -> None:
        added = storage.readings.insert_readings(conn, pending)
        report.added += added
        conflicts = 0
        if added < len(pending):
            for i, stored in _stored_conflicts(conn, pending):
                conflicts += 1
                bad(
                    pending_lines[i],
                    kwh_at,
                    pending_rows[i][kwh_at],
                    message("conflict_stored", kwh=stored[0], balance=stored[1]),
                    pending_rows[i],
                )
        report.unchanged += len(pending) - added - conflicts
        pending.clear()
        del pending_lines[:]
        pending_rows.clear()
        source.tick()

    def add_clean(
        good: list[tuple[str, str, float, float | None]], lines: Sequence[int], rows: list[list[str]]
    ) -> None:
        """Queue a clean chunk, flushing at the same rows as the row-by-row path would."""
        done, total = 0, len(good)
        while done < total:
            take = min(chunk - len(pending), total - done)
            pending.extend(good[done : done + take])
            pending_lines.frombytes(_line_numbers(lines[done : done + take]))
            pending_rows.extend(rows[done : done + take])
            done += take
            if len(pending) >= chunk:
                flush()

    with source.errors_translated(), _cyclic_gc_paused():
        while True:
            start = reader.line_num
            block = list(islice(reader, chunk))
            if not block:
                break
            if reader.line_num - start == len(block):
                block_lines: Sequence[int] = range(start + 1, start + 1 + len(block))
            else:  # a quoted value spans lines
                block_lines = _row_lines(block, start)
            if not register and width >= 2 and min(map(len, block)) >= width:
                good = _clean_chunk(
                    conn,
                    block,
                    block_lines,
                    consumers,
                    mine if fixed_consumer is not None else None,
                    good_times,
                    bad_times,
                    numbers,
                    id_at=id_at,
                    ts_at=ts_at,
                    kwh_at=kwh_at,
                    balance_at=balance_at,
                    zone=zone,
                    now=now,
                    time_format=time_format,
                    max_kwh=max_kwh,
                )
                if good is not None:
                    rows_read += len(block)
                    add_clean(good, block_lines, block)
                    continue
            for row, line in zip(block, block_lines, strict=True):
                if len(row) < width:
                    if not row or (len(row) == 1 and not row[0].strip()):
                        continue  # a blank line
                    row = row + [""] * (width - len(row))
                rows_read += 1
                # consumer (its state is looked up again only when the ID changes from the previous row)
                if id_at is not None:
                    key = row[id_at]
                    if key != last_key:
                        last_key = key
                        mine = consumers.get(key, _UNSEEN)  # type: ignore[arg-type]
                        if mine is _UNSEEN:
                            mine = consumers[key] = _consumer_state(conn, consumers, key)
                        if mine is not None:
                            cid, seen_times, seen_lines = mine.consumer_id, mine.times, mine.lines
                    if mine is None:
                        bad(line, id_at, key, _consumer_reason(key.strip()), row)
                        continue
                # timestamp (cached: many meters share one time grid)
                raw_ts = row[ts_at]
                ts = good_times.get(raw_ts)
                if ts is None:
                    reason = bad_times.get(raw_ts)
                    if reason is None:
                        try:
                            ts = parse_timestamp(raw_ts, zone, time_format, now)
                        except ValueError as error:
                            reason = bad_times[raw_ts] = str(error)
                        else:
                            if len(good_times) >= _TIME_CACHE_MAX:
                                good_times.clear()
                            good_times[raw_ts] = ts
                    if reason is not None:
                        bad(line, ts_at, raw_ts, reason, row)
                        continue
                # kWh
                raw_kwh = row[kwh_at]
                try:
                    kwh = float(raw_kwh)
                except ValueError:
                    kwh = math.nan
                if register:
                    if not (0.0 <= kwh < math.inf):
                        bad(line, kwh_at, raw_kwh, _kwh_reason(raw_kwh, max_kwh, register=True), row)
                        continue
                elif not (0.0 <= kwh <= max_kwh):
                    bad(line, kwh_at, raw_kwh, _kwh_reason(raw_kwh, max_kwh), row)
                    continue
                # balance (optional)
                balance: float | None = None
                if balance_at is not None:
                    raw_balance = row[balance_at]
                    try:
                        balance = float(raw_balance)
                    except ValueError:
                        if raw_balance.strip():
                            try:
                                balance = _number(raw_balance, money=True)
                            except ValueError as error:
                                bad(line, balance_at, raw_balance, str(error), row)
                                continue
                    if balance is not None and not (-MAX_BALANCE_INR <= balance <= MAX_BALANCE_INR):
                        bad(line, balance_at, raw_balance, _balance_reason(balance), row)
                        continue
                # duplicate within the file: O(1) while the consumer's rows come in time order
                if seen_times and ts <= seen_times[-1]:
                    earlier = mine.add_out_of_order(ts, line)  # type: ignore[union-attr]
                    if earlier:
                        bad(line, ts_at, raw_ts, message("duplicate_in_file", line=earlier), row)
                        continue
                else:
                    seen_times.append(ts)
                    seen_lines.append(line)
                # register -> interval
                if register:
                    previous = registers.get(cid)
                    if previous is not None and ts < previous[0]:
                        mine.forget(ts)  # type: ignore[union-attr]
                        bad(line, ts_at, raw_ts, message("register_order", line=previous[2]), row)
                        continue
                    if previous is None or kwh < previous[1]:
                        if previous is not None:
                            report.resets.append(MeterReset(cid, line, ts, previous[1], kwh))
                        registers[cid] = (ts, kwh, line)
                        report.baselines += 1
                        continue
                    energy = round(kwh - previous[1], 6)
                    if energy > max_kwh:
                        mine.forget(ts)  # type: ignore[union-attr]
                        bad(line, kwh_at, raw_kwh, message("absurd_kwh", limit=max_kwh), row)
                        continue
                    registers[cid] = (ts, kwh, line)
                    kwh = energy
                add_pending((cid, ts, kwh, balance))
                add_line(line)
                add_row(row)
                if len(pending) >= chunk:
                    flush()
    if pending:
        flush()
    report.rows = rows_read
    states = {s.consumer_id: s for s in consumers.values() if s is not None}
    if fixed_consumer is not None and mine is not None:
        states[fixed_consumer] = mine
    states = {cid: state for cid, state in states.items() if state.span()}
    report.consumers = sorted(states)
    if report.added:
        for cid, state in sorted(states.items()):
            first, last = state.span()  # type: ignore[misc]
            storage.readings.refresh_daily(conn, cid, _ist_day(first), _ist_day(last))
        storage.meta.bump_data_version(conn)


_UNSEEN = object()


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cycle collector while rows stream through (they form no cycles and are freed
    by reference counting); with it on, its passes over the live chunk cost ~35% of the loop."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _row_lines(rows: list[list[str]], start: int) -> list[int]:
    """The file line on which each row ends, for a chunk where a quoted value spans lines.

    The csv module keeps a value's line breaks (``\\r\\n``, ``\\r`` or ``\\n``, as the file has them)
    and counts each as a line, like ``csv.reader.line_num``:

    >>> _row_lines([["a", "b"], ["two\\r\\nlines", "c"], [], ["d", "x\\ny\\rz"]], 1)
    [2, 4, 5, 8]
    """
    lines: list[int] = []
    line = start
    for row in rows:
        line += 1
        for cell in row:
            if "\n" in cell or "\r" in cell:
                line += cell.count("\n") + cell.count("\r") - cell.count("\r\n")
        lines.append(line)
    return lines


def _clean_chunk(
    conn: sqlite3.Connection,
    rows: list[list[str]],
    lines: Sequence[int],
    consumers: dict[str, _Seen | None],
    fixed: _Seen | None,
    good_times: dict[str, str],
    bad_times: dict[str, str],
    numbers: dict[str, float],
    *,
    id_at: int | None,
    ts_at: int,
    kwh_at: int,
    balance_at: int | None,
    zone: ZoneInfo,
    now: dt.datetime,
    time_format: str | None,
    max_kwh: float,
) -> list[tuple[str, str, float, float | None]] | None:
    """The chunk's readings ``(consumer_id, ts, kwh, balance_inr)`` when every row is good, else None.

    Checked column by column (set lookups, ``map(float, ...)``, numpy comparisons) with exactly the
    row-by-row path's rules; every row has at least the columns needed. Returns None, having
    changed nothing but the caches (consumer states looked up, timestamps parsed), at the first
    problem: the caller then runs the chunk row by row, which reports each bad row. When it
    returns the readings, their timestamps are recorded in the consumers' states as that path
    would have recorded them.
    """
    count = len(rows)
    # consumers: every ID known (looked up once per spelling, as the row path does)
    keys: list[str] = []
    if id_at is not None:
        keys = list(map(itemgetter(id_at), rows))
        for key in set(keys):
            state = consumers.get(key, _UNSEEN)  # type: ignore[arg-type]
            if state is _UNSEEN:
                state = consumers[key] = _consumer_state(conn, consumers, key)
            if state is None:
                return None
    # timestamps: every distinct text parses (the same cache as the row path)
    texts = list(map(itemgetter(ts_at), rows))
    new = set(texts).difference(good_times)
    if new:
        if len(good_times) + len(new) > _TIME_CACHE_MAX:
            good_times.clear()
            new = set(texts)
        for text in new:
            if text in bad_times:
                return None
            try:
                good_times[text] = parse_timestamp(text, zone, time_format, now)
            except ValueError as error:
                bad_times[text] = str(error)
                return None
    stamps = list(map(good_times.__getitem__, texts))
    # kWh: numbers within 0..max_kwh (NaN fails both comparisons). Meters print few distinct
    # values (0.011, 0.25, ...): float() once per distinct text when they repeat
    energy_texts = list(map(itemgetter(kwh_at), rows))
    distinct = set(energy_texts)
    if len(distinct) * 2 > count:
        try:
            energies = list(map(float, energy_texts))
        except ValueError:
            return None
        kwh = np.array(energies, dtype=np.float64)
        if not ((kwh >= 0.0) & (kwh <= max_kwh)).all():
            return None
    else:  # the cache holds only good values: texts checked once each
        new = distinct.difference(numbers)
        if len(numbers) + len(new) > _NUMBER_CACHE_MAX:
            numbers.clear()
            new = distinct
        for text in new:
            try:
                value = float(text)
            except ValueError:
                return None
            if not 0.0 <= value <= max_kwh:
                return None
            numbers[text] = value
        energies = list(map(numbers.__getitem__, energy_texts))
    # balance: a number (₹ and thousands separators allowed), blank = none, within ±MAX_BALANCE_INR
    balances: list[float | None]
    if balance_at is None:
        balances = [None] * count
    else:
        raw = list(map(itemgetter(balance_at), rows))
        try:
            balances = list(map(float, raw))
        except ValueError:
            try:
                balances = [_balance_value(text) for text in raw]
            except ValueError:
                return None
        money = np.array(balances, dtype=np.float64)  # None -> NaN, which fails the test: look closer
        if not ((money >= -MAX_BALANCE_INR) & (money <= MAX_BALANCE_INR)).all() and not all(
            b is None or -MAX_BALANCE_INR <= b <= MAX_BALANCE_INR for b in balances
        ):
            return None
    # order: within each run of one consumer ID the timestamps rise, and each run starts after the
    # consumer's latest timestamp so far (else the row path looks for duplicates)
    if id_at is None:
        runs: list[tuple[int, int, _Seen]] = [(0, count, fixed)]  # type: ignore[list-item]
    else:
        starts = list(compress(range(1, count), map(ne, keys, islice(keys, 1, None))))
        bounds = [0, *starts, count]
        runs = [(a, b, consumers[keys[a]]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]  # type: ignore[misc]
    latest: dict[int, str] = {}
    for a, b, state in runs:
        if b - a > 1 and not all(map(lt, stamps[a : b - 1], stamps[a + 1 : b])):
            return None
        before = latest.get(id(state)) or (state.times[-1] if state.times else None)
        if before is not None and stamps[a] <= before:
            return None
        latest[id(state)] = stamps[b - 1]
    readings: list[tuple[str, str, float, float | None]] = []
    for a, b, state in runs:
        state.times.extend(stamps[a:b])
        state.lines.frombytes(_line_numbers(lines[a:b]))
        readings.extend(
            zip([state.consumer_id] * (b - a), stamps[a:b], energies[a:b], balances[a:b], strict=True)
        )
    return readings


def _line_numbers(lines: Sequence[int]) -> bytes:
    """``lines`` as machine integers for ``array("q").frombytes`` (no Python int per line for a range)."""
    if isinstance(lines, range):
        return np.arange(lines.start, lines.stop, lines.step, dtype=np.int64).tobytes()
    return np.asarray(lines, dtype=np.int64).tobytes()


def _balance_value(text: str) -> float | None:
    """A balance cell as the row path reads it: a number, ``₹1,234.50``, or None when blank."""
    try:
        return float(text)
    except ValueError:
        if not text.strip():
            return None
        return _number(text, money=True)


def _consumer_state(conn: sqlite3.Connection, consumers: dict[str, _Seen | None], key: str) -> _Seen | None:
    """The state of the consumer written as ``key`` (shared by spellings that differ in spaces),
    or None when the ID is malformed or not in the consumer master."""
    cid = key.strip()
    if not _consumer_id_ok(cid) or not storage.consumers.existing_consumer_ids(conn, [cid]):
        return None
    same = next((state for state in consumers.values() if state and state.consumer_id == cid), None)
    return same or _Seen(cid)


def _balance_reason(balance: float) -> str:
    return message("not_finite") if math.isnan(balance) else message("absurd_balance", limit=MAX_BALANCE_INR)


class _Seen:
    """One consumer's timestamps already in this file: a sorted list (plus their line numbers) while
    the file is in time order, O(1) per row, and a dict for rows that arrive out of order."""

    __slots__ = ("consumer_id", "extra", "lines", "times")

    def __init__(self, consumer_id: str) -> None:
        self.consumer_id = consumer_id
        self.times: list[str] = []
        self.lines = array("q")
        self.extra: dict[str, int] = {}

    def add_out_of_order(self, ts: str, line: int) -> int:
        """Record a ``ts`` not after the latest one; returns the line that already had it (0 when new)."""
        times = self.times
        at = bisect_left(times, ts)
        if at < len(times) and times[at] == ts:
            return self.lines[at]
        earlier = self.extra.get(ts)
        if earlier:
            return earlier
        self.extra[ts] = line
        return 0

    def forget(self, ts: str) -> None:
        """Undo the recording of a row rejected later (it must not shadow a good row)."""
        if self.times and self.times[-1] == ts:
            self.times.pop()
            self.lines.pop()
        else:
            self.extra.pop(ts, None)

    def span(self) -> tuple[str, str] | None:
        """First and last timestamp recorded, or None."""
        if not self.times:
            return None
        first = min(self.times[0], min(self.extra)) if self.extra else self.times[0]
        return first, self.times[-1]


def _stored_conflicts(
    conn: sqlite3.Connection, pending: list[tuple[str, str, float, float | None]]
) -> Iterator[tuple[int, tuple[float, float | None]]]:
    """Indexes of ``pending`` rows whose stored reading differs, with the stored (kWh, balance)."""
    by_consumer: dict[str, list[int]] = {}
    for i, row in enumerate(pending):
        by_consumer.setdefault(row[0], []).append(i)
    for cid, indexes in by_consumer.items():
        first = min(pending[i][1] for i in indexes)
        last = max(pending[i][1] for i in indexes)
        stored = {
            ts: (kwh, balance)
            for ts, kwh, balance in conn.execute(
                "SELECT ts, kwh, balance_inr FROM readings WHERE consumer_id = ? AND ts BETWEEN ? AND ?",
                (cid, first, last),
            )
        }
        for i in indexes:
            _, ts, kwh, balance = pending[i]
            have = stored.get(ts)
            if have is not None and (have[0] != kwh or have[1] != balance):
                yield i, have


def _ist_day(ts: str) -> str:
    return (
        dt.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).astimezone(IST).date().isoformat()
    )


# --- import consumers -----------------------------------------------------------------------------

_CONSUMER_OPTIONAL = ("tariff_category", "sanctioned_load_kw", "division", "meter_serial")
_TEXT_LIMITS = {"name": 100, "tariff_category": 20, "division": 60, "meter_serial": 40}


def import_consumers(
    conn: sqlite3.Connection,
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
    path = Path(path)
    source = _CsvSource(path, progress)
    report = ImportReport(path=path, kind="consumers")
    try:
        header = source.read_header("consumer_id, name, registered_mobile")
        at = {
            name: _column_index(header, name, path) for name in ("consumer_id", "name", "registered_mobile")
        }
        for name in _CONSUMER_OPTIONAL:
            found = _column_index(header, name, path, required=False)
            if found is not None:
                at[name] = found
        _all_or_nothing(
            conn,
            path,
            report,
            skip_invalid,
            rejects_path,
            source.header,
            lambda rejects: _read_consumers(conn, source, report, rejects, at),
        )
    finally:
        source.close()
    return report


def _read_consumers(
    conn: sqlite3.Connection, source: _CsvSource, report: ImportReport, rejects: _Rejects, at: dict[str, int]
) -> None:
    seen: dict[str, int] = {}
    pending: list[dict[str, Any]] = []
    width = max(at.values()) + 1

    def flush() -> None:
        stored = _stored_consumers(conn, [row["consumer_id"] for row in pending])
        write = []
        for row in pending:
            before = stored.get(row["consumer_id"])
            if before is None:
                report.added += 1
            elif all(before[k] == row[k] for k in storage.consumers.CONSUMER_COLUMNS):
                report.unchanged += 1
                continue
            else:
                report.changed += 1
            write.append(row)
        storage.consumers.upsert_consumers(conn, write)
        pending.clear()
        source.tick()

    for raw in source.rows():
        report.rows += 1
        line = source.line
        row = raw + [""] * (width - len(raw)) if len(raw) < width else raw
        values = {name: row[i].strip() for name, i in at.items()}
        problem = _consumer_problem(values)
        if problem is None and values["consumer_id"] in seen:
            problem = ("consumer_id", message("duplicate_consumer", line=seen[values["consumer_id"]]))
        if problem is not None:
            column, reason = problem
            error = RowError(line, column, row[at[column]], reason)
            report.reject(error)
            rejects.add(error, raw)
            continue
        seen[values["consumer_id"]] = line
        record = {
            "consumer_id": values["consumer_id"],
            "name": values["name"],
            "registered_mobile": normalise_mobile(values["registered_mobile"]),
            "tariff_category": values.get("tariff_category") or "DS-II",
            "sanctioned_load_kw": float(values["sanctioned_load_kw"])
            if values.get("sanctioned_load_kw")
            else 1.0,
            "division": values.get("division") or None,
            "meter_serial": values.get("meter_serial") or None,
            "is_demo": 0,
        }
        pending.append(record)
        if len(pending) >= CHUNK_ROWS:
            flush()
    if pending:
        flush()
    report.consumers = sorted(seen)
    if report.added or report.changed:
        storage.meta.bump_data_version(conn)


def _consumer_problem(values: dict[str, str]) -> tuple[str, str] | None:
    """The first (column, reason) wrong with one consumer row, or None."""
    for column in ("consumer_id", "name", "registered_mobile"):
        if not values[column]:
            return column, message("missing_value")
    if not _consumer_id_ok(values["consumer_id"]):
        return "consumer_id", message("consumer_id_format")
    for column, limit in _TEXT_LIMITS.items():
        if len(values.get(column, "")) > limit:
            return column, message("name_too_long", limit=limit)
    if normalise_mobile(values["registered_mobile"]) is None:
        return "registered_mobile", message("bad_mobile")
    load = values.get("sanctioned_load_kw")
    if load:
        try:
            number = _number(load)
        except ValueError as error:
            return "sanctioned_load_kw", str(error)
        if not 0 < number <= MAX_SANCTIONED_LOAD_KW:
            return "sanctioned_load_kw", message("bad_load", limit=MAX_SANCTIONED_LOAD_KW)
    return None


def _stored_consumers(conn: sqlite3.Connection, consumer_ids: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    columns = ", ".join(storage.consumers.CONSUMER_COLUMNS)
    for start in range(0, len(consumer_ids), 500):
        chunk = consumer_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for row in conn.execute(f"SELECT {columns} FROM consumers WHERE consumer_id IN ({marks})", chunk):
            found[row[0]] = dict(zip(storage.consumers.CONSUMER_COLUMNS, row, strict=True))
    return found


# --- import recharges -----------------------------------------------------------------------------


def import_recharges(
    conn: sqlite3.Connection,
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
    source = _CsvSource(path, progress)
    report = ImportReport(path=path, kind="recharges")
    try:
        header = source.read_header("consumer_id, timestamp, amount_inr")
        at = {name: _column_index(header, name, path) for name in ("consumer_id", "timestamp", "amount_inr")}
        for name in ("mode", "reference"):
            found = _column_index(header, name, path, required=False)
            if found is not None:
                at[name] = found
        _all_or_nothing(
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
    conn: sqlite3.Connection,
    source: _CsvSource,
    report: ImportReport,
    rejects: _Rejects,
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
        column, reason, ts, amount = "", "", "", 0.0
        if cid not in known:
            known[cid] = _consumer_id_ok(cid) and bool(storage.consumers.existing_consumer_ids(conn, [cid]))
        if not known[cid]:
            column = "consumer_id"
            reason = _consumer_reason(cid)
        else:
            try:
                column = "timestamp"
                ts = parse_timestamp(row[at["timestamp"]], zone, time_format, now)
                column = "amount_inr"
                amount = _number(row[at["amount_inr"]], money=True)
                if not 0 < amount <= MAX_RECHARGE_INR:
                    raise ValueError(message("bad_amount", limit=MAX_RECHARGE_INR))
                for name, limit in (("mode", 40), ("reference", 80)):
                    column = name
                    if name in at and len(row[at[name]].strip()) > limit:
                        raise ValueError(message("name_too_long", limit=limit))
                column = "timestamp"
                earlier = seen.get((cid, ts, amount))
                if earlier:
                    raise ValueError(message("duplicate_recharge", line=earlier))
                column = ""
            except ValueError as error:
                reason = str(error)
        if column:
            error = RowError(line, column, row[at[column]] if column in at else "", reason)
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
        if len(pending) >= CHUNK_ROWS:
            flush()
    if pending:
        flush()
    report.consumers = sorted(span)
    if report.added:
        for cid, (first, last) in span.items():
            storage.readings.refresh_daily(conn, cid, _ist_day(first), _ist_day(last))
        storage.meta.bump_data_version(conn)


# --- export ---------------------------------------------------------------------------------------

EXPORT_COLUMNS = ("date", "consumer_id", "kwh", "closing_balance_inr", "recharge_inr")


def export_daily(
    conn: sqlite3.Connection,
    consumer_id: str,
    out: IO[str],
    first_day: dt.date | None = None,
    last_day: dt.date | None = None,
) -> int:
    """Write one CSV row per IST day with readings or recharges to ``out``; returns the day count.

    Columns ``date,consumer_id,kwh,closing_balance_inr,recharge_inr``. A day without readings has
    an empty ``kwh`` (never 0); a day with neither readings nor recharges is absent.
    """
    if not storage.consumers.existing_consumer_ids(conn, [consumer_id]):
        raise ImportFailed(message("unknown_export_consumer", consumer_id=consumer_id))
    if first_day and last_day and first_day > last_day:
        raise ImportFailed(message("bad_range", first=first_day, last=last_day))
    rows = storage.readings.daily_export_rows(
        conn,
        consumer_id,
        first_day.isoformat() if first_day else None,
        last_day.isoformat() if last_day else None,
    )
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        kwh, closing = row["kwh"], row["closing_balance_inr"]
        writer.writerow(
            [
                row["date"],
                row["consumer_id"],
                "" if kwh is None else f"{kwh:.3f}",
                "" if closing is None else f"{closing:.2f}",
                f"{row['recharge_inr'] or 0:.2f}",
            ]
        )
    return len(rows)


# --- reports --------------------------------------------------------------------------------------


def format_report(report: ImportReport) -> str:
    """The operator's summary of an import (English, from ``MESSAGES``)."""
    lines: list[str] = []
    if report.rejected and not report.committed:
        lines.append(
            message(
                "summary_rejected_strict",
                path=report.path,
                rejected=report.rejected,
                shown=len(report.errors),
            )
        )
    elif report.kind == "consumers":
        lines.append(
            message(
                "summary_consumers",
                path=report.path,
                rows=report.rows,
                added=report.added,
                changed=report.changed,
                unchanged=report.unchanged,
            )
        )
    else:
        extra = f", {report.baselines} baselines" if report.baselines else ""
        lines.append(
            message(
                "summary_ok",
                path=report.path,
                rows=report.rows,
                added=report.added,
                unchanged=report.unchanged,
                extra=extra,
            )
        )
    if report.rejected:
        if report.committed:
            lines.append(
                message("summary_rejected_skipped", rejected=report.rejected, rejects=report.rejects_path)
            )
        lines.extend(
            message("row_problem", line=e.line, column=e.column, value=e.value, reason=e.reason)
            for e in report.errors
        )
        if report.rejected > len(report.errors):
            lines.append(message("summary_more", more=report.rejected - len(report.errors)))
        if not report.committed and report.rejects_path:
            lines.append(message("summary_rejects_written", rejects=report.rejects_path))
    if report.resets:
        lines.append(message("resets", count=len(report.resets)))
        lines.extend(
            message(
                "reset_line",
                consumer_id=r.consumer_id,
                line=r.line,
                ts=r.ts,
                previous=r.previous,
                reading=r.reading,
            )
            for r in report.resets[:REPORT_FIRST]
        )
        if len(report.resets) > REPORT_FIRST:
            lines.append(message("summary_more", more=len(report.resets) - REPORT_FIRST))
    if report.baselines:
        lines.append(message("baselines", count=report.baselines))
    return "\n".join(lines)
