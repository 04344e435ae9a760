"""Import meter readings: the reading pipeline from a source's rows to storage, chunk by chunk.

Rules (``BENCHMARKS.md`` has the figures; each rule is in ``lib.importing.rules``):

- **One transaction per import** (``write.all_or_nothing``); strict by default, ``skip_invalid`` writes a
  rejects CSV. **Idempotent**: a row equal to a stored one is a no-op; a *different* stored value makes the
  row bad (the stored value wins). **Duplicates within a file** are bad rows; the first one counts.
- **Timestamps** ISO 8601 or ``time_format``; without an offset read in ``tz``. The skipped spring hour
  and (without an offset) the repeated autumn hour of a zone with daylight saving are bad rows; so is
  anything before 2000-01-01 or more than a day ahead.
- **kWh**: a number, not negative, at most ``max_kwh`` per reading.
- **Register files** (``kwh_kind="register"``) become interval energy per consumer in time order; the
  first reading is a baseline; a drop starts a new baseline (reported), never negative energy.

Three paths, one set of rules: a *plain* block of lines (no quote, blank line or NUL: ``sources.Block``) of
an interval file with a ``.`` decimal mark is read by Arrow's C tokenizer and, when every row is good and
written plainly, checked and converted column by column in C and numpy (``plain_chunk``); any other chunk
the csv module reads, and when every row is good it is checked column by column in Python (``clean_chunk``);
a chunk with a bad row, and every chunk of a register or end-stamped file, goes row by row
(``_read_readings``), which explains each bad row. All three accept exactly the same rows with the same
values (``tests/test_importer.py`` imports random and messy files all three ways and compares everything).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import math
import time
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import compress, islice
from operator import itemgetter, ne
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np

from lib.clock import IST, UTC, now_utc, to_ts
from lib.importing import sources
from lib.importing.report import (
    ImportFailed,
    ImportReport,
    MeterEvent,
    MeterReset,
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
    balance_value,
    consumer_id_ok,
    consumer_problem,
    kwh_in_range,
    kwh_problem,
    looks_like_wh,
    parse_money,
    parse_timestamp,
    register_step,
    register_width,
    zone_for,
)
from lib.importing.sources import CsvSource, GreenButtonSource, Progress, column_index, row_lines
from lib.importing.write import (
    ReadingWriter,
    SplitRows,
    all_or_nothing,
    day_grids,
    epoch_seconds,
    ist_day,
)

if TYPE_CHECKING:
    import pyarrow as pa

    from lib.storage import Database

_TIME_CACHE_MAX = 100_000
_NUMBER_CACHE_MAX = 100_000


@dataclass(frozen=True)
class ReadingColumns:
    """Which CSV columns hold what (``--id-col`` and friends). ``balance=None``: optional ``balance_inr``."""

    consumer_id: str = "consumer_id"
    timestamp: str = "timestamp"
    kwh: str = "kwh"
    balance: str | None = None
    date: str | None = None  # a date column the timestamp column's time of day belongs to
    export: str | None = None  # energy sent to the grid (net metering), in the energy unit


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
    zone = zone_for(tz)
    now = now_utc()
    if consumer_id is not None:
        consumer_id = consumer_id.strip()
        if not conn.consumers.existing_consumer_ids([consumer_id]):
            raise ImportFailed("unknown_fixed_consumer", consumer_id=consumer_id)

    source: CsvSource | GreenButtonSource
    export_only = False
    if GreenButtonSource.recognises(path):
        if consumer_id is None:
            raise ImportFailed("xml_needs_consumer", path=path)
        source = GreenButtonSource(path, progress)
        timestamp, kwh, *export = source.header  # a reverse-flow channel: energy sent to the grid
        columns = ReadingColumns(timestamp=timestamp, kwh=kwh, export=export[0] if export else None)
        energy_unit, decimal, skip_rows, stamp = "kwh", None, None, "start"  # ESPI: start epoch, in Wh
        # an export channel says nothing of the energy drawn: it fills export_kwh of readings stored
        # from the same meter's import-channel file (never their kWh), and adds the others with kWh 0
        export_only = source.export
    else:
        source = CsvSource(path, progress, delimiter=delimiter)
    report = ImportReport(path=path, kind="readings")
    required = [columns.timestamp, columns.kwh]
    required = ([] if consumer_id else [columns.consumer_id]) + required
    required += [name for name in (columns.date, columns.export) if name]
    try:
        header = source.read_header(", ".join(required), required, skip_rows=skip_rows, decimal=decimal)
        split = source.delimiter or ","
        id_at = None if consumer_id else column_index(header, columns.consumer_id, path, delimiter=split)
        ts_at = column_index(header, columns.timestamp, path, delimiter=split)
        kwh_at = column_index(header, columns.kwh, path, delimiter=split)
        date_at = column_index(header, columns.date, path, delimiter=split) if columns.date else None
        export_at = column_index(header, columns.export, path, delimiter=split) if columns.export else None
        parse = _stamp_parser(zone, time_format, now)
        starts: dict[str, dict[str, str]] | None = None
        if stamp == "end":  # the end stamps as written (24:00 accepted), then each moved to its start
            parse = _stamp_parser(zone, time_format, now, end_minutes=0)
            scan = CsvSource(path, None, delimiter=source.delimiter)
            try:
                scan.read_header(", ".join(required), required, skip_rows=skip_rows, decimal=source.decimal)
                starts = interval_starts(scan.rows(), id_at=id_at, ts_at=ts_at, date_at=date_at, parse=parse)
            finally:
                scan.close()
        balance_at = (
            column_index(header, columns.balance, path, delimiter=split)
            if columns.balance
            else column_index(header, "balance_inr", path, required=False)
        )
        if energy_unit == "kwh" and looks_like_wh(columns.kwh):
            report.notes.append(message("wh_hint", column=columns.kwh, unit="kWh"))
        names = {id_at: columns.consumer_id, ts_at: columns.timestamp, kwh_at: columns.kwh}
        if export_at is not None:
            names[export_at] = header[export_at]
        if balance_at is not None:
            names[balance_at] = header[balance_at]
        all_or_nothing(
            conn,
            path,
            report,
            skip_invalid,
            rejects_path,
            source.header,
            staged=bool(conn.staging.needed()),
            read=lambda rejects: _read_readings(
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
                scale=0.001 if energy_unit == "wh" else 1.0,
                register_max=register_max,
                decimal_comma=source.decimal == ",",
                skip_invalid=skip_invalid,
                date_at=date_at,
                export_at=export_at,
                net=kwh_kind == "net",
                id_kind=id_kind,
                parse=parse,
                export_only=export_only,
                starts=starts,
            ),
        )
    finally:
        source.close()
    return report


def _read_readings(
    conn: Database,
    source: CsvSource | GreenButtonSource,
    report: ImportReport,
    rejects: Rejects,
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
    scale: float = 1.0,
    register_max: float | None = None,
    decimal_comma: bool = False,
    skip_invalid: bool = False,
    date_at: int | None = None,
    export_at: int | None = None,
    net: bool = False,
    id_kind: str = "consumer",
    parse: _Parse | None = None,
    export_only: bool = False,
    starts: dict[str, dict[str, str]] | None = None,
) -> Callable[[], None]:
    """The hot loop: parse, validate and write readings chunk by chunk; returns the last step (``finish``).

    Written for speed (``bench/bench_import.py``). The file is read ``CHUNK_ROWS`` lines at a time
    (``source.blocks``); a plain block whose rows are all good (the usual case) is read by Arrow and
    checked column-wise (``plain_chunk``), else split into rows as the csv module reads them and checked
    column-wise (``clean_chunk``); a chunk with any problem, and every chunk of a register file, goes
    through the row-by-row path below, which explains each bad row. The paths accept exactly the
    same rows, so the report and the rejects file do not depend on which one ran.

    Chunks go to a ``write.ReadingWriter``: on SQLite into the staging area, outside the write lock
    (``all_or_nothing(staged=True)`` runs this outside the transaction), elsewhere into ``readings``. The
    returned ``finish`` runs inside the transaction: the staged readings moved (conflicts with stored
    readings found then, inside the lock), the register baselines checked unchanged, the plausibility
    check, meter events, register states, the daily roll-ups and the data version.
    """
    consumers: dict[str, Seen | None] = {}  # consumer ID as written -> its state (None: unknown)
    registers: dict[str, tuple[str, float, int, float | None]] = {}  # consumer -> (ts, kWh, line, balance)
    suspects: dict[str, _Suspect] = {}  # consumer -> a register reading off its series, judged by the next
    carried: dict[str, str] = {}  # consumer -> ts of the stored last register reading used as its baseline
    looked_up: set[str] = set()  # consumers whose stored last register reading was looked up
    pending: list[
        tuple[str, str, float, float | None] | tuple[str, str, float, float | None, float | None]
    ] = []
    pending_lines = array("q")
    pending_rows: list[list[str] | str] = []  # rows as read; a plain line's text stands for its row
    add_pending, add_line, add_row = pending.append, pending_lines.append, pending_rows.append
    width = max(i for i in (id_at, ts_at, kwh_at, balance_at, date_at, export_at) if i is not None) + 1
    parse = parse or _stamp_parser(zone, time_format, now)
    exporting = net or export_at is not None  # readings carry export_kwh (5-tuples)
    chunk = sources.CHUNK_ROWS
    delimiter = source.delimiter or ","
    rows_read = 0
    good_times: dict[str, str] = {}  # CSV text -> stored ts (cached: many meters share one time grid)
    bad_times: dict[str, RowProblem] = {}  # CSV text -> why not
    numbers: dict[str, float] = {}  # kWh text -> float() of it (clean chunks)
    last_key: str | None = None
    mine: Seen | None = Seen(fixed_consumer) if fixed_consumer is not None else None
    cid, seen_times, seen_lines = "", [], array("q")
    if mine is not None:
        cid, seen_times, seen_lines = mine.consumer_id, mine.times, mine.lines

    absurd = [0]  # rows refused as more than max_kwh

    def bad(line: int, at: int | None, value: str, problem: RowProblem, row: list[str]) -> None:
        absurd[0] += problem.code == "absurd_kwh"
        error = RowError.of(line, names.get(at, ""), value, problem)
        report.reject(error)
        rejects.add(error, row)

    tops: dict[str, tuple[float, str]] = {}  # consumer -> largest energy seen at a chunk's peak, its ts
    # consumer -> every reading written (clean chunks: Unix seconds; the row path: stored ts texts): each
    # is stored afterwards (added, equal to the stored one, or a conflict the stored one wins), so the
    # daily roll-ups need not check their spacing in SQL (``write.day_grids``)
    written: dict[str, list[np.ndarray]] = {}
    written_texts: dict[str, list[str]] = {}
    epochs: dict[str, int] = {}  # CSV time text -> Unix seconds of its stored ts (clean chunks)

    def conflict(line: int, row: list[str], stored: tuple[float, float | None, float | None]) -> None:
        """A reading of the file whose stored reading differs: a bad row (the stored value wins)."""
        bad(
            line,
            kwh_at,
            row[kwh_at],
            RowProblem("conflict_stored_export", export=stored[2])
            if export_only
            else RowProblem("conflict_stored", kwh=stored[0], balance=stored[1]),
            row,
        )

    writer = ReadingWriter(conn, report, export_only=export_only, conflict=conflict)
    # register baselines read from the database (consumer -> stored last register reading, or None): the
    # move checks them unchanged, inside the lock (a staged import reads them outside it)
    baselines: dict[str, tuple[str, float] | None] = {}

    def flush() -> None:
        energies = np.fromiter(map(itemgetter(2), pending), dtype=np.float64, count=len(pending))
        top = pending[int(energies.argmax())]
        if top[2] > tops.get(top[0], (-1.0, ""))[0]:
            tops[top[0]] = (top[2], top[1])
        writer.write(pending, pending_lines, SplitRows(pending_rows, delimiter))
        pending.clear()
        del pending_lines[:]
        pending_rows.clear()
        source.tick()

    def add_clean(
        good: list[tuple[str, str, float, float | None]],
        lines: Sequence[int],
        rows: Sequence[list[str]] | Sequence[str],
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

    # plain blocks (no quote, blank line, ...) of a file of interval readings are read by Arrow's C tokenizer
    # and checked column-wise (``plain_chunk``); the others, and any plain block with a row to explain, as below
    plain_ok = starts is None and not register and not exporting and width >= 2
    plain_ok = plain_ok and not decimal_comma and date_at is None
    wanted = sorted({i for i in (id_at, ts_at, kwh_at, balance_at) if i is not None})
    arrow_times = ArrowTimes() if plain_ok else None
    with source.errors_translated(), _cyclic_gc_paused():
        for piece in source.blocks(chunk):
            start = piece.start
            if arrow_times is not None and piece.text is not None:
                texts = sources.plain_columns(piece, delimiter, wanted)
                good = None
                if texts is not None:
                    good = plain_chunk(
                        conn,
                        texts,
                        range(start + 1, piece.end + 1),
                        consumers,
                        mine if fixed_consumer is not None else None,
                        good_times,
                        bad_times,
                        arrow_times,
                        written,
                        id_at=id_at,
                        ts_at=ts_at,
                        kwh_at=kwh_at,
                        balance_at=balance_at,
                        max_kwh=max_kwh,
                        scale=scale,
                        id_kind=id_kind,
                        parse=parse,
                    )
                if good is not None:
                    rows_read += len(good)
                    add_clean(good, range(start + 1, piece.end + 1), piece.lines())
                    continue
            block = piece.split(delimiter)
            if decimal_comma:
                _decimal_comma(block, kwh_at, balance_at)
                if export_at is not None:
                    _decimal_comma(block, export_at, None)
            if date_at is not None:  # date and time of day in separate columns
                _join_date(block, date_at, ts_at)
            if piece.end - start == len(block):
                block_lines: Sequence[int] = range(start + 1, start + 1 + len(block))
            else:  # a quoted value spans lines
                block_lines = row_lines(block, start)
            if (
                starts is None
                and not register
                and not exporting
                and width >= 2
                and min(map(len, block)) >= width
            ):
                good = clean_chunk(
                    conn,
                    block,
                    block_lines,
                    consumers,
                    mine if fixed_consumer is not None else None,
                    good_times,
                    bad_times,
                    numbers,
                    epochs,
                    written,
                    id_at=id_at,
                    ts_at=ts_at,
                    kwh_at=kwh_at,
                    balance_at=balance_at,
                    zone=zone,
                    now=now,
                    time_format=time_format,
                    max_kwh=max_kwh,
                    scale=scale,
                    id_kind=id_kind,
                    parse=parse,
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
                            mine = consumers[key] = _consumer_state(conn, consumers, key, id_kind)
                        if mine is not None:
                            cid, seen_times, seen_lines = mine.consumer_id, mine.times, mine.lines
                    if mine is None:
                        bad(line, id_at, key, consumer_problem(key.strip(), kind=id_kind), row)
                        continue
                # timestamp (cached: many meters share one time grid)
                raw_ts = row[ts_at]
                ts = good_times.get(raw_ts)
                if ts is None:
                    reason = bad_times.get(raw_ts)
                    if reason is None:
                        try:
                            ts = parse(raw_ts)
                        except RowProblem as problem:
                            reason = bad_times[raw_ts] = problem
                        else:
                            if len(good_times) >= _TIME_CACHE_MAX:
                                good_times.clear()
                            good_times[raw_ts] = ts
                    if reason is not None:
                        bad(line, ts_at, raw_ts, reason, row)
                        continue
                assert ts is not None  # parsed above or cached
                if starts is not None:  # --stamp end: the interval's start, from this meter's own gaps
                    ts = starts[key.strip() if id_at is not None else ""][ts]
                # kWh
                raw_kwh = row[kwh_at]
                try:
                    kwh = float(raw_kwh) * scale
                except ValueError:
                    kwh = math.nan
                export: float | None = None
                if register:
                    if not (0.0 <= kwh < math.inf):
                        bad(line, kwh_at, raw_kwh, kwh_problem(raw_kwh, max_kwh, register=True), row)
                        continue
                elif net:  # import minus export: a negative value is energy sent to the grid
                    if not kwh_in_range(abs(kwh), max_kwh):
                        bad(
                            line, kwh_at, raw_kwh, kwh_problem(raw_kwh.lstrip("-"), max_kwh, scale=scale), row
                        )
                        continue
                    kwh, export = (kwh, 0.0) if kwh >= 0 else (0.0, -kwh)
                elif not kwh_in_range(kwh, max_kwh):
                    bad(line, kwh_at, raw_kwh, kwh_problem(raw_kwh, max_kwh, scale=scale), row)
                    continue
                if export_at is not None:
                    raw_export = row[export_at]
                    try:
                        export = float(raw_export) * scale
                    except ValueError:
                        export = math.nan
                    if not kwh_in_range(export, max_kwh):
                        bad(line, export_at, raw_export, kwh_problem(raw_export, max_kwh, scale=scale), row)
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
                                balance = parse_money(raw_balance)
                            except RowProblem as problem:
                                # an unreadable balance never takes the row's energy with it
                                bad(line, balance_at, raw_balance, problem, row)
                                if not skip_invalid:
                                    continue
                    if balance is not None and not balance_in_range(balance):
                        bad(line, balance_at, raw_balance, balance_problem(balance), row)
                        if not skip_invalid:
                            continue
                        balance = None
                # duplicate within the file: O(1) while the consumer's rows come in time order
                if seen_times and ts <= seen_times[-1]:
                    earlier = mine.add_out_of_order(ts, line)  # type: ignore[union-attr]  # mine is set once a consumer is known
                    if earlier:
                        bad(line, ts_at, raw_ts, RowProblem("duplicate_in_file", line=earlier), row)
                        continue
                else:
                    seen_times.append(ts)
                    seen_lines.append(line)
                # register -> interval
                if register:
                    previous = registers.get(cid)
                    if previous is None and cid not in looked_up:
                        # the last register reading of an earlier import, just before this one's first:
                        # the baseline, so no interval is lost between two files of one series
                        looked_up.add(cid)
                        stored = baselines[cid] = conn.readings.register_state(cid)
                        if stored is not None and stored[0] < ts:
                            previous = registers[cid] = (stored[0], stored[1], 0, None)
                            carried[cid] = stored[0]
                    if previous is not None and ts < previous[0]:
                        mine.forget(ts)  # type: ignore[union-attr]
                        bad(line, ts_at, raw_ts, RowProblem("register_order", line=previous[2]), row)
                        continue
                    suspect = suspects.pop(cid, None)
                    skipped: str | None = None  # a glitch's ts: the step spans its two intervals
                    if suspect is not None and previous is not None:
                        if register_step(previous[1], kwh, max_kwh, register_max) is None and (
                            register_step(suspect.kwh, kwh, max_kwh, register_max) is not None
                        ):  # the jump stays: a replaced (or reset) meter, a new baseline
                            report.resets.append(
                                MeterReset(cid, suspect.line, suspect.ts, previous[1], suspect.kwh)
                            )
                            report.meter_events.append(
                                MeterEvent(
                                    cid,
                                    suspect.ts,
                                    "replacement",
                                    suspect.line,
                                    f"{previous[1]:g} -> {suspect.kwh:g}",
                                )
                            )
                            report.baselines += 1
                            previous = registers[cid] = (suspect.ts, suspect.kwh, suspect.line, None)
                        else:  # the series goes on from before it: one spurious reading
                            suspect.state.forget(suspect.ts)
                            skipped = suspect.ts
                            bad(
                                suspect.line,
                                kwh_at,
                                suspect.raw,
                                _glitch(previous[1], suspect.kwh, kwh),
                                suspect.row,
                            )
                            report.meter_events.append(
                                MeterEvent(
                                    cid,
                                    suspect.ts,
                                    "glitch",
                                    suspect.line,
                                    f"{previous[1]:g} -> {suspect.kwh:g} -> {kwh:g}",
                                )
                            )
                    if previous is None:
                        registers[cid] = (ts, kwh, line, balance)
                        report.baselines += 1
                        continue
                    step = register_step(previous[1], kwh, max_kwh, register_max)
                    if step is None:  # off the series: decided by the next reading
                        suspects[cid] = _Suspect(ts, kwh, line, row, raw_kwh, mine)  # type: ignore[arg-type]
                        continue
                    energy, rolled = step
                    report.rollovers += rolled
                    if rolled:
                        report.register_width = register_width(previous[1], register_max)
                        report.meter_events.append(
                            MeterEvent(cid, ts, "rollover", line, f"{previous[1]:g} -> {kwh:g}")
                        )
                    registers[cid] = (ts, kwh, line, balance)
                    # stored at the later reading's time with its balance: the register-glitch case's
                    # right values (../shared/cases/README.md) count the step that ends at 00:00 on the
                    # day it ends; across a glitch the step is split by time over its two intervals, so no
                    # stored interval is twice as long (peak kW and minutes covered stay right)
                    kwh = energy
                    if skipped is not None:
                        share = _share(previous[0], skipped, ts)
                        add_pending(
                            (cid, skipped, energy * share, None, None)
                            if exporting
                            else (cid, skipped, energy * share, None)
                        )
                        written_texts.setdefault(cid, []).append(skipped)
                        add_line(line)
                        add_row(row)
                        kwh = energy * (1.0 - share)
                add_pending((cid, ts, kwh, balance, export) if exporting else (cid, ts, kwh, balance))
                written_texts.setdefault(cid, []).append(ts)
                add_line(line)
                add_row(row)
                if len(pending) >= chunk:
                    flush()
    for cid, suspect in suspects.items():  # a last reading off the series
        before = registers[cid]
        if suspect.kwh < before[1]:
            report.resets.append(MeterReset(cid, suspect.line, suspect.ts, before[1], suspect.kwh))
            report.meter_events.append(
                MeterEvent(cid, suspect.ts, "replacement", suspect.line, f"{before[1]:g} -> {suspect.kwh:g}")
            )
            report.baselines += 1
            registers[cid] = (suspect.ts, suspect.kwh, suspect.line, None)  # the next file's baseline
        else:
            suspect.state.forget(suspect.ts)
            bad(
                suspect.line, kwh_at, suspect.raw, RowProblem("absurd_kwh", limit=f"{max_kwh:g}"), suspect.row
            )
    if pending:
        flush()
    report.rows = rows_read
    column = names.get(kwh_at, "")
    if rows_read and absurd[0] == rows_read and scale == 1.0 and looks_like_wh(column):
        report.notes.append(message("wh_all_absurd", column=column, limit=f"{max_kwh:g}"))
    unknown = [key.strip() for key, state in consumers.items() if state is None]
    if unknown and id_kind == "consumer":  # meter serials in a consumer ID column: one hint, not per row
        serials = conn.consumers.consumer_ids_by_meter_serial(unknown)
        if serials:
            report.notes.append(message("serial_hint", count=len(serials), column=names.get(id_at, "")))
    states = {s.consumer_id: s for s in consumers.values() if s is not None}
    if fixed_consumer is not None and mine is not None:
        states[fixed_consumer] = mine
    states = {cid: state for cid, state in states.items() if state.span()}
    report.consumers = sorted(states)

    def finish() -> None:
        """Inside the import's transaction (under SQLite's write lock)."""
        for cid, baseline in sorted(baselines.items()):  # read outside the lock when staged: still so?
            if conn.readings.register_state(cid) != baseline:
                raise ImportFailed("register_changed", path=report.path, consumer_id=cid)
        writer.move()
        if tops:
            check_plausible(conn, report, tops, states, names.get(kwh_at, ""), register=register, scale=scale)
        if report.meter_events:  # in the import's transaction: rolled back with a strict import's bad rows
            conn.meter_events.insert_meter_events([event.row() for event in report.meter_events])
        if registers:  # the last register reading per consumer: the next register import's baseline
            conn.readings.save_register_states([(cid, ts, kwh) for cid, (ts, kwh, _, _) in registers.items()])
        if report.added:
            stamp_seconds: dict[str, int] = {}
            for cid, state in sorted(states.items()):
                first, last = state.span()  # type: ignore[misc]
                first = min(first, carried.get(cid, first))  # a step from the stored baseline starts there
                grids = day_grids(written_texts.get(cid, ()), stamp_seconds, written.get(cid, ()))
                conn.readings.refresh_daily(cid, ist_day(first), ist_day(last), known_days=grids)
            if skip_invalid or not report.rejected:  # else rolled back next: PostgreSQL's version
                conn.meta.bump_data_version(sorted(states))  # sequence would move anyway (caches emptied)

    return finish


_UNSEEN = object()

_Parse = Callable[[str], str]


def _stamp_parser(
    zone: ZoneInfo, time_format: str | None, now: dt.datetime, *, end_minutes: float | None = None
) -> _Parse:
    """The timestamp rule of this file as one function of the text: ``parse_timestamp``, and with
    ``end_minutes`` (``--stamp end``) ``24:00`` accepted and the reading moved to its interval's start.

    >>> start = _stamp_parser(IST, None, now_utc(), end_minutes=30)
    >>> start("2026-11-25 00:00"), start("2026-11-24 24:00")
    ('2026-11-24T18:00:00Z', '2026-11-24T18:00:00Z')

    (00:00 on 25 Nov ends the half hour 23:30-24:00 IST of 24 Nov, which is 18:00 UTC.)
    """
    if end_minutes is None:
        return lambda text: parse_timestamp(text, zone, time_format, now)
    shift = dt.timedelta(minutes=end_minutes)

    def parse_end(text: str) -> str:
        end = parse_timestamp(text, zone, time_format, now, stamp_end=True)
        return to_ts(dt.datetime.strptime(end, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) - shift)

    return parse_end


def _join_date(block: list[list[str]], date_at: int, ts_at: int) -> None:
    """Join a date column and a time-of-day column into the time column in place: ``2026-11-24`` and
    ``00:30`` -> ``2026-11-24 00:30`` (``--date-col``)."""
    for row in block:
        if len(row) > date_at and len(row) > ts_at:
            row[ts_at] = f"{row[date_at].strip()} {row[ts_at].strip()}"


def interval_starts(
    rows: Iterable[list[str]],
    *,
    id_at: int | None,
    ts_at: int,
    date_at: int | None,
    parse: _Parse,
) -> dict[str, dict[str, str]]:
    """``--stamp end``: where each reading's interval starts, read from the whole file before the import.

    Returns ``{consumer ID as written, stripped ("" without an ID column): {end ts: start ts}}`` (stored
    UTC text) for every row whose time ``parse`` reads (the others are the import's bad rows). Each meter's
    end stamps are taken in time order and each reading lasts from the one before it (``end_stamp_seconds``),
    so a change of capture period anywhere in the file, or between meters, moves each reading by its own
    interval. One extra pass over the file, only for ``--stamp end``.

    >>> rows = [["m1", "2026-11-25 00:30"], ["m1", "2026-11-25 01:00"], ["m1", "2026-11-25 01:15"]]
    >>> interval_starts(rows, id_at=0, ts_at=1, date_at=None,
    ...                 parse=_stamp_parser(IST, None, now_utc(), end_minutes=0))["m1"]
    {'2026-11-24T19:00:00Z': '2026-11-24T18:30:00Z', '2026-11-24T19:30:00Z': '2026-11-24T19:00:00Z', \
'2026-11-24T19:45:00Z': '2026-11-24T19:30:00Z'}
    """
    ends: dict[str, set[str]] = {}
    parsed: dict[str, str | None] = {}
    for row in rows:  # the texts the import reads: a short row is padded, a date joined only when there
        if len(row) <= ts_at:
            continue  # no time: a bad row
        text = row[ts_at]
        if date_at is not None and len(row) > date_at:
            text = f"{row[date_at].strip()} {text.strip()}"
        ts = parsed.get(text, "")
        if ts == "":
            try:
                ts = parsed[text] = parse(text)
            except RowProblem:
                ts = parsed[text] = None
        if ts is not None:
            key = (row[id_at] if len(row) > id_at else "").strip() if id_at is not None else ""
            ends.setdefault(key, set()).add(ts)
    starts: dict[str, dict[str, str]] = {}
    for key, stamps in ends.items():
        ordered = sorted(stamps)
        seconds = np.fromiter(map(epoch_seconds, ordered), dtype=np.int64, count=len(ordered))
        begin = (seconds - end_stamp_seconds(seconds)).tolist()
        starts[key] = {
            end: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
            for end, at in zip(ordered, begin, strict=True)
        }
    return starts


def end_stamp_seconds(ends: np.ndarray) -> np.ndarray:
    """Each end-stamped reading's interval in seconds, from one meter's sorted, distinct end stamps (Unix s):
    the gap to the reading before; the first reading takes the gap after it, a lone reading 30 minutes. A
    gap longer than both neighbouring readings' gaps is missing data, not a long interval: it takes the
    longer neighbour's. The rule of ``lib.quality.reading_minutes`` for start stamps, mirrored in time.

    >>> end_stamp_seconds(np.array([0, 3600, 7200, 8100, 12600, 13500])).tolist()  # 60 min, then 15
    [3600, 3600, 3600, 900, 900, 900]
    """
    if len(ends) < 2:
        return np.full(len(ends), 1800, dtype=np.int64)
    gaps = np.diff(ends, prepend=2 * ends[0] - ends[1])  # the first takes the gap after it
    big = np.iinfo(np.int64).max
    before = np.concatenate([[-1], gaps[:-1]])  # -1: no neighbour (never longer, never "shorter than")
    after = np.concatenate([gaps[1:], [-1]])
    missing = (gaps > np.where(before < 0, big, before)) & (gaps > np.where(after < 0, big, after))
    missing |= (gaps > before) & (after < 0) & (before >= 0) | (gaps > after) & (before < 0) & (after >= 0)
    return np.where(missing, np.maximum(before, after), gaps)


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


@dataclass
class _Suspect:
    """A register reading off its consumer's series (a drop, or a jump beyond ``max_kwh``), held until the
    next reading tells a glitch (the series goes on from before it) from a replaced meter (it stays)."""

    ts: str
    kwh: float
    line: int
    row: list[str]
    raw: str
    state: Seen


def _share(first: str, middle: str, last: str) -> float:
    """The part of ``[first, last]`` (stored UTC texts) before ``middle``: how a register step across one
    removed reading is split over its two intervals.

    >>> _share("2026-11-20T08:00:00Z", "2026-11-20T08:30:00Z", "2026-11-20T09:00:00Z")
    0.5
    """
    parse = dt.datetime.fromisoformat
    whole = (parse(last) - parse(first)).total_seconds()
    return (parse(middle) - parse(first)).total_seconds() / whole if whole > 0 else 1.0


def _glitch(previous: float, reading: float, following: float) -> RowProblem:
    return RowProblem(
        "register_glitch", previous=f"{previous:g}", reading=f"{reading:g}", following=f"{following:g}"
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


def clean_chunk(
    conn: Database,
    rows: list[list[str]],
    lines: Sequence[int],
    consumers: dict[str, Seen | None],
    fixed: Seen | None,
    good_times: dict[str, str],
    bad_times: dict[str, RowProblem],
    numbers: dict[str, float],
    epochs: dict[str, int] | None = None,
    written: dict[str, list[np.ndarray]] | None = None,
    *,
    id_at: int | None,
    ts_at: int,
    kwh_at: int,
    balance_at: int | None,
    zone: ZoneInfo,
    now: dt.datetime,
    time_format: str | None,
    max_kwh: float,
    scale: float = 1.0,
    id_kind: str = "consumer",
    parse: _Parse | None = None,
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
            state = consumers.get(key, _UNSEEN)
            if state is _UNSEEN:
                state = consumers[key] = _consumer_state(conn, consumers, key, id_kind)
            if state is None:
                return None
    # timestamps: every distinct text parses (the same cache as the row path)
    parse = parse or _stamp_parser(zone, time_format, now)
    texts = list(map(itemgetter(ts_at), rows))
    try:  # the usual case on a shared time grid: every text parsed before (the cache holds good ones only)
        stamps = list(map(good_times.__getitem__, texts))
    except KeyError:
        new = set(texts).difference(good_times)
        if len(good_times) + len(new) > _TIME_CACHE_MAX:
            good_times.clear()
            new = set(texts)
        for text in new:
            if text in bad_times:
                return None
            try:
                good_times[text] = parse(text)
            except RowProblem as problem:
                bad_times[text] = problem
                return None
        stamps = list(map(good_times.__getitem__, texts))
    # Unix seconds of each stored ts (per distinct text): the order check below and the day grids
    epochs = {} if epochs is None else epochs
    try:
        seconds = np.fromiter(map(epochs.__getitem__, texts), dtype=np.int64, count=count)
    except KeyError:
        if len(epochs) > _TIME_CACHE_MAX:
            epochs.clear()
        for text in set(texts).difference(epochs):
            epochs[text] = epoch_seconds(good_times[text])
        seconds = np.fromiter(map(epochs.__getitem__, texts), dtype=np.int64, count=count)
    # kWh: numbers within 0..max_kwh (NaN fails both comparisons). Meters print few distinct
    # values (0.011, 0.25, ...): float() once per distinct text when they repeat
    energy_texts = list(map(itemgetter(kwh_at), rows))
    try:  # every text seen (and checked) before: no set of the chunk's texts
        energies = list(map(numbers.__getitem__, energy_texts))
    except KeyError:
        distinct = set(energy_texts)
        if len(distinct) * 2 > count:
            try:
                energies = list(map(float, energy_texts))
            except ValueError:
                return None
            kwh = np.array(energies, dtype=np.float64)
            if not kwh_in_range(kwh, max_kwh).all():
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
                if not kwh_in_range(value, max_kwh):
                    return None
                numbers[text] = value
            energies = list(map(numbers.__getitem__, energy_texts))
    if scale != 1.0:
        energies = (np.array(energies, dtype=np.float64) * scale).tolist()
        if not kwh_in_range(np.array(energies), max_kwh).all():
            return None
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
                balances = [balance_value(text) for text in raw]
            except ValueError:
                return None
        money = np.array(balances, dtype=np.float64)  # None -> NaN, which fails the test: look closer
        if not balance_in_range(money).all() and not all(b is None or balance_in_range(b) for b in balances):
            return None
    if id_at is None:
        runs: list[tuple[int, int, Seen]] = [(0, count, fixed)]  # type: ignore[list-item]
    else:
        starts = list(compress(range(1, count), map(ne, keys, islice(keys, 1, None))))
        bounds = [0, *starts, count]
        runs = [(a, b, consumers[keys[a]]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]  # type: ignore[misc]
    if not _in_time_order(runs, stamps, seconds):
        return None
    return _take_runs(runs, stamps, seconds, energies, balances, lines, written)


def _in_time_order(runs: list[tuple[int, int, Seen]], stamps: list[str], seconds: np.ndarray) -> bool:
    """The order rule of a chunk checked column-wise: within each run ``[a, b)`` of one consumer's rows the
    timestamps rise (``seconds``, Unix s), and each run starts after that consumer's latest timestamp so far
    (``stamps``, stored text; else the row path looks for duplicates: a repeat is a bad row, an earlier
    new time is fine)."""
    latest: dict[int, str] = {}
    rising = np.diff(seconds) > 0
    for a, b, state in runs:
        if b - a > 1 and not rising[a : b - 1].all():
            return False
        before = latest.get(id(state)) or (state.times[-1] if state.times else None)
        if before is not None and stamps[a] <= before:
            return False
        latest[id(state)] = stamps[b - 1]
    return True


def _take_runs(
    runs: list[tuple[int, int, Seen]],
    stamps: list[str],
    seconds: np.ndarray,
    energies: list[float],
    balances: list[float | None],
    lines: Sequence[int],
    written: dict[str, list[np.ndarray]] | None,
) -> list[tuple[str, str, float, float | None]]:
    """A good chunk's readings ``(consumer_id, ts, kwh, balance_inr)``, its timestamps and lines recorded
    in each consumer's state as the row path records them (``Seen``), its Unix seconds in ``written``."""
    readings: list[tuple[str, str, float, float | None]] = []
    for a, b, state in runs:
        state.times.extend(stamps[a:b])
        state.lines.frombytes(_line_numbers(lines[a:b]))
        if written is not None:
            written.setdefault(state.consumer_id, []).append(seconds[a:b])
        readings.extend(
            zip([state.consumer_id] * (b - a), stamps[a:b], energies[a:b], balances[a:b], strict=True)
        )
    return readings


class ArrowTimes:
    """The CSV time texts the Arrow path has met, with their stored ts and Unix seconds, looked up per row
    in C (``pyarrow.compute.index_in``) instead of a dict lookup per row: meters share one time grid, so
    after the first chunks every text is known. At most ``_TIME_CACHE_MAX`` texts (then it starts again).
    """

    def __init__(self) -> None:
        import pyarrow as pa

        self.texts = pa.array([], pa.string())
        self.stamps = np.empty(0, dtype=object)
        self.seconds = np.empty(0, dtype=np.int64)

    def look_up(
        self, column: pa.Array, good_times: dict[str, str], bad_times: dict[str, RowProblem], parse: _Parse
    ) -> tuple[list[str], np.ndarray] | None:
        """Each row's stored ts and its Unix seconds, or None when a text does not parse (``parse``, the
        row path's rule and caches: ``bad_times`` keeps its problem, ``good_times`` the good ones)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        at = pc.index_in(column, value_set=self.texts)
        if at.null_count:
            new = pc.unique(column.filter(at.is_null())).to_pylist()
            if len(self.texts) + len(new) > _TIME_CACHE_MAX:
                self.__init__()  # type: ignore[misc]  # start again with this chunk's texts
                new = pc.unique(column).to_pylist()
            stamps = []
            for text in new:
                ts = good_times.get(text)
                if ts is None:
                    if text in bad_times:
                        return None
                    try:
                        ts = parse(text)
                    except RowProblem as problem:
                        bad_times[text] = problem
                        return None
                    if len(good_times) >= _TIME_CACHE_MAX:
                        good_times.clear()
                    good_times[text] = ts
                stamps.append(ts)
            self.texts = pa.concat_arrays([self.texts, pa.array(new, pa.string())])
            self.stamps = np.concatenate([self.stamps, np.array(stamps, dtype=object)])
            self.seconds = np.concatenate([self.seconds, np.fromiter(map(epoch_seconds, stamps), np.int64)])
            at = pc.index_in(column, value_set=self.texts)
        rows = at.to_numpy(zero_copy_only=False)
        return self.stamps[rows].tolist(), self.seconds[rows]


# The numbers the Arrow path converts itself: plain decimals, for which Arrow's text -> float64 (fast_float,
# correctly rounded) gives what Python's float() gives; any other text (spaces, exponents, ₹, "nan")
# sends its chunk the csv module's way, where float() and the money rules read it
_PLAIN_DECIMAL = r"^[0-9]{1,18}(\.[0-9]{1,18})?$"
_PLAIN_SIGNED_DECIMAL = r"^-?[0-9]{1,18}(\.[0-9]{1,18})?$"


def plain_chunk(
    conn: Database,
    texts: dict[int, pa.Array],
    lines: range,
    consumers: dict[str, Seen | None],
    fixed: Seen | None,
    good_times: dict[str, str],
    bad_times: dict[str, RowProblem],
    times: ArrowTimes,
    written: dict[str, list[np.ndarray]] | None = None,
    *,
    id_at: int | None,
    ts_at: int,
    kwh_at: int,
    balance_at: int | None,
    max_kwh: float,
    scale: float = 1.0,
    id_kind: str = "consumer",
    parse: _Parse,
) -> list[tuple[str, str, float, float | None]] | None:
    """``clean_chunk`` for a plain block read by Arrow (``sources.plain_columns``: column index -> string
    array, one value per line of ``lines``): the chunk's readings ``(consumer_id, ts, kwh, balance_inr)``
    when every row is good and written in the forms this path reads, else None (the caller then splits
    the block into rows for ``clean_chunk`` and the row path, which give the same readings or explain the
    bad rows). The same rules: consumer IDs and timestamps per distinct text (Arrow's dictionary encoding
    and ``times``; the caches ``consumers``, ``good_times``, ``bad_times`` shared with the other paths), kWh
    ``float(text) * scale`` within ``kwh_in_range``, balances blank (None) or within ``balance_in_range``,
    time order by ``_in_time_order``; kWh and balance texts must be plain decimals (``_PLAIN_DECIMAL``,
    a balance may carry a minus) and are converted by Arrow (the same float as ``float()``).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    count = len(lines)
    # consumers: every distinct ID known
    keys: list[str] = []
    key_at = np.zeros(count, dtype=np.int64)
    if id_at is not None:
        coded = texts[id_at].dictionary_encode()
        keys = coded.dictionary.to_pylist()
        key_at = coded.indices.to_numpy(zero_copy_only=False)
        for key in keys:
            state = consumers.get(key, _UNSEEN)
            if state is _UNSEEN:
                state = consumers[key] = _consumer_state(conn, consumers, key, id_kind)
            if state is None:
                return None
    # timestamps: every distinct text parses (looked up per row in C; parsed once per text)
    found = times.look_up(texts[ts_at], good_times, bad_times, parse)
    if found is None:
        return None
    stamps, seconds = found
    # kWh: plain decimals, float(text) * scale within 0..max_kwh
    raw = texts[kwh_at]
    if not pc.all(pc.match_substring_regex(raw, _PLAIN_DECIMAL)).as_py():
        return None
    kwh = pc.cast(raw, pa.float64()).to_numpy(zero_copy_only=False)
    if scale != 1.0:
        kwh = kwh * scale
    if not kwh_in_range(kwh, max_kwh).all():
        return None
    energies: list[float] = kwh.tolist()
    # balance: blank (none) or a plain decimal within ±MAX_BALANCE_INR
    balances: list[float | None]
    if balance_at is None:
        balances = [None] * count
    else:
        raw = texts[balance_at]
        blank = pc.equal(raw, "")
        if not pc.all(pc.or_(blank, pc.match_substring_regex(raw, _PLAIN_SIGNED_DECIMAL))).as_py():
            return None
        money = pc.cast(pc.if_else(blank, "0", raw), pa.float64()).to_numpy(zero_copy_only=False)
        if not balance_in_range(money).all():
            return None
        balances = money.tolist()
        if pc.any(blank).as_py():
            for i in np.flatnonzero(blank.to_numpy(zero_copy_only=False)).tolist():
                balances[i] = None
    # order, then the readings (as clean_chunk)
    if id_at is None:
        runs: list[tuple[int, int, Seen]] = [(0, count, fixed)]  # type: ignore[list-item]
    else:
        bounds = [0, *(np.flatnonzero(key_at[1:] != key_at[:-1]) + 1).tolist(), count]
        runs = [(a, b, consumers[keys[key_at[a]]]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]  # type: ignore[misc]
    if not _in_time_order(runs, stamps, seconds):
        return None
    return _take_runs(runs, stamps, seconds, energies, balances, lines, written)


def _line_numbers(lines: Sequence[int]) -> bytes:
    """``lines`` as machine integers for ``array("q").frombytes`` (no Python int per line for a range)."""
    if isinstance(lines, range):
        return np.arange(lines.start, lines.stop, lines.step, dtype=np.int64).tobytes()
    return np.asarray(lines, dtype=np.int64).tobytes()


def _consumer_state(
    conn: Database, consumers: dict[str, Seen | None], key: str, id_kind: str = "consumer"
) -> Seen | None:
    """The state of the consumer written as ``key`` (shared by spellings that differ in spaces),
    or None when the ID is malformed or not in the consumer master. With ``id_kind="meter-serial"``
    ``key`` is the meter's serial number (``consumers.meter_serial``)."""
    cid = key.strip()
    if not consumer_id_ok(cid):
        return None
    if id_kind == "meter-serial":
        found = conn.consumers.consumer_ids_by_meter_serial([cid]).get(cid)
        if found is None:
            return None
        cid = found
    elif not conn.consumers.existing_consumer_ids([cid]):
        return None
    same = next((state for state in consumers.values() if state and state.consumer_id == cid), None)
    return same or Seen(cid)
