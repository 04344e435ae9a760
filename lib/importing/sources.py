"""Reading input files: encoding, separator, where the header is, and rows streamed with their real lines.

``CsvSource`` opens a CSV file (UTF-8 with or without BOM, any line ends), finds its separator (comma,
semicolon, tab or pipe) and its decimal mark from the first lines, finds the header row by the columns
the caller needs (utility downloads put an account block above it) and streams the rows with the line
number each ends on in the real file. Sniffing reads the first ``SNIFF_BYTES`` once per file.

>>> sniff_delimiter(["Account;123", "", "date;kwh", "2026-11-24;0,5"], ["date", "kwh"])
(';', 2)
>>> sniff_decimal(["date;kwh", "2026-11-24;0,5"], ";")
','
"""

from __future__ import annotations

import _csv
import codecs
import contextlib
import csv
import datetime as dt
import io
import os
import re
import stat
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

from lib.importing.report import ImportFailed

if TYPE_CHECKING:
    import pyarrow as pa

CHUNK_ROWS = 20_000
# Abuse (issue 13 item 9): no input line may hold more than this, no header more columns, so one 50 MB
# line or /dev/zero cannot eat the memory; a file that is not a regular file (a FIFO would hang) is refused.
MAX_LINE_BYTES = 1024 * 1024
MAX_COLUMNS = 1000
SNIFF_BYTES = 64 * 1024
SNIFF_LINES = 60
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma (,)", ";": "semicolon (;)", "\t": "tab", "|": "pipe (|)"}

Progress = Callable[[int, int], None]

_DECIMAL_COMMA = re.compile(r"^-?\d+,\d+$")
_DECIMAL_POINT = re.compile(r"^-?\d+\.\d+$")


def _cells(line: str, delimiter: str) -> list[str]:
    return [
        cell.strip().strip('"').strip().lower() for cell in next(csv.reader([line], delimiter=delimiter), [])
    ]


def check_regular(path: Path) -> None:
    """Refuse a path that is not a regular file (FIFO, device, directory, socket) before opening it:
    ``os.stat`` never blocks, ``open`` on a FIFO would wait for a writer forever.

    >>> check_regular(Path("/dev/null"))
    Traceback (most recent call last):
    ...
    lib.importing.report.ImportFailed: cannot read /dev/null: not a regular file (a pipe, device or directory)
    """
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        raise ImportFailed("cannot_read", path=path, error=error.strerror or error) from None
    if not stat.S_ISREG(mode):
        raise ImportFailed("cannot_read", path=path, error="not a regular file (a pipe, device or directory)")


class LineTooLong(csv.Error):
    """An input line longer than ``MAX_LINE_BYTES`` (reported as a CSV error with its line)."""


class _LineCap(io.RawIOBase):
    """A binary file that refuses to deliver a line (bytes between line ends) over ``cap`` bytes."""

    def __init__(self, raw: io.BufferedReader, cap: int) -> None:
        super().__init__()
        self._raw = raw
        self._cap = cap
        self._run = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._raw.read(len(buffer))
        count = len(data)
        buffer[:count] = data
        last = max(data.rfind(b"\n"), data.rfind(b"\r"))
        self._run = self._run + count if last < 0 else count - last - 1
        if self._run > self._cap:
            raise LineTooLong(f"a line longer than {self._cap:,} bytes (is this a text file?)")
        return count

    def close(self) -> None:
        self._raw.close()
        super().close()


def sniff_delimiter(lines: Sequence[str], wanted: Sequence[str]) -> tuple[str, int] | None:
    """The separator and the 0-based index of the first line that holds every ``wanted`` column, or None.

    When no line holds them all, the separator that splits the first non-blank line into the most cells.
    """
    names = [name.strip().lower() for name in wanted]
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        for delimiter in DELIMITERS:
            if delimiter in line and all(name in _cells(line, delimiter) for name in names):
                return delimiter, index
        if names and len(names) == 1 and names[0] in _cells(line, ","):
            return ",", index
    return None


def best_split(line: str) -> str:
    """The separator that splits ``line`` into the most cells (comma on a tie or none)."""
    counts = [(len(_cells(line, d)), -i, d) for i, d in enumerate(DELIMITERS)]
    return max(counts)[2]


def sniff_decimal(lines: Sequence[str], delimiter: str) -> str:
    """``","`` when the number cells of a non-comma file write decimals with a comma (``0,5``), else ``"."``."""
    if delimiter == ",":
        return "."
    comma = point = 0
    for line in lines:
        for cell in _cells(line, delimiter):
            if _DECIMAL_COMMA.match(cell):
                comma += 1
            elif _DECIMAL_POINT.match(cell):
                point += 1
    return "," if comma > point else "."


@dataclass
class Block:
    """About ``CHUNK_ROWS`` lines of a file, read by :meth:`CsvSource.blocks`: the lines after line ``start``
    up to line ``end`` (more than asked when a quoted value runs on past them).

    Either ``rows`` as the csv module reads them (blank lines as ``[]``), or, for *plain* text, ``text``:
    the block's lines without their line ends, joined by ``"\\n"``, holding no quote, NUL, blank line,
    ``\\x1e``/``\\x1f`` and no line longer than ``csv.field_size_limit()``. A plain line's row is
    ``line.split(delimiter)``, exactly what the csv module reads from it (nothing in it is special to the
    csv module); :meth:`split` gives them, :func:`plain_columns` reads its columns with Arrow's C tokenizer.
    """

    start: int
    end: int
    rows: list[list[str]] | None = None
    text: str | None = None
    _lines: list[str] | None = None

    def lines(self) -> list[str]:
        """A plain block's lines (no line ends)."""
        if self._lines is None:
            assert self.text is not None  # noqa: S101 - plain blocks only
            self._lines = self.text.split("\n")
        return self._lines

    def split(self, delimiter: str) -> list[list[str]]:
        """The rows of the block, as the csv module reads them.

        >>> Block(0, 2, text="a,b\\n,c").split(",")
        [['a', 'b'], ['', 'c']]
        """
        if self.rows is not None:
            return self.rows
        return [line.split(delimiter) for line in self.lines()]


def plain_block(start: int, raw: list[str]) -> Block | None:
    """A :class:`Block` with ``text`` for the lines ``raw`` (as read, line ends kept) when they are plain
    (see :class:`Block`), else None.

    >>> plain_block(1, ["a,b\\r\\n", "c,d\\n"]).text
    'a,b\\nc,d'
    >>> plain_block(1, ['a,"b"\\n']) is None, plain_block(1, ["a\\n", "\\n", "b\\n"]) is None
    (True, True)
    """
    body = "".join(raw)
    if '"' in body or "\x00" in body or "\x1e" in body or "\x1f" in body:
        return None
    if "\r" in body:  # CRLF or CR line ends (with newline="" each line keeps its one line end)
        body = body.replace("\r\n", "\n").replace("\r", "\n")
    if body.endswith("\n"):
        body = body[:-1]
    if not body or body.startswith("\n") or body.endswith("\n") or "\n\n" in body:
        return None  # a blank line: the csv module's [] row, the row path's to skip
    lines = body.split("\n")
    if len(lines) != len(raw):
        return None
    limit = csv.field_size_limit()
    if len(body) > limit and max(map(len, lines)) > limit:
        return None  # the csv module refuses a field that long: let it say so
    return Block(start, start + len(raw), text=body, _lines=lines)


_PLAIN_OPTIONS: dict[str, Any] = {}


def plain_columns(block: Block, delimiter: str, wanted: Sequence[int]) -> dict[int, pa.Array] | None:
    """Columns ``wanted`` (0-based) of a plain block as Arrow string arrays, one value per line, read by
    Arrow's C tokenizer (``pyarrow.csv``, single-threaded): the same texts as ``block.split(delimiter)``
    gives, without a Python string per value. None when the lines do not all have the same number of fields
    or fewer than a wanted column (the csv module's rows then go on as usual).
    """
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    assert block.text is not None  # noqa: S101 - plain blocks only
    data = block.text.encode("utf-8")
    names = [f"f{i}" for i in wanted]
    try:
        table = pa_csv.read_csv(
            pa.py_buffer(data),
            read_options=pa_csv.ReadOptions(
                autogenerate_column_names=True, use_threads=False, block_size=len(data) + 1
            ),
            parse_options=pa_csv.ParseOptions(
                delimiter=delimiter, quote_char=False, double_quote=False, ignore_empty_lines=False
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                include_columns=names,
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                null_values=[],
            ),
        )
    except (pa.ArrowInvalid, KeyError):
        return None
    if table.num_rows != block.end - block.start:
        return None
    return {i: table.column(name).combine_chunks() for i, name in zip(wanted, names, strict=True)}


class CsvSource:
    """A CSV file read row by row: BOM and CRLF tolerant, UTF-8 checked, byte progress reported."""

    def __init__(self, path: Path, progress: Progress | None, *, delimiter: str | None = None) -> None:
        self.path = path
        self.progress = progress
        check_regular(path)
        try:
            self.total = path.stat().st_size
            self._raw = path.open("rb")
        except OSError as error:
            raise ImportFailed("cannot_read", path=path, error=error.strerror or error) from None
        head = self._raw.read(SNIFF_BYTES)
        self._raw.seek(0)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_BE)):
            self._raw.close()
            raise ImportFailed("utf16", path=path)
        self.head_lines = head.decode("utf-8-sig", errors="replace").splitlines()[:SNIFF_LINES]
        self.delimiter = delimiter
        self.decimal = "."
        self._text = io.TextIOWrapper(
            io.BufferedReader(_LineCap(self._raw, MAX_LINE_BYTES)), encoding="utf-8-sig", newline=""
        )
        self.reader: _csv.Reader = csv.reader(self._text)
        self.header: list[str] = []
        self._line: int | None = None  # lines read, once :meth:`blocks` reads them (else the reader's count)

    def read_header(
        self,
        columns: str,
        wanted: Sequence[str] = (),
        *,
        skip_rows: int | None = None,
        decimal: str | None = None,
    ) -> list[str]:
        """Find the header row and return its cells (stripped). Sets ``delimiter`` and ``decimal``.

        The header is the first line holding every ``wanted`` column (case-insensitive) with one of the
        separators, else line 1 (after ``skip_rows`` lines when given). The reader is left on the row after it.
        """
        index = 0
        if self.delimiter is None:
            found = sniff_delimiter(self.head_lines[skip_rows or 0 :], wanted) if wanted else None
            if found is not None:
                self.delimiter, index = found[0], found[1] + (skip_rows or 0)
            else:
                first_line = next((line for line in self.head_lines[skip_rows or 0 :] if line.strip()), "")
                self.delimiter = best_split(first_line)
                index = skip_rows or 0
        elif skip_rows is not None:
            index = skip_rows
        elif wanted:
            names = [name.strip().lower() for name in wanted]
            index = next(
                (
                    i
                    for i, line in enumerate(self.head_lines)
                    if line.strip() and all(name in _cells(line, self.delimiter) for name in names)
                ),
                0,
            )
        self.decimal = decimal or sniff_decimal(self.head_lines[index + 1 :], self.delimiter)
        self.reader = csv.reader(self._text, delimiter=self.delimiter)
        with self.errors_translated():
            while self.reader.line_num < index:
                if next(self.reader, None) is None:
                    break
        first = next(self.rows(), None)
        if first is None and skip_rows:
            raise ImportFailed("skip_rows_past_end", path=self.path, skip_rows=skip_rows, lines=self.line)
        if first is None:
            raise ImportFailed("empty_file", path=self.path, columns=columns)
        if len(first) > MAX_COLUMNS:
            raise ImportFailed(
                "csv_error",
                path=self.path,
                line=self.line,
                error=f"the header has {len(first):,} columns; at most {MAX_COLUMNS:,} are read",
            )
        self.header = first
        return [cell.strip() for cell in first]

    def rows(self) -> Iterator[list[str]]:
        """Rows as lists of text, streamed; blank lines are skipped. ``self.line``: the row's last line."""
        with self.errors_translated():
            for row in self.reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                yield row

    def blocks(self, size: int) -> Iterator[Block]:
        """The rows after the header, ``size`` lines at a time, each block plain text when it is (the usual
        case: see :class:`Block`) or rows read by the csv module, which goes on reading past the block's
        last line when a quoted value there spans lines. ``self.line``: the last line read. Line numbers
        count as ``csv.reader.line_num`` does (a quoted value's line breaks included). Call inside
        :meth:`errors_translated`."""
        self._line = self.reader.line_num
        while True:
            start = self._line
            raw = list(islice(self._text, size))
            if not raw:
                return
            block = plain_block(start, raw)
            if block is not None:
                self._line = block.end
                yield block
                continue
            used = 0

            def feed(raw: list[str] = raw) -> Iterator[str]:
                nonlocal used
                for line in raw:
                    used += 1
                    yield line
                for line in self._text:  # a quoted value still open at the block's end
                    used += 1
                    yield line

            reader = csv.reader(feed(), delimiter=self.delimiter or ",")
            rows: list[list[str]] = []
            try:
                while used < len(raw):
                    rows.append(next(reader))
            finally:
                self._line = start + reader.line_num
            yield Block(start, self._line, rows=rows)

    @contextlib.contextmanager
    def errors_translated(self) -> Iterator[None]:
        """Turn decoding and CSV syntax errors met while reading into ``ImportFailed`` with a line."""
        try:
            yield
        except UnicodeDecodeError as error:
            line = self._first_undecodable_line()
            raise ImportFailed("not_utf8", path=self.path, line=line, error=error.reason) from None
        except csv.Error as error:
            text = str(error)[:200]  # never a 10 MB message
            raise ImportFailed("csv_error", path=self.path, line=self.line, error=text) from None

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
        return self.reader.line_num if self._line is None else self._line

    def close(self) -> None:
        if self.progress is not None:
            self.progress(self.total, self.total)
        self._text.close()


@overload
def column_index(
    header: list[str], name: str, path: Path, *, required: Literal[True] = True, delimiter: str = ","
) -> int: ...
@overload
def column_index(
    header: list[str], name: str, path: Path, *, required: bool, delimiter: str = ","
) -> int | None: ...
def column_index(
    header: list[str], name: str, path: Path, *, required: bool = True, delimiter: str = ","
) -> int | None:
    """Where column ``name`` is in ``header`` (case-insensitive), None when optional and absent.

    A missing required column names the columns found, or, when the header did not split at all, the
    separator that was tried (so the message never lists the very column it says is missing).
    """
    wanted = name.strip().lower()
    hits = [i for i, cell in enumerate(header) if cell.lower() == wanted]
    if len(hits) > 1:
        raise ImportFailed("duplicate_column", path=path, column=name)
    if not hits:
        if required:
            if len(header) == 1:
                raise ImportFailed(
                    "header_not_split",
                    path=path,
                    column=name,
                    lines=SNIFF_LINES,
                    delimiter=DELIMITER_NAMES.get(delimiter, repr(delimiter)),
                )
            found = ", ".join(repr(cell) for cell in header) or "none"
            raise ImportFailed("missing_column", path=path, column=name, found=found)
        return None
    return hits[0]


def column_indexes(
    header: list[str],
    path: Path,
    required: Sequence[str],
    optional: Mapping[str, str | None],
    *,
    delimiter: str = ",",
) -> dict[str, int]:
    """``{column: index}`` for a CSV import's columns: every name in ``required`` (one missing raises
    :class:`ImportFailed` as :func:`column_index` does), then each ``optional`` column found.

    ``optional`` maps a column to the header name the operator gave for it (then it is required too) or
    None (looked up by its own name, left out when absent). A name found twice raises ``duplicate_column``.

    >>> column_indexes(["Consumer_ID", "amount_inr", "UTR"], Path("r.csv"), ("consumer_id", "amount_inr"),
    ...                {"mode": None, "reference": "utr"})
    {'consumer_id': 0, 'amount_inr': 1, 'reference': 2}
    """
    at = {name: column_index(header, name, path, delimiter=delimiter) for name in required}
    for name, given in optional.items():
        found = column_index(header, given or name, path, required=given is not None, delimiter=delimiter)
        if found is not None:
            at[name] = found
    return at


def row_lines(rows: list[list[str]], start: int) -> list[int]:
    """The file line on which each row ends, for a chunk where a quoted value spans lines.

    The csv module keeps a value's line breaks (``\\r\\n``, ``\\r`` or ``\\n``, as the file has them)
    and counts each as a line, like ``csv.reader.line_num``:

    >>> row_lines([["a", "b"], ["two\\r\\nlines", "c"], [], ["d", "x\\ny\\rz"]], 1)
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


_ESPI = "{http://naesb.org/espi}"
_ATOM = "{http://www.w3.org/2005/Atom}"
_UOM_WH = "72"  # ESPI UnitSymbolKind 72: Wh (the only energy unit Green Button interval data uses)
_FLOW_FORWARD, _FLOW_REVERSE = "1", "19"  # ESPI FlowDirectionKind: delivered to / received from the customer


class _Rows:
    """An iterator over prepared rows with a ``line_num`` like ``csv.reader``'s (the row's ordinal + 1)."""

    def __init__(self, rows: list[list[str]]) -> None:
        self._rows = iter(rows)
        self.line_num = 1

    def __iter__(self) -> _Rows:
        return self

    def __next__(self) -> list[str]:
        row = next(self._rows)
        self.line_num += 1
        return row


class GreenButtonSource:
    """A Green Button "Download My Data" file (NAESB ESPI Atom XML) read as rows ``timestamp,kwh``.

    Recognised by content, not by name (``recognises``): XML whose root is an Atom ``feed`` (or ESPI
    element) holding ``IntervalBlock``s. Each ``IntervalReading`` gives ``timePeriod/start`` (Unix
    seconds, the interval's start) and ``value``; the feed's ``ReadingType`` gives ``uom`` (72 = Wh),
    ``powerOfTenMultiplier`` (kWh = value × 10^multiplier ÷ 1000) and ``flowDirection`` (ESPI
    FlowDirectionKind: 1 = forward, energy delivered to the customer, read as ``kwh``; 19 = reverse,
    energy received from the customer, i.e. sent to the grid, read as ``export_kwh`` with ``kwh`` 0;
    any other value is refused as ``xml_unreadable``; absent = 1). Rows are numbered 2, 3, ... in
    document order (the report's "line"). A ``DOCTYPE`` (and so any entity declaration) is refused
    before parsing: the standard library parser would expand internal entities, so no document that
    could declare one is read (the care ``defusedxml`` takes).
    """

    HEADER = ("timestamp", "kwh")
    EXPORT_HEADER = ("timestamp", "kwh", "export_kwh")  # a reverse-flow (flowDirection 19) channel

    @staticmethod
    def recognises(path: Path) -> bool:
        """True when the file starts (after a BOM and blanks) with XML mentioning an IntervalBlock."""
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):
                return False
            with path.open("rb") as handle:
                head = handle.read(SNIFF_BYTES)
        except OSError:
            return False
        text = head.lstrip(codecs.BOM_UTF8).lstrip()
        return text.startswith(b"<") and b"IntervalBlock" in head

    def __init__(self, path: Path, progress: Progress | None) -> None:
        self.path = path
        self.progress = progress
        self.delimiter = ","
        self.decimal = "."
        self.head_lines: list[str] = []
        check_regular(path)
        try:
            data = path.read_bytes()
        except OSError as error:
            raise ImportFailed("cannot_read", path=path, error=error.strerror or error) from None
        self.total = len(data)
        self._rows, self.export = _espi_rows(path, data)
        self.reader = _Rows(self._rows)
        self.header = list(self.EXPORT_HEADER if self.export else self.HEADER)

    def read_header(self, columns: str, wanted: Sequence[str] = (), **_: object) -> list[str]:
        if not self._rows:
            raise ImportFailed("header_only", path=self.path)
        return list(self.header)

    def rows(self) -> Iterator[list[str]]:
        return iter(self.reader)

    def blocks(self, size: int) -> Iterator[Block]:
        """The rows, ``size`` at a time (never plain text: they are made from XML)."""
        while True:
            start = self.reader.line_num
            rows = list(islice(self.reader, size))
            if not rows:
                return
            yield Block(start, self.reader.line_num, rows=rows)

    @contextlib.contextmanager
    def errors_translated(self) -> Iterator[None]:
        yield

    def tick(self) -> None:
        if self.progress is not None:
            self.progress(min(self.reader.line_num, len(self._rows)), len(self._rows))

    @property
    def line(self) -> int:
        return self.reader.line_num

    def close(self) -> None:
        if self.progress is not None:
            self.progress(len(self._rows), len(self._rows))


def _espi_rows(path: Path, data: bytes) -> tuple[list[list[str]], bool]:
    """``([[stored UTC text, kWh text], ...], False)`` of every IntervalReading of a forward-flow channel,
    ``([[stored UTC text, "0", export kWh text], ...], True)`` of a reverse-flow one (flowDirection 19),
    or ``ImportFailed("xml_unreadable")``."""
    from xml.etree import ElementTree  # noqa: S405 - DOCTYPE refused below: no entity can be declared

    if re.search(rb"<!\s*(DOCTYPE|ENTITY)", data, re.IGNORECASE):
        raise ImportFailed(
            "xml_unreadable", path=path, error="a DOCTYPE or ENTITY declaration is not accepted"
        )
    try:
        root = ElementTree.fromstring(data)  # noqa: S314 - no DOCTYPE, see above
    except ElementTree.ParseError as error:
        raise ImportFailed("xml_unreadable", path=path, error=error) from None
    kinds = root.findall(f".//{_ESPI}ReadingType")
    if len(kinds) > 1:
        raise ImportFailed(
            "xml_unreadable", path=path, error="more than one ReadingType: one meter channel a file"
        )
    power = 0
    export = False
    if kinds:
        flow = (kinds[0].findtext(f"{_ESPI}flowDirection") or _FLOW_FORWARD).strip()
        if flow not in (_FLOW_FORWARD, _FLOW_REVERSE):
            raise ImportFailed(
                "xml_unreadable",
                path=path,
                error=f"flowDirection {flow} is neither 1 (energy from the grid) nor 19 (energy to the grid)",
            )
        export = flow == _FLOW_REVERSE
        uom = (kinds[0].findtext(f"{_ESPI}uom") or _UOM_WH).strip()
        if uom != _UOM_WH:
            raise ImportFailed("xml_unreadable", path=path, error=f"unit of measure {uom} is not Wh (72)")
        try:
            power = int((kinds[0].findtext(f"{_ESPI}powerOfTenMultiplier") or "0").strip())
        except ValueError:
            raise ImportFailed(
                "xml_unreadable", path=path, error="powerOfTenMultiplier is not a whole number"
            ) from None
    factor = 10.0**power / 1000.0
    rows: list[list[str]] = []
    for reading in root.iter(f"{_ESPI}IntervalReading"):
        start = (reading.findtext(f"{_ESPI}timePeriod/{_ESPI}start") or "").strip()
        value = (reading.findtext(f"{_ESPI}value") or "").strip()
        try:
            moment = dt.datetime.fromtimestamp(int(start), tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        except (ValueError, OverflowError, OSError):
            moment = start  # the row path reports it as an unreadable time
        try:
            energy = repr(round(float(value) * factor, 9))
        except ValueError:
            energy = value  # reported as not a number
        rows.append([moment, "0", energy] if export else [moment, energy])
    if not rows and root.find(f".//{_ESPI}IntervalBlock") is None:
        raise ImportFailed("xml_unreadable", path=path, error="no IntervalBlock")
    return rows, export
