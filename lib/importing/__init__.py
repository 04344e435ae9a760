"""Import of consumers, readings and recharges, and the daily export, for operators (``lib.cli``).

The package, by job: ``sources`` (reading files: encoding, separator, header, rows with real line
numbers), ``rules`` (every row rule, written once for the row path and the clean-chunk path),
``readings`` / ``consumers`` / ``recharges`` (the pipelines), ``write`` (one transaction through
``lib.storage``), ``report`` (problems as codes + placeholders, the report, the rejects CSV) and
``export`` (``export-daily``).

>>> import pathlib, sys, tempfile
>>> from lib.storage import open_db
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
date,consumer_id,kwh,closing_balance_inr,recharge_inr,export_kwh
2026-11-24,101234567,0.420,310.50,0.00,

The rules of each import are in its module (``lib.importing.readings`` for readings); ``BENCHMARKS.md``
has the figures.
"""

from __future__ import annotations

from lib.importing import sources
from lib.importing.consumers import import_consumers
from lib.importing.export import EXPORT_COLUMNS, export_daily
from lib.importing.readings import ReadingColumns, import_readings
from lib.importing.recharges import import_recharges
from lib.importing.report import (
    MESSAGES,
    ImportFailed,
    ImportReport,
    MeterReset,
    RowError,
    RowProblem,
    default_rejects_path,
    format_report,
    message,
    reason_text,
)
from lib.importing.rules import MAX_KWH_PER_READING, parse_money, parse_timestamp, zone_for
from lib.importing.sources import Progress

__all__ = [
    "EXPORT_COLUMNS",
    "MAX_KWH_PER_READING",
    "MESSAGES",
    "ImportFailed",
    "ImportReport",
    "MeterReset",
    "Progress",
    "ReadingColumns",
    "RowError",
    "RowProblem",
    "default_rejects_path",
    "export_daily",
    "format_report",
    "import_consumers",
    "import_readings",
    "import_recharges",
    "message",
    "parse_money",
    "parse_timestamp",
    "reason_text",
    "sources",
    "zone_for",
]
