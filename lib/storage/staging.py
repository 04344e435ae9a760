"""The staging area of a readings import on SQLite: rows wait there, outside the write lock (issue 13 item 11).

SQLite lets one connection write at a time: an import that wrote its rows into ``readings`` inside its
transaction held the write lock for the whole file (17.7 s for a million readings, ``bench/bench_import.py
--lock-only``), and every sign-in, link or ledger entry waited behind it, or failed with "database is
locked" after the 10 s busy timeout. So an import on SQLite first writes each checked chunk into a private
temporary database attached to its connection (:func:`area`, :func:`stage_readings`): that takes no lock
on the main database, whose readers and writers go on as usual. Then one short transaction under the
write lock (the caller's ``transaction(conn)``) moves the rows over with one ``INSERT … SELECT`` and the
same conflict rule as :func:`lib.storage.readings.insert_readings` (:func:`move_readings`); the caller
refreshes the roll-ups in it and commits. The file stays all-or-nothing: nothing reaches ``readings``
before that COMMIT, and a crash anywhere before it leaves the database as it was (the staging file is
SQLite's own temporary file, unlinked as it is opened, so a killed process leaves nothing behind).

Conflicts with stored readings are decided in the move, inside the lock, against the rows stored at that
moment: an import that committed meanwhile cannot slip a reading in between. Each staged reading keeps a
way back to its file line and its row as read (``chunks``), for the row-level report and the rejects file.

PostgreSQL needs none of this (:func:`needed` is False): readers never wait for writers there (MVCC),
and an import's inserts lock only the rows it writes, so a sign-in beside a long import writes other rows
and does not wait; the import writes straight into ``readings`` in its transaction (``COPY``).

>>> from lib.storage.engine import connect, migrate, transaction
>>> conn = connect(":memory:")
>>> _ = migrate(conn)
>>> _ = conn.execute("INSERT INTO consumers (consumer_id, name, registered_mobile) "
...                  "VALUES ('101234567', 'Asha', '+919876543210')")
>>> with area(conn):
...     stage_readings(conn, [("101234567", "2026-11-24T18:30:00Z", 0.25, 310.5)], [7],
...                    [["101234567", "2026-11-25 00:00", "0.25", "310.5"]])
...     with transaction(conn):
...         moved = move_readings(conn)
>>> moved.staged, moved.added, moved.conflicts
(1, 1, [])
"""

from __future__ import annotations

import bisect
import contextlib
import json
import sqlite3
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from lib.storage.engine import DRIVER_ERRORS, Conn, storage_error

SCHEMA = "staging"  # the attached database's name on the import's connection
ROWS_PER_INSERT = 64  # staged rows per INSERT statement (5 columns: 320 bound values, SQLite allows 32,766)
MOVE_CACHE_KIB = (
    -65_536
)  # the main database's page cache while an import is staged (64 MiB, SQLite's KiB form)

_COLUMNS = ("consumer_id", "ts", "kwh", "balance_inr", "export_kwh")
_TABLES = (
    # rowid order is the order the rows were staged in (the file's order): the move keeps it
    "CREATE TABLE staging.readings "
    "(consumer_id TEXT NOT NULL, ts TEXT NOT NULL, kwh REAL NOT NULL, balance_inr REAL, export_kwh REAL)",
    # per staged chunk: its first rowid, its readings' width (4, or 5 with export_kwh), their file lines
    # (int64) and their rows as read (encoded)
    "CREATE TABLE staging.chunks "
    "(first_rowid INTEGER PRIMARY KEY, width INTEGER NOT NULL, lines BLOB NOT NULL, rows TEXT NOT NULL)",
)

# A chunk's rows as text: fields joined by US, rows by RS (a third of JSON's cost); JSON when a field
# holds either separator (then the counts differ), so any row comes back exactly as it was read.
_FIELD, _ROW = "\x1f", "\x1e"


def needed(conn: Conn) -> bool:
    """Whether imports on this database stage their rows before taking the write lock: SQLite yes (one
    writer at a time), PostgreSQL no (MVCC and row locks: see the module docstring)."""
    return bool(conn.dialect == "sqlite")


@contextlib.contextmanager
def area(conn: Conn) -> Iterator[None]:
    """A private, empty staging database attached to ``conn`` as ``staging`` for the block, detached after.

    ``ATTACH ''``: SQLite's temporary database of this connection only (a file in the system's temporary
    folder, ``SQLITE_TMPDIR``, unlinked as soon as it is opened; no journal sync: it is thrown away). Call
    outside any transaction. Raises ``StorageError`` when it cannot be made.
    """
    raw = conn.raw
    cache = raw.execute("PRAGMA main.cache_size").fetchone()[0]
    try:
        raw.execute(f"ATTACH DATABASE '' AS {SCHEMA}")
        raw.execute(f"PRAGMA {SCHEMA}.journal_mode=MEMORY")
        raw.execute(f"PRAGMA {SCHEMA}.synchronous=OFF")
        for statement in _TABLES:
            raw.execute(statement)
        # the move's new pages stay in memory until COMMIT and the roll-ups read them back: 2.5 s -> 1.8 s
        # for a million readings (the default cache is 2 MB); the connection ends with the import
        raw.execute(f"PRAGMA main.cache_size={MOVE_CACHE_KIB}")
    except DRIVER_ERRORS as error:
        with contextlib.suppress(*DRIVER_ERRORS):
            raw.execute(f"DETACH DATABASE {SCHEMA}")
        raise storage_error(error) from error
    try:
        yield
    finally:
        if raw.in_transaction:  # an exception escaped a staging write: nothing of it is kept
            with contextlib.suppress(*DRIVER_ERRORS):
                raw.execute("ROLLBACK")
        with contextlib.suppress(*DRIVER_ERRORS):
            raw.execute(f"DETACH DATABASE {SCHEMA}")
            raw.execute(f"PRAGMA main.cache_size={int(cache)}")


def stage_readings(
    conn: Conn, readings: Sequence[tuple[Any, ...]], lines: Sequence[int], rows: Sequence[Sequence[str]]
) -> None:
    """Stage one chunk of an import: ``readings`` as :func:`lib.storage.readings.insert_readings` takes them
    (4-tuples, or 5-tuples with ``export_kwh``; every chunk of an import the same width), with each one's
    file line and its row as read (``lines[i]``, ``rows[i]``, for the report of a conflict found when the
    rows are moved). ``rows`` may offer ``split_text``, ``(text, delimiter)`` or None: then its rows are
    ``[line.split(delimiter) for line in text.split("\\n")]`` (the importer's plain lines), stored as that
    text instead of encoding each row. In a transaction of the staging database alone: the main database is
    not locked. Inside :func:`area`."""
    if not readings:
        return
    raw = conn.raw
    width = len(readings[0])
    columns = ", ".join(_COLUMNS[:width])
    raw.execute("BEGIN")  # deferred: it writes the staging database only, so it locks nothing else
    try:
        first = raw.execute(f"SELECT coalesce(max(rowid), 0) + 1 FROM {SCHEMA}.readings").fetchone()[0]
        # ROWS_PER_INSERT rows per statement (one VALUES list, in order: rowids keep the file's order),
        # then one row per statement for the rest: SQLite runs one statement per ROWS_PER_INSERT rows
        # instead of one per row, which halves the staging's CPU (bench/bench_import.py)
        one = f"({', '.join('?' * width)})"
        flat = list(chain.from_iterable(readings))
        step = width * ROWS_PER_INSERT
        whole = len(readings) // ROWS_PER_INSERT * step
        if whole:
            raw.executemany(
                f"INSERT INTO {SCHEMA}.readings ({columns}) VALUES {', '.join([one] * ROWS_PER_INSERT)}",
                [flat[at : at + step] for at in range(0, whole, step)],
            )
        if whole < len(flat):
            raw.executemany(
                f"INSERT INTO {SCHEMA}.readings ({columns}) VALUES {one}", readings[whole // width :]
            )
        numbers = lines if isinstance(lines, array) and lines.typecode == "q" else array("q", lines)
        raw.execute(
            f"INSERT INTO {SCHEMA}.chunks (first_rowid, width, lines, rows) VALUES (?, ?, ?, ?)",
            (first, width, numbers.tobytes(), _encoded(rows)),
        )
        raw.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(*DRIVER_ERRORS):
            raw.execute("ROLLBACK")
        raise


@dataclass(frozen=True)
class Conflict:
    """A staged reading whose stored reading (same consumer and time) differs: its file ``line``, its
    ``row`` as read, and the stored ``(kwh, balance_inr, export_kwh)`` (the stored value wins)."""

    line: int
    row: list[str]
    stored: tuple[float, float | None, float | None]


@dataclass
class Moved:
    """What :func:`move_readings` did: readings ``staged``, ``added`` to ``readings`` (a filled export
    counts), and the ``conflicts`` in file order; the rest were equal to stored ones."""

    staged: int
    added: int
    conflicts: list[Conflict] = field(default_factory=list)


def move_readings(conn: Conn, *, fill_export: bool = False) -> Moved:
    """Move every staged reading into ``readings``, in the caller's transaction (``BEGIN IMMEDIATE``).

    The rule of :func:`lib.storage.readings.insert_readings`: a stored reading with the same
    ``(consumer_id, ts)`` is left untouched, or with ``fill_export`` gets the staged ``export_kwh`` when it
    has none. One plain ``INSERT … SELECT`` is tried first under a savepoint (no conflict: the usual case);
    on a conflict it is undone and the upsert runs. Then, only when fewer rows were added than staged, the
    staged readings are compared with the stored ones *now*, inside the lock: each that differs (kWh,
    balance, or export energy where the file has it; with ``fill_export`` the export energy only) is a
    :class:`Conflict`. Raises ``StorageError`` for a driver error (e.g. a consumer deleted meanwhile).
    """
    raw = conn.raw
    staged = int(raw.execute(f"SELECT count(*) FROM {SCHEMA}.readings").fetchone()[0])
    if not staged:
        return Moved(0, 0)
    width = int(raw.execute(f"SELECT max(width) FROM {SCHEMA}.chunks").fetchone()[0])
    columns = ", ".join(_COLUMNS[:width])
    select = f"SELECT {columns} FROM {SCHEMA}.readings WHERE true ORDER BY rowid"
    on_conflict = (
        "DO UPDATE SET export_kwh = excluded.export_kwh WHERE readings.export_kwh IS NULL"
        if fill_export
        else "DO NOTHING"
    )
    before = raw.total_changes
    raw.execute("SAVEPOINT move_readings")
    try:
        raw.execute(f"INSERT INTO main.readings ({columns}) {select}")
    except sqlite3.IntegrityError:
        raw.execute("ROLLBACK TO move_readings")
        before = raw.total_changes  # the rows undone were counted when inserted
        raw.execute(
            f"INSERT INTO main.readings ({columns}) {select} ON CONFLICT (consumer_id, ts) {on_conflict}"
        )
    finally:
        raw.execute("RELEASE move_readings")
    added = int(raw.total_changes - before)
    moved = Moved(staged, added)
    if added < staged:
        moved.conflicts = _conflicts(raw, width, export_only=fill_export)
    return moved


def _conflicts(raw: sqlite3.Connection, width: int, *, export_only: bool) -> list[Conflict]:
    """The staged readings whose stored reading differs now (after the move), in staging (file) order,
    each with its line and row from ``chunks``. ``IS NOT``: NULL equals NULL, as in Python's ``!=`` of
    None; export energy is compared only for rows that carry it (width 5)."""
    if export_only:
        differs = "r.export_kwh IS NOT s.export_kwh"
    else:
        differs = "r.kwh IS NOT s.kwh OR r.balance_inr IS NOT s.balance_inr"
        if width == 5:
            differs += " OR r.export_kwh IS NOT s.export_kwh"
    found = raw.execute(
        f"SELECT s.rowid, r.kwh, r.balance_inr, r.export_kwh FROM {SCHEMA}.readings s "
        "JOIN main.readings r ON r.consumer_id = s.consumer_id AND r.ts = s.ts "
        f"WHERE {differs} ORDER BY s.rowid"
    ).fetchall()
    if not found:
        return []
    firsts = [row[0] for row in raw.execute(f"SELECT first_rowid FROM {SCHEMA}.chunks ORDER BY first_rowid")]
    decoded: dict[int, tuple[array[int], list[list[str]]]] = {}
    conflicts = []
    for rowid, kwh, balance, export in found:
        first = firsts[bisect.bisect_right(firsts, rowid) - 1]
        if first not in decoded:
            blob, text = raw.execute(
                f"SELECT lines, rows FROM {SCHEMA}.chunks WHERE first_rowid = ?", (first,)
            ).fetchone()
            numbers: array[int] = array("q")
            numbers.frombytes(blob)
            decoded[first] = (numbers, decode_rows(text))
        numbers, rows = decoded[first]
        at = rowid - first
        conflicts.append(Conflict(int(numbers[at]), rows[at], (kwh, balance, export)))
    return conflicts


def _encoded(rows: Sequence[Sequence[str]]) -> str:
    """``rows`` for ``chunks.rows``: their ``split_text`` when they offer one that holds them, else
    :func:`encode_rows`."""
    split: tuple[str, str] | None = getattr(rows, "split_text", None)
    if split is not None:
        text, delimiter = split
        if len(delimiter) == 1 and delimiter != "\n" and text.count("\n") == len(rows) - 1:
            return "d" + delimiter + text
    return encode_rows(rows)


def encode_rows(rows: Sequence[Sequence[str]]) -> str:
    r"""A chunk's rows as one text that :func:`decode_rows` gives back exactly.

    >>> encode_rows([["101", "0,25"], ["102", ""]]) == "s101\x1f0,25\x1e102\x1f"
    True
    >>> decode_rows(encode_rows([["a\x1fb", "c"]]))  # a separator inside a field: JSON
    [['a\x1fb', 'c']]
    """
    text = _ROW.join(map(_FIELD.join, rows))
    if (
        rows
        and text.count(_ROW) == len(rows) - 1
        and text.count(_FIELD) == sum(map(len, rows)) - len(rows)
        and all(rows)
    ):
        return "s" + text
    return "j" + json.dumps([list(row) for row in rows], ensure_ascii=False)


def decode_rows(text: str) -> list[list[str]]:
    """The rows :func:`encode_rows` wrote.

    >>> decode_rows(encode_rows([["101", "0.25"], ["102", ""]]))
    [['101', '0.25'], ['102', '']]
    """
    if text.startswith("j"):
        return [list(row) for row in json.loads(text[1:])]
    if text.startswith("d"):  # plain lines and their delimiter (``split_text``)
        return [line.split(text[1]) for line in text[2:].split("\n")]
    return [row.split(_FIELD) for row in text[1:].split(_ROW)]
