"""The column-wise paths of import-readings: a whole chunk of good rows checked and converted at once.

A chunk is ``sources.CHUNK_ROWS`` lines of the file. When every row of it is good (the usual case) it is
checked column by column instead of row by row, with the row path's rules (``lib.importing.rules``:
``kwh_in_range``, ``balance_in_range``, ``balance_value``, ``Seen``; the file's timestamp rule
``stamps.Parse``), and its readings come back as ``(consumer_id, ts, kwh, balance_inr)`` tuples (stored UTC
text, kWh, ₹ or None). Two paths:

- ``plain_chunk``: a *plain* block (``sources.plain_columns``: no quote, blank line, NUL) read by Arrow's
  C tokenizer; its kWh and balances must be plain decimals (``_PLAIN_DECIMAL``), converted by Arrow (the
  same float as ``float()``), its time texts looked up in C (``ArrowTimes``);
- ``clean_chunk``: rows as the csv module reads them, checked with set lookups, ``map(float, ...)`` and
  numpy comparisons.

Either returns None at the first problem, having changed nothing but the caches in ``ChunkContext``; the
caller (``readings``) then tries the next path, and the row path explains each bad row. Both record the
readings' timestamps in the consumers' ``Seen`` as the row path would (``take_runs``), so the three paths
accept exactly the same rows with the same values (``tests/test_importer.py::_import_both_ways``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import compress, islice
from operator import itemgetter, ne
from typing import TYPE_CHECKING

import numpy as np

from lib.importing.report import RowProblem
from lib.importing.rules import Seen, balance_in_range, balance_value, consumer_id_ok, kwh_in_range
from lib.importing.stamps import Parse
from lib.importing.write import epoch_seconds

if TYPE_CHECKING:
    import pyarrow as pa

    from lib.storage import Database

TIME_CACHE_MAX = 100_000  # distinct time texts kept (parsed) before a cache starts again
NUMBER_CACHE_MAX = 100_000  # distinct kWh texts kept (float) before the cache starts again

# The numbers the Arrow path converts itself: plain decimals, for which Arrow's text -> float64 (fast_float,
# correctly rounded) gives what Python's float() gives; any other text (spaces, exponents, ₹, "nan")
# sends its chunk the csv module's way, where float() and the money rules read it
_PLAIN_DECIMAL = r"^[0-9]{1,18}(\.[0-9]{1,18})?$"
_PLAIN_SIGNED_DECIMAL = r"^-?[0-9]{1,18}(\.[0-9]{1,18})?$"

_UNSEEN = object()

Reading = tuple[str, str, float, float | None]  # (consumer_id, ts stored UTC text, kWh, balance ₹ or None)


@dataclass
class ChunkContext:
    """What the chunk paths read (the file's columns and limits) and the caches they share with the row
    path (consumer states, parsed times), for one import.

    Columns are 0-based indexes of a row (``id_at=None``: one consumer for the whole file, ``fixed``);
    ``max_kwh`` in kWh per reading after ``scale`` (0.001 for a Wh file); ``id_kind`` ``"consumer"`` or
    ``"meter-serial"``. ``written``: consumer -> the Unix seconds of every reading a chunk path queued
    (``write.day_grids``).
    """

    conn: Database
    parse: Parse
    id_at: int | None
    ts_at: int
    kwh_at: int
    balance_at: int | None
    max_kwh: float
    scale: float = 1.0
    id_kind: str = "consumer"
    fixed: Seen | None = None
    consumers: dict[str, Seen | None] = field(default_factory=dict)  # ID as written -> state (None: unknown)
    good_times: dict[str, str] = field(default_factory=dict)  # CSV time text -> stored ts
    bad_times: dict[str, RowProblem] = field(default_factory=dict)  # CSV time text -> why not
    numbers: dict[str, float] = field(default_factory=dict)  # kWh text -> float() of it (clean chunks)
    epochs: dict[str, int] = field(default_factory=dict)  # CSV time text -> Unix s of its ts (clean chunks)
    written: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def consumer(self, key: str) -> Seen | None:
        """The state of the consumer written as ``key``, looked up once per spelling (``consumer_state``)."""
        state = self.consumers.get(key, _UNSEEN)
        if state is _UNSEEN:
            state = self.consumers[key] = consumer_state(self.conn, self.consumers, key, self.id_kind)
        return state  # type: ignore[return-value]  # _UNSEEN replaced above

    def time_of(self, text: str) -> str | RowProblem:
        """The stored ts of a CSV time text, or the ``RowProblem`` why it is not one, through the caches
        the three paths share (parsed once per text; ``good_times`` starts again past ``TIME_CACHE_MAX``).

        >>> from lib.clock import IST, now_utc
        >>> from lib.importing.stamps import stamp_parser
        >>> ctx = ChunkContext(None, stamp_parser(IST, None, now_utc()), None, 0, 1, None, 100.0)  # type: ignore[arg-type]
        >>> ctx.time_of("2026-11-24 23:45"), ctx.time_of("24/11/2026").code
        ('2026-11-24T18:15:00Z', 'time_format')
        """
        ts = self.good_times.get(text)
        if ts is not None:
            return ts
        problem = self.bad_times.get(text)
        if problem is not None:
            return problem
        try:
            ts = self.parse(text)
        except RowProblem as error:
            self.bad_times[text] = error
            return error
        if len(self.good_times) >= TIME_CACHE_MAX:
            self.good_times.clear()
        self.good_times[text] = ts
        return ts


def consumer_state(
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


def clean_chunk(ctx: ChunkContext, rows: list[list[str]], lines: Sequence[int]) -> list[Reading] | None:
    """The chunk's readings ``(consumer_id, ts, kwh, balance_inr)`` when every row is good, else None.

    ``rows``: the chunk as the csv module reads it, every row with at least the columns needed; ``lines``:
    each row's line number in the file. Checked column by column (set lookups, ``map(float, ...)``, numpy
    comparisons) with exactly the row-by-row path's rules. Returns None, having changed nothing but the
    caches (consumer states looked up, timestamps parsed), at the first problem: the caller then runs the
    chunk row by row, which reports each bad row. When it returns the readings, their timestamps are
    recorded in the consumers' states as that path would have recorded them.
    """
    count = len(rows)
    # consumers: every ID known (looked up once per spelling, as the row path does)
    keys: list[str] = []
    if ctx.id_at is not None:
        keys = list(map(itemgetter(ctx.id_at), rows))
        if any(ctx.consumer(key) is None for key in set(keys)):
            return None
    # timestamps: every distinct text parses (the same cache as the row path)
    good_times = ctx.good_times
    texts = list(map(itemgetter(ctx.ts_at), rows))
    try:  # the usual case on a shared time grid: every text parsed before (the cache holds good ones only)
        stamps = list(map(good_times.__getitem__, texts))
    except KeyError:
        new = set(texts).difference(good_times)
        if len(good_times) + len(new) > TIME_CACHE_MAX:
            good_times.clear()
            new = set(texts)
        for text in new:
            if text in ctx.bad_times:
                return None
            try:
                good_times[text] = ctx.parse(text)
            except RowProblem as problem:
                ctx.bad_times[text] = problem
                return None
        stamps = list(map(good_times.__getitem__, texts))
    seconds = _epochs(ctx, texts)
    energies = _clean_energies(ctx, list(map(itemgetter(ctx.kwh_at), rows)))
    if energies is None:
        return None
    # balance: a number (₹ and thousands separators allowed), blank = none, within ±MAX_BALANCE_INR
    balances: list[float | None]
    if ctx.balance_at is None:
        balances = [None] * count
    else:
        raw = list(map(itemgetter(ctx.balance_at), rows))
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
    if ctx.id_at is None:
        runs: list[tuple[int, int, Seen]] = [(0, count, ctx.fixed)]  # type: ignore[list-item]
    else:
        starts = list(compress(range(1, count), map(ne, keys, islice(keys, 1, None))))
        bounds = [0, *starts, count]
        runs = [(a, b, ctx.consumers[keys[a]]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]  # type: ignore[misc]
    if not in_time_order(runs, stamps, seconds):
        return None
    return take_runs(runs, stamps, seconds, energies, balances, lines, ctx.written)


def _epochs(ctx: ChunkContext, texts: list[str]) -> np.ndarray:
    """Unix seconds (int64) of each row's stored ts, per distinct time text (``ctx.epochs``); every text is
    in ``ctx.good_times``. For the order check and the day grids."""
    epochs, count = ctx.epochs, len(texts)
    try:
        return np.fromiter(map(epochs.__getitem__, texts), dtype=np.int64, count=count)
    except KeyError:
        if len(epochs) > TIME_CACHE_MAX:
            epochs.clear()
        for text in set(texts).difference(epochs):
            epochs[text] = epoch_seconds(ctx.good_times[text])
        return np.fromiter(map(epochs.__getitem__, texts), dtype=np.int64, count=count)


def _clean_energies(ctx: ChunkContext, energy_texts: list[str]) -> list[float] | None:
    """kWh of each text (``float(text) * scale``), or None when one is not a number within
    ``0..max_kwh`` (NaN fails both comparisons). Meters print few distinct values (0.011, 0.25, ...):
    ``float()`` once per distinct text when they repeat (``ctx.numbers`` keeps good texts only)."""
    numbers, count, max_kwh = ctx.numbers, len(energy_texts), ctx.max_kwh
    try:  # every text seen (and checked) before: no set of the chunk's texts
        energies = list(map(numbers.__getitem__, energy_texts))
    except KeyError:
        distinct = set(energy_texts)
        if len(distinct) * 2 > count:
            try:
                energies = list(map(float, energy_texts))
            except ValueError:
                return None
            if not kwh_in_range(np.array(energies, dtype=np.float64), max_kwh).all():
                return None
        else:  # the cache holds only good values: texts checked once each
            new = distinct.difference(numbers)
            if len(numbers) + len(new) > NUMBER_CACHE_MAX:
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
    if ctx.scale != 1.0:
        energies = (np.array(energies, dtype=np.float64) * ctx.scale).tolist()
        if not kwh_in_range(np.array(energies), max_kwh).all():
            return None
    return energies


def in_time_order(runs: list[tuple[int, int, Seen]], stamps: list[str], seconds: np.ndarray) -> bool:
    """The order rule of a chunk checked column-wise: within each run ``[a, b)`` of one consumer's rows the
    timestamps rise (``seconds``, Unix s), and each run starts after that consumer's latest timestamp so far
    (``stamps``, stored text; else the row path looks for duplicates: a repeat is a bad row, an earlier
    new time is fine).

    >>> state = Seen("101234567")
    >>> in_time_order([(0, 2, state)], ["2026-11-24T00:00:00Z", "2026-11-24T00:30:00Z"], np.array([0, 1800]))
    True
    >>> in_time_order([(0, 2, state)], ["2026-11-24T00:30:00Z", "2026-11-24T00:00:00Z"], np.array([1800, 0]))
    False
    """
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


def take_runs(
    runs: list[tuple[int, int, Seen]],
    stamps: list[str],
    seconds: np.ndarray,
    energies: list[float],
    balances: list[float | None],
    lines: Sequence[int],
    written: dict[str, list[np.ndarray]] | None,
) -> list[Reading]:
    """A good chunk's readings ``(consumer_id, ts, kwh, balance_inr)``, its timestamps and lines recorded
    in each consumer's state as the row path records them (``Seen``), its Unix seconds in ``written``."""
    readings: list[Reading] = []
    for a, b, state in runs:
        state.times.extend(stamps[a:b])
        state.lines.frombytes(line_numbers(lines[a:b]))
        if written is not None:
            written.setdefault(state.consumer_id, []).append(seconds[a:b])
        readings.extend(
            zip([state.consumer_id] * (b - a), stamps[a:b], energies[a:b], balances[a:b], strict=True)
        )
    return readings


def line_numbers(lines: Sequence[int]) -> bytes:
    """``lines`` as machine integers for ``array("q").frombytes`` (no Python int per line for a range).

    >>> from array import array
    >>> array("q", line_numbers(range(2, 5))).tolist(), array("q", line_numbers([7, 9])).tolist()
    ([2, 3, 4], [7, 9])
    """
    if isinstance(lines, range):
        return np.arange(lines.start, lines.stop, lines.step, dtype=np.int64).tobytes()
    return np.asarray(lines, dtype=np.int64).tobytes()


class ArrowTimes:
    """The CSV time texts the Arrow path has met, with their stored ts and Unix seconds, looked up per row
    in C (``pyarrow.compute.index_in``) instead of a dict lookup per row: meters share one time grid, so
    after the first chunks every text is known. At most ``TIME_CACHE_MAX`` texts (then it starts again).
    """

    def __init__(self) -> None:
        import pyarrow as pa

        self.texts = pa.array([], pa.string())
        self.stamps = np.empty(0, dtype=object)
        self.seconds = np.empty(0, dtype=np.int64)

    def look_up(self, column: pa.Array, ctx: ChunkContext) -> tuple[list[str], np.ndarray] | None:
        """Each row's stored ts and its Unix seconds, or None when a text does not parse (``ctx.time_of``,
        the row path's rule and caches: ``bad_times`` keeps its problem, ``good_times`` the good ones)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        at = pc.index_in(column, value_set=self.texts)
        if at.null_count:
            new = pc.unique(column.filter(at.is_null())).to_pylist()
            if len(self.texts) + len(new) > TIME_CACHE_MAX:
                self.__init__()  # type: ignore[misc]  # start again with this chunk's texts
                new = pc.unique(column).to_pylist()
            stamps = []
            for text in new:
                ts = ctx.time_of(text)
                if isinstance(ts, RowProblem):
                    return None
                stamps.append(ts)
            self.texts = pa.concat_arrays([self.texts, pa.array(new, pa.string())])
            self.stamps = np.concatenate([self.stamps, np.array(stamps, dtype=object)])
            self.seconds = np.concatenate([self.seconds, np.fromiter(map(epoch_seconds, stamps), np.int64)])
            at = pc.index_in(column, value_set=self.texts)
        rows = at.to_numpy(zero_copy_only=False)
        return self.stamps[rows].tolist(), self.seconds[rows]


def plain_chunk(
    ctx: ChunkContext, texts: dict[int, pa.Array], lines: range, times: ArrowTimes
) -> list[Reading] | None:
    """``clean_chunk`` for a plain block read by Arrow (``sources.plain_columns``: column index -> string
    array, one value per line of ``lines``): the chunk's readings ``(consumer_id, ts, kwh, balance_inr)``
    when every row is good and written in the forms this path reads, else None (the caller then splits
    the block into rows for ``clean_chunk`` and the row path, which give the same readings or explain the
    bad rows). The same rules: consumer IDs and timestamps per distinct text (Arrow's dictionary encoding
    and ``times``; the caches of ``ctx`` shared with the other paths), kWh ``float(text) * scale`` within
    ``kwh_in_range``, balances blank (None) or within ``balance_in_range``, time order by
    ``in_time_order``; kWh and balance texts must be plain decimals (``_PLAIN_DECIMAL``, a balance may
    carry a minus) and are converted by Arrow (the same float as ``float()``).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    count = len(lines)
    # consumers: every distinct ID known
    keys: list[str] = []
    key_at = np.zeros(count, dtype=np.int64)
    if ctx.id_at is not None:
        coded = texts[ctx.id_at].dictionary_encode()
        keys = coded.dictionary.to_pylist()
        key_at = coded.indices.to_numpy(zero_copy_only=False)
        if any(ctx.consumer(key) is None for key in keys):
            return None
    # timestamps: every distinct text parses (looked up per row in C; parsed once per text)
    found = times.look_up(texts[ctx.ts_at], ctx)
    if found is None:
        return None
    stamps, seconds = found
    # kWh: plain decimals, float(text) * scale within 0..max_kwh
    raw = texts[ctx.kwh_at]
    if not pc.all(pc.match_substring_regex(raw, _PLAIN_DECIMAL)).as_py():
        return None
    kwh = pc.cast(raw, pa.float64()).to_numpy(zero_copy_only=False)
    if ctx.scale != 1.0:
        kwh = kwh * ctx.scale
    if not kwh_in_range(kwh, ctx.max_kwh).all():
        return None
    energies: list[float] = kwh.tolist()
    # balance: blank (none) or a plain decimal within ±MAX_BALANCE_INR
    balances: list[float | None]
    if ctx.balance_at is None:
        balances = [None] * count
    else:
        raw = texts[ctx.balance_at]
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
    if ctx.id_at is None:
        runs: list[tuple[int, int, Seen]] = [(0, count, ctx.fixed)]  # type: ignore[list-item]
    else:
        bounds = [0, *(np.flatnonzero(key_at[1:] != key_at[:-1]) + 1).tolist(), count]
        runs = [(a, b, ctx.consumers[keys[key_at[a]]]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]  # type: ignore[misc]
    if not in_time_order(runs, stamps, seconds):
        return None
    return take_runs(runs, stamps, seconds, energies, balances, lines, ctx.written)
