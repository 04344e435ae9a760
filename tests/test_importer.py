"""lib.importing: every bad-input case of issue 2 part 3, register kWh, idempotence and atomicity."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import random
import re
import sqlite3
import threading
from pathlib import Path

import pytest

from lib import importing, storage
from lib.clock import IST, to_ts
from lib.importing import ImportFailed, ReadingColumns
from lib.storage.dialect import ts_text

DATA = Path(__file__).resolve().parent / "data"
HEADER = "consumer_id,timestamp,kwh,balance_inr\n"
pytestmark = pytest.mark.both_engines  # every db_path/conn test on SQLite and on PostgreSQL (issue 12)


def write(tmp_path: Path, text: str, name: str = "in.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def dump(conn: sqlite3.Connection) -> dict[str, list[tuple]]:
    """Everything an import can change, for before/after comparisons."""
    return {
        table: [tuple(row) for row in conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2")]
        for table in ("consumers", "readings", "recharges", "daily", "meta")
    }


def readings(conn: sqlite3.Connection) -> list[tuple]:
    return [
        tuple(r)
        for r in conn.execute(
            f"SELECT consumer_id, {ts_text(conn, 'ts')} AS ts, kwh, balance_inr FROM readings ORDER BY 1, 2"
        )
    ]


@pytest.fixture
def master(conn: sqlite3.Connection) -> sqlite3.Connection:
    """The three consumers of tests/data/consumers.csv, imported."""
    report = importing.import_consumers(conn, DATA / "consumers.csv")
    assert report.committed and report.added == 3
    return conn


def only_error(report: importing.ImportReport) -> importing.RowError:
    assert not report.committed
    assert report.rejected == 1, report.errors
    return report.errors[0]


# --- consumers ------------------------------------------------------------------------------------


def test_consumers_are_imported_with_mobiles_in_e164_and_hindi_names_intact(master):
    rows = {r["consumer_id"]: dict(r) for r in master.execute("SELECT * FROM consumers").mappings()}
    assert rows["101234567"]["name"] == "आशा देवी"
    assert rows["101234568"]["name"] == "राम किशोर यादव (दुकान)"
    assert [rows[c]["registered_mobile"] for c in sorted(rows)] == [
        "+919876543210",
        "+919876543211",
        "+919876543212",
    ]
    assert rows["101234568"]["tariff_category"] == "NDS-II"
    assert rows["101234569"]["sanctioned_load_kw"] == 0.5
    assert rows["101234567"]["meter_serial"] == "SM-2024-0001"
    assert {r["is_demo"] for r in rows.values()} == {0}


def test_reimporting_consumers_changes_nothing(master):
    before = dump(master)
    report = importing.import_consumers(master, DATA / "consumers.csv")
    assert (report.added, report.changed, report.unchanged) == (0, 0, 3)
    assert dump(master) == before


def test_a_changed_mobile_is_an_update_that_stamps_the_change(master, tmp_path):
    path = write(tmp_path, "consumer_id,name,registered_mobile\n101234567,आशा देवी,9123456780\n")
    report = importing.import_consumers(master, path)
    assert (report.added, report.changed) == (0, 1)
    row = master.execute(
        "SELECT registered_mobile, mobile_changed_at FROM consumers WHERE consumer_id = '101234567'"
    )
    assert tuple(row.fetchone()) == ("+919123456780", "2026-11-25T06:30:00Z")


def test_consumers_with_bom_and_windows_line_endings(conn, tmp_path):
    text = (DATA / "consumers.csv").read_text(encoding="utf-8").replace("\n", "\r\n")
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    report = importing.import_consumers(conn, path)
    assert report.committed and report.added == 3
    names = [r[0] for r in conn.execute("SELECT name FROM consumers ORDER BY consumer_id")]
    assert names[0] == "आशा देवी" and not names[0].endswith("\r")
    assert conn.execute("SELECT count(*) FROM consumers WHERE consumer_id LIKE '%101%'").fetchone()[0] == 3


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        ("201,Meena,011 2345 6789", "registered_mobile", "not an Indian mobile number"),
        ("201,Meena,+91 00000 00001", "registered_mobile", "not an Indian mobile number"),  # the demo range
        ("201,Meena,", "registered_mobile", "missing value"),
        ("201,,9876543210", "name", "missing value"),
        (",Meena,9876543210", "consumer_id", "missing value"),
        ("201,Meena,9876543210,DS-I,-2", "sanctioned_load_kw", "sanctioned load must be more than 0"),
        ("201,Meena,9876543210,DS-I,two", "sanctioned_load_kw", "not a number"),
    ],
)
def test_bad_consumer_rows_import_nothing(conn, tmp_path, row, column, reason):
    path = write(
        tmp_path,
        "consumer_id,name,registered_mobile,tariff_category,sanctioned_load_kw\n"
        "200,Good Row,9876543219,DS-II,1\n" + row + "\n",
    )
    report = importing.import_consumers(conn, path)
    error = only_error(report)
    assert (error.line, error.column) == (3, column)
    assert error.reason.startswith(reason)
    assert conn.execute("SELECT count(*) FROM consumers").fetchone()[0] == 0


def test_duplicate_consumer_in_one_file(conn, tmp_path):
    path = write(tmp_path, "consumer_id,name,registered_mobile\n7,A,9876543210\n7,B,9876543211\n")
    error = only_error(importing.import_consumers(conn, path))
    assert (error.line, error.column, error.reason) == (3, "consumer_id", "same consumer ID as line 2")


def test_skip_invalid_consumers_writes_the_rejects_csv(conn, tmp_path):
    path = write(
        tmp_path, "consumer_id,name,registered_mobile\n7,अनीता,9876543210\n8,B,12345\n9,C,+919876543219\n"
    )
    report = importing.import_consumers(conn, path, skip_invalid=True)
    assert report.committed and (report.added, report.rejected) == (2, 1)
    assert report.rejects_path == tmp_path / "in.csv.rejects.csv"
    with report.rejects_path.open(encoding="utf-8", newline="") as handle:
        rejected = list(csv.DictReader(handle))
    assert rejected == [
        {
            "line": "3",
            "column": "registered_mobile",
            "value": "12345",
            "code": "bad_mobile",
            "reason": "not an Indian mobile number",
            "consumer_id": "8",
            "name": "B",
            "registered_mobile": "12345",
        }
    ]


# --- file-level problems --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "is empty: expected a header row with consumer_id, timestamp, kwh"),
        ("\n\n", "is empty"),
        (HEADER, "has a header but no data rows"),
        (HEADER + "\r\n\r\n", "has a header but no data rows"),
        (
            "consumer_id,timestamp,balance_inr\n101234567,2026-11-24 10:00,5\n",
            "missing required column 'kwh'",
        ),
        ("consumer_id,timestamp,kwh,KWH\n", "column 'kwh' appears more than once"),
    ],
)
def test_files_that_cannot_be_imported_say_why_and_write_nothing(master, tmp_path, content, expected):
    before = dump(master)
    with pytest.raises(ImportFailed, match=expected.replace("(", r"\(").replace(")", r"\)")):
        importing.import_readings(master, write(tmp_path, content))
    assert dump(master) == before


def test_missing_mapped_column_is_named(master, tmp_path):
    path = write(tmp_path, "LCLid,tstp,energy\nMAC1,2013-01-01 00:00,0.2\n")
    with pytest.raises(ImportFailed) as failure:
        importing.import_readings(master, path, columns=ReadingColumns("LCLid", "tstp", "energy(kWh/hh)"))
    assert "missing required column 'energy(kWh/hh)'" in str(failure.value)
    assert "'LCLid', 'tstp', 'energy'" in str(failure.value)


def test_not_utf8_and_utf16_files_are_refused_with_advice(master, tmp_path):
    latin = write(tmp_path, HEADER + "101234567,2026-11-24 10:00,0.2,5\n# Café\n", "latin.csv", "cp1252")
    with pytest.raises(ImportFailed, match="not UTF-8 text near line 3"):
        importing.import_readings(master, latin)
    utf16 = write(tmp_path, HEADER + "101234567,2026-11-24 10:00,0.2,5\n", "u16.csv", "utf-16")
    with pytest.raises(ImportFailed, match="UTF-16"):
        importing.import_readings(master, utf16)
    assert readings(master) == []


def test_missing_file_is_a_clear_failure(master, tmp_path):
    with pytest.raises(ImportFailed, match="cannot read .*nope.csv"):
        importing.import_readings(master, tmp_path / "nope.csv")


def test_unknown_zone_is_refused(master):
    with pytest.raises(ImportFailed, match="unknown time zone 'Asia/Patna'"):
        importing.import_readings(master, DATA / "readings.csv", tz="Asia/Patna")


# --- readings: the happy path ---------------------------------------------------------------------


def test_readings_are_stored_in_utc_with_daily_rollups(master):
    version = int(storage.meta.data_version(master))
    report = importing.import_readings(master, DATA / "readings.csv")
    assert report.committed and (report.rows, report.added, report.rejected) == (6, 6, 0)
    assert readings(master)[:4] == [
        ("101234567", "2026-11-23T18:30:00Z", 0.21, 512.4),
        ("101234567", "2026-11-23T19:00:00Z", 0.18, 511.55),
        ("101234567", "2026-11-24T18:15:00Z", 0.35, 498.1),
        ("101234567", "2026-11-24T18:45:00Z", 0.3, 497.2),
    ]
    # an offset in the file wins over --tz; "Z" is UTC
    assert readings(master)[4:] == [
        ("101234568", "2026-11-24T04:30:00Z", 1.2, None),
        ("101234568", "2026-11-24T05:00:00Z", 1.1, 2040.0),
    ]
    assert storage.meta.data_version(master) == str(version + 1)


def test_a_reading_at_2345_ist_belongs_to_that_ist_day(master):
    importing.import_readings(master, DATA / "readings.csv")
    daily = {
        r["day"]: (r["intervals"], round(r["kwh"], 6), r["closing_balance_inr"])
        for r in master.execute("SELECT * FROM daily WHERE consumer_id = '101234567'").mappings()
    }
    # 00:00, 00:30 and 23:45 IST on the 24th; 00:15 IST on the 25th (18:45 UTC on the 24th)
    assert daily == {"2026-11-24": (3, 0.74, 498.1), "2026-11-25": (1, 0.3, 497.2)}


def test_reimporting_the_same_readings_changes_nothing(master):
    importing.import_readings(master, DATA / "readings.csv")
    before = dump(master)
    report = importing.import_readings(master, DATA / "readings.csv")
    assert report.committed and (report.added, report.unchanged, report.rejected) == (0, 6, 0)
    assert dump(master) == before


def test_one_meter_file_with_consumer_id_flag(master, tmp_path):
    path = write(tmp_path, "when,units\n2026-11-24 10:00,0.5\n2026-11-24 10:30,0.25\n")
    report = importing.import_readings(
        master, path, consumer_id="101234569", columns=ReadingColumns(timestamp="when", kwh="units")
    )
    assert report.committed and report.consumers == ["101234569"]
    assert [r[1:] for r in readings(master)] == [
        ("2026-11-24T04:30:00Z", 0.5, None),
        ("2026-11-24T05:00:00Z", 0.25, None),
    ]


def test_one_meter_file_for_an_unknown_consumer_is_refused(master, tmp_path):
    with pytest.raises(ImportFailed, match="'999' is not in the consumer master"):
        importing.import_readings(
            master, write(tmp_path, "timestamp,kwh\n2026-11-24 10:00,0.5\n"), consumer_id="999"
        )


def test_time_format_flag_reads_indian_dates(master, tmp_path):
    path = write(tmp_path, HEADER + "101234567,24/11/2026 23:45,0.4,\n")
    report = importing.import_readings(master, path, time_format="%d/%m/%Y %H:%M")
    assert report.committed
    assert readings(master)[0][1] == "2026-11-24T18:15:00Z"


def test_money_balance_with_rupee_sign_and_grouping(master, tmp_path):
    path = write(
        tmp_path, HEADER + '101234567,2026-11-24 10:00,0.4,"₹1,234.50"\n101234567,2026-11-24 10:30,0.4,-12\n'
    )
    assert importing.import_readings(master, path).committed
    assert [r[3] for r in readings(master)] == [1234.5, -12.0]


# --- readings: bad rows ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        ("999999999,2026-11-24 10:30,0.2,", "consumer_id", "unknown consumer ID"),
        (",2026-11-24 10:30,0.2,", "consumer_id", "missing value"),
        ("101234567,yesterday,0.2,", "timestamp", "not a date and time"),
        (
            "101234567,2026-02-30 10:00,0.2,",
            "timestamp",
            "impossible date or time (day is out of range for month)",
        ),
        ("101234567,2026-11-24 24:30,0.2,", "timestamp", "the time part '24:30' is not a time of day"),
        ("101234567,,0.2,", "timestamp", "missing value"),
        ("101234567,1970-01-01 05:30,0.2,", "timestamp", "before 2000-01-01"),
        ("101234567,2026-11-27 10:00,0.2,", "timestamp", "more than a day in the future"),
        ("101234567,2026-11-24 10:30,abc,", "kwh", "not a number"),
        ("101234567,2026-11-24 10:30,,", "kwh", "missing value"),
        ("101234567,2026-11-24 10:30,0.2.1,", "kwh", "not a number"),
        ("101234567,2026-11-24 10:30,nan,", "kwh", "not a finite number"),
        (
            "101234567,2026-11-24 10:30,-0.1,",
            "kwh",
            "negative energy (energy sent to the grid? use --kwh-kind net)",
        ),
        ("101234567,2026-11-24 10:30,100.5,", "kwh", "more than 100 kWh in one reading"),
        ("101234567,2026-11-24 10:30,1e400,", "kwh", "not a finite number"),
        ("101234567,2026-11-24 10:30,0.2,lots", "balance_inr", "not a number"),
        ("101234567,2026-11-24 10:30,0.2,99999999", "balance_inr", "balance beyond"),
        ("101234567,2026-11-24 10:30", "kwh", "missing value"),
    ],
)
def test_each_bad_reading_row_stops_a_strict_import(master, tmp_path, row, column, reason):
    path = write(tmp_path, HEADER + "101234567,2026-11-24 10:00,0.2,100\n" + row + "\n")
    version = storage.meta.data_version(master)
    report = importing.import_readings(master, path)
    error = only_error(report)
    assert (error.line, error.column) == (3, column)
    assert error.reason.startswith(reason), error.reason
    assert report.added == 0 and readings(master) == []
    assert master.execute("SELECT count(*) FROM daily").fetchone()[0] == 0
    assert storage.meta.data_version(master) == version


def test_max_kwh_can_be_raised_for_daily_files(master, tmp_path):
    path = write(tmp_path, HEADER + "101234568,2026-11-24 00:00,140,\n")
    assert not importing.import_readings(master, path).committed
    assert importing.import_readings(master, path, max_kwh=500).committed


def test_duplicate_timestamps_within_a_file(master, tmp_path):
    path = write(
        tmp_path,
        HEADER
        + "101234567,2026-11-24 10:00,0.2,\n"
        + "101234567,2026-11-24 10:30,0.2,\n"
        + "101234567,2026-11-24T04:30:00Z,0.2,\n"  # the same instant as line 2, written in UTC
        + "101234568,2026-11-24 10:00,0.2,\n"  # another consumer: fine
        + "101234567,2026-11-24 10:30,0.3,\n",  # same time again, another value
    )
    report = importing.import_readings(master, path)
    assert not report.committed
    assert [(e.line, e.column, e.reason) for e in report.errors] == [
        (4, "timestamp", "same consumer and timestamp as line 2"),
        (6, "timestamp", "same consumer and timestamp as line 3"),
    ]
    skipped = importing.import_readings(master, path, skip_invalid=True)
    assert skipped.committed and (skipped.added, skipped.rejected) == (3, 2)
    assert readings(master)[1] == ("101234567", "2026-11-24T05:00:00Z", 0.2, None)  # the first one counts


def test_out_of_order_duplicates_are_found_too(master, tmp_path):
    path = write(
        tmp_path,
        HEADER
        + "101234567,2026-11-24 11:00,0.2,\n"
        + "101234567,2026-11-24 10:00,0.2,\n"
        + "101234567,2026-11-24 10:30,0.2,\n"
        + "101234567,2026-11-24 10:00,0.2,\n"
        + "101234567,2026-11-24 11:00,0.2,\n",
    )
    report = importing.import_readings(master, path, skip_invalid=True)
    assert [(e.line, e.reason) for e in report.errors] == [
        (5, "same consumer and timestamp as line 3"),
        (6, "same consumer and timestamp as line 2"),
    ]
    assert report.added == 3


def test_a_reading_that_conflicts_with_a_stored_one(master, tmp_path):
    importing.import_readings(master, DATA / "readings.csv")
    before = dump(master)
    path = write(
        tmp_path,
        HEADER
        + "101234567,2026-11-24 00:00,0.21,512.40\n"  # identical: a no-op
        + "101234567,2026-11-24 00:30,0.99,511.55\n"  # another kWh: conflict
        + "101234568,2026-11-24 10:00,1.20,15\n"  # a balance where none was stored: conflict
        + "101234567,2026-11-24 01:00,0.20,511.00\n",  # new
    )
    report = importing.import_readings(master, path)
    assert not report.committed
    assert [(e.line, e.column, e.value) for e in report.errors] == [(3, "kwh", "0.99"), (4, "kwh", "1.20")]
    assert (
        report.errors[0].reason
        == "a different reading is stored for this consumer and time (kWh 0.18, balance 511.55)"
    )
    assert dump(master) == before
    skipped = importing.import_readings(master, path, skip_invalid=True)
    assert (skipped.added, skipped.unchanged, skipped.rejected) == (1, 1, 2)
    stored = dict(((c, t), (k, b)) for c, t, k, b in readings(master))
    assert stored[("101234567", "2026-11-23T19:00:00Z")] == (0.18, 511.55)  # the stored value wins
    assert stored[("101234567", "2026-11-23T19:30:00Z")] == (0.2, 511.0)


def test_strict_report_shows_the_first_20_and_the_count(master, tmp_path):
    bad = "".join(f"101234567,2026-11-24 {h:02d}:30,-{24 - h},\n" for h in range(24))
    report = importing.import_readings(
        master, write(tmp_path, HEADER + "101234567,2026-11-23 10:00,1,\n" + bad)
    )
    assert report.rejected == 24 and len(report.errors) == 20
    assert [e.line for e in report.errors] == list(range(3, 23))
    text = importing.format_report(report)
    assert "24 bad rows: nothing imported. First 20:" in text
    assert (
        "line 3, column 'kwh', value '-24': negative energy (energy sent to the grid? use --kwh-kind net)"
        in text
    )
    assert text.endswith("... and 4 more")


def test_skip_invalid_writes_every_rejected_row_with_its_reason(master, tmp_path):
    path = write(
        tmp_path,
        HEADER + "".join(f"101234567,2026-11-24 {h:02d}:00,{0.5 if h % 2 else -1},\n" for h in range(24)),
    )
    custom = tmp_path / "out" / "bad.csv"
    custom.parent.mkdir()
    report = importing.import_readings(master, path, skip_invalid=True, rejects_path=custom)
    assert report.committed and (report.added, report.rejected) == (12, 12)
    assert report.rejects_path == custom
    with custom.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == [
        "line",
        "column",
        "value",
        "code",
        "reason",
        "consumer_id",
        "timestamp",
        "kwh",
        "balance_inr",
    ]
    assert len(rows) == 1 + 12
    assert rows[1] == [
        "2",
        "kwh",
        "-1",
        "negative_kwh",
        "negative energy (energy sent to the grid? use --kwh-kind net)",
        "101234567",
        "2026-11-24 00:00",
        "-1",
        "",
    ]
    assert (
        importing.format_report(report).splitlines()[1]
        == f"12 bad rows skipped; every one, with its reason, is in {custom}"
    )


def test_no_rejects_file_when_nothing_is_rejected(master, tmp_path):
    path = write(tmp_path, HEADER + "101234567,2026-11-24 10:00,0.2,\n")
    report = importing.import_readings(master, path, skip_invalid=True)
    assert report.rejects_path is None and not (tmp_path / "in.csv.rejects.csv").exists()


# --- daylight saving ------------------------------------------------------------------------------


def test_london_clocks_forward_the_missing_hour_is_a_bad_row(master, tmp_path):
    path = write(
        tmp_path,
        HEADER
        + "101234567,2013-03-31 00:30,0.1,\n101234567,2013-03-31 01:30,0.1,\n101234567,2013-03-31 02:00,0.1,\n",
    )
    report = importing.import_readings(master, path, tz="Europe/London", skip_invalid=True)
    assert [(e.line, e.reason) for e in report.errors] == [
        (3, "does not exist in Europe/London (the hour skipped when clocks go forward)")
    ]
    # 00:30 GMT and 02:00 BST are 30 minutes apart in UTC
    assert [r[1] for r in readings(master)] == ["2013-03-31T00:30:00Z", "2013-03-31T01:00:00Z"]


def test_london_clocks_back_the_repeated_hour_needs_an_offset(master, tmp_path):
    ambiguous = write(tmp_path, HEADER + "101234567,2013-10-27 01:30,0.1,\n")
    error = only_error(importing.import_readings(master, ambiguous, tz="Europe/London"))
    assert (
        error.reason == "ambiguous in Europe/London (the hour repeated when clocks go back); give an offset"
    )
    with_offsets = write(
        tmp_path,
        HEADER + "101234567,2013-10-27 01:30+01:00,0.1,\n101234567,2013-10-27 01:30+00:00,0.2,\n",
        "ok.csv",
    )
    assert importing.import_readings(master, with_offsets, tz="Europe/London").committed
    assert [r[1:3] for r in readings(master)] == [
        ("2013-10-27T00:30:00Z", 0.1),
        ("2013-10-27T01:30:00Z", 0.2),
    ]


# --- register kWh ---------------------------------------------------------------------------------


def test_register_readings_become_interval_energy_and_a_reset_is_reported(master):
    report = importing.import_readings(
        master,
        DATA / "register.csv",
        consumer_id="101234567",
        columns=ReadingColumns(timestamp="meter_time", kwh="reading_kwh"),
        kwh_kind="register",
    )
    assert report.committed
    assert [(r[1], r[2]) for r in readings(master)] == [  # each step at its later reading's time
        ("2026-11-19T19:00:00Z", 0.4),
        ("2026-11-19T19:30:00Z", 0.6),
        ("2026-11-19T20:30:00Z", 0.5),
        ("2026-11-19T21:00:00Z", 0.75),
    ]
    assert report.resets == [importing.MeterReset("101234567", 5, "2026-11-19T20:00:00Z", 1501.0, 3.0)]
    assert report.baselines == 2
    assert min(r[2] for r in readings(master)) >= 0
    text = importing.format_report(report)
    assert "1 meter resets or replacements detected" in text
    assert "consumer 101234567, line 5 at 2026-11-20 01:30 IST: register 1501 -> 3 kWh" in text


def test_register_per_consumer_and_a_bad_row_keeps_the_baseline(master, tmp_path):
    path = write(
        tmp_path,
        HEADER
        + "101234567,2026-11-24 10:00,100.0,\n"
        + "101234568,2026-11-24 10:00,7000.0,\n"
        + "101234567,2026-11-24 10:30,100.5,\n"
        + "101234567,2026-11-24 11:00,9999.0,\n"  # absurd jump: rejected, baseline stays at 100.5
        + "101234568,2026-11-24 10:30,7002.0,\n"
        + "101234567,2026-11-24 11:30,101.5,\n"
        + "101234567,2026-11-24 11:15,101.2,\n",  # out of time order
    )
    report = importing.import_readings(master, path, kwh_kind="register", skip_invalid=True)
    assert [(e.line, e.reason) for e in report.errors] == [
        (5, "a lone register reading of 9999 kWh between 100.5 and 101.5 kWh: a glitch, not a new meter"),
        (8, "register readings must be in time order per consumer (previous: line 7)"),
    ]
    assert [(r[0], r[1], r[2]) for r in readings(master)] == [  # the step across the glitch split in two
        ("101234567", "2026-11-24T05:00:00Z", 0.5),
        ("101234567", "2026-11-24T05:30:00Z", 0.5),
        ("101234567", "2026-11-24T06:00:00Z", 0.5),
        ("101234568", "2026-11-24T05:00:00Z", 2.0),
    ]
    assert report.resets == []


def test_steady_register_with_a_glitch_shows_its_steady_load_and_no_gap(master, tmp_path):
    # 1.2 kW steady: +0.6 kWh a half hour, 23 Nov 23:30 -> 24 Nov 23:30 IST, one spurious 0.0 at 24 Nov 10:00.
    # A step is stored at its later reading's time, so 24 Nov holds the 48 steps ending 00:00 ... 23:30.
    start = dt.datetime(2026, 11, 23, 23, 30)
    lines = [
        f"{(start + dt.timedelta(minutes=30 * i)):%Y-%m-%d %H:%M},{0.0 if i == 21 else 500 + 0.6 * i:.1f}"
        for i in range(49)
    ]
    path = write(tmp_path, "timestamp,kwh\n" + "\n".join(lines) + "\n")
    report = importing.import_readings(
        master, path, consumer_id="101234567", kwh_kind="register", skip_invalid=True,
        rejects_path=tmp_path / "rejects.csv",
    )  # fmt: skip
    assert report.committed and [e.code for e in report.errors] == ["register_glitch"]
    (got,) = master.execute(
        "SELECT kwh, intervals, minutes, peak_kw FROM daily WHERE consumer_id = '101234567' AND day = '2026-11-24'"
    ).fetchall()
    # the glitch's two intervals share the step across it: no 60-minute interval, no doubled peak, no gap
    assert tuple(got) == (pytest.approx(28.8), 48, 1440.0, pytest.approx(1.2))


def test_a_register_series_split_into_two_daily_files_gives_the_same_days_as_one_file(conn, cases, tmp_path):
    lines = (cases / "register-glitch" / "zero_glitch.csv").read_text(encoding="utf-8").splitlines()
    header, body = lines[0], lines[1:]
    split = body.index(next(line for line in body if line.startswith("2026-11-21 00:00")))
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    whole = write(tmp_path / "one", "\n".join(lines) + "\n", name="all.csv")
    first = write(tmp_path / "two", "\n".join([header, *body[:split]]) + "\n", name="20.csv")
    second = write(tmp_path / "two", "\n".join([header, *body[split:]]) + "\n", name="21.csv")
    options = dict(
        consumer_id="201000001",
        columns=ReadingColumns(timestamp="meter_time", kwh="reading_kwh"),
        kwh_kind="register",
        skip_invalid=True,
        rejects_path=tmp_path / "rejects.csv",
    )
    other = storage.connect(tmp_path / "two.db")
    storage.migrate(other)
    for db in (conn, other):
        importing.import_consumers(db, cases / "register-glitch" / "consumers.csv")
    assert importing.import_readings(conn, whole, **options).committed
    one_file = daily_rows(conn, "201000001")
    assert importing.import_readings(other, first, **options).committed
    report = importing.import_readings(other, second, **options)
    assert report.committed and report.baselines == 0  # the first file's last reading was the baseline
    assert daily_rows(other, "201000001") == {day: (pytest.approx(k), b) for day, (k, b) in one_file.items()}
    other.close()
    assert one_file["2026-11-20"][0] == pytest.approx(12.6)


def test_negative_register_reading_is_a_bad_row(master, tmp_path):
    path = write(tmp_path, HEADER + "101234567,2026-11-24 10:00,-5,\n")
    assert (
        only_error(importing.import_readings(master, path, kwh_kind="register")).reason
        == "negative register reading"
    )


# --- atomicity and streaming ----------------------------------------------------------------------


def _many_rows(count: int) -> str:
    return HEADER + "".join(
        f"101234567,2026-{1 + i // 1440:02d}-{1 + i // 48 % 28:02d} {i % 48 // 2:02d}:{30 * (i % 2):02d},0.1,\n"
        for i in range(count)
    )


def test_a_bad_last_row_leaves_nothing_behind(master, tmp_path, monkeypatch):
    monkeypatch.setattr(importing.sources, "CHUNK_ROWS", 100)
    path = write(tmp_path, _many_rows(1000) + "101234567,2026-11-24 10:00,-1,\n")
    before = dump(master)
    report = importing.import_readings(master, path)
    assert not report.committed and report.rows == 1001
    assert dump(master) == before


def test_a_crash_in_the_last_chunk_leaves_nothing_behind(master, tmp_path, monkeypatch, engine):
    monkeypatch.setattr(importing.sources, "CHUNK_ROWS", 100)
    # on SQLite each chunk goes to the staging area (issue 13 item 11), outside the write lock; on
    # PostgreSQL straight into readings, inside the import's transaction
    group = storage.staging if engine == "sqlite" else storage.readings
    name = "stage_readings" if engine == "sqlite" else "insert_readings"
    real = getattr(group, name)
    calls = []

    def failing(conn, rows, *args, **options):
        calls.append(len(rows))
        if len(calls) == 10:
            raise RuntimeError("disk on fire")
        return real(conn, rows, *args, **options)

    monkeypatch.setattr(group, name, failing)
    before = dump(master)
    with pytest.raises(RuntimeError, match="disk on fire"):
        importing.import_readings(master, write(tmp_path, _many_rows(1000)), skip_invalid=True)
    assert calls == [100] * 10
    assert dump(master) == before
    assert importing.import_readings(master, write(tmp_path, _many_rows(10))).added == 10  # staging detached


@pytest.mark.sqlite_only("SQLite's staging area: rows staged outside the write lock, moved in at the end")
def test_a_crash_after_the_move_leaves_nothing_behind(master, tmp_path, monkeypatch):
    """The staged rows moved into ``readings``, then the roll-up fails: the move is rolled back with it."""
    monkeypatch.setattr(importing.sources, "CHUNK_ROWS", 100)
    moved = []
    real = storage.staging.move_readings

    def move(conn, **options):
        moved.append(real(conn, **options))
        return moved[-1]

    def failing(*args, **kwargs):
        assert master.in_transaction  # inside the import's one transaction
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(storage.staging, "move_readings", move)
    monkeypatch.setattr(storage.readings, "refresh_daily", failing)
    before = dump(master)
    with pytest.raises(RuntimeError, match="disk on fire"):
        importing.import_readings(master, write(tmp_path, _many_rows(1000)))
    assert [(m.staged, m.added) for m in moved] == [(1000, 1000)]
    assert dump(master) == before


def test_large_files_are_streamed_with_progress(master, tmp_path, monkeypatch):
    monkeypatch.setattr(importing.sources, "CHUNK_ROWS", 100)
    path = write(tmp_path, _many_rows(1000))
    seen: list[tuple[int, int]] = []
    report = importing.import_readings(master, path, progress=lambda done, total: seen.append((done, total)))
    assert report.added == 1000
    size = path.stat().st_size
    assert seen[-1] == (size, size)
    done = [d for d, _ in seen]
    assert done == sorted(done) and 0 < done[0] < size  # progress while reading, not after loading it all


# --- beside sign-ins and other imports (issue 13 item 11) ---------------------------------------------


def test_the_same_import_and_conflicts_on_both_engines(any_conn, tmp_path):
    """SQLite stages a file's rows outside its write lock and moves them in at the end; PostgreSQL (MVCC, row
    locks) writes them straight into ``readings`` in the import's transaction: the same report either way."""
    assert any_conn.staging.needed() == (any_conn.dialect == "sqlite")
    assert importing.import_consumers(any_conn, DATA / "consumers.csv").added == 3
    assert importing.import_readings(any_conn, DATA / "readings.csv").committed
    path = write(
        tmp_path,
        HEADER
        + "101234567,2026-11-24 00:00,0.21,512.40\n"  # identical: a no-op
        + "101234567,2026-11-24 00:30,0.99,511.55\n"  # another kWh: conflict
        + "101234568,2026-11-24 10:00,1.20,15\n"  # a balance where none was stored: conflict
        + "101234567,2026-11-24 01:00,0.20,511.00\n",  # new
    )
    report = importing.import_readings(any_conn, path)
    assert not report.committed
    assert [(e.line, e.code) for e in report.errors] == [(3, "conflict_stored"), (4, "conflict_stored")]
    skipped = importing.import_readings(any_conn, path, skip_invalid=True, rejects_path=tmp_path / "r.csv")
    assert (skipped.committed, skipped.added, skipped.unchanged, skipped.rejected) == (True, 1, 1, 2)
    rows = any_conn.execute(
        "SELECT kwh, balance_inr FROM readings WHERE consumer_id = '101234567' AND ts = '2026-11-23T19:30:00Z'"
    ).fetchall()
    assert [tuple(r) for r in rows] == [(0.2, 511.0)]


class HeldImport:
    """``import_readings`` on its own connection in a thread, held at its first progress tick (after its first
    chunk is written) until :meth:`release`: an import in progress, mid-file, for a test to act beside."""

    def __init__(self, db_path: Path, path: Path, **options) -> None:
        self.reached, self.go = threading.Event(), threading.Event()
        self.report: importing.ImportReport | None = None
        self.error: BaseException | None = None

        def hold(done: int, total: int) -> None:
            if not self.reached.is_set():
                self.reached.set()
                assert self.go.wait(60), "never released"

        def run() -> None:
            with storage.connect(db_path) as conn:
                try:
                    self.report = importing.import_readings(conn, path, progress=hold, **options)
                except BaseException as error:  # handed to the test by finish()
                    self.error = error

        self.thread = threading.Thread(target=run, name="held import")

    def __enter__(self) -> HeldImport:
        self.thread.start()
        assert self.reached.wait(60), "the import never reached its first chunk"
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> importing.ImportReport | BaseException:
        self.go.set()
        self.thread.join(60)
        assert not self.thread.is_alive()
        return self.error if self.error is not None else self.report  # type: ignore[return-value]


@pytest.fixture
def short_busy_timeout(monkeypatch):
    """Connections opened from now on wait 200 ms for a lock (not 10 s): a write that would wait behind a
    long import fails fast ("database is locked") instead of hanging the test."""
    monkeypatch.setattr(storage.engine, "BUSY_TIMEOUT_MS", 200)


def test_a_sign_in_completes_while_a_large_import_is_in_progress(
    conn, db_path, tmp_path, monkeypatch, short_busy_timeout
):
    """Issue 13 item 11: the import reads, checks and stages its rows outside SQLite's write lock, so a
    sign-in (send OTP, verify) beside it writes at once; the import still commits every row afterwards."""
    from lib import auth, sms
    from lib.config import load_settings

    monkeypatch.setattr(importing.sources, "CHUNK_ROWS", 100)
    monkeypatch.setattr("lib.otp.RESPONSE_FLOOR_SECONDS", 0)
    path = write(tmp_path, _many_rows(1300))
    # a demo consumer: the outbox gateway (whose SMS the test reads) refuses a database with real ones
    consumer = {
        "consumer_id": "101234567",
        "name": "Asha",
        "registered_mobile": "+919812345678",
        "is_demo": 1,
    }
    storage.consumers.upsert_consumers(conn, [consumer])
    master = conn
    settings = load_settings()
    with HeldImport(db_path, path) as held, storage.connect(db_path) as beside:
        sent = auth.start_sign_in(beside, settings, "98765 43210", lang="hi")
        assert sent.status == "sent"
        code = next(m["text"] for m in sms.recent_outbox(beside) if m["destination"] == sent.subject)
        done = auth.verify_sign_in(
            beside,
            settings,
            sent.challenge_id,
            sent.subject,
            re.search(r"\d{3} \d{3}", code).group(),
            lang="hi",
        )
        assert done.status == "ok" and done.account_id
        assert beside.execute("SELECT count(*) FROM readings").scalar() == 0  # nothing of the file yet
        report = held.release()
    assert isinstance(report, importing.ImportReport), report
    assert report.committed and (report.added, report.rejected) == (1300, 0), report.errors
    assert master.execute("SELECT count(*) FROM readings").scalar() == 1300
    assert master.execute("SELECT sum(intervals) FROM daily").scalar() == 1300


@pytest.mark.sqlite_only("SQLite's staging area: rows staged outside the write lock, moved in at the end")
def test_conflicts_are_decided_against_the_rows_stored_when_the_file_moves_in(
    master, db_path, tmp_path, monkeypatch, short_busy_timeout
):
    """An import that commits while another is mid-file cannot slip a reading in between: the held import
    finds the other one's rows at its move (inside the lock) and reports them as conflicts."""
    monkeypatch.setattr(importing.sources, "CHUNK_ROWS", 100)
    first = write(tmp_path, _many_rows(1000), name="first.csv")
    other = write(  # rows 500 and 900 of the first file, with other energy: committed meanwhile
        tmp_path,
        HEADER
        + "".join(
            row.replace(",0.1,", ",0.7,") for row in _many_rows(1000).splitlines(True)[1:][500:901:400]
        ),
        name="other.csv",
    )
    with HeldImport(db_path, first) as held:
        done = importing.import_readings(master, other)
        assert done.committed and done.added == 2
        report = held.release()
    assert isinstance(report, importing.ImportReport), report
    assert not report.committed
    assert [(e.line, e.value, e.code) for e in report.errors] == [
        (502, "0.1", "conflict_stored"),
        (902, "0.1", "conflict_stored"),
    ]
    assert master.execute("SELECT count(*) FROM readings").scalar() == 2
    rejects = tmp_path / "rejects.csv"
    skipped = importing.import_readings(master, first, skip_invalid=True, rejects_path=rejects)
    assert (skipped.added, skipped.unchanged, skipped.rejected) == (998, 0, 2)
    assert rejects.read_text(encoding="utf-8").splitlines()[1].startswith("502,kwh,0.1,conflict_stored,")
    assert master.execute("SELECT count(*), round(sum(kwh), 6) FROM readings").fetchone() == (1000, 101.2)


@pytest.mark.sqlite_only("SQLite's staging area: rows staged outside the write lock, moved in at the end")
def test_a_register_baseline_changed_meanwhile_refuses_the_file(
    master, db_path, tmp_path, monkeypatch, short_busy_timeout
):
    """A register import reads the meter's last stored register reading as its baseline outside the lock; if
    another import changed it meanwhile, the move refuses the whole file (nothing imported, run it again)."""
    monkeypatch.setattr(importing.sources, "CHUNK_ROWS", 5)
    register = HEADER + "".join(f"101234567,2026-11-20 {h:02d}:00,{100 + h},\n" for h in range(12))
    path = write(tmp_path, register, name="late.csv")
    earlier = write(tmp_path, HEADER + "101234567,2026-11-19 23:00,99.5,\n", name="earlier.csv")
    with HeldImport(db_path, path, kwh_kind="register") as held:
        assert importing.import_readings(master, earlier, kwh_kind="register").committed
        failed = held.release()
    assert isinstance(failed, ImportFailed) and failed.key == "register_changed", failed
    assert "consumer 101234567" in str(failed) and "run the command again" in str(failed)
    assert master.execute("SELECT count(*) FROM readings").scalar() == 0
    again = importing.import_readings(master, path, kwh_kind="register")  # now from the stored baseline
    assert again.committed and again.added == 12


# --- recharges ------------------------------------------------------------------------------------


def test_recharges_are_imported_and_rolled_up_by_ist_day(master):
    report = importing.import_recharges(master, DATA / "recharges.csv")
    assert report.committed and report.added == 3
    rows = [
        tuple(r)
        for r in master.execute(
            "SELECT consumer_id, ts, amount_inr, mode, reference FROM recharges ORDER BY ts"
        )
    ]
    assert rows == [
        ("101234568", "2026-11-23T05:30:00Z", 2000.0, "UPI", None),
        ("101234567", "2026-11-24T03:45:00Z", 500.0, "UPI", "UPI-4412"),
        ("101234567", "2026-11-24T14:10:00Z", 1000.0, "cash", "CSC-0091"),
    ]
    daily = master.execute(
        "SELECT day, kwh, recharge_inr FROM daily WHERE consumer_id = '101234567'"
    ).fetchall()
    assert [tuple(r) for r in daily] == [
        ("2026-11-24", None, 1500.0)
    ]  # a recharge day without readings: kWh NULL
    again = importing.import_recharges(master, DATA / "recharges.csv")
    assert (again.added, again.unchanged) == (0, 3)


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        ("55,2026-11-24 10:00,100", "consumer_id", "unknown consumer ID"),
        ("101234567,2026-11-24 10:00,0", "amount_inr", "amount must be more than 0"),
        ("101234567,2026-11-24 10:00,fifty", "amount_inr", "not a number"),
        ("101234567,30-11-2026,100", "timestamp", "not a date and time"),
        ("101234567,2026-11-24 09:15,500", "timestamp", "same consumer, time and amount as line 2"),
    ],
)
def test_bad_recharge_rows(master, tmp_path, row, column, reason):
    path = write(tmp_path, "consumer_id,timestamp,amount_inr\n101234567,2026-11-24 09:15,500\n" + row + "\n")
    version = storage.meta.data_version(master)
    error = only_error(importing.import_recharges(master, path))
    assert (error.line, error.column) == (3, column) and error.reason.startswith(reason)
    assert master.execute("SELECT count(*) FROM recharges").fetchone()[0] == 0
    # refused, so no page cache is dropped (PostgreSQL's version sequence would not roll back)
    assert storage.meta.data_version(master) == version


def test_a_recharge_import_moves_only_its_consumers_versions(master, tmp_path):
    """Cached frames of connections a recharge file does not touch stay valid (per-connection versions)."""
    ids = ["101234567", "101234568", "101234569"]
    before = storage.meta.consumer_versions(master, ids)
    path = write(tmp_path, "consumer_id,timestamp,amount_inr\n101234567,2026-11-24 09:15,500\n")
    assert importing.import_recharges(master, path).added == 1
    after = storage.meta.consumer_versions(master, ids)
    assert after["101234567"] > before["101234567"]
    assert {cid: after[cid] for cid in ids[1:]} == {cid: before[cid] for cid in ids[1:]}


# --- export ---------------------------------------------------------------------------------------


def test_export_daily_has_empty_kwh_on_days_without_readings(master):
    importing.import_readings(master, DATA / "readings.csv")
    importing.import_recharges(master, DATA / "recharges.csv")
    out = io.StringIO()
    assert importing.export_daily(master, "101234568", out) == 2
    assert out.getvalue().splitlines() == [
        "date,consumer_id,kwh,closing_balance_inr,recharge_inr,export_kwh",
        "2026-11-23,101234568,,,2000.00,",
        "2026-11-24,101234568,2.300,2040.00,0.00,",
    ]


def test_export_daily_range_and_refusals(master):
    importing.import_readings(master, DATA / "readings.csv")
    import datetime as dt

    out = io.StringIO()
    assert importing.export_daily(master, "101234567", out, dt.date(2026, 11, 25), dt.date(2026, 11, 25)) == 1
    assert out.getvalue().splitlines()[1] == "2026-11-25,101234567,0.300,497.20,0.00,"
    with pytest.raises(ImportFailed, match="'404' is not in the consumer master"):
        importing.export_daily(master, "404", io.StringIO())
    with pytest.raises(ImportFailed, match="after --to"):
        importing.export_daily(
            master, "101234567", io.StringIO(), dt.date(2026, 11, 25), dt.date(2026, 11, 1)
        )


def test_readings_with_bom_crlf_and_padded_values(master, tmp_path):
    text = HEADER + "101234567,2026-11-24 10:00, 0.25 ,100\n 101234567 , 2026-11-24 10:30 ,0.5, 99.5 \n"
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    report = importing.import_readings(master, path)
    assert report.committed and report.added == 2
    assert readings(master) == [
        ("101234567", "2026-11-24T04:30:00Z", 0.25, 100.0),
        ("101234567", "2026-11-24T05:00:00Z", 0.5, 99.5),
    ]
    again = write(tmp_path, HEADER + " 101234567,2026-11-24 10:30,0.5,99.5\n", "again.csv")
    error = only_error(
        importing.import_readings(
            master, write(tmp_path, text + " 101234567,2026-11-24 10:30,0.5,99.5\n", "dup.csv")
        )
    )
    assert error.reason == "same consumer and timestamp as line 3"  # one consumer, however it is spaced
    assert importing.import_readings(master, again).unchanged == 1


def test_imported_readings_read_back_through_the_authorized_frame(master):
    importing.import_readings(master, DATA / "readings.csv")
    account = storage.accounts.create_account(master, "+919876543211")
    storage.accounts.insert_link(master, account, "101234568", "Shop")
    frame = storage.readings.readings_frame(master, account, "101234568")
    assert [str(t) for t in frame["ts"]] == ["2026-11-24 04:30:00+00:00", "2026-11-24 05:00:00+00:00"]
    assert frame["kwh"].tolist() == [1.2, 1.1]
    assert frame["balance_inr"].isna().tolist() == [True, False]  # no balance in the file: NaN, not 0
    assert frame["consumer_id"].tolist() == ["101234568"] * 2
    assert storage.readings.readings_frame(master, account, "101234567").empty  # not linked


# --- the column-wise path for clean chunks --------------------------------------------------------


def _messy_readings(seed: int) -> str:
    """Many small chunks' worth of readings: mostly clean runs, with every kind of problem the row path
    explains (and things that are fine but unusual) scattered through them. Deterministic."""
    rng = random.Random(seed)  # noqa: S311 - test data
    ids = ["101234567", "101234568", "101234569"]
    header = "consumer_id,timestamp,kwh,balance_inr,note\n"
    lines: list[str] = []
    written: list[tuple[str, str]] = []
    clock = {cid: dt.datetime(2026, 10, 1) for cid in ids}

    def stamp(cid: str) -> str:
        clock[cid] += dt.timedelta(minutes=30)
        return clock[cid].strftime("%Y-%m-%d %H:%M")

    for block in range(40):
        cid = ids[block % 3]
        for _ in range(rng.randint(5, 60)):
            who = cid if rng.random() < 0.8 else rng.choice(ids)  # runs, sometimes interleaved
            ts = stamp(who)
            kwh, balance, note = f"{rng.uniform(0, 1.5):.3f}", f"{rng.uniform(-50, 900):.2f}", ""
            if block % 3 == 0:  # few distinct kWh texts, as meters print them
                kwh = f"{rng.randrange(10) * 0.125:.3f}"
            if block % 4 == 1:  # blocks that stay clean, with unusual but valid values
                cell = rng.choice(["", "", "₹1,234.50", " 12.5 ", "1_000"])
                balance = cell if rng.random() < 0.3 else balance
                who = f" {who} " if rng.random() < 0.1 else who
                note = '"two\nlines"' if rng.random() < 0.05 else note
            elif rng.random() < 0.06:  # a problem (or a row-path special case)
                kind = rng.choice(
                    [
                        "dup", "earlier", "unknown", "bad_ts", "bad_kwh", "negative", "absurd", "nan",
                        "bad_balance", "blank", "short", "crlf_note", "future",
                    ]
                )  # fmt: skip
                if kind == "dup" and written:
                    who, ts = rng.choice(written)
                elif kind == "earlier":
                    ts = (clock[who] - dt.timedelta(minutes=rng.choice([30, 45, 60, 75]))).strftime(
                        "%Y-%m-%d %H:%M"
                    )
                elif kind == "unknown":
                    who = "999"
                elif kind == "bad_ts":
                    ts = rng.choice(["2026-02-30 10:00", "yesterday", ""])
                elif kind == "bad_kwh":
                    kwh = "x"
                elif kind == "negative":
                    kwh = "-0.5"
                elif kind == "absurd":
                    kwh = "500"
                elif kind == "nan":
                    kwh = "nan"
                elif kind == "bad_balance":
                    balance = rng.choice(["abc", "1e99", "inf"])
                elif kind == "blank":
                    lines.append("\n")
                elif kind == "short":
                    lines.append(f"{who},{ts}\n")
                    continue
                elif kind == "crlf_note":
                    note = '"a\r\nnote"'
                elif kind == "future":
                    ts = "2027-06-01 10:00"
            lines.append(f"{who},{ts},{kwh},{balance},{note}\n")
            written.append((who, ts))
    return header + "".join(lines)


def _import_both_ways(tmp_path: Path, text: str, monkeypatch, **options) -> list[tuple]:
    """The same file imported three ways (fresh databases): with every path (Arrow's column-wise path for
    plain blocks, then the csv module's), with the csv module's column-wise path and the row path, and
    with the row path only. Each outcome ends with which path took each chunk: "plain", "columns" or
    "rows" (a chunk no column-wise path was tried on is not listed)."""
    monkeypatch.setattr(importing.sources, "CHUNK_ROWS", 40)
    source = write(tmp_path, text, "messy.csv")
    plain_wise, column_wise = importing.chunks.plain_chunk, importing.chunks.clean_chunk
    never = lambda *args, **kwargs: None  # noqa: E731
    outcomes = []
    for name, plain_chunk, clean_chunk in (
        ("plain", plain_wise, column_wise),
        ("columns", never, column_wise),
        ("rows", never, never),
    ):
        calls: list[str] = []

        def spy_plain(*args, _inner=plain_chunk, _calls=calls, **kwargs):
            result = _inner(*args, **kwargs)
            if result is not None:
                _calls.append("plain")
            return result

        def spy_clean(*args, _inner=clean_chunk, _calls=calls, **kwargs):
            result = _inner(*args, **kwargs)
            _calls.append("rows" if result is None else "columns")
            return result

        monkeypatch.setattr(importing.chunks, "plain_chunk", spy_plain)
        monkeypatch.setattr(importing.chunks, "clean_chunk", spy_clean)
        conn = storage.connect(tmp_path / f"{name}.db")
        storage.migrate(conn)
        importing.import_consumers(conn, DATA / "consumers.csv")
        with storage.transaction(conn):  # one stored reading equal to the file's, one that differs
            storage.readings.insert_readings(
                conn,
                [
                    ("101234567", "2026-10-01T01:30:00Z", 9.0, 1.0),
                    ("101234568", "2026-10-01T02:00:00Z", 9.0, 1.0),
                ],
            )
        rejects = tmp_path / f"{name}.rejects.csv"
        report = importing.import_readings(conn, source, rejects_path=rejects, **options)
        outcomes.append(
            (
                report.rows,
                report.added,
                report.unchanged,
                report.rejected,
                report.errors,
                report.committed,
                report.consumers,
                rejects.read_bytes() if rejects.exists() else None,
                readings(conn),
                [tuple(row) for row in conn.execute("SELECT * FROM daily ORDER BY 1, 2")],
                [tuple(row) for row in conn.execute("SELECT * FROM meter_events ORDER BY 1, 2, 3")],
                calls,
            )
        )
        conn.close()
    return outcomes


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("skip_invalid", [True, False])
def test_clean_chunks_and_the_row_path_give_the_same_import(conn, tmp_path, monkeypatch, seed, skip_invalid):
    plain, columns, rows = _import_both_ways(
        tmp_path, _messy_readings(seed), monkeypatch, skip_invalid=skip_invalid
    )
    assert plain[:-1] == columns[:-1] == rows[:-1]  # report, errors, rejects file, readings, roll-ups
    assert {"columns", "rows"} <= set(
        plain[-1]
    )  # both csv-module paths ran (most 40-row chunks hold a problem)
    assert "columns" in columns[-1] and "rows" in columns[-1] and "plain" not in columns[-1]
    assert set(rows[-1]) == {"rows"}
    assert columns[3] > 10  # bad rows were found
    assert columns[5] is skip_invalid
    rejects = columns[7].decode("utf-8")
    assert "same consumer and timestamp as line" in rejects and "a different reading is stored" in rejects


def test_a_clean_file_takes_the_column_path_with_its_exact_values(conn, tmp_path, monkeypatch):
    money = [
        '""' if hour % 5 == 0 else f'"₹1,{hour:03d}.5"' for hour in range(24)
    ]  # blank, or ₹ with grouping
    text = "consumer_id,timestamp,kwh,balance_inr\n" + "".join(
        f"{cid},2026-11-{day:02d} {hour:02d}:30,{0.125 * (hour % 6):.3f},{money[hour]}\n"
        for cid in ("101234568", "101234567")
        for day in range(1, 4)
        for hour in range(24)
    )
    plain, columns, rows = _import_both_ways(tmp_path, text, monkeypatch)
    assert plain[:-1] == columns[:-1] == rows[:-1]
    assert plain[-1] == ["columns"] * 4  # 144 rows in chunks of 40 with quotes: the csv module's, column-wise
    assert columns[8][:2] == [
        ("101234567", "2026-10-01T01:30:00Z", 9.0, 1.0),  # stored before, outside the file
        ("101234567", "2026-10-31T19:00:00Z", 0.0, None),  # 00:30 IST, blank balance
    ]
    assert columns[8][2] == ("101234567", "2026-10-31T20:00:00Z", 0.125, 1001.5)


@pytest.mark.parametrize("chunk_rows", [2, 20_000])
def test_line_numbers_count_the_lines_inside_quoted_values(master, tmp_path, monkeypatch, chunk_rows):
    monkeypatch.setattr(importing.sources, "CHUNK_ROWS", chunk_rows)
    text = (
        "consumer_id,timestamp,kwh,note\n"  # line 1
        '101234567,2026-11-24 10:00,0.5,"a\r\nb"\n'  # lines 2-3
        '101234567,2026-11-24 10:30,0.5,"x\ny\rz"\n'  # lines 4-6
        "\n"  # line 7
        "101234567,2026-11-24 11:00,x,\n"  # line 8
        "101234567,2026-11-24 10:30,0.5,\n"  # line 9
    )
    report = importing.import_readings(master, write(tmp_path, text))
    assert [(e.line, e.column, e.reason) for e in report.errors] == [
        (8, "kwh", "not a number"),
        (9, "timestamp", "same consumer and timestamp as line 6"),
    ]


def test_a_csv_error_after_clean_chunks_names_its_line(master, tmp_path, monkeypatch):
    monkeypatch.setattr(importing.sources, "CHUNK_ROWS", 3)
    huge = "x" * (csv.field_size_limit() + 1)
    text = HEADER + "".join(f"101234567,2026-11-24 {h:02d}:00,0.5,\n" for h in range(10)) + f"a,{huge},d\n"
    with pytest.raises(ImportFailed, match=r"near line 12: field larger than field limit"):
        importing.import_readings(master, write(tmp_path, text))


@pytest.mark.parametrize("distinct_kwh", [True, False], ids=["kwh-float-path", "kwh-cache-path"])
@pytest.mark.parametrize(
    ("field", "value", "reported", "path"),
    [
        ("consumer_id", "999", True, "rows"),
        ("consumer_id", " 101234567 ", False, "plain"),  # the same consumer, spaced: fine
        ("timestamp", "2026-02-30 10:00", True, "rows"),
        ("timestamp", "2027-06-01 10:00", True, "rows"),
        ("timestamp", "2026-11-01 00:30", True, "rows"),  # the first row's time again: a duplicate
        ("timestamp", "2026-11-01 00:45", False, "rows"),  # earlier but new: fine, found row by row
        ("kwh", "x", True, "rows"),
        ("kwh", "-0.5", True, "rows"),
        ("kwh", "500", True, "rows"),
        ("kwh", "nan", True, "rows"),
        ("kwh", " 0.5", False, "columns"),  # float() reads it; the Arrow path leaves it to the csv module's
        ("kwh", "5e-1", False, "columns"),
        ("balance_inr", "abc", True, "rows"),
        ("balance_inr", "1e99", True, "rows"),
        ("balance_inr", "-inf", True, "rows"),
        ("balance_inr", "nan", True, "rows"),
        ("balance_inr", "", False, "plain"),
        ("balance_inr", "-0", False, "plain"),
        ("balance_inr", "12 ", False, "columns"),
        ("balance_inr", '"₹1,234.50"', False, "columns"),
    ],
)
def test_one_odd_value_in_an_otherwise_clean_file(
    conn, tmp_path, monkeypatch, field, value, reported, path, distinct_kwh
):
    columns = ["consumer_id", "timestamp", "kwh", "balance_inr"]
    rows = []
    for i in range(120):  # three chunks of 40; the odd value goes in the middle of the second
        kwh = f"{0.001 * i:.3f}" if distinct_kwh else f"{0.125 * (i % 4):.3f}"
        ts = (dt.datetime(2026, 11, 1, 0, 30) + dt.timedelta(minutes=30 * i)).strftime("%Y-%m-%d %H:%M")
        rows.append(["101234567", ts, kwh, f"{900 - i}.5"])
    rows[60][columns.index(field)] = value
    text = "consumer_id,timestamp,kwh,balance_inr\n" + "".join(",".join(row) + "\n" for row in rows)
    by_plain, by_columns, by_rows = _import_both_ways(tmp_path, text, monkeypatch, skip_invalid=True)
    assert by_plain[:-1] == by_columns[:-1] == by_rows[:-1]
    assert by_plain[-1] == ["plain", path, "plain"]  # the odd chunk goes row by row, unless fine
    assert [e.line for e in by_plain[4]] == ([62] if reported else [])


# --- issue 11 §1: real files ----------------------------------------------------------------------

CASES = Path(__file__).resolve().parents[1].parent / "shared" / "cases"


@pytest.fixture
def cases() -> Path:
    """../shared/cases: skipped when absent, a failure under CI=true (like ``shared_data``)."""
    if not CASES.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the shared cases folder is missing: {CASES}")
        pytest.skip(f"shared cases not found at {CASES}")
    return CASES


def daily_rows(conn, consumer_id: str) -> dict[str, tuple[float | None, float | None]]:
    return {
        r["date"]: (r["kwh"], r["closing_balance_inr"])
        for r in storage.readings.daily_export_rows(conn, consumer_id)
    }


@pytest.mark.parametrize("name", ["zero_glitch.csv", "swap_up.csv"])
def test_case_register_glitch_and_replacement(conn, cases, name, tmp_path):
    importing.import_consumers(conn, cases / "register-glitch" / "consumers.csv")
    report = importing.import_readings(
        conn,
        cases / "register-glitch" / name,
        consumer_id="201000001",
        columns=ReadingColumns(timestamp="meter_time", kwh="reading_kwh"),
        kwh_kind="register",
        skip_invalid=True,
        rejects_path=tmp_path / "rejects.csv",  # never beside the shared (read-only) input
    )
    assert report.committed and report.rejected <= 1
    days = daily_rows(conn, "201000001")
    # the case's right values (../shared/cases/README.md): 20 Nov 12.6 (minus one interval at worst), 21 Nov 14.0
    assert 12.6 - 0.5 <= days["2026-11-20"][0] <= 12.6 + 1e-9  # swap_up: the replacement's interval
    assert days["2026-11-21"][0] == pytest.approx(14.0)
    if name == "zero_glitch.csv":  # no energy lost across the glitch (split over its two intervals)
        assert days["2026-11-20"][0] + days["2026-11-21"][0] == pytest.approx(4347.6 - 4321.0)  # last - first
    if name == "swap_up.csv":
        assert [(r.line, r.previous, r.reading) for r in report.resets] == [(26, 4326.3, 8715.0)]
        assert "line 26 at 2026-11-20 12:00 IST" in importing.format_report(report)
    else:
        assert report.resets == [] and report.errors[0].code == "register_glitch"


def test_case_negative_balance_in_rupee_forms(conn, cases):
    importing.import_consumers(conn, cases / "negative-balance" / "consumers.csv")
    report = importing.import_readings(
        conn, cases / "negative-balance" / "balance_history.csv", columns=ReadingColumns(balance="balance")
    )
    assert report.committed and report.rejected == 0
    days = daily_rows(conn, "201000001")
    assert days["2026-11-21"] == (pytest.approx(8.50), pytest.approx(-12.40))
    assert days["2026-11-22"] == (pytest.approx(8.02), pytest.approx(-51.06))
    assert days["2026-11-23"][0] == pytest.approx(7.56)


def test_case_energy_in_wh_is_refused_as_kwh_and_right_as_wh(conn, cases):
    importing.import_consumers(conn, cases / "energy-in-wh" / "consumers.csv")
    path = cases / "energy-in-wh" / "shelly_em_data.csv"
    columns = ReadingColumns(timestamp="Date/time UTC", kwh="Active energy Wh (1)")
    with pytest.raises(ImportFailed) as refused:
        importing.import_readings(conn, path, consumer_id="201000001", columns=columns, tz="UTC")
    assert "--energy-unit wh" in str(refused.value) and "--max-kwh" not in str(refused.value)
    assert storage.readings.daily_export_rows(conn, "201000001") == []
    report = importing.import_readings(
        conn, path, consumer_id="201000001", columns=columns, tz="UTC", energy_unit="wh"
    )
    assert report.committed
    days = daily_rows(conn, "201000001")
    assert days["2026-11-24"][0] == pytest.approx(8.466, abs=0.001)
    assert days["2026-11-25"][0] == pytest.approx(8.687, abs=0.001)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("₹412.15", 412.15),
        ("-₹12.40", -12.40),
        ("₹-12.40", -12.40),
        ("\u2212₹12.40", -12.40),
        ("Rs. -12.40", -12.40),
        ("(₹12.40)", -12.40),
        ("12.40 Dr", -12.40),
        ("12.40 Cr", 12.40),
        ("12.40DR", -12.40),
        ("12.40cr.", 12.40),
        ("1,23,456.50", 123456.50),
    ],
)
def test_every_money_form_imports_in_both_paths(master, tmp_path, text, value):
    body = "".join(f'101234567,2026-11-24 {h:02d}:00,0.5,"{text}"\n' for h in range(3))
    report = importing.import_readings(master, write(tmp_path, HEADER + body))
    assert report.committed
    assert [r[3] for r in readings(master)] == [pytest.approx(value)] * 3


@pytest.mark.parametrize("amount", [-12.4, 123456.5, 0.0, -0.5])
@pytest.mark.parametrize("lang", ["en", "hi"])
@pytest.mark.parametrize("deva", [False, True])
def test_what_format_money_prints_imports(amount, lang, deva):
    from lib.i18n import format_money

    assert importing.parse_money(format_money(amount, lang, devanagari_digits=deva)) == pytest.approx(amount)


def test_an_unreadable_balance_keeps_the_kwh_under_skip_invalid(master, tmp_path):
    path = write(tmp_path, HEADER + "101234567,2026-11-24 10:00,0.5,₹1x\n101234567,2026-11-24 10:30,0.4,12\n")
    assert not importing.import_readings(master, path).committed
    report = importing.import_readings(master, path, skip_invalid=True)
    assert report.committed and report.rejected == 1 and report.errors[0].column == "balance_inr"
    assert [(r[2], r[3]) for r in readings(master)] == [(0.5, None), (0.4, 12.0)]


def test_semicolon_decimal_comma_and_a_header_below_an_account_block(master, tmp_path):
    text = (
        "Account;101234567\nName;Asha\n\n"
        "consumer_id;timestamp;kwh;balance_inr\n"
        "101234567;2026-11-24 10:00;1,234;1.234,50\n"
        "101234567;2026-11-24 10:30;x;5\n"
    )
    report = importing.import_readings(master, write(tmp_path, text), skip_invalid=True)
    assert report.committed and [(e.line, e.column) for e in report.errors] == [(6, "kwh")]
    assert [(r[2], r[3]) for r in readings(master)] == [(1.234, 1234.5)]


@pytest.mark.parametrize(("delimiter", "flag"), [("\t", None), ("|", None), (";", ";")])
def test_other_separators(master, tmp_path, delimiter, flag):
    text = delimiter.join(["consumer_id", "timestamp", "kwh"]) + "\n"
    text += delimiter.join(["101234567", "2026-11-24 10:00", "0.5"]) + "\n"
    assert importing.import_readings(master, write(tmp_path, text), delimiter=flag).added == 1


def test_skip_rows_and_a_header_that_does_not_split(master, tmp_path):
    text = "junk line\nconsumer_id;timestamp;kwh\n101234567;2026-11-24 10:00;0.5\n"
    assert importing.import_readings(master, write(tmp_path, text), skip_rows=1).added == 1
    with pytest.raises(ImportFailed) as refused:
        importing.import_readings(master, write(tmp_path, text), delimiter=",")
    assert "tried the separator comma" in str(refused.value)


def test_register_rollover_is_energy(master, tmp_path):
    text = "timestamp,kwh\n2026-11-24 10:00,99999.5\n2026-11-24 10:30,99999.9\n2026-11-24 11:00,0.2\n"
    report = importing.import_readings(
        master, write(tmp_path, text), consumer_id="101234567", kwh_kind="register"
    )
    assert report.committed and report.rollovers == 1 and report.resets == []
    assert [r[2] for r in readings(master)] == [pytest.approx(0.4), pytest.approx(0.3)]
    assert "1 register rollovers past 100000 kWh" in importing.format_report(report)


def test_row_reasons_render_in_hindi(master, tmp_path):
    error = only_error(
        importing.import_readings(master, write(tmp_path, HEADER + "101234567,2026-11-24 10:00,-1,\n"))
    )
    assert (
        error.code == "negative_kwh"
        and error.text("hi") == "ऋणात्मक ऊर्जा (यूनिट) (ग्रिड को भेजी गई बिजली? --kwh-kind net दें)"
    )
    assert "--kwh-kind net" in error.text("en")


def export_rows(conn, consumer_id: str) -> dict[str, tuple[float | None, float | None]]:
    return {
        r["date"]: (r["kwh"], r["export_kwh"]) for r in storage.readings.daily_export_rows(conn, consumer_id)
    }


def test_case_net_metering_keyed_by_meter_serial_keeps_import_and_export(conn, cases):
    importing.import_consumers(conn, cases / "net-metering" / "consumers.csv")
    path = cases / "net-metering" / "net_metered_hourly.csv"
    report = importing.import_readings(
        conn,
        path,
        columns=ReadingColumns(consumer_id="meter_number", kwh="net_kwh"),
        id_kind="meter-serial",
        kwh_kind="net",
    )
    assert report.committed and report.rejected == 0 and report.consumers == ["201000001"]
    days = export_rows(conn, "201000001")
    for day, (drawn, sent, net) in {
        "2026-11-24": (10.871, 4.427, 6.444),
        "2026-11-25": (11.115, 4.525, 6.590),
    }.items():
        assert days[day][0] == pytest.approx(drawn, abs=5e-4)
        assert days[day][1] == pytest.approx(sent, abs=5e-4)
        assert days[day][0] - days[day][1] == pytest.approx(net, abs=1e-3)
    # idempotent, and the negative hours are never refused (the old behaviour) nor dropped
    again = importing.import_readings(
        conn,
        path,
        columns=ReadingColumns(consumer_id="meter_number", kwh="net_kwh"),
        id_kind="meter-serial",
        kwh_kind="net",
    )
    assert again.added == 0 and again.rejected == 0
    refused = importing.import_readings(
        conn, path, columns=ReadingColumns(consumer_id="meter_number", kwh="net_kwh")
    )
    assert refused.errors[0].code == "unknown_consumer"  # a serial is not a consumer ID


def test_separate_import_and_export_columns_and_the_daily_frame(master, tmp_path):
    path = write(
        tmp_path,
        "consumer_id,timestamp,import_kwh,export_kwh\n"
        "101234567,2026-11-24 11:00,0.10,0.80\n"
        "101234567,2026-11-24 11:30,0.20,0.70\n"
        "101234567,2026-11-24 12:00,0.30,oops\n",
    )
    columns = ReadingColumns(kwh="import_kwh", export="export_kwh")
    strict = importing.import_readings(master, path, columns=columns)
    error = only_error(strict)
    assert (error.line, error.column, error.code) == (4, "export_kwh", "not_a_number")
    report = importing.import_readings(master, path, columns=columns, skip_invalid=True)
    assert report.added == 2
    assert export_rows(master, "101234567") == {"2026-11-24": (pytest.approx(0.3), pytest.approx(1.5))}
    account = storage.accounts.create_account(master, "+919876543210", now="2026-11-01T00:00:00Z")
    with storage.transaction(master):
        storage.accounts.insert_link(master, account, "101234567", "Home", now="2026-11-01T00:00:00Z")
    frame = storage.readings.daily_frame(master, account)  # what the ledger and the pages read
    assert frame["export_kwh"].tolist() == [pytest.approx(1.5)]
    assert frame["kwh"].tolist() == [pytest.approx(0.3)]


def test_meter_serial_keyed_file_maps_to_consumers_and_names_unknown_serials(master, tmp_path):
    path = write(
        tmp_path,
        "meter_serial,timestamp,kwh\nSM-2024-0001,2026-11-24 10:00,0.5\nSM-2024-0002,2026-11-24 10:00,0.7\n"
        "SM-9999-0000,2026-11-24 10:00,0.1\n",
    )
    columns = ReadingColumns(consumer_id="meter_serial")
    error = only_error(importing.import_readings(master, path, columns=columns, id_kind="meter-serial"))
    assert (error.line, error.code, error.value) == (4, "unknown_meter_serial", "SM-9999-0000")
    assert "unknown meter serial" in error.reason and "मीटर सीरियल" in error.text("hi")
    report = importing.import_readings(
        master, path, columns=columns, id_kind="meter-serial", skip_invalid=True
    )
    assert report.added == 2 and report.consumers == ["101234567", "101234568"]


def test_date_and_time_in_separate_columns(master, tmp_path):
    path = write(
        tmp_path,
        "DATE,START TIME,kwh\n24/11/2026,23:30,0.4\n24/11/2026,23:45,0.5\n25/11/2026,00:00,0.6\n",
    )
    report = importing.import_readings(
        master,
        path,
        consumer_id="101234567",
        columns=ReadingColumns(timestamp="START TIME", date="DATE"),
        time_format="%d/%m/%Y %H:%M",
    )
    assert report.committed and report.added == 3
    assert [r[1] for r in readings(master)] == [
        "2026-11-24T18:00:00Z",
        "2026-11-24T18:15:00Z",
        "2026-11-24T18:30:00Z",
    ]
    assert export_rows(master, "101234567") == {
        "2026-11-24": (pytest.approx(0.9), None),
        "2026-11-25": (pytest.approx(0.6), None),
    }


def test_end_stamps_put_0000_and_2400_on_the_day_before(master, tmp_path):
    path = write(
        tmp_path,
        "date,time,kwh\n2026-11-24,23:30,0.3\n2026-11-24,24:00,0.4\n2026-11-25,00:30,0.5\n",
    )
    columns = ReadingColumns(timestamp="time", date="date")
    refused = only_error(importing.import_readings(master, path, consumer_id="101234567", columns=columns))
    assert refused.code == "time_bad_hour" and "'24:00'" in refused.reason  # says which part is wrong
    report = importing.import_readings(master, path, consumer_id="101234567", columns=columns, stamp="end")
    assert report.committed and report.added == 3
    # each reading stored at its half hour's start: 23:00, 23:30 IST on the 24th, 00:00 on the 25th
    assert [r[1] for r in readings(master)] == [
        "2026-11-24T17:30:00Z",
        "2026-11-24T18:00:00Z",
        "2026-11-24T18:30:00Z",
    ]
    days = export_rows(master, "101234567")
    assert days["2026-11-24"][0] == pytest.approx(0.7) and days["2026-11-25"][0] == pytest.approx(0.5)


def test_end_stamp_00_00_of_an_hourly_file_belongs_to_the_day_before(master, tmp_path):
    path = write(
        tmp_path, "timestamp,kwh\n2026-11-24 23:00,1.0\n2026-11-25 00:00,2.0\n2026-11-25 01:00,3.0\n"
    )
    report = importing.import_readings(master, path, consumer_id="101234567", stamp="end")
    assert report.committed
    days = export_rows(master, "101234567")
    assert days["2026-11-24"][0] == pytest.approx(3.0) and days["2026-11-25"][0] == pytest.approx(3.0)


def test_end_stamps_move_each_reading_by_its_own_meters_interval_anywhere_in_the_file(master, tmp_path):
    """Issue 11: ``--stamp end`` derives each reading's interval from its meter's own end stamps, not from
    the first 64 KB: meter A is hourly for 100 days (well past 64 KB) and then reads every 15 minutes,
    meter B (after A in the file) every 15 minutes throughout, with one missing reading."""
    start = dt.datetime(2026, 8, 1, 1, 0)  # IST, the end of the hour 00:00-01:00
    hourly = [start + dt.timedelta(hours=h) for h in range(100 * 24)]
    quarters = [hourly[-1] + dt.timedelta(minutes=15 * q) for q in range(1, 9)]
    b_ends = [dt.datetime(2026, 11, 20, 0, 15) + dt.timedelta(minutes=15 * q) for q in range(12) if q != 5]
    lines = ["consumer_id,timestamp,kwh"]
    lines += [f"101234567,{t:%Y-%m-%d %H:%M},0.8" for t in hourly + quarters]
    lines += [f"101234568,{t:%Y-%m-%d %H:%M},0.2" for t in b_ends]
    path = write(tmp_path, "\n".join(lines) + "\n")
    assert len("\n".join(lines[: 1 + len(hourly)])) > 64 * 1024  # the change comes after the first 64 KB
    report = importing.import_readings(master, path, stamp="end")
    assert report.committed and report.added == len(hourly) + len(quarters) + len(b_ends)

    def stored(consumer_id: str) -> list[str]:
        rows = master.execute(
            f"SELECT {ts_text(master, 'ts')} FROM readings WHERE consumer_id = :cid ORDER BY ts",
            {"cid": consumer_id},
        )
        return [row[0] for row in rows]

    def utc(moments: list[dt.datetime], minutes: int) -> list[str]:
        return [to_ts((m - dt.timedelta(minutes=minutes)).replace(tzinfo=IST)) for m in moments]

    # each hourly reading starts an hour before its stamp, each quarter-hour one 15 minutes before (the
    # first quarter hour ends 15 minutes after the last hour ended: no overlap, no gap)
    assert stored("101234567") == utc(hourly, 60) + utc(quarters, 15)
    # B: 15 minutes throughout, also after its missing reading (not a 30-minute interval)
    assert stored("101234568") == utc(b_ends, 15)
    last_day = master.execute(
        "SELECT minutes, peak_kw FROM daily WHERE consumer_id = '101234567' AND day = '2026-11-09'"
    ).fetchone()
    assert tuple(last_day) == (pytest.approx(8 * 15), pytest.approx(3.2))  # 0.8 kWh in 15 min
    b_day = master.execute("SELECT minutes FROM daily WHERE consumer_id = '101234568'").fetchone()
    assert b_day[0] == pytest.approx(11 * 15)


@pytest.mark.parametrize(
    ("name", "consumer_id", "kw"),
    [("fifteen_minute.csv", "201000011", 1.80), ("hourly.csv", "201000012", 1.50)],
)
def test_case_interval_length_peak_demand_over_each_readings_interval(conn, cases, name, consumer_id, kw):
    from lib import analytics

    importing.import_consumers(conn, cases / "interval-length" / "consumers.csv")
    report = importing.import_readings(conn, cases / "interval-length" / name)
    assert report.committed and report.rejected == 0
    import pandas as pd

    daily = conn.frame(
        "SELECT consumer_id, day, kwh, intervals, peak_kwh, minutes, peak_kw FROM daily WHERE consumer_id = :cid",
        {"cid": consumer_id},
    )
    daily["nickname"] = "x"
    details = pd.DataFrame({"consumer_id": [consumer_id], "sanctioned_load_kw": [2.0]})
    peak = analytics.peak_demand(daily, details).iloc[0]
    assert peak["peak_kw"] == pytest.approx(kw)
    assert not peak["over_sanctioned"]
    assert (daily["minutes"] == 1440).any()  # whole days are complete by minutes, whatever the interval


@pytest.mark.parametrize("minutes", [5, 10, 60])
def test_5_10_and_60_minute_files_cover_whole_days(master, tmp_path, minutes):
    start = dt.datetime(2026, 11, 24)
    count = 24 * 60 // minutes
    lines = [
        f"{(start + dt.timedelta(minutes=minutes * i)):%Y-%m-%d %H:%M},{0.05 * minutes / 5:.3f}"
        for i in range(count)
    ]
    path = write(tmp_path, "timestamp,kwh\n" + "\n".join(lines) + "\n")
    assert importing.import_readings(master, path, consumer_id="101234567").committed
    (got,) = master.execute("SELECT intervals, minutes, peak_kw FROM daily WHERE consumer_id = '101234567'")
    assert tuple(got) == (count, 1440.0, pytest.approx(0.6))


def green_button(
    path: Path,
    readings_wh: list[tuple[int, int]],
    *,
    power: int = 0,
    uom: str = "72",
    flow: str | None = None,
) -> Path:
    """An ESPI Atom feed with one ReadingType (``flowDirection`` when given) and one IntervalBlock of
    (start epoch s, value) readings."""
    from xml.etree import ElementTree as ET

    atom, espi = "http://www.w3.org/2005/Atom", "http://naesb.org/espi"
    feed = ET.Element(f"{{{atom}}}feed")
    kind = ET.SubElement(
        ET.SubElement(ET.SubElement(feed, f"{{{atom}}}entry"), f"{{{atom}}}content"), f"{{{espi}}}ReadingType"
    )
    ET.SubElement(kind, f"{{{espi}}}powerOfTenMultiplier").text = str(power)
    ET.SubElement(kind, f"{{{espi}}}uom").text = uom
    if flow is not None:
        ET.SubElement(kind, f"{{{espi}}}flowDirection").text = flow
    block = ET.SubElement(
        ET.SubElement(ET.SubElement(feed, f"{{{atom}}}entry"), f"{{{atom}}}content"),
        f"{{{espi}}}IntervalBlock",
    )
    for start, value in readings_wh:
        reading = ET.SubElement(block, f"{{{espi}}}IntervalReading")
        period = ET.SubElement(reading, f"{{{espi}}}timePeriod")
        ET.SubElement(period, f"{{{espi}}}duration").text = "900"
        ET.SubElement(period, f"{{{espi}}}start").text = str(start)
        ET.SubElement(reading, f"{{{espi}}}value").text = str(value)
    ET.ElementTree(feed).write(path, encoding="utf-8", xml_declaration=True)
    return path


def test_green_button_file_recognised_by_content(master, tmp_path):
    start = int(
        dt.datetime(2026, 11, 24, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))).timestamp()
    )
    # values in tens of Wh (powerOfTenMultiplier 1): 45 -> 450 Wh = 0.45 kWh in 15 minutes = 1.8 kW
    path = green_button(
        tmp_path / "download.data", [(start + 900 * i, v) for i, v in enumerate([10, 45, 20])], power=1
    )
    with pytest.raises(ImportFailed, match="--consumer-id"):
        importing.import_readings(master, path)
    report = importing.import_readings(master, path, consumer_id="101234567")
    assert report.committed and report.added == 3
    assert readings(master) == [
        ("101234567", "2026-11-23T18:30:00Z", pytest.approx(0.1), None),
        ("101234567", "2026-11-23T18:45:00Z", pytest.approx(0.45), None),
        ("101234567", "2026-11-23T19:00:00Z", pytest.approx(0.2), None),
    ]
    (peak,) = master.execute("SELECT peak_kw FROM daily WHERE consumer_id = '101234567'").fetchone()
    assert peak == pytest.approx(1.8)
    assert importing.import_readings(master, path, consumer_id="101234567").unchanged == 3


def test_green_button_flow_direction_19_is_export_energy_1_import_others_refused(master, tmp_path):
    start = 1795458600  # 2026-11-24 00:00 IST
    rows = [(start + 900 * i, v) for i, v in enumerate([100, 450, 200])]  # Wh
    export = export_rows(master, "101234567")  # nothing yet
    assert export == {}
    report = importing.import_readings(
        master, green_button(tmp_path / "sent.xml", rows, flow="19"), consumer_id="101234567"
    )
    assert report.committed and report.added == 3
    stored = master.execute(
        "SELECT kwh, export_kwh FROM readings WHERE consumer_id = '101234567' ORDER BY ts"
    ).fetchall()
    assert [tuple(r) for r in stored] == [(0.0, 0.1), (0.0, 0.45), (0.0, pytest.approx(0.2))]
    drawn, sent = export_rows(master, "101234567")["2026-11-24"]
    assert (drawn, sent) == (0.0, pytest.approx(0.75))
    other = tmp_path / "other"
    other.mkdir()
    report = importing.import_readings(
        master, green_button(other / "drawn.xml", [(start + 3600, 300)], flow="1"), consumer_id="101234567"
    )
    assert report.committed
    assert master.execute(
        "SELECT kwh, export_kwh FROM readings WHERE ts = '2026-11-23T19:30:00Z'"
    ).fetchone()[0] == pytest.approx(0.3)
    with pytest.raises(ImportFailed, match="flowDirection 4 is neither 1"):
        importing.import_readings(
            master, green_button(other / "odd.xml", [(start + 7200, 300)], flow="4"), consumer_id="101234567"
        )


def test_green_button_import_and_export_channels_of_one_meter_as_two_files(master, tmp_path):
    """Issue 11: the export channel's file fills export_kwh of the readings the import channel's file
    stored (their kWh stays), adds the times only it has with 0 drawn, and is unchanged when imported
    again; an export value that differs from a stored one is a conflict, named as export energy."""
    start = 1795458600  # 2026-11-24 00:00 IST
    drawn = green_button(tmp_path / "drawn.xml", [(start + 900 * i, v) for i, v in enumerate([300, 250, 0])])
    sent_rows = [(start + 900 * i, v) for i, v in enumerate([0, 120, 400, 380])]  # one more quarter hour
    sent = green_button(tmp_path / "sent.xml", sent_rows, flow="19")
    assert importing.import_readings(master, drawn, consumer_id="101234567").added == 3
    report = importing.import_readings(master, sent, consumer_id="101234567")
    assert report.committed and (report.added, report.unchanged, report.rejected) == (4, 0, 0)
    stored = master.execute(
        "SELECT kwh, export_kwh FROM readings WHERE consumer_id = '101234567' ORDER BY ts"
    ).fetchall()
    assert [tuple(r) for r in stored] == [(0.3, 0.0), (0.25, 0.12), (0.0, 0.4), (0.0, 0.38)]
    assert export_rows(master, "101234567")["2026-11-24"] == (pytest.approx(0.55), pytest.approx(0.9))
    (minutes,) = master.execute("SELECT minutes FROM daily WHERE consumer_id = '101234567'").fetchone()
    assert minutes == 60.0
    again = importing.import_readings(master, sent, consumer_id="101234567")
    assert again.committed and (again.added, again.unchanged) == (0, 4)
    redo = importing.import_readings(master, drawn, consumer_id="101234567")
    assert redo.unchanged == 3, redo.errors
    before = dump(master)
    other = tmp_path / "other"
    other.mkdir()
    changed = green_button(other / "sent.xml", [(start + 900, 125)], flow="19")
    report = importing.import_readings(master, changed, consumer_id="101234567")
    error = only_error(report)
    assert (
        error.reason
        == "a different export reading (energy sent to the grid) is stored for this consumer and time (0.12 kWh)"
    )
    assert dump(master) == before


def test_green_button_refuses_doctype_and_other_units(master, tmp_path):
    bomb = write(
        tmp_path,
        '<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        '<feed xmlns="http://www.w3.org/2005/Atom"><IntervalBlock>&b;</IntervalBlock></feed>',
        name="bomb.xml",
    )
    with pytest.raises(ImportFailed, match="DOCTYPE"):
        importing.import_readings(master, bomb, consumer_id="101234567")
    volts = green_button(tmp_path / "v.xml", [(1795000000, 230)], uom="29")
    with pytest.raises(ImportFailed, match="not Wh"):
        importing.import_readings(master, volts, consumer_id="101234567")
    assert readings(master) == []


def test_hourly_wh_that_falls_and_rises_is_blamed_on_wh_not_on_a_register(master, tmp_path):
    # hourly Wh (a 0.3-1.9 kW household): 1000x the load read as kWh, falling and rising like real use
    use = [300, 250, 240, 260, 400, 900, 1500, 1200, 700, 600, 650, 800]
    lines = [f"2026-11-24 {h:02d}:00,{use[h % 12]}" for h in range(24)]
    path = write(tmp_path, "timestamp,energy\n" + "\n".join(lines) + "\n")
    columns = ReadingColumns(kwh="energy")
    with pytest.raises(ImportFailed) as refused:  # --max-kwh raised past the values: the load check decides
        importing.import_readings(master, path, consumer_id="101234567", columns=columns, max_kwh=5000)
    assert "--energy-unit wh" in str(refused.value) and "register" not in str(refused.value)
    report = importing.import_readings(
        master, path, consumer_id="101234567", columns=columns, energy_unit="wh"
    )
    assert report.committed and report.added == 24


def test_cumulative_values_read_as_interval_energy_are_refused_naming_that_cause(master, tmp_path):
    # a register that starts low (3.2 kWh) and rises: not 500x the load, but never falling
    lines = [
        f"2026-11-24 {h:02d}:{m:02d},{3.2 + 0.35 * (2 * h + m // 30):.2f}" for h in range(24) for m in (0, 30)
    ]
    path = write(tmp_path, "timestamp,kwh\n" + "\n".join(lines) + "\n")
    with pytest.raises(ImportFailed) as refused:
        importing.import_readings(master, path, consumer_id="101234567")
    assert "--kwh-kind register" in str(refused.value) and "--energy-unit wh" not in str(refused.value)
    assert readings(master) == []


def test_meter_serials_without_id_kind_give_one_hint(master, tmp_path):
    body = "".join(f"SM-2024-0001,2026-11-24 {h:02d}:00,0.5,\n" for h in range(24))
    report = importing.import_readings(master, write(tmp_path, HEADER + body))
    assert not report.committed and report.rejected == 24
    text = importing.format_report(report)
    assert text.count("--id-kind meter-serial") == 1
    assert "1 value(s) of column 'consumer_id' are meter serial numbers" in text


def test_every_kwh_over_the_limit_in_a_wh_column_names_the_energy_unit(master, tmp_path):
    body = "".join(f"2026-11-24 {h:02d}:00,{300 + 10 * h}\n" for h in range(24))
    path = write(tmp_path, "timestamp,Energy (Wh)\n" + body)
    report = importing.import_readings(
        master, path, consumer_id="101234567", columns=ReadingColumns(kwh="Energy (Wh)")
    )
    assert not report.committed and report.rejected == 24
    text = importing.format_report(report)
    assert text.count("give --energy-unit wh (not a larger --max-kwh)") == 1


def _varied_readings(
    seed: int,
    *,
    sep: str = ",",
    minutes: int = 30,
    unit: float = 1.0,
    register: bool = False,
    start: dt.datetime = dt.datetime(2026, 10, 1),
    bom: bool = False,
    crlf: bool = False,
    quotes: bool = False,
    blanks: bool = False,
) -> str:
    """Readings in long clean runs (most 40-row chunks plain and good) with a few problems: the file the
    Arrow path, the csv module's column path and the row path must all read the same. ``sep=";"`` writes
    decimal commas; ``unit`` 1000 writes Wh; ``register`` cumulative values with glitches and a reset;
    ``start`` near a daylight-saving change gives skipped and repeated local hours. Deterministic."""
    rng = random.Random(seed)  # noqa: S311 - test data
    ids = ["101234567", "101234568", "101234569"]
    clock = dict.fromkeys(ids, start)
    total = dict.fromkeys(ids, 4321.0)
    end = "\r\n" if crlf else "\n"
    lines = [("\ufeff" if bom else "") + sep.join(["consumer_id", "timestamp", "kwh", "balance_inr"]) + end]
    written: list[tuple[str, str]] = []

    def number(value: float, places: int) -> str:
        text = f"{value:.{places}f}"
        return text.replace(".", ",") if sep == ";" else text

    for block in range(24):
        who = ids[block % 3]
        for _ in range(rng.randint(20, 90)):
            clock[who] += dt.timedelta(minutes=minutes)
            ts = clock[who].strftime("%Y-%m-%d %H:%M")
            energy = rng.choice([0.0, 0.125, 0.25, rng.uniform(0, 1.2)])
            if register:
                total[who] += energy
                value = total[who]
                if rng.random() < 0.01:
                    value = 0.0  # a glitch
                elif rng.random() < 0.004:
                    total[who] = value = 12.0  # a replaced meter
            else:
                value = energy
            kwh = number(value * unit, 1 if unit != 1.0 else 3)
            balance = number(rng.uniform(-50, 900), 2)
            problem = rng.random()
            who_written = "999" if problem < 0.004 else who
            if 0.004 <= problem < 0.008:
                kwh = "x"
            elif 0.008 <= problem < 0.012 and written:
                who_written, ts = rng.choice(written)  # a duplicate
            elif 0.012 <= problem < 0.014:
                ts = "2027-06-01 10:00"
            if quotes and rng.random() < 0.01:
                kwh = f'"{kwh}"'
            lines.append(sep.join([who_written, ts, kwh, balance]) + end)
            written.append((who_written, ts))
            if blanks and rng.random() < 0.005:
                lines.append(end)
    return "".join(lines)


@pytest.mark.parametrize(
    ("variant", "options"),
    [
        ({}, {}),
        ({"sep": ";"}, {}),  # semicolons and decimal commas
        ({"unit": 1000.0}, {"energy_unit": "wh"}),
        ({"minutes": 15, "crlf": True, "bom": True}, {}),
        ({"minutes": 60, "quotes": True, "blanks": True}, {}),
        ({}, {"stamp": "end"}),
        ({"register": True}, {"kwh_kind": "register"}),
        ({"start": dt.datetime(2026, 3, 28, 22), "minutes": 15}, {"tz": "Europe/London"}),  # spring gap
        ({"start": dt.datetime(2026, 10, 24, 22), "minutes": 15}, {"tz": "Europe/London"}),  # autumn repeat
    ],
    ids=["plain", "semicolon-comma", "wh", "15min-crlf-bom", "60min-quotes-blanks", "end-stamps", "register",
         "dst-spring", "dst-autumn"],
)  # fmt: skip
@pytest.mark.parametrize("skip_invalid", [True, False])
def test_every_path_reads_varied_files_alike(tmp_path, monkeypatch, variant, options, skip_invalid):
    text = _varied_readings(7, **variant)
    plain, columns, rows = _import_both_ways(
        tmp_path, text, monkeypatch, skip_invalid=skip_invalid, **options
    )
    assert plain[:-1] == columns[:-1] == rows[:-1]  # report, errors, rejects, readings, roll-ups, events
    assert set(rows[-1]) <= {"rows"}
    if not variant.get("register") and "stamp" not in options and variant.get("sep") != ";":
        assert "plain" in plain[-1]  # the Arrow path took clean chunks of this file
    if skip_invalid:
        assert plain[0] > 1000 and plain[3] > 0  # rows read, some of them bad


@pytest.mark.parametrize("seed", range(6))
def test_arrow_reads_plain_decimals_as_float_does(seed):
    """Arrow's text -> float64 (the plain path) against Python's float() on random plain decimals,
    including long ones and values between two doubles."""
    import pyarrow as pa
    import pyarrow.compute as pc

    rng = random.Random(seed)  # noqa: S311 - test data
    texts = [
        f"{rng.randrange(10 ** rng.randint(1, 18))}"
        + (f".{rng.randrange(10 ** rng.randint(1, 18)):0{rng.randint(1, 18)}d}" if rng.random() < 0.9 else "")
        for _ in range(20_000)
    ]
    texts = [t for t in texts if re.fullmatch(importing.chunks._PLAIN_DECIMAL[1:-1], t)]
    assert len(texts) > 15_000
    converted = pc.cast(pa.array(texts), pa.float64()).to_numpy().tolist()
    assert converted == [float(t) for t in texts]
    assert all(pc.match_substring_regex(pa.array(texts), importing.chunks._PLAIN_DECIMAL).to_pylist())


def test_plain_lines_split_as_the_csv_module_reads_them():
    rng = random.Random(11)  # noqa: S311 - test data
    alphabet = "ab1.,;\t |₹ '\\-"
    for sep in (",", ";", "\t", "|"):
        lines = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30))) for _ in range(500)]
        raw = [line + rng.choice(["\n", "\r\n", "\r"]) for line in lines if line.strip()]
        block = importing.sources.plain_block(0, raw)
        assert block is not None
        assert block.split(sep) == list(csv.reader(raw, delimiter=sep))


@pytest.mark.sqlite_only("SQLite's staging area: rows staged outside the write lock, moved in at the end")
@pytest.mark.parametrize("count", [1, 63, 64, 65, 64 * 3 + 5])
def test_staging_keeps_every_reading_in_file_order_across_its_multi_row_inserts(conn, count):
    """``stage_readings`` writes ``ROWS_PER_INSERT`` rows per statement and the rest one by one: the staged
    rows are the readings given, in order (rowid order is what the move and the conflict report use)."""
    importing.import_consumers(conn, DATA / "consumers.csv")
    assert storage.staging.ROWS_PER_INSERT == 64
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    four = [
        (
            "101234567",
            (start + dt.timedelta(minutes=30 * i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            i / 7,
            None if i % 5 else -i / 3,
        )
        for i in range(count)
    ]
    five = [("101234568", ts, kwh, balance, i / 9) for i, (_, ts, kwh, balance) in enumerate(four)]
    raw = conn.raw
    with storage.staging.area(conn):
        storage.staging.stage_readings(conn, four, range(2, count + 2), [["r"]] * count)
        storage.staging.stage_readings(conn, five, range(2, count + 2), [["r"]] * count)
        staged = raw.execute(
            "SELECT consumer_id, ts, kwh, balance_inr, export_kwh FROM staging.readings ORDER BY rowid"
        ).fetchall()
        assert staged == [(*r, None) for r in four] + five
        with storage.transaction(conn):
            moved = storage.staging.move_readings(conn)
    assert (moved.staged, moved.added, moved.conflicts) == (2 * count, 2 * count, [])
