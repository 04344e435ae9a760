"""The daily export of one consumer (``export-daily``): one CSV row per IST day."""

from __future__ import annotations

import csv
import datetime as dt
from typing import IO, TYPE_CHECKING

from lib.importing.report import ImportFailed
from lib.text import csv_safe

if TYPE_CHECKING:
    from lib.storage import Database

EXPORT_COLUMNS = ("date", "consumer_id", "kwh", "closing_balance_inr", "recharge_inr", "export_kwh")


def export_daily(
    conn: Database,
    consumer_id: str,
    out: IO[str],
    first_day: dt.date | None = None,
    last_day: dt.date | None = None,
) -> int:
    """Write one CSV row per IST day with readings or recharges to ``out``; returns the day count.

    Columns ``date,consumer_id,kwh,closing_balance_inr,recharge_inr,export_kwh``: ``kwh`` is the energy
    drawn from the grid, ``export_kwh`` the energy a net-metered connection sent to it (empty where the
    meter has no export channel). ``consumer_id`` passes the CSV formula guard (:func:`lib.text.csv_safe`:
    an ID starting with ``= + - @`` gets a ``'``). A day without readings has an empty ``kwh`` (never 0); a day with
    neither readings nor recharges is absent. Raises
    ``ImportFailed`` for an unknown consumer or a range that ends before it starts.
    """
    if not conn.consumers.existing_consumer_ids([consumer_id]):
        raise ImportFailed("unknown_export_consumer", consumer_id=consumer_id)
    if first_day and last_day and first_day > last_day:
        raise ImportFailed("bad_range", first=first_day, last=last_day)
    rows = conn.readings.daily_export_rows(
        consumer_id,
        first_day.isoformat() if first_day else None,
        last_day.isoformat() if last_day else None,
    )
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        kwh, closing, export = row["kwh"], row["closing_balance_inr"], row["export_kwh"]
        writer.writerow(
            [
                row["date"],
                csv_safe(row["consumer_id"]),  # the formula guard: an ID is imported text (issue 13 item 13)
                "" if kwh is None else f"{kwh:.3f}",
                "" if closing is None else f"{closing:.2f}",
                f"{row['recharge_inr'] or 0:.2f}",
                "" if export is None else f"{export:.3f}",
            ]
        )
    return len(rows)
