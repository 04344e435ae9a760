"""What an import found and did: problems as codes + placeholders, the report, the rejects CSV.

A row problem is a stable ``code`` (``"negative_kwh"``) with placeholder values; its text comes from the
catalog (``lib/locales/importing.toml``, key ``import_<code>``) in the reader's language, so the same
problem reads in English in the operator's report and in Hindi on a page:

>>> problem = RowProblem("absurd_kwh", limit="100")
>>> problem.code, str(problem)
('absurd_kwh', 'more than 100 kWh in one reading')
>>> reason_text("negative_kwh", {}, "hi")
'ऋणात्मक ऊर्जा (यूनिट) (ग्रिड को भेजी गई बिजली? --kwh-kind net दें)'

File-level failures (``ImportFailed``) and the summaries are operator messages (``MESSAGES``, English: the
command line is for operators).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

from lib import i18n
from lib.clock import IST, UTC

REPORT_FIRST = 20
_Item = TypeVar("_Item")

# Operator-facing texts of the import/export command line (English), by key.
MESSAGES: dict[str, str] = {
    # file-level failures (nothing imported)
    "cannot_read": "cannot read {path}: {error}",
    "empty_file": "{path} is empty: expected a header row with {columns}",
    "header_only": "{path} has a header but no data rows: nothing to import",
    "missing_column": "{path}: missing required column {column!r} (columns found: {found})",
    "header_not_split": "{path}: no header row with the column {column!r} in the first {lines} lines "
    "(tried the separator {delimiter}; give --delimiter, --skip-rows or the column flags)",
    "duplicate_column": "{path}: column {column!r} appears more than once in the header",
    "not_utf8": "{path}: not UTF-8 text near line {line} ({error}); save the file as 'CSV UTF-8'",
    "utf16": "{path} is UTF-16/UTF-32 text; save it as 'CSV UTF-8'",
    "csv_error": "{path}: unreadable CSV near line {line}: {error}",
    "unknown_zone": "unknown time zone {zone!r} (use an IANA name such as Asia/Kolkata or Europe/London)",
    "unknown_fixed_consumer": "consumer ID {consumer_id!r} is not in the consumer master; import-consumers first",
    "bad_kwh_kind": "kwh kind must be 'interval', 'register' or 'net', not {kind!r}",
    "bad_option": "{option} must be one of {choices}, not {value!r}",
    "unknown_export_consumer": "consumer ID {consumer_id!r} is not in the consumer master",
    "bad_range": "--from {first} is after --to {last}",
    "implausible": "{path}: refused as a whole: consumer {consumer_id} would draw {kw:.1f} kW for "
    "{minutes:g} minutes on {ts} (IST), {factor:.0f}x its sanctioned load of {load:g} kW. {cause}",
    "cause_wh": "The energy is most likely in Wh, not kWh: give --energy-unit wh.",
    "cause_register": "The values are most likely cumulative register readings, not interval energy: "
    "give --kwh-kind register.",
    "cause_unknown": "Check the energy unit (--energy-unit) and whether the values are cumulative "
    "(--kwh-kind register).",
    "wh_hint": "note: the energy column {column!r} looks like Wh (not kWh); read as {unit}",
    "xml_unreadable": "{path}: not a Green Button (ESPI) file: {error}",
    "xml_needs_consumer": "{path}: a Green Button file carries no consumer ID: give --consumer-id",
    "register_changed": "{path}: another import changed the last register reading of consumer {consumer_id} "
    "while this file was read: nothing imported; run the command again",
    # summaries
    "summary_ok": "{path}: {rows} rows read, {added} added, {unchanged} already stored{extra}.",
    "summary_consumers": "{path}: {rows} rows read, {added} new, {changed} updated, {unchanged} unchanged.",
    "summary_rejected_strict": "{path}: {rejected} bad rows: nothing imported. First {shown}:",
    "summary_rejected_skipped": "{rejected} bad rows skipped; every one, with its reason, is in {rejects}",
    "summary_rejects_written": "every bad row, with its reason, is in {rejects}",
    "summary_more": "... and {more} more",
    "row_problem": "  line {line}, column {column!r}, value {value!r}: {reason}",
    "resets": "{count} meter resets or replacements detected (new baseline, no negative energy):",
    "reset_line": "  consumer {consumer_id}, line {line} at {ts} IST: register {previous:g} -> {reading:g} kWh",
    "rollovers": "{count} register rollovers past {width:g} kWh counted as energy",
    "baselines": "{count} register readings used as baselines (first of a consumer or after a reset)",
    "skipped_payments": "{count} payments skipped: failed or pending, not recharges:",
    "skipped_line": "  line {line}, consumer {consumer_id}, {ts} IST, ₹{amount:,.2f}, status {status!r}{reference}",
    "money_back": "money going back, stored negative: {reversals} reversals (a stored recharge taken back "
    "from the balance), {refunds} refunds (returned to the payer, never on the balance)",
    "export_done": "{rows} days of consumer {consumer_id} written to {out}",
    "bad_date": "not a date (YYYY-MM-DD): {text!r}",
    "wh_all_absurd": "every reading of column {column!r} is above {limit} kWh and the column says Wh: "
    "give --energy-unit wh (not a larger --max-kwh)",
    "serial_hint": "{count} value(s) of column {column!r} are meter serial numbers in the consumer master: "
    "give --id-kind meter-serial",
    "skip_rows_past_end": "{path}: --skip-rows {skip_rows} skips past the end of the file ({lines} lines): "
    "no header left to read",
    "bad_delimiter": "not a separator: {text!r} (comma, semicolon, tab or pipe, by name or as the character)",
    "demo_done": "demo data written to {path}: {consumers} consumers ({linked} linked to the demo account, "
    "{unlinked} not), {readings} readings from {first_day} to {last_reading_ts}, {recharges} recharges",
    "demo_refused": "{path}: {error}",
    "migrate_failed": "{path}: the schema could not be brought up to date: {error}",
    "prune_keep_months": "--keep-months must be 1 or more (got {value}): raw readings of the current month are never pruned",
    "prune_dry_run": "{count} raw readings are stamped before {cutoff} (UTC) and would be deleted; daily totals stay",
    "prune_done": "{count} raw readings stamped before {cutoff} (UTC) deleted; daily totals stay",
    "partitions_made": "{count} monthly readings partitions made ({names})",
    "alerts_busy": "another send-alerts run holds {lease}; this one sent nothing (exit 3)",
    "migrate_done": "{path}: {count} migrations applied ({names}); the schema is up to date",
    "interrupted": "interrupted: nothing was written",
    "database_error": "database error ({path}): {error}",
    "unexpected": "unexpected error: {kind}: {error} (run with --debug for details)",
}

# Row problem code -> its catalog key (written out, so the catalog test sees every key in use).
ROW_REASONS: dict[str, str] = {
    "missing_value": "import_missing_value",
    "unknown_consumer": "import_unknown_consumer",
    "unknown_meter_serial": "import_unknown_meter_serial",
    "consumer_id_format": "import_consumer_id_format",
    "time_format": "import_time_format",
    "time_impossible": "import_time_impossible",
    "time_pattern": "import_time_pattern",
    "time_bad_hour": "import_time_bad_hour",
    "time_missing_hour": "import_time_missing_hour",
    "time_ambiguous": "import_time_ambiguous",
    "time_too_old": "import_time_too_old",
    "time_future": "import_time_future",
    "not_a_number": "import_not_a_number",
    "not_finite": "import_not_finite",
    "negative_kwh": "import_negative_kwh",
    "absurd_kwh": "import_absurd_kwh",
    "negative_register": "import_negative_register",
    "register_order": "import_register_order",
    "register_glitch": "import_register_glitch",
    "absurd_balance": "import_absurd_balance",
    "duplicate_in_file": "import_duplicate_in_file",
    "conflict_stored": "import_conflict_stored",
    "conflict_stored_export": "import_conflict_stored_export",
    "duplicate_consumer": "import_duplicate_consumer",
    "bad_mobile": "import_bad_mobile",
    "name_too_long": "import_name_too_long",
    "bad_load": "import_bad_load",
    "bad_amount": "import_bad_amount",
    "duplicate_recharge": "import_duplicate_recharge",
    "duplicate_reference": "import_duplicate_reference",
    "unknown_status": "import_unknown_status",
}


def reason_text(code: str, values: Mapping[str, Any], lang: str = "en") -> str:
    """The text of row problem ``code`` with its placeholders, in ``lang`` (``"en"`` or ``"hi"``)."""
    return i18n.t(ROW_REASONS[code], lang, **values)


def message(key: str, **values: Any) -> str:
    """An operator text of ``MESSAGES``, or the English text of a row problem code, with values filled:
    ``message("header_only", path="a.csv")``."""
    if key in MESSAGES:
        return MESSAGES[key].format(**values)
    return reason_text(key, values, "en")


class RowProblem(ValueError):
    """Why one value of a row is refused: a ``code`` of ``ROW_REASONS`` and its placeholder ``values``.

    A ``ValueError`` whose text is the English reason; ``text("hi")`` renders it in Hindi.
    """

    def __init__(self, code: str, **values: Any) -> None:
        self.code = code
        self.values = values
        super().__init__(reason_text(code, values, "en"))

    def text(self, lang: str) -> str:
        return reason_text(self.code, self.values, lang)


class ImportFailed(Exception):
    """The file as a whole cannot be imported (unreadable, empty, missing column, bad option, implausible).

    Nothing was written. ``key`` and ``values`` name the problem (``MESSAGES``); ``str(error)`` is the
    operator-facing message.
    """

    def __init__(self, key: str, **values: Any) -> None:
        self.key = key
        self.values = values
        super().__init__(message(key, **values))


@dataclass(frozen=True)
class RowError:
    """One rejected row: file line number, the column at fault, its value and the problem (code + values)."""

    line: int
    column: str
    value: str
    code: str
    values: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, line: int, column: str, value: str, problem: RowProblem) -> RowError:
        return cls(line, column, value, problem.code, tuple(problem.values.items()))

    @property
    def reason(self) -> str:
        """The problem in English (the operator's report and the rejects CSV)."""
        return reason_text(self.code, dict(self.values), "en")

    def text(self, lang: str) -> str:
        """The problem in ``lang`` from the catalog."""
        return reason_text(self.code, dict(self.values), lang)


@dataclass(frozen=True)
class MeterReset:
    """A register jump that stays (meter reset or replaced): a new baseline. ``ts`` is stored UTC text."""

    consumer_id: str
    line: int
    ts: str
    previous: float
    reading: float


@dataclass(frozen=True)
class MeterEvent:
    """What a register import detected at one reading: ``kind`` replacement | glitch | rollover.

    ``ts`` is stored UTC text, ``line`` the file line, ``detail`` the register values in kWh
    (``"4326.3 -> 8715"``; a glitch ``"4330.1 -> 0 -> 4331.2"``). Stored by the import
    (``storage.meter_events``).
    """

    consumer_id: str
    ts: str
    kind: str
    line: int
    detail: str

    def row(self) -> dict[str, Any]:
        return {
            "consumer_id": self.consumer_id,
            "ts": self.ts,
            "kind": self.kind,
            "line": self.line,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class SkippedPayment:
    """A failed or pending payment of a recharges file: not a recharge, reported with its line.

    ``ts`` is stored UTC text; ``status`` and ``reference`` as the file wrote them.
    """

    line: int
    consumer_id: str
    ts: str
    amount_inr: float
    status: str
    reference: str = ""


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
    rollovers: int = 0
    register_width: float = 0.0
    baselines: int = 0
    committed: bool = False
    consumers: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    meter_events: list[MeterEvent] = field(default_factory=list)
    skipped: int = 0
    skipped_payments: list[SkippedPayment] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)

    def reject(self, error: RowError) -> None:
        self.rejected += 1
        if len(self.errors) < REPORT_FIRST:
            self.errors.append(error)

    def skip(self, payment: SkippedPayment) -> None:
        """Count a failed/pending payment (the first ``REPORT_FIRST`` are kept with their lines)."""
        self.skipped += 1
        if len(self.skipped_payments) < REPORT_FIRST:
            self.skipped_payments.append(payment)


class Rejects:
    """The rejects CSV: ``line,column,value,code,reason`` then the row as it was. Opened on first use."""

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
                raise ImportFailed("cannot_read", path=self.path, error=problem) from None
            self._writer = csv.writer(self._handle)
            self._writer.writerow(["line", "column", "value", "code", "reason", *self.header])
        self._writer.writerow([error.line, error.column, error.value, error.code, error.reason, *row])

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


def format_report(report: ImportReport) -> str:
    """The operator's summary of an import (English, from ``MESSAGES`` and the catalog)."""
    lines: list[str] = list(report.notes)
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
        extra += f", {report.skipped} skipped (not paid)" if report.skipped else ""
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
        lines += _first_lines(
            report.errors,
            report.rejected,
            lambda e: message("row_problem", line=e.line, column=e.column, value=e.value, reason=e.reason),
        )
        if not report.committed and report.rejects_path:
            lines.append(message("summary_rejects_written", rejects=report.rejects_path))
    if report.resets:
        lines.append(message("resets", count=len(report.resets)))
        lines += _first_lines(
            report.resets,
            len(report.resets),
            lambda r: message(
                "reset_line",
                consumer_id=r.consumer_id,
                line=r.line,
                ts=_ist_text(r.ts),
                previous=r.previous,
                reading=r.reading,
            ),
        )
    if report.rollovers:
        lines.append(message("rollovers", count=report.rollovers, width=report.register_width))
    if report.baselines:
        lines.append(message("baselines", count=report.baselines))
    if report.kinds.get("reversal") or report.kinds.get("refund"):
        lines.append(
            message(
                "money_back", reversals=report.kinds.get("reversal", 0), refunds=report.kinds.get("refund", 0)
            )
        )
    if report.skipped:
        lines.append(message("skipped_payments", count=report.skipped))
        lines += _first_lines(
            report.skipped_payments,
            report.skipped,
            lambda p: message(
                "skipped_line",
                line=p.line,
                consumer_id=p.consumer_id,
                ts=_ist_text(p.ts),
                amount=p.amount_inr,
                status=p.status,
                reference=f", reference {p.reference}" if p.reference else "",
            ),
        )
    return "\n".join(lines)


def _first_lines(items: Sequence[_Item], total: int, line: Callable[[_Item], str]) -> list[str]:
    """The report's listing rule: one ``line`` each for the first ``REPORT_FIRST`` of ``items``, then
    "... and N more" when ``total`` (all there were, listed or not) is larger than what was listed.

    >>> len(_first_lines(range(25), 25, str)), _first_lines(range(25), 25, str)[-1]
    (21, '... and 5 more')
    >>> _first_lines(["line 4: bad kWh"], 3, str)
    ['line 4: bad kWh', '... and 2 more']
    """
    shown = items[:REPORT_FIRST]
    listed = [line(item) for item in shown]
    if total > len(shown):
        listed.append(message("summary_more", more=total - len(shown)))
    return listed


def _ist_text(ts: str) -> str:
    """Stored UTC text as IST ``YYYY-MM-DD HH:MM``: ``_ist_text("2026-11-25T02:40:00Z") == "2026-11-25 08:10"``."""
    moment = dt.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).astimezone(IST)
    return moment.strftime("%Y-%m-%d %H:%M")
