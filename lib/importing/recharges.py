"""Import recharges (``consumer_id,timestamp,amount_inr`` + optional ``mode,reference,status``).

Rules (issue 11 §2, the recharge-identity case of ``../shared/cases/``):

- **Identity.** A row with a reference is the stored recharge with the same consumer, reference and kind,
  whatever its time (a gateway stamps the payment, the DISCOM the credit, with or without seconds); a row
  without one is the stored recharge with the same consumer, time and amount. Two recharges of the same
  amount in the same minute with different references are two recharges.
- **Status** (``status`` column, or ``--status-col``): a failed or pending payment (``FAILED``,
  ``PENDING``, ``DECLINED``, ...) is not a recharge: it is skipped and reported with its line. An empty
  status, or a success word (``SUCCESS``, ``COMPLETED``, ``CREDITED``, ...), is a recharge; a word that is
  none of these is a bad row (``unknown_status``), never a guess.
- **Money back.** A negative amount, or a refund/reversal status (``REFUND``, ``REVERSED``, ...), is money
  going back (stored negative): a ``reversal`` when its reference is a recharge of the same consumer
  (stored, or earlier or later in this file), so the meter's balance loses it; otherwise a ``refund``,
  returned to the payer for a payment that never reached the balance (stored, never on the balance).

>>> payment_kind("SUCCESS", 500.0), payment_kind("", 500.0), payment_kind("Failed", 300.0)
('recharge', 'recharge', 'skip')
>>> payment_kind("REFUND", 300.0), payment_kind("success", -300.0), payment_kind("failed", -300.0)
('back', 'back', 'skip')
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from lib.clock import now_utc
from lib.importing import sources
from lib.importing.report import ImportReport, Rejects, RowError, RowProblem, SkippedPayment
from lib.importing.rules import (
    MAX_RECHARGE_INR,
    consumer_id_ok,
    consumer_problem,
    parse_money,
    parse_timestamp,
    zone_for,
)
from lib.importing.sources import CsvSource, Progress
from lib.importing.write import finish, import_csv

if TYPE_CHECKING:
    from lib.storage import Database

_REQUIRED = ("consumer_id", "timestamp", "amount_inr")

# Status words of payment gateways and DISCOM histories, compared lower-case with runs of spaces,
# hyphens and underscores as one "_".
SUCCESS_STATUSES = frozenset(
    {
        "success",
        "successful",
        "succeeded",
        "completed",
        "complete",
        "paid",
        "credited",
        "captured",
        "settled",
        "ok",
        "done",
        "approved",
        "txn_success",
    }
)
NOT_PAID_STATUSES = frozenset(
    {
        "failed",
        "failure",
        "fail",
        "pending",
        "declined",
        "cancelled",
        "canceled",
        "timeout",
        "timed_out",
        "expired",
        "initiated",
        "aborted",
        "rejected",
        "error",
        "in_progress",
        "processing",
        "txn_failure",
        "dropped",
        "incomplete",
        "unpaid",
    }
)
MONEY_BACK_STATUSES = frozenset(
    {
        "refund",
        "refunded",
        "refund_success",
        "refund_initiated",
        "reversal",
        "reversed",
        "chargeback",
        "charged_back",
        "returned",
    }
)
_SEPARATORS = re.compile(r"[\s_-]+")


def payment_kind(status: str, amount: float) -> str:
    """What a payment row is: ``recharge``, ``back`` (refund or reversal), ``skip`` (failed/pending).

    Raises ``RowProblem("unknown_status")`` for a status word that is none of the known ones.
    """
    word = _SEPARATORS.sub("_", status.strip().lower()).strip("_")
    if word in NOT_PAID_STATUSES:
        return "skip"
    if word in MONEY_BACK_STATUSES or (amount < 0 and (not word or word in SUCCESS_STATUSES)):
        return "back"
    if not word or word in SUCCESS_STATUSES:
        return "recharge"
    raise RowProblem("unknown_status", status=status.strip())


def import_recharges(
    conn: Database,
    path: str | Path,
    *,
    tz: str = "Asia/Kolkata",
    time_format: str | None = None,
    reference_col: str | None = None,
    status_col: str | None = None,
    skip_invalid: bool = False,
    rejects_path: str | Path | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import recharges (``consumer_id,timestamp,amount_inr`` + optional ``mode,reference,status``).

    ``reference_col`` / ``status_col`` name the reference and status columns (required when given;
    by default ``reference`` and ``status`` when present). The rules are in the module docstring; a
    recharge equal to a stored one is a no-op. ``report.skipped`` counts failed/pending payments and
    ``report.skipped_payments`` lists the first of them with their lines; ``report.kinds`` counts the
    rows read per kind (``recharge``, ``reversal``, ``refund``).
    """
    zone = zone_for(tz)
    return import_csv(
        conn,
        Path(path),
        "recharges",
        _REQUIRED,
        {"mode": None, "reference": reference_col, "status": status_col},
        lambda source, report, rejects, at: _read_recharges(
            conn, source, report, rejects, at, zone, time_format, skip_invalid
        ),
        skip_invalid=skip_invalid,
        rejects_path=rejects_path,
        progress=progress,
    )


def _read_recharges(
    conn: Database,
    source: CsvSource,
    report: ImportReport,
    rejects: Rejects,
    at: dict[str, int],
    zone: ZoneInfo,
    time_format: str | None,
    skip_invalid: bool,
) -> None:
    now = now_utc()
    known: dict[str, bool] = {}
    seen: dict[tuple[Any, ...], int] = {}
    span: dict[str, list[str]] = {}
    pending: list[dict[str, Any]] = []
    money_back: list[dict[str, Any]] = []  # decided once every recharge of the file is stored
    width = max(at.values()) + 1

    def flush() -> None:
        added = conn.readings.insert_recharges(pending)
        report.added += added
        report.unchanged += len(pending) - added
        pending.clear()
        source.tick()

    def text(row: list[str], name: str) -> str:
        return row[at[name]].strip() if name in at else ""

    for raw in source.rows():
        report.rows += 1
        line = source.line
        row = raw + [""] * (width - len(raw)) if len(raw) < width else raw
        cid = row[at["consumer_id"]].strip()
        column, ts, amount, what = "", "", 0.0, "recharge"
        problem: RowProblem | None = None
        if cid not in known:
            known[cid] = consumer_id_ok(cid) and bool(conn.consumers.existing_consumer_ids([cid]))
        if not known[cid]:
            column = "consumer_id"
            problem = consumer_problem(cid)
        else:
            try:
                column = "timestamp"
                ts = parse_timestamp(row[at["timestamp"]], zone, time_format, now)
                column = "amount_inr"
                amount = parse_money(row[at["amount_inr"]])
                if not 0 < abs(amount) <= MAX_RECHARGE_INR:
                    raise RowProblem("bad_amount", limit=f"{MAX_RECHARGE_INR:,.0f}")
                for name, limit in (("mode", 40), ("reference", 80)):
                    column = name
                    if len(text(row, name)) > limit:
                        raise RowProblem("name_too_long", limit=limit)
                column = "status"
                what = payment_kind(text(row, "status"), amount)
                column = ""
            except RowProblem as raised:
                problem = raised
        if problem is None and what == "skip":
            report.skip(SkippedPayment(line, cid, ts, amount, text(row, "status"), text(row, "reference")))
            continue
        reference = text(row, "reference")
        identity = (cid, what, reference) if reference else (cid, what, ts, abs(amount))
        if problem is None and identity in seen:
            column = "reference" if reference else "timestamp"
            code = "duplicate_reference" if reference else "duplicate_recharge"
            problem = RowProblem(code, line=seen[identity])
        if problem is not None:
            error = RowError.of(line, column, row[at[column]] if column in at else "", problem)
            report.reject(error)
            rejects.add(error, raw)
            continue
        seen[identity] = line
        bounds = span.setdefault(cid, [ts, ts])
        bounds[0], bounds[1] = min(bounds[0], ts), max(bounds[1], ts)
        record = {
            "consumer_id": cid,
            "ts": ts,
            "amount_inr": amount if what == "recharge" else -abs(amount),
            "mode": text(row, "mode") or None,
            "reference": reference or None,
            "status": text(row, "status") or None,
        }
        if what == "back":
            money_back.append(record)
            continue
        report.kinds["recharge"] = report.kinds.get("recharge", 0) + 1
        pending.append(record)
        if len(pending) >= sources.CHUNK_ROWS:
            flush()
    if pending:
        flush()
    references: dict[str, set[str]] = {}
    for record in money_back:
        cid = str(record["consumer_id"])
        if cid not in references:
            references[cid] = conn.readings.stored_recharge_references(cid)
        kind = "reversal" if record["reference"] in references[cid] else "refund"
        report.kinds[kind] = report.kinds.get(kind, 0) + 1
        pending.append({**record, "kind": kind})
    if pending:
        flush()
    report.consumers = sorted(span)
    finish(
        conn, report, {cid: (first, last) for cid, (first, last) in span.items()}, skip_invalid=skip_invalid
    )
