"""Import meter readings: the reading pipeline from a source's rows to storage, chunk by chunk.

Rules (``BENCHMARKS.md`` has the figures; each rule is in ``lib.importing.rules``):

- **One transaction per import** (``write.all_or_nothing``); strict by default, ``skip_invalid`` writes a
  rejects CSV. **Idempotent**: a row equal to a stored one is a no-op; a *different* stored value makes the
  row bad (the stored value wins). **Duplicates within a file** are bad rows; the first one counts.
- **Timestamps** ISO 8601 or ``time_format``; without an offset read in ``tz``. The skipped spring hour
  and (without an offset) the repeated autumn hour of a zone with daylight saving are bad rows; so is
  anything before 2000-01-01 or more than a day ahead. ``--stamp end`` and ``--date-col``: ``stamps``.
- **kWh**: a number, not negative, at most ``max_kwh`` per reading.
- **Register files** (``kwh_kind="register"``) become interval energy per consumer in time order; the
  first reading is a baseline; a drop starts a new baseline (reported), never negative energy
  (``registers``).

Three paths, one set of rules: a *plain* block of lines (no quote, blank line or NUL: ``sources.Block``) of
an interval file with a ``.`` decimal mark is read by Arrow's C tokenizer and, when every row is good and
written plainly, checked and converted column by column in C and numpy (``chunks.plain_chunk``); any other
chunk the csv module reads, and when every row is good it is checked column by column in Python
(``chunks.clean_chunk``); a chunk with a bad row, and every chunk of a register or end-stamped file, goes
row by row (``_ReadingRun.read_rows``), which explains each bad row. All three accept exactly the same rows
with the same values (``tests/test_importer.py`` imports random and messy files all three ways and compares
everything).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import math
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lib.clock import IST, UTC, now_utc
from lib.importing import chunks, sources
from lib.importing.chunks import ArrowTimes, ChunkContext, line_numbers
from lib.importing.registers import RegisterSeries
from lib.importing.report import (
    ImportFailed,
    ImportReport,
    Rejects,
    RowError,
    RowProblem,
    message,
)
from lib.importing.rules import (
    MAX_KWH_PER_READING,
    PLAUSIBLE_LOAD_FACTOR,
    Seen,
    balance_in_range,
    balance_problem,
    consumer_problem,
    kwh_in_range,
    kwh_problem,
    looks_like_wh,
    parse_money,
    zone_for,
)
from lib.importing.sources import CsvSource, GreenButtonSource, Progress, column_index, row_lines
from lib.importing.stamps import Parse, interval_starts, join_date, stamp_parser
from lib.importing.write import (
    ReadingWriter,
    SplitRows,
    all_or_nothing,
    day_grids,
    ist_day,
)

if TYPE_CHECKING:
    from lib.storage import Database


@dataclass(frozen=True)
class ReadingColumns:
    """Which CSV columns hold what (``--id-col`` and friends). ``balance=None``: optional ``balance_inr``."""

    consumer_id: str = "consumer_id"
    timestamp: str = "timestamp"
    kwh: str = "kwh"
    balance: str | None = None
    date: str | None = None  # a date column the timestamp column's time of day belongs to
    export: str | None = None  # energy sent to the grid (net metering), in the energy unit


@dataclass(frozen=True)
class _Layout:
    """One file's columns (0-based indexes; ``id_at=None``: every row is ``fixed_consumer``'s) and the
    options that decide how each row is read: ``scale`` (1.0 for kWh, 0.001 for Wh), ``max_kwh`` per
    reading in kWh, ``register_max`` (a register's width, None: read from the values), ``parse`` (the
    file's timestamp rule), ``starts`` (``--stamp end``: ``stamps.interval_starts``), ``export_only`` (a
    Green Button export channel: fills ``export_kwh`` of stored readings)."""

    id_at: int | None
    ts_at: int
    kwh_at: int
    balance_at: int | None
    date_at: int | None
    export_at: int | None
    fixed_consumer: str | None
    parse: Parse
    register: bool
    net: bool
    max_kwh: float
    scale: float
    register_max: float | None
    decimal_comma: bool
    skip_invalid: bool
    id_kind: str
    export_only: bool
    starts: dict[str, dict[str, str]] | None

    @property
    def width(self) -> int:
        """How many fields a row needs: one past the last column read."""
        columns = (self.id_at, self.ts_at, self.kwh_at, self.balance_at, self.date_at, self.export_at)
        return max(i for i in columns if i is not None) + 1

    @property
    def exporting(self) -> bool:
        """Readings carry ``export_kwh`` (5-tuples): a net file or an export column."""
        return self.net or self.export_at is not None

    @property
    def column_wise(self) -> bool:
        """Whether a chunk may be checked column by column (``chunks.clean_chunk``): an interval file of
        start stamps without export, with at least two columns."""
        return self.starts is None and not self.register and not self.exporting and self.width >= 2

    @property
    def plain(self) -> bool:
        """Whether plain blocks may be read by Arrow (``chunks.plain_chunk``): as ``column_wise``, with a
        ``.`` decimal mark and no date column."""
        return self.column_wise and not self.decimal_comma and self.date_at is None


def import_readings(
    conn: Database,
    path: str | Path,
    *,
    columns: ReadingColumns | None = None,
    consumer_id: str | None = None,
    tz: str = "Asia/Kolkata",
    kwh_kind: str = "interval",
    time_format: str | None = None,
    max_kwh: float = MAX_KWH_PER_READING,
    energy_unit: str = "kwh",
    register_max: float | None = None,
    id_kind: str = "consumer",
    stamp: str = "start",
    delimiter: str | None = None,
    decimal: str | None = None,
    skip_rows: int | None = None,
    skip_invalid: bool = False,
    rejects_path: str | Path | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import meter readings from a CSV file in one transaction (see the module rules).

    ``energy_unit``: ``"kwh"`` or ``"wh"`` (values divided by 1000). ``register_max``: the register's width
    for rollovers (default: read from the values, 99999.9 -> 100000). ``delimiter`` / ``decimal`` /
    ``skip_rows``: override what is read from the file (separator, decimal mark, lines above the header).

    ``kwh_kind``: ``"interval"``, ``"register"`` (cumulative) or ``"net"`` (import minus export: a negative
    value is energy sent to the grid, stored as ``export_kwh`` with 0 drawn). ``columns.export`` names a
    separate export column instead. ``id_kind="meter-serial"``: the ID column holds meter serial numbers
    (``consumers.meter_serial``). ``columns.date``: a date column joined to the time column's time of day.
    ``stamp="end"``: each timestamp ends its interval (``24:00`` accepted); the reading is stored at its
    interval's start, one interval earlier, each by its own interval: the gap to its meter's reading
    before (``interval_starts``, one extra pass over the file).
    A Green Button (ESPI XML) file is recognised by its content (``sources.GreenButtonSource``) and needs
    ``consumer_id``.

    ``import_readings(conn, "lcl.csv", columns=ReadingColumns("LCLid", "tstp", "energy(kWh/hh)"),
    tz="Europe/London", skip_invalid=True)``. Raises ``ImportFailed`` for a file that cannot be read
    at all; bad rows are in the returned report.
    """
    path = Path(path)
    columns = columns or ReadingColumns()
    _check_options(kwh_kind=kwh_kind, energy_unit=energy_unit, id_kind=id_kind, stamp=stamp, decimal=decimal)
    zone = zone_for(tz)
    now = now_utc()
    if consumer_id is not None:
        consumer_id = consumer_id.strip()
        if not conn.consumers.existing_consumer_ids([consumer_id]):
            raise ImportFailed("unknown_fixed_consumer", consumer_id=consumer_id)

    source = _open_source(path, progress, delimiter, fixed=consumer_id is not None)
    export_only = isinstance(source, GreenButtonSource) and source.export
    if isinstance(source, GreenButtonSource):
        timestamp, kwh, *export = source.header  # a reverse-flow channel: energy sent to the grid
        columns = ReadingColumns(timestamp=timestamp, kwh=kwh, export=export[0] if export else None)
        energy_unit, decimal, skip_rows, stamp = "kwh", None, None, "start"  # ESPI: start epoch, in Wh
    report = ImportReport(path=path, kind="readings")
    required = [columns.timestamp, columns.kwh]
    required = ([] if consumer_id else [columns.consumer_id]) + required
    required += [name for name in (columns.date, columns.export) if name]
    try:
        header = source.read_header(", ".join(required), required, skip_rows=skip_rows, decimal=decimal)
        at = _locate(header, columns, path, source.delimiter or ",", fixed=consumer_id is not None)
        id_at, ts_at, kwh_at, balance_at, date_at, export_at = at
        parse = stamp_parser(zone, time_format, now)
        starts: dict[str, dict[str, str]] | None = None
        if stamp == "end":  # the end stamps as written (24:00 accepted), then each moved to its start
            parse = stamp_parser(zone, time_format, now, end_minutes=0)
            scan = CsvSource(path, None, delimiter=source.delimiter)
            try:
                scan.read_header(", ".join(required), required, skip_rows=skip_rows, decimal=source.decimal)
                starts = interval_starts(scan.rows(), id_at=id_at, ts_at=ts_at, date_at=date_at, parse=parse)
            finally:
                scan.close()
        if energy_unit == "kwh" and looks_like_wh(columns.kwh):
            report.notes.append(message("wh_hint", column=columns.kwh, unit="kWh"))
        names = {id_at: columns.consumer_id, ts_at: columns.timestamp, kwh_at: columns.kwh}
        names.update({i: header[i] for i in (export_at, balance_at) if i is not None})
        layout = _Layout(
            id_at=id_at,
            ts_at=ts_at,
            kwh_at=kwh_at,
            balance_at=balance_at,
            date_at=date_at,
            export_at=export_at,
            fixed_consumer=consumer_id,
            parse=parse,
            register=kwh_kind == "register",
            net=kwh_kind == "net",
            max_kwh=max_kwh,
            scale=0.001 if energy_unit == "wh" else 1.0,
            register_max=register_max,
            decimal_comma=source.decimal == ",",
            skip_invalid=skip_invalid,
            id_kind=id_kind,
            export_only=export_only,
            starts=starts,
        )
        all_or_nothing(
            conn,
            path,
            report,
            skip_invalid,
            rejects_path,
            source.header,
            staged=bool(conn.staging.needed()),
            read=lambda rejects: _ReadingRun(conn, source, report, rejects, names, layout).read(),
        )
    finally:
        source.close()
    return report


def _open_source(
    path: Path, progress: Progress | None, delimiter: str | None, *, fixed: bool
) -> CsvSource | GreenButtonSource:
    """The file as a source of rows: a Green Button (ESPI XML) file, recognised by its content, or a CSV
    file (``delimiter``: the separator, None to read it from the file). Raises
    ``ImportFailed("xml_needs_consumer")`` for a Green Button file without a ``fixed`` consumer (it names
    none). An export channel (``GreenButtonSource.export``) says nothing of the energy drawn: it fills
    ``export_kwh`` of readings stored from the same meter's import-channel file (never their kWh), and
    adds the others with kWh 0."""
    if GreenButtonSource.recognises(path):
        if not fixed:
            raise ImportFailed("xml_needs_consumer", path=path)
        return GreenButtonSource(path, progress)
    return CsvSource(path, progress, delimiter=delimiter)


def _check_options(*, kwh_kind: str, energy_unit: str, id_kind: str, stamp: str, decimal: str | None) -> None:
    """Refuse an option outside its choices before the file is opened: ``ImportFailed("bad_kwh_kind")``
    or ``ImportFailed("bad_option", option=..., choices=..., value=...)``.

    >>> _check_options(kwh_kind="interval", energy_unit="mwh", id_kind="consumer", stamp="start", decimal=None)
    Traceback (most recent call last):
    ...
    lib.importing.report.ImportFailed: energy unit must be one of kwh, wh, not 'mwh'
    """
    if kwh_kind not in ("interval", "register", "net"):
        raise ImportFailed("bad_kwh_kind", kind=kwh_kind)
    if energy_unit not in ("kwh", "wh"):
        raise ImportFailed("bad_option", option="energy unit", choices="kwh, wh", value=energy_unit)
    if id_kind not in ("consumer", "meter-serial"):
        raise ImportFailed("bad_option", option="id kind", choices="consumer, meter-serial", value=id_kind)
    if stamp not in ("start", "end"):
        raise ImportFailed("bad_option", option="stamp", choices="start, end", value=stamp)
    if decimal not in (None, ".", ","):
        raise ImportFailed("bad_option", option="decimal mark", choices="'.', ','", value=decimal)


def _locate(
    header: list[str], columns: ReadingColumns, path: Path, split: str, *, fixed: bool
) -> tuple[int | None, int, int, int | None, int | None, int | None]:
    """The 0-based indexes of ``(consumer ID, time, kWh, balance, date, export)`` in ``header`` (None: not
    in the file, or no ID column for a ``fixed`` consumer); a ``balance_inr`` column is read when present.
    Raises ``ImportFailed`` for a named column the header lacks (``sources.column_index``).

    >>> _locate(["consumer_id", "timestamp", "kwh", "balance_inr"], ReadingColumns(), Path("r.csv"), ",",
    ...         fixed=False)
    (0, 1, 2, 3, None, None)
    """
    id_at = None if fixed else column_index(header, columns.consumer_id, path, delimiter=split)
    ts_at = column_index(header, columns.timestamp, path, delimiter=split)
    kwh_at = column_index(header, columns.kwh, path, delimiter=split)
    date_at = column_index(header, columns.date, path, delimiter=split) if columns.date else None
    export_at = column_index(header, columns.export, path, delimiter=split) if columns.export else None
    balance_at = (
        column_index(header, columns.balance, path, delimiter=split)
        if columns.balance
        else column_index(header, "balance_inr", path, required=False)
    )
    return id_at, ts_at, kwh_at, balance_at, date_at, export_at


class _ReadingRun:
    """One import's reading state, from the first block to ``finish``: the caches and consumer states the
    three paths share (``ctx``, a ``chunks.ChunkContext``), the register series, the readings pending
    for the writer (flushed every ``sources.CHUNK_ROWS`` readings, whichever path queued them) and what the
    daily roll-ups and the plausibility check need afterwards.

    Pending readings are ``(consumer_id, ts, kwh, balance_inr)`` tuples, with ``export_kwh`` fifth when the
    layout is ``exporting`` (stored UTC text, kWh, ₹ or None), each with its line number and its row as read
    (a plain line's text stands for its row). ``names``: column index -> its header name, for the bad rows'
    reports. Made and run by ``import_readings``: ``_ReadingRun(...).read()`` returns ``finish``.
    """

    def __init__(
        self,
        conn: Database,
        source: CsvSource | GreenButtonSource,
        report: ImportReport,
        rejects: Rejects,
        names: dict[int | None, str],
        layout: _Layout,
    ) -> None:
        self.conn, self.source, self.report, self.rejects = conn, source, report, rejects
        self.names, self.layout = names, layout
        fixed = Seen(layout.fixed_consumer) if layout.fixed_consumer is not None else None
        self.ctx = ChunkContext(
            conn,
            layout.parse,
            layout.id_at,
            layout.ts_at,
            layout.kwh_at,
            layout.balance_at,
            layout.max_kwh,
            layout.scale,
            layout.id_kind,
            fixed,
        )
        at = (layout.ts_at, layout.kwh_at)
        self.registers = RegisterSeries(conn, report, self.bad, *at, layout.max_kwh, layout.register_max)
        self.chunk = sources.CHUNK_ROWS
        self.delimiter = source.delimiter or ","
        self.width, self.exporting = layout.width, layout.exporting
        self.rows_read = 0
        self.absurd = 0  # rows refused as more than max_kwh
        self.pending: list[
            tuple[str, str, float, float | None] | tuple[str, str, float, float | None, float | None]
        ] = []
        self.pending_lines = array("q")
        self.pending_rows: list[list[str] | str] = []  # rows as read; a plain line's text stands for its row
        # consumer -> the largest energy seen at a chunk's peak and its ts (the plausibility check)
        self.tops: dict[str, tuple[float, str]] = {}
        # consumer -> every reading written by the row path (stored ts texts; the chunk paths keep Unix
        # seconds in ctx.written): each is stored afterwards (added, equal to the stored one, or a conflict
        # the stored one wins), so the daily roll-ups need not check their spacing in SQL (``write.day_grids``)
        self.written_texts: dict[str, list[str]] = {}
        # the row path's current consumer (looked up again only when the ID changes from the previous row)
        self.last_key: str | None = None
        self.mine: Seen | None = fixed
        self.writer = ReadingWriter(conn, report, export_only=layout.export_only, conflict=self.conflict)
        self.wanted = sorted(
            {i for i in (layout.id_at, layout.ts_at, layout.kwh_at, layout.balance_at) if i is not None}
        )
        self.arrow_times = ArrowTimes() if layout.plain else None

    def read(self) -> Callable[[], None]:
        """The hot loop: parse, validate and write readings chunk by chunk; returns the last step (``finish``).

        Written for speed (``bench/bench_import.py``). The file is read ``sources.CHUNK_ROWS`` lines at a time
        (``source.blocks``), each block by ``read_block`` (Arrow, the csv module column-wise, or row
        by row); Raises
        ``ImportFailed`` for a file that cannot be read (``source.errors_translated``), ``StorageError`` when
        the database fails.

        Chunks go to a ``write.ReadingWriter``: on SQLite into the staging area, outside the write lock
        (``all_or_nothing(staged=True)`` runs this outside the transaction), elsewhere into ``readings``. The
        returned ``finish`` runs inside the transaction: the staged readings moved (conflicts with stored
        readings found then, inside the lock), the register baselines checked unchanged, the plausibility
        check, meter events, register states, the daily roll-ups and the data version.
        """
        with self.source.errors_translated(), _cyclic_gc_paused():
            for piece in self.source.blocks(self.chunk):
                self.read_block(piece)
        return self.close()

    # --- bad rows ---------------------------------------------------------------------------------

    def bad(self, line: int, at: int | None, value: str, problem: RowProblem, row: list[str]) -> None:
        """Report one bad row (``RowError`` in the report, the row in the rejects file)."""
        self.absurd += problem.code == "absurd_kwh"
        error = RowError.of(line, self.names.get(at, ""), value, problem)
        self.report.reject(error)
        self.rejects.add(error, row)

    def conflict(self, line: int, row: list[str], stored: tuple[float, float | None, float | None]) -> None:
        """A reading of the file whose stored reading differs: a bad row (the stored value wins)."""
        kwh_at = self.layout.kwh_at
        self.bad(
            line,
            kwh_at,
            row[kwh_at],
            RowProblem("conflict_stored_export", export=stored[2])
            if self.layout.export_only
            else RowProblem("conflict_stored", kwh=stored[0], balance=stored[1]),
            row,
        )

    # --- the pending readings ---------------------------------------------------------------------

    def flush(self) -> None:
        """Hand the pending readings to the writer (with their lines and rows) and note the chunk's peak."""
        pending = self.pending
        energies = np.fromiter(map(itemgetter(2), pending), dtype=np.float64, count=len(pending))
        top = pending[int(energies.argmax())]
        if top[2] > self.tops.get(top[0], (-1.0, ""))[0]:
            self.tops[top[0]] = (top[2], top[1])
        self.writer.write(pending, self.pending_lines, SplitRows(self.pending_rows, self.delimiter))
        pending.clear()
        del self.pending_lines[:]
        self.pending_rows.clear()
        self.source.tick()

    def queue_clean(
        self,
        good: list[tuple[str, str, float, float | None]],
        lines: Sequence[int],
        rows: Sequence[list[str]] | Sequence[str],
    ) -> None:
        """Queue a clean chunk, flushing at the same rows as the row-by-row path would."""
        pending, chunk = self.pending, self.chunk
        done, total = 0, len(good)
        while done < total:
            take = min(chunk - len(pending), total - done)
            pending.extend(good[done : done + take])
            self.pending_lines.frombytes(line_numbers(lines[done : done + take]))
            self.pending_rows.extend(rows[done : done + take])
            done += take
            if len(pending) >= chunk:
                self.flush()

    def queue(
        self,
        cid: str,
        ts: str,
        kwh: float,
        balance: float | None,
        export: float | None,
        line: int,
        row: list[str],
    ) -> None:
        """Queue one reading of the row path (no flush: the caller flushes after the row's last reading)."""
        self.pending.append((cid, ts, kwh, balance, export) if self.exporting else (cid, ts, kwh, balance))
        self.written_texts.setdefault(cid, []).append(ts)
        self.pending_lines.append(line)
        self.pending_rows.append(row)

    # --- one block: Arrow, the csv module column-wise, or row by row -------------------------------

    def read_block(self, piece: sources.Block) -> None:
        """Read one block of the file by the fastest path that takes it whole (the module docstring):
        Arrow for a plain block (``chunks.plain_chunk``), else the csv module's rows column-wise
        (``chunks.clean_chunk``), else row by row (``read_rows``)."""
        if self.arrow_times is not None and piece.text is not None:
            lines = range(piece.start + 1, piece.end + 1)
            texts = sources.plain_columns(piece, self.delimiter, self.wanted)
            good = None if texts is None else chunks.plain_chunk(self.ctx, texts, lines, self.arrow_times)
            if good is not None:
                self.rows_read += len(good)
                self.queue_clean(good, lines, piece.lines())
                return
        block, block_lines = self.split(piece)
        if self.layout.column_wise and min(map(len, block)) >= self.width:
            good = chunks.clean_chunk(self.ctx, block, block_lines)
            if good is not None:
                self.rows_read += len(block)
                self.queue_clean(good, block_lines, block)
                return
        self.read_rows(block, block_lines)

    def split(self, piece: sources.Block) -> tuple[list[list[str]], Sequence[int]]:
        """The block's rows as the csv module reads them, decimal commas and a date column rewritten in
        place, and each row's line number in the file (a quoted value may span lines)."""
        layout = self.layout
        block = piece.split(self.delimiter)
        if layout.decimal_comma:
            _decimal_comma(block, layout.kwh_at, layout.balance_at)
            if layout.export_at is not None:
                _decimal_comma(block, layout.export_at, None)
        if layout.date_at is not None:  # date and time of day in separate columns
            join_date(block, layout.date_at, layout.ts_at)
        if piece.end - piece.start == len(block):
            return block, range(piece.start + 1, piece.start + 1 + len(block))
        return block, row_lines(block, piece.start)  # a quoted value spans lines

    # --- the row path -------------------------------------------------------------------------------

    def read_rows(self, block: list[list[str]], block_lines: Sequence[int]) -> None:
        """The row-by-row path: each row checked in turn (consumer, timestamp, energy, balance, duplicate,
        register step), each bad row reported with its column, value and reason; the good ones queued."""
        layout, ctx, bad, width = self.layout, self.ctx, self.bad, self.width
        id_at, ts_at, starts = layout.id_at, layout.ts_at, layout.starts
        good_times = ctx.good_times
        last_key, mine = self.last_key, self.mine
        energy_of, balance_of, queue, step_of = self.energy, self.balance, self.queue, self.registers.step
        register, kwh_at, pending, chunk = layout.register, layout.kwh_at, self.pending, self.chunk
        cid, seen_times, seen_lines = "", [], array("q")
        if mine is not None:
            cid, seen_times, seen_lines = mine.consumer_id, mine.times, mine.lines
        for row, line in zip(block, block_lines, strict=True):
            if len(row) < width:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # a blank line
                row = row + [""] * (width - len(row))
            self.rows_read += 1
            # consumer (its state is looked up again only when the ID changes from the previous row)
            if id_at is not None:
                key = row[id_at]
                if key != last_key:
                    last_key = key
                    mine = ctx.consumer(key)
                    if mine is not None:
                        cid, seen_times, seen_lines = mine.consumer_id, mine.times, mine.lines
                if mine is None:
                    bad(line, id_at, key, consumer_problem(key.strip(), kind=layout.id_kind), row)
                    continue
            # timestamp (cached: many meters share one time grid)
            raw_ts = row[ts_at]
            ts = good_times.get(raw_ts)
            if ts is None:
                found = ctx.time_of(raw_ts)
                if isinstance(found, RowProblem):
                    bad(line, ts_at, raw_ts, found, row)
                    continue
                ts = found
            if starts is not None:  # --stamp end: the interval's start, from this meter's own gaps
                ts = starts[key.strip() if id_at is not None else ""][ts]
            energy = energy_of(row, line)
            if energy is None:
                continue
            kwh, export = energy
            balance = balance_of(row, line)
            if balance is _REFUSED:
                continue
            # duplicate within the file: O(1) while the consumer's rows come in time order
            if seen_times and ts <= seen_times[-1]:
                earlier = mine.add_out_of_order(ts, line)  # type: ignore[union-attr]  # mine is set once a consumer is known
                if earlier:
                    bad(line, ts_at, raw_ts, RowProblem("duplicate_in_file", line=earlier), row)
                    continue
            else:
                seen_times.append(ts)
                seen_lines.append(line)
            if register:  # register -> interval
                step = step_of(mine, ts, raw_ts, kwh, row[kwh_at], line, row, balance)  # type: ignore[arg-type]
                if step is None:
                    continue
                kwh, glitch = step
                if glitch is not None:  # the part of the step before a removed reading, at its time
                    queue(cid, glitch[0], glitch[1], None, None, line, row)
            queue(cid, ts, kwh, balance, export, line, row)  # type: ignore[arg-type]  # _REFUSED left above
            if len(pending) >= chunk:
                self.flush()
        self.last_key, self.mine = last_key, mine

    def energy(self, row: list[str], line: int) -> tuple[float, float | None] | None:
        """The row's ``(kWh drawn, kWh sent to the grid or None)`` after ``scale``, or None when it is a bad
        row (reported): a register value must be a finite number not below 0; a net value (import minus
        export) and an export column within ``kwh_in_range`` as interval energy is."""
        layout = self.layout
        kwh_at, max_kwh, scale = layout.kwh_at, layout.max_kwh, layout.scale
        raw_kwh = row[kwh_at]
        try:
            kwh = float(raw_kwh) * scale
        except ValueError:
            kwh = math.nan
        export: float | None = None
        if layout.register:
            if not (0.0 <= kwh < math.inf):
                self.bad(line, kwh_at, raw_kwh, kwh_problem(raw_kwh, max_kwh, register=True), row)
                return None
        elif layout.net:  # import minus export: a negative value is energy sent to the grid
            if not kwh_in_range(abs(kwh), max_kwh):
                self.bad(line, kwh_at, raw_kwh, kwh_problem(raw_kwh.lstrip("-"), max_kwh, scale=scale), row)
                return None
            kwh, export = (kwh, 0.0) if kwh >= 0 else (0.0, -kwh)
        elif not kwh_in_range(kwh, max_kwh):
            self.bad(line, kwh_at, raw_kwh, kwh_problem(raw_kwh, max_kwh, scale=scale), row)
            return None
        if layout.export_at is not None:
            raw_export = row[layout.export_at]
            try:
                export = float(raw_export) * scale
            except ValueError:
                export = math.nan
            if not kwh_in_range(export, max_kwh):
                self.bad(
                    line, layout.export_at, raw_export, kwh_problem(raw_export, max_kwh, scale=scale), row
                )
                return None
        return kwh, export

    def balance(self, row: list[str], line: int) -> float | None | object:
        """The row's balance in ₹ (None: no column, or blank), or ``_REFUSED`` when the row is refused for
        it (reported). An unreadable or out-of-range balance never takes the row's energy with it under
        ``skip_invalid``: the problem is reported and the reading kept without a balance."""
        balance_at = self.layout.balance_at
        if balance_at is None:
            return None
        skip_invalid = self.layout.skip_invalid
        raw_balance = row[balance_at]
        balance: float | None = None
        try:
            balance = float(raw_balance)
        except ValueError:
            if raw_balance.strip():
                try:
                    balance = parse_money(raw_balance)
                except RowProblem as problem:
                    self.bad(line, balance_at, raw_balance, problem, row)
                    if not skip_invalid:
                        return _REFUSED
        if balance is not None and not balance_in_range(balance):
            self.bad(line, balance_at, raw_balance, balance_problem(balance), row)
            if not skip_invalid:
                return _REFUSED
            balance = None
        return balance

    # --- the end of the file, then the end of the import --------------------------------------------

    def close(self) -> Callable[[], None]:
        """After the last block: the last register readings judged, the last readings written, the report's
        rows, notes and consumers filled in; returns ``finish`` for inside the transaction."""
        layout, report, names = self.layout, self.report, self.names
        self.registers.close()
        if self.pending:
            self.flush()
        report.rows = self.rows_read
        column = names.get(layout.kwh_at, "")
        if self.rows_read and self.absurd == self.rows_read and layout.scale == 1.0 and looks_like_wh(column):
            report.notes.append(message("wh_all_absurd", column=column, limit=f"{layout.max_kwh:g}"))
        consumers = self.ctx.consumers
        unknown = [key.strip() for key, state in consumers.items() if state is None]
        if unknown and layout.id_kind == "consumer":  # meter serials in a consumer ID column: one hint
            serials = self.conn.consumers.consumer_ids_by_meter_serial(unknown)
            if serials:
                report.notes.append(
                    message("serial_hint", count=len(serials), column=names.get(layout.id_at, ""))
                )
        states = {s.consumer_id: s for s in consumers.values() if s is not None}
        if layout.fixed_consumer is not None and self.mine is not None:
            states[layout.fixed_consumer] = self.mine
        self.states = {cid: state for cid, state in states.items() if state.span()}
        report.consumers = sorted(self.states)
        return self.finish

    def finish(self) -> None:
        """Inside the import's transaction (under SQLite's write lock): the register baselines checked
        unchanged, the staged readings moved, the plausibility check (``check_plausible``), meter events
        and register states stored, the daily roll-ups of every touched day and the data versions bumped.
        Raises ``ImportFailed`` (``register_changed``, ``implausible``) or ``StorageError``."""
        conn, report, layout, states = self.conn, self.report, self.layout, self.states
        self.registers.check_unchanged()  # read outside the lock when staged: still so?
        self.writer.move()
        if self.tops:
            column = self.names.get(layout.kwh_at, "")
            check_plausible(
                conn, report, self.tops, states, column, register=layout.register, scale=layout.scale
            )
        if report.meter_events:  # in the import's transaction: rolled back with a strict import's bad rows
            conn.meter_events.insert_meter_events([event.row() for event in report.meter_events])
        self.registers.save()
        if report.added:
            stamp_seconds: dict[str, int] = {}
            carried, written = self.registers.carried, self.ctx.written
            for cid, state in sorted(states.items()):
                first, last = state.span()  # type: ignore[misc]
                first = min(first, carried.get(cid, first))  # a step from the stored baseline starts there
                grids = day_grids(self.written_texts.get(cid, ()), stamp_seconds, written.get(cid, ()))
                conn.readings.refresh_daily(cid, ist_day(first), ist_day(last), known_days=grids)
            if layout.skip_invalid or not report.rejected:  # else rolled back next: PostgreSQL's version
                conn.meta.bump_data_version(sorted(states))  # sequence would move anyway (caches emptied)


_REFUSED = object()  # ``_ReadingRun.balance``: the row is refused for its balance


def typical_interval_minutes(times: Sequence[str], sample: int = 200) -> float | None:
    """The most common gap in minutes between the first ``sample`` timestamps (stored UTC text), or None.

    >>> typical_interval_minutes(["2026-11-24T00:00:00Z", "2026-11-24T00:10:00Z", "2026-11-24T00:20:00Z"])
    10.0
    """
    moments = [dt.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ") for ts in times[:sample]]
    gaps = [(b - a).total_seconds() / 60 for a, b in zip(moments, moments[1:], strict=False) if b > a]
    if not gaps:
        return None
    values, counts = np.unique(np.array(gaps), return_counts=True)
    return float(values[counts.argmax()])


def check_plausible(
    conn: Database,
    report: ImportReport,
    tops: dict[str, tuple[float, str]],
    states: dict[str, Seen],
    column: str,
    *,
    register: bool,
    scale: float,
) -> None:
    """Refuse the whole file when a consumer's implied demand (energy ÷ interval length) exceeds
    ``PLAUSIBLE_LOAD_FACTOR`` times its sanctioned load, naming the likely cause: cumulative register
    values read as interval energy when the values never fall from one reading to the next (checked in
    the database only for a file being refused), else Wh read as kWh. Raises
    ``ImportFailed("implausible", ...)``.
    """
    loads = conn.consumers.consumer_rows(list(tops))
    for cid, (kwh, ts) in sorted(tops.items()):
        state = states.get(cid)
        if state is None or cid not in loads:
            continue
        minutes = typical_interval_minutes(state.times)
        if minutes is None:  # one reading: no interval to judge by
            continue
        kw = kwh * 60.0 / minutes
        load = float(loads[cid]["sanctioned_load_kw"] or 1.0)
        if kw <= PLAUSIBLE_LOAD_FACTOR * load:
            continue
        first, last = state.span()  # type: ignore[misc]
        if not register and conn.readings.rises_throughout(cid, first, last):
            cause = message("cause_register")  # every value at least the one before: a cumulative register
        elif scale == 1.0:  # values that fall and rise are not a register, however large: Wh read as kWh
            cause = message("cause_wh")
        else:
            cause = message("cause_unknown")
        moment = dt.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).astimezone(IST)
        raise ImportFailed(
            "implausible",
            path=report.path,
            consumer_id=cid,
            kw=kw,
            minutes=minutes,
            ts=moment.strftime("%Y-%m-%d %H:%M"),
            factor=kw / load,
            load=load,
            cause=cause,
        )


def _decimal_comma(block: list[list[str]], kwh_at: int, balance_at: int | None) -> None:
    """Rewrite a decimal-comma chunk's numbers in place (``0,25`` -> ``0.25``, ``1.234,50`` -> ``1234.50``)."""
    for row in block:
        if len(row) > kwh_at:
            row[kwh_at] = row[kwh_at].replace(".", "").replace(",", ".")
        if balance_at is not None and len(row) > balance_at:
            row[balance_at] = row[balance_at].replace(".", "").replace(",", ".")


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
