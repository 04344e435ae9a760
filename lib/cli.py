"""The operators' command line: ``python -m lib.cli --help`` (``--help`` works on every command too).

    python -m lib.cli import-consumers consumers.csv
    python -m lib.cli import-readings readings.csv --skip-invalid
    python -m lib.cli import-readings lcl.csv --id-col LCLid --time-col tstp \\
        --kwh-col "energy(kWh/hh)" --tz Europe/London --skip-invalid
    python -m lib.cli --db /tmp/x.db export-daily --consumer 101234567 --from 2026-11-01 --out nov.csv

>>> main(["--db", ":memory:", "export-daily", "--consumer", "nobody"], err=sys.stdout)
consumer ID 'nobody' is not in the consumer master
1

The database is ``lib.config.load_settings().db_path`` unless ``--db PATH`` is given. Exit status:
0 done; 1 the input was refused (a strict import with bad rows imports nothing) or another error;
2 wrong usage; 130 interrupted. No traceback reaches the operator unless ``--debug`` is given.

Adding a command: one function decorated with ``@command(name, help)`` that receives its argparse
sub-parser, adds its arguments and returns the function that runs it::

    @command("send-alerts", "Send due low-balance alerts")
    def send_alerts(parser: argparse.ArgumentParser) -> Runner:
        parser.add_argument("--dry-run", action="store_true")

        def run(args: argparse.Namespace, ctx: Context) -> int:
            with ctx.open_db() as conn:
                ...
            return 0

        return run
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import math
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO, cast

from lib import importing, storage
from lib.config import load_settings


@dataclass
class Context:
    """What a command runs with: the database path and the two output streams."""

    db_path: Path | str  # an SQLite file, or a postgresql:// URL
    out: TextIO
    err: TextIO
    rejects: StagedOutput | None = None  # the rejects CSV, written beside its place and renamed at the end

    def open_db(self) -> contextlib.AbstractContextManager[storage.Database]:
        """``with ctx.open_db() as conn:`` a migrated connection for this command."""
        return storage.open_db(self.db_path)

    def say(self, text: str) -> None:
        print(text, file=self.out)

    def warn(self, text: str) -> None:
        print(text, file=self.err)

    def progress(self) -> importing.Progress | None:
        """A plain-text progress bar on stderr when stderr is a terminal, else None."""
        return _ProgressBar(self.err) if self.err.isatty() else None


Runner = Callable[[argparse.Namespace, Context], int]


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    define: Callable[[argparse.ArgumentParser], Runner]


COMMANDS: dict[str, Command] = {}


def command(name: str, help: str) -> Callable[[Callable[[argparse.ArgumentParser], Runner]], Callable]:
    """Register a command: the decorated function adds arguments and returns its runner."""

    def register(define: Callable[[argparse.ArgumentParser], Runner]) -> Callable:
        COMMANDS[name] = Command(name, help, define)
        return define

    return register


class _ProgressBar:
    """``[##########----------]  50%  12.3 of 24.6 MB`` redrawn in place on a terminal."""

    WIDTH = 30

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.last = -1

    def __call__(self, done: int, total: int) -> None:
        percent = 100 if total <= 0 else min(100, done * 100 // total)
        if percent == self.last:
            return
        self.last = percent
        filled = percent * self.WIDTH // 100
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        end = "\n" if percent == 100 else ""
        self.stream.write(f"\r[{bar}] {percent:3d}%  {done / 1e6:.1f} of {total / 1e6:.1f} MB{end}")
        self.stream.flush()


# --- shared arguments -----------------------------------------------------------------------------


def _add_file_arguments(parser: argparse.ArgumentParser, what: str = "the CSV file") -> None:
    parser.add_argument("file", type=Path, help=f"{what} (UTF-8, with or without BOM; any line endings)")
    parser.add_argument(
        "--skip-invalid",
        action="store_true",
        help="import the good rows and write every bad row with its reason to a rejects CSV "
        "(default: any bad row and nothing is imported)",
    )
    parser.add_argument(
        "--rejects",
        type=Path,
        metavar="PATH",
        help="where to write rejected rows (default with --skip-invalid: FILE.rejects.csv beside the input)",
    )


def _add_time_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tz",
        default="Asia/Kolkata",
        metavar="ZONE",
        help="IANA zone of timestamps that carry no offset (default Asia/Kolkata). In a zone with daylight "
        "saving, times in the skipped hour and (without an offset) in the repeated hour are bad rows",
    )
    parser.add_argument(
        "--time-format",
        metavar="FMT",
        help="strptime pattern for non-ISO timestamps, e.g. '%%d/%%m/%%Y %%H:%%M' (default: ISO 8601)",
    )


def _finish_import(report: importing.ImportReport, ctx: Context) -> int:
    if ctx.rejects is not None:
        report.rejects_path = ctx.rejects.finish(report.rejects_path)
    text = _bounded(importing.format_report(report))
    if report.committed:
        ctx.say(text)
        return 0
    ctx.warn(text)
    return 1


# --- commands -------------------------------------------------------------------------------------


@command("import-consumers", "Import the consumer master from CSV")
def import_consumers(parser: argparse.ArgumentParser) -> Runner:
    """Import consumers: columns consumer_id,name,registered_mobile and optional tariff_category,
    sanctioned_load_kw, division, meter_serial. Mobiles in any common Indian form ("98765 43210",
    "+91-9876543210", "09876543210") are stored as +91XXXXXXXXXX; anything else is a bad row.
    Re-importing the same file changes nothing."""
    _add_file_arguments(parser)

    def run(args: argparse.Namespace, ctx: Context) -> int:
        with ctx.open_db() as conn:
            report = importing.import_consumers(
                conn,
                args.file,
                skip_invalid=args.skip_invalid,
                rejects_path=args.rejects,
                progress=ctx.progress(),
            )
        return _finish_import(report, ctx)

    return run


@command(
    "import-readings", "Import meter readings from CSV (any column names, via flags) or Green Button XML"
)
def import_readings(parser: argparse.ArgumentParser) -> Runner:
    """Import readings: columns consumer_id,timestamp,kwh[,balance_inr], or any other names mapped
    with the flags below. One transaction: a strict import with a bad row imports nothing. A reading
    already stored with the same value is skipped; with a different value it is a bad row. A Green Button
    file (ESPI Atom XML, "Download My Data") is recognised by its content and needs --consumer-id."""
    _add_file_arguments(parser, "the CSV or Green Button XML file")
    parser.add_argument(
        "--id-col", default="consumer_id", metavar="NAME", help="consumer ID (or meter serial) column"
    )
    parser.add_argument(
        "--id-kind",
        choices=("consumer", "meter-serial"),
        default="consumer",
        help="what the ID column holds: consumer IDs (default) or meter serial numbers, mapped to consumer "
        "IDs by the consumer master's meter_serial",
    )
    parser.add_argument(
        "--time-col",
        default="timestamp",
        metavar="NAME",
        help="timestamp column (the time of day with --date-col)",
    )
    parser.add_argument(
        "--date-col",
        metavar="NAME",
        help="date column, when the date and the time of day are in separate columns",
    )
    parser.add_argument(
        "--stamp",
        choices=("start", "end"),
        default="start",
        help="whether each timestamp starts (default) or ends its interval; with end, 00:00 belongs to the day "
        "before, 24:00 is accepted, and each reading is stored at its interval's start (its own interval: the gap "
        "to the meter's reading before it)",
    )
    parser.add_argument("--kwh-col", default="kwh", metavar="NAME", help="energy column (kWh)")
    parser.add_argument(
        "--export-kwh-col",
        metavar="NAME",
        help="energy sent to the grid (rooftop solar, net metering), beside --kwh-col as energy drawn",
    )
    parser.add_argument(
        "--balance-col",
        metavar="NAME",
        help="prepaid balance column in ₹ (default: balance_inr when present)",
    )
    parser.add_argument(
        "--consumer-id",
        metavar="ID",
        help="every row belongs to this consumer (a one-meter file without an ID column)",
    )
    _add_time_arguments(parser)
    parser.add_argument(
        "--kwh-kind",
        choices=("interval", "register", "net"),
        default="interval",
        help="interval: energy of each interval (default); register: the meter's cumulative reading, turned "
        "into interval energy per consumer in time order (a reset/replacement starts a new baseline); net: "
        "import minus export of a net meter, a negative value is energy sent to the grid (stored as export)",
    )
    parser.add_argument(
        "--max-kwh",
        type=_finite_positive,
        default=importing.MAX_KWH_PER_READING,
        metavar="KWH",
        help="largest believable energy in one reading (default %(default)g: 200 kW for 30 minutes; "
        "for daily or monthly files). Not for Wh files: use --energy-unit wh",
    )

    parser.add_argument(
        "--energy-unit",
        choices=("kwh", "wh"),
        default="kwh",
        help="unit of the energy column (default kwh; wh: values are divided by 1000). A column name with "
        "'Wh' but not 'kWh' is reported as a hint; a file whose implied demand is far beyond the sanctioned "
        "load is refused with the likely cause",
    )
    parser.add_argument(
        "--register-max",
        type=_finite_positive,
        metavar="KWH",
        help="register width for rollovers with --kwh-kind register (default: read from the values, "
        "99999.9 -> 100000: 99999.9 then 0.2 is 0.3 kWh)",
    )
    parser.add_argument(
        "--delimiter",
        type=_delimiter,
        metavar="{comma,semicolon,tab,pipe}",
        help="column separator, by name or as the character (default: detected from the file: comma, "
        "semicolon, tab or pipe)",
    )
    parser.add_argument(
        "--decimal",
        choices=(".", ","),
        help="decimal mark of numbers (default: detected; ',' reads 1,234 as 1.234 in a semicolon file)",
    )
    parser.add_argument(
        "--skip-rows",
        type=int,
        metavar="N",
        help="lines above the header (default: the header is found by the column names the flags give)",
    )

    def run(args: argparse.Namespace, ctx: Context) -> int:
        columns = importing.ReadingColumns(
            args.id_col, args.time_col, args.kwh_col, args.balance_col, args.date_col, args.export_kwh_col
        )
        with ctx.open_db() as conn:
            report = importing.import_readings(
                conn,
                args.file,
                columns=columns,
                consumer_id=args.consumer_id,
                tz=args.tz,
                kwh_kind=args.kwh_kind,
                time_format=args.time_format,
                max_kwh=args.max_kwh,
                energy_unit=args.energy_unit,
                register_max=args.register_max,
                id_kind=args.id_kind,
                stamp=args.stamp,
                delimiter=args.delimiter,
                decimal=args.decimal,
                skip_rows=args.skip_rows,
                skip_invalid=args.skip_invalid,
                rejects_path=args.rejects,
                progress=ctx.progress(),
            )
        return _finish_import(report, ctx)

    return run


@command("import-recharges", "Import recharges from CSV")
def import_recharges(parser: argparse.ArgumentParser) -> Runner:
    """Import recharges: columns consumer_id,timestamp,amount_inr and optional mode,reference,status.
    A recharge's identity is its reference when the file has one (the same reference from a second
    source, with or without seconds, is stored once), else consumer + time + amount. Failed or pending
    payments are not recharges: they are skipped and listed with their lines. A negative amount or a
    refund/reversal status is money going back: a reversal of a stored recharge with that reference (taken
    from the balance), else a refund to the payer (never on the balance)."""
    _add_file_arguments(parser)
    _add_time_arguments(parser)
    parser.add_argument(
        "--reference-col",
        metavar="NAME",
        help="payment reference column, the recharge's identity (default: reference when present)",
    )
    parser.add_argument(
        "--status-col",
        metavar="NAME",
        help="payment status column (default: status when present): SUCCESS/empty = recharge; "
        "FAILED/PENDING = skipped and reported; REFUND/REVERSED = money going back",
    )

    def run(args: argparse.Namespace, ctx: Context) -> int:
        with ctx.open_db() as conn:
            report = importing.import_recharges(
                conn,
                args.file,
                tz=args.tz,
                time_format=args.time_format,
                reference_col=args.reference_col,
                status_col=args.status_col,
                skip_invalid=args.skip_invalid,
                rejects_path=args.rejects,
                progress=ctx.progress(),
            )
        return _finish_import(report, ctx)

    return run


@command("migrate", "Bring the database schema up to date (run at deploy, before starting the dashboard)")
def migrate(parser: argparse.ArgumentParser) -> Runner:
    """Apply every migration the database lacks, each in its own transaction; idempotent. The dashboard
    itself migrates only at the first start of a server process, so a deploy runs this first."""

    parser.add_argument(
        "--reading-months-from",
        type=_month,
        metavar="YYYY-MM",
        help="PostgreSQL: also make the monthly readings partitions from this month on (before loading older data)",
    )

    def run(args: argparse.Namespace, ctx: Context) -> int:
        with storage.open_db(ctx.db_path, run_migrations=False) as conn:
            try:
                applied = storage.migrate(conn)
                if args.reading_months_from:
                    from lib.clock import now_utc

                    made = conn.readings.ensure_months(args.reading_months_from, now_utc().date().isoformat())
                    ctx.say(
                        importing.message("partitions_made", count=len(made), names=", ".join(made) or "-")
                    )
            except storage.StorageError as error:
                ctx.warn(
                    importing.message(
                        "migrate_failed", path=storage.engine.display_target(ctx.db_path), error=error
                    )
                )
                return 1
        ctx.say(
            importing.message(
                "migrate_done",
                path=storage.engine.display_target(ctx.db_path),
                count=len(applied),
                names=", ".join(applied) or "-",
            )
        )
        return 0

    return run


@command("prune-readings", "Retention: delete raw readings older than N months (daily totals are kept)")
def prune_readings(parser: argparse.ArgumentParser) -> Runner:
    """Delete raw interval readings stamped before the first day of the month N months back (UTC); the daily
    roll-ups stay, so charts, the ledger and exports of those days are unchanged, but those days cannot be
    re-rolled from readings. On PostgreSQL whole monthly partitions are dropped. One transaction."""
    parser.add_argument(
        "--keep-months", type=int, required=True, metavar="N", help="months of raw readings to keep (>= 1)"
    )
    parser.add_argument("--dry-run", action="store_true", help="say what would be deleted, change nothing")

    def run(args: argparse.Namespace, ctx: Context) -> int:
        from lib.clock import now_utc

        if args.keep_months < 1:
            ctx.warn(importing.message("prune_keep_months", value=args.keep_months))
            return 2
        today = now_utc().date()
        months = today.year * 12 + today.month - 1 - args.keep_months
        cutoff = dt.date(months // 12, months % 12 + 1, 1).isoformat()
        with ctx.open_db() as conn:
            if args.dry_run:
                count = conn.readings.count_readings_before(cutoff)
                ctx.say(importing.message("prune_dry_run", count=count, cutoff=cutoff))
                return 0
            with conn.transaction():
                count = conn.readings.drop_readings_before(cutoff)
        ctx.say(importing.message("prune_done", count=count, cutoff=cutoff))
        return 0

    return run


@command("seed-demo", "Fill the database with the demo household (refuses real data unless --force)")
def seed_demo(parser: argparse.ArgumentParser) -> Runner:
    """Create the deterministic demo data: one household with several connections, a year of
    30-minute readings ending today, recharges and a disconnection. Refuses a database that holds
    non-demo consumers unless --force is given, and always one configured with the production SMS
    gateway (METERMITRA_SMS_GATEWAY=http): run it with METERMITRA_SMS_GATEWAY=outbox for a demo database."""
    parser.add_argument("--force", action="store_true", help="seed even if the database holds non-demo data")
    parser.add_argument(
        "--lang", choices=("en", "hi"), default="en", help="language of the meters' nicknames (hi: घर, दुकान)"
    )

    def run(args: argparse.Namespace, ctx: Context) -> int:
        import dataclasses

        from lib import demo  # lazy: only this command needs the demo generator

        try:  # never into a database configured for production, --force or not (issue 13 item 12)
            demo.check_demo_configuration(dataclasses.replace(load_settings(), db_path=ctx.db_path))
        except demo.DemoRefused as error:
            ctx.warn(str(error))
            return 1
        with ctx.open_db() as conn:
            try:
                result = demo.seed_demo(conn, force=args.force, lang=args.lang)
            except demo.RealDataError as error:
                ctx.warn(
                    importing.message(
                        "demo_refused", path=storage.engine.display_target(ctx.db_path), error=error
                    )
                )
                return 1
        ctx.say(importing.message("demo_done", path=storage.engine.display_target(ctx.db_path), **result))
        return 0

    return run


@command("export-daily", "Export one consumer's daily totals (IST days) as CSV")
def export_daily(parser: argparse.ArgumentParser) -> Runner:
    """Write date,consumer_id,kwh,closing_balance_inr,recharge_inr,export_kwh, one row per IST day with readings
    or recharges. A day without readings has an empty kwh (never 0)."""
    parser.add_argument("--consumer", required=True, metavar="ID", help="the consumer ID")
    parser.add_argument("--from", dest="first", type=_date, metavar="DATE", help="first IST day, YYYY-MM-DD")
    parser.add_argument("--to", dest="last", type=_date, metavar="DATE", help="last IST day, YYYY-MM-DD")
    parser.add_argument("--out", type=Path, metavar="FILE", help="write here instead of standard output")

    def run(args: argparse.Namespace, ctx: Context) -> int:
        with ctx.open_db() as conn:
            if args.out is None:
                importing.export_daily(conn, args.consumer, ctx.out, args.first, args.last)
                return 0
            with _replace_atomically(args.out) as handle:
                days = importing.export_daily(conn, args.consumer, handle, args.first, args.last)
        ctx.warn(importing.message("export_done", rows=days, consumer_id=args.consumer, out=args.out))
        return 0

    return run


@command("send-alerts", "Send today's low-balance SMS alerts (idempotent for an IST day; for cron/systemd)")
def send_alerts(parser: argparse.ArgumentParser) -> Runner:
    """SMS every account about its linked connections that are low under its alert rule, at most once
    per account, connection and IST day, through the configured gateway (the outbox in camp/demo).
    Running it again the same day sends nothing new; a failed send is retried by the next run."""
    parser.add_argument("--dry-run", action="store_true", help="list who is low without sending anything")
    parser.add_argument(
        "--shard",
        type=_shard,
        default=(0, 1),
        metavar="I/N",
        help="only accounts with account_id %% N == I (N copies on N servers share the work; default 0/1)",
    )

    def run(args: argparse.Namespace, ctx: Context) -> int:
        import dataclasses

        from lib import alerts, sms  # lazy: only this command needs them

        settings = dataclasses.replace(load_settings(), db_path=storage.engine.display_target(ctx.db_path))
        with ctx.open_db() as conn:
            if args.dry_run:
                for account in conn.accounts.accounts_with_active_links(shard=args.shard):
                    for low in alerts.account_low_balances(conn, int(account["account_id"])):
                        ctx.say(f"account {account['account_id']}: {low.consumer_id} {low.reason}")
                return 0
            try:
                sms.check_sms_configuration(conn, settings)
            except sms.SmsConfigurationError as error:
                ctx.warn(str(error))
                return 1
            try:
                result = alerts.send_low_balance_alerts(conn, settings, shard=args.shard)
            except alerts.AlertsBusy as busy:
                ctx.warn(importing.message("alerts_busy", lease=busy))
                return 3
        ctx.say(
            f"send-alerts: {result.accounts} accounts checked, {result.sent} sent, "
            f"{result.already_sent} already sent today, {result.failed} failed, {result.sms_off} with SMS off"
        )
        return 1 if result.failed else 0

    return run


@command(
    "send-outbox", "Deliver the SMS queued for the http gateway (OTPs, link notices); --watch keeps going"
)
def send_outbox(parser: argparse.ArgumentParser) -> Runner:
    """Deliver what the dashboard queued for the http SMS gateway: a page only queues its SMS (issue 13
    item 5) and every dashboard process runs a sender thread; this command empties the queue by hand, or
    with --watch is the sender of a machine that serves no dashboard. A message that fails at the gateway,
    or waited past its lifetime (an OTP: 5 minutes), is audited as sms_failed and not retried (the user
    asks for a new OTP). Exit 1 when a message of this pass failed or expired."""
    parser.add_argument(
        "--watch", action="store_true", help="keep delivering until interrupted (poll every 2 s)"
    )

    def run(args: argparse.Namespace, ctx: Context) -> int:
        import dataclasses
        import threading

        from lib import sms  # lazy: only the SMS commands need it

        settings = dataclasses.replace(load_settings(), db_path=ctx.db_path)
        with ctx.open_db() as conn:
            try:
                sms.check_sms_configuration(conn, settings)
            except sms.SmsConfigurationError as error:
                ctx.warn(str(error))
                return 1
            if not args.watch:
                done = sms.deliver_queued(conn, settings, limit=max(1, conn.sms.queued_count()))
                ctx.say(f"send-outbox: {done.sent} sent, {done.failed} failed, {done.expired} expired")
                return 1 if done.failed or done.expired else 0
        ctx.warn(f"send-outbox: delivering the queue of {ctx.db_path} until interrupted")
        sms.run_sender(ctx.open_db, lambda: settings, stop=threading.Event())
        return 0

    return run


@command(
    "check-connection",
    "What the data of one connection says: interval, gaps, peak, late credits, unexplained",
)
def check_connection(parser: argparse.ArgumentParser) -> Runner:
    """An operator's look at one connection (for a complaint or a camp): the capture interval and its
    changes, days whose readings do not cover the day, peak demand against the sanctioned load, import
    and export energy, recharges that reached the meter late, and the days the meter took more (+) or less
    (-) than the tariff explains, with the net. --json prints the same as one JSON object."""
    parser.add_argument("--consumer", required=True, metavar="ID", help="the consumer ID")
    parser.add_argument("--from", dest="first", type=_date, metavar="DATE", help="first IST day, YYYY-MM-DD")
    parser.add_argument("--to", dest="last", type=_date, metavar="DATE", help="last IST day, YYYY-MM-DD")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of text")

    def run(args: argparse.Namespace, ctx: Context) -> int:
        import json

        import pandas as pd

        from lib import ledger, quality
        from lib.clock import today_ist

        with ctx.open_db() as conn:
            details = conn.operator.consumer_details(args.consumer)
            if not len(details):
                ctx.warn(importing.message("unknown_export_consumer", consumer_id=args.consumer))
                return 1
            daily = conn.operator.consumer_daily_frame(args.consumer)  # whole months for the slabs
            readings = conn.operator.consumer_readings_frame(args.consumer, args.first, args.last)
            recharges = conn.operator.consumer_recharges_frame(args.consumer)
            anchors = conn.anchors.consumer_anchors_frame(args.consumer)
            events = conn.meter_events.consumer_meter_events(args.consumer, args.first, args.last)
        rows = ledger.build_ledger(daily, details, anchors=anchors, today=today_ist())
        if len(rows):
            keep = (rows["day"] >= pd.Timestamp(args.first or dt.date.min)) & (
                rows["day"] <= pd.Timestamp(args.last or dt.date(2262, 1, 1))
            )
            rows = rows[keep]
        if len(recharges):
            lo = pd.Timestamp(args.first or dt.date(1970, 1, 1), tz="Asia/Kolkata")
            hi = pd.Timestamp((args.last or dt.date(2262, 1, 1)) + dt.timedelta(days=1), tz="Asia/Kolkata")
            recharges = recharges[(recharges["ts"] >= lo) & (recharges["ts"] < hi)]
        facts = quality.connection_quality(
            args.consumer,
            details,
            readings,
            recharges,
            rows,
            meter_replacements=quality.event_times(events, "replacement"),
            glitches=quality.event_times(events, "glitch"),
        )
        if args.json:
            ctx.say(json.dumps(facts, ensure_ascii=False, indent=2))
        else:
            for line in quality.quality_lines(facts):
                ctx.say(line)
        return 0

    return run


_DELIMITERS = {"comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|"}


def _delimiter(text: str) -> str:
    """``comma``/``semicolon``/``tab``/``pipe`` or the character itself -> the character.

    >>> [_delimiter(t) for t in ("comma", ";", "TAB", "\\t", "|")]
    [',', ';', '\\t', '\\t', '|']
    """
    name = text.strip().lower()
    if name in _DELIMITERS:
        return _DELIMITERS[name]
    if text in ("\\t", "\t"):
        return "\t"
    if text in _DELIMITERS.values():
        return text
    raise argparse.ArgumentTypeError(importing.message("bad_delimiter", text=text))


def _database(text: str) -> Path | str:
    """``--db``: a postgresql:// URL stays text, anything else is an SQLite file path."""
    return text if storage.engine.is_url(text) else Path(text)


def _shard(text: str) -> tuple[int, int]:
    """``I/N`` with 0 <= I < N."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a shard I/N: {text!r}") from None
    if not 0 <= index < count:
        raise argparse.ArgumentTypeError(f"shard {text}: need 0 <= I < N")
    return index, count


def _month(text: str) -> str:
    """``YYYY-MM`` as the first day of that month, ``YYYY-MM-01``."""
    try:
        return dt.date.fromisoformat(text + "-01").isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a month YYYY-MM: {text!r}") from None


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(importing.message("bad_date", text=text)) from None


def _bounded(text: str, width: int = 400) -> str:
    r"""Each line of an operator message cut to ``width`` characters: a 10 MB value never reaches a terminal.

    >>> _bounded("short\n" + "x" * 500, width=10)
    'short\nxxxxxxxxx…'
    """
    return "\n".join(line if len(line) <= width else line[: width - 1] + "…" for line in text.splitlines())


def _finite_positive(text: str) -> float:
    """A number of kWh for an option: finite and above 0 (``1e309`` is inf, refused, issue 13 item 10).

    >>> _finite_positive("200"), _finite_positive("1e3")
    (200.0, 1000.0)
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text[:40]!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, not {text[:40]!r}")
    return value


@contextlib.contextmanager
def _replace_atomically(path: Path) -> Iterator[TextIO]:
    """Write to a temporary file beside ``path`` and move it into place only when complete."""
    try:
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed below, before the rename)
            "w", encoding="utf-8", newline="", dir=path.parent, prefix=f".{path.name}.", delete=False
        )
    except OSError as error:
        raise importing.ImportFailed("cannot_read", path=path, error=error.strerror) from None
    try:
        with handle:
            yield cast(TextIO, handle)
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


# --- output paths (issue 13 item 8) ---------------------------------------------------------------


class OutputRefused(Exception):
    """An output path that would destroy data: the input, the database, a symlink or a non-regular file."""


_DB_SIDECARS = ("", "-wal", "-shm", "-journal")


def guard_output(path: Path, *, inputs: list[Path], db_path: Path | str) -> None:
    """Refuse an output path (``--rejects``, ``--out``) that is, or leads to, the input file, the database
    (or its WAL/journal files), a symlink (never followed: a planted link must not redirect the write)
    or something that is not a regular file. Raises ``OutputRefused`` with the operator's message.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> (folder / "in.csv").write_text("x")
    1
    >>> guard_output(folder / "out.csv", inputs=[folder / "in.csv"], db_path=folder / "m.db")
    >>> guard_output(folder / "in.csv", inputs=[folder / "in.csv"], db_path=folder / "m.db")
    Traceback (most recent call last):
    ...
    lib.cli.OutputRefused: refusing to write to ... it is the input file; choose another output path
    """
    if path.is_symlink():
        raise OutputRefused(f"refusing to write to {path}: it is a symbolic link; choose another output path")
    protected = [(p, "the input file") for p in inputs]
    if not storage.engine.is_url(db_path):  # a PostgreSQL server has no file here to overwrite
        protected += [(Path(f"{db_path}{suffix}"), "the database") for suffix in _DB_SIDECARS]
    target = path.resolve()
    for other, what in protected:
        same = target == other.resolve()
        if not same and path.exists() and other.exists():
            with contextlib.suppress(OSError):
                same = os.path.samefile(path, other)
        if same:
            raise OutputRefused(f"refusing to write to {path}: it is {what}; choose another output path")
    if path.exists() and not path.is_file():
        raise OutputRefused(f"refusing to write to {path}: it is not a regular file")


@dataclass
class StagedOutput:
    """An output written under a temporary name beside ``final`` and renamed into place when complete
    (a crash or a refused import never leaves half a file at ``final``)."""

    final: Path
    temporary: Path

    @classmethod
    def beside(cls, final: Path) -> StagedOutput:
        return cls(final, final.with_name(f".{final.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"))

    def finish(self, written: Path | None) -> Path | None:
        """Move the temporary file into place (``os.replace`` replaces a symlink itself, never its target);
        returns the path to report, or None when nothing was written."""
        if written is None or not self.temporary.exists():
            return None if written is None else self.final
        os.replace(self.temporary, self.final)
        return self.final

    def discard(self) -> None:
        self.temporary.unlink(missing_ok=True)


def _guard_outputs(args: argparse.Namespace, ctx: Context) -> None:
    """Check every output path of the command before anything runs; stage the rejects CSV."""
    inputs = [args.file] if isinstance(getattr(args, "file", None), Path) else []
    rejects = getattr(args, "rejects", None)
    if rejects is None and getattr(args, "skip_invalid", False) and inputs:
        rejects = importing.default_rejects_path(inputs[0])
    if rejects is not None:
        guard_output(Path(rejects), inputs=inputs, db_path=storage.engine.display_target(ctx.db_path))
        ctx.rejects = StagedOutput.beside(Path(rejects))
        args.rejects = ctx.rejects.temporary
    out = getattr(args, "out", None)
    if isinstance(out, Path):
        guard_output(out, inputs=inputs, db_path=storage.engine.display_target(ctx.db_path))


# --- entry point ----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree: global options, then one sub-parser per registered command."""
    parser = argparse.ArgumentParser(
        prog="python -m lib.cli",
        description="MeterMitra operators' tools: import CSV files, seed the demo, export daily totals.",
        epilog="Run 'python -m lib.cli COMMAND --help' for a command's options.",
    )
    parser.add_argument(
        "--db",
        type=_database,
        metavar="PATH|URL",
        help="SQLite file or postgresql:// URL (default: METERMITRA_DB or settings)",
    )
    parser.add_argument(
        "--debug", action="store_true", help="show the Python traceback of an unexpected error"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, spec in COMMANDS.items():
        sub = commands.add_parser(name, help=spec.help, description=spec.define.__doc__)
        sub.set_defaults(run=spec.define(sub))
    return parser


def main(argv: list[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run one command; returns the exit status (``sys.exit(main())``)."""
    args = build_parser().parse_args(argv)
    ctx = Context(
        db_path=args.db if args.db is not None else load_settings().db_path,
        out=out or sys.stdout,
        err=err or sys.stderr,
    )
    try:
        _guard_outputs(args, ctx)
        return args.run(args, ctx)
    except OutputRefused as error:
        ctx.warn(str(error))
        return 2
    except importing.ImportFailed as error:
        ctx.warn(_bounded(str(error)))
    except KeyboardInterrupt:
        ctx.warn(importing.message("interrupted"))
        return 130
    except storage.StorageError as error:
        if args.debug:
            raise
        ctx.warn(
            importing.message("database_error", path=storage.engine.display_target(ctx.db_path), error=error)
        )
    except Exception as error:
        if args.debug:
            raise
        ctx.warn(importing.message("unexpected", kind=type(error).__name__, error=error))
    finally:
        if ctx.rejects is not None:
            ctx.rejects.discard()  # renamed into place already when the import finished
    return 1


if __name__ == "__main__":
    sys.exit(main())
