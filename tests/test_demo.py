"""lib.demo: the demo data set's invariants (reconciliation, seasons, the disconnection, linking)."""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lib import demo, storage, tariff
from lib.clock import IST, from_ts
from lib.config import load_settings
from lib.phone import normalise_mobile
from lib.storage import dialect
from tests.factories import FIXED_NOW

pytestmark = pytest.mark.both_engines  # every db_path/conn test on SQLite and on PostgreSQL (issue 12)

NOW = from_ts(FIXED_NOW)  # 2026-11-25 12:00 IST


@pytest.fixture(scope="module")
def year_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """One full-size demo (365 days) seeded once for the read-only tests of this module."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    conn = storage.connect(path)
    storage.migrate(conn)
    summary = demo.seed_demo(conn, now=NOW)
    conn.close()
    return path, summary


@pytest.fixture
def year(year_db: tuple[Path, dict]) -> Iterator[sqlite3.Connection]:
    conn = storage.connect(year_db[0])
    yield conn
    conn.close()


def readings(conn: sqlite3.Connection, consumer_id: str) -> pd.DataFrame:
    frame = conn.frame(
        "SELECT ts, kwh, balance_inr FROM readings WHERE consumer_id = :cid ORDER BY ts", {"cid": consumer_id}
    )
    frame["local"] = pd.to_datetime(frame["ts"], utc=True).dt.tz_convert(IST)
    return frame


def fingerprint(conn: sqlite3.Connection) -> str:
    digest = hashlib.sha256()
    for query in (
        "SELECT * FROM consumers ORDER BY consumer_id",
        "SELECT consumer_id, ts, kwh, balance_inr FROM readings ORDER BY consumer_id, ts",
        "SELECT consumer_id, ts, amount_inr, mode, reference FROM recharges ORDER BY consumer_id, ts",
        "SELECT account_id, consumer_id, nickname, linked_at FROM links ORDER BY consumer_id",
    ):
        for row in conn.execute(query):
            digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


# --- content ----------------------------------------------------------------------------------------


def test_the_household_and_its_three_connections(
    year: sqlite3.Connection, year_db: tuple[Path, dict]
) -> None:
    summary = year_db[1]
    account = storage.accounts.account_by_mobile(year, demo.DEMO_ACCOUNT_MOBILE)
    assert account is not None and account["account_id"] == summary["account_id"]
    linked = storage.accounts.linked_connections(year, account["account_id"])
    assert [(c["nickname"], c["tariff_category"], c["active"]) for c in linked] == [
        ("Home", "DS-II", True),
        ("Shop", "NDS-II", True),
        ("Village home", "DS-I", True),
    ]
    rows = year.execute("SELECT consumer_id, is_demo FROM consumers").mappings().all()
    assert len(rows) == summary["consumers"] == 6
    assert all(r["consumer_id"].startswith("DEMO-") and r["is_demo"] == 1 for r in rows)
    assert not storage.consumers.holds_real_data(year)
    assert storage.meta.get_meta(year, demo.DATASET_META_KEY) == "demo"
    assert storage.meta.get_meta(year, demo.SEEDED_AT_META_KEY) == FIXED_NOW


def test_unlinked_consumers_for_add_another_meter(year: sqlite3.Connection) -> None:
    assert len(demo.DEMO_UNLINKED) >= 3
    mobiles = [mobile for _, mobile in demo.DEMO_UNLINKED]
    linked_mobiles = {
        storage.consumers.consumer_record(year, cid)["registered_mobile"] for cid, _ in demo.DEMO_LINKED
    }
    assert len(set(mobiles)) == len(mobiles)
    assert not set(mobiles) & (linked_mobiles | {demo.DEMO_ACCOUNT_MOBILE})
    for consumer_id, mobile in demo.DEMO_UNLINKED:
        record = storage.consumers.consumer_record(year, consumer_id)
        assert record is not None and record["registered_mobile"] == mobile
        assert normalise_mobile(mobile) == mobile  # E.164 the OTP flow accepts (the demo range: lib.phone)
        assert (
            year.execute("SELECT count(*) FROM links WHERE consumer_id = ?", (consumer_id,)).fetchone()[0]
            == 0
        )
        assert (
            year.execute("SELECT count(*) FROM readings WHERE consumer_id = ?", (consumer_id,)).fetchone()[0]
            > 0
        )


def test_a_year_of_half_hours_ending_at_the_last_complete_one(
    year: sqlite3.Connection, year_db: tuple[Path, dict]
) -> None:
    summary = year_db[1]
    today = NOW.astimezone(IST).date()
    first_day = dt.date.fromisoformat(summary["first_day"])
    assert first_day.day == 1 and (today - first_day).days >= 364
    assert summary["last_reading_ts"] == "2026-11-25T06:00:00Z"  # 11:30 IST, the half hour ending at noon
    days = (today - first_day).days  # complete days before today
    per_consumer = days * 48 + 24
    assert summary["readings"] == 6 * per_consumer
    for consumer_id, _ in demo.DEMO_LINKED + demo.DEMO_UNLINKED:
        frame = readings(year, consumer_id)
        assert len(frame) == per_consumer
        assert frame["local"].iloc[0] == pd.Timestamp(first_day, tz=IST)
        assert frame["ts"].iloc[-1] == summary["last_reading_ts"]
        assert (frame["local"].diff().dropna() == pd.Timedelta(minutes=30)).all()
        assert (frame["kwh"] >= 0).all()


@pytest.mark.parametrize(
    ("now", "last"),
    [
        ("2026-11-25T06:29:59Z", "2026-11-25T05:30:00Z"),
        ("2026-11-25T06:30:00Z", "2026-11-25T06:00:00Z"),
        ("2026-11-25T06:59:00Z", "2026-11-25T06:00:00Z"),
        ("2026-11-24T18:30:00Z", "2026-11-24T18:00:00Z"),  # IST midnight: yesterday ends complete
    ],
)
def test_readings_end_at_the_last_half_hour_before_now(conn: sqlite3.Connection, now: str, last: str) -> None:
    summary = demo.seed_demo(conn, now=from_ts(now), days=3)
    assert summary["last_reading_ts"] == last
    assert conn.execute(f"SELECT {dialect.ts_text(conn, 'max(ts)')} FROM readings").fetchone()[0] == last


def test_the_same_now_gives_the_same_database(tmp_path: Path) -> None:
    prints = []
    for name in ("a.db", "b.db"):
        with storage.open_db(tmp_path / name) as conn:
            demo.seed_demo(conn, now=NOW, days=30)
            prints.append(fingerprint(conn))
    assert prints[0] == prints[1]
    with storage.open_db(tmp_path / "c.db") as conn:
        demo.seed_demo(conn, now=NOW + dt.timedelta(days=1), days=30)
        assert fingerprint(conn) != prints[0]


# --- the balance --------------------------------------------------------------------------------------


def test_every_day_reconciles_to_the_paisa(year: sqlite3.Connection) -> None:
    """opening + recharges − deductions = closing, with deductions recomputed from lib.tariff."""
    today = NOW.astimezone(IST).date().isoformat()
    meters = {m.consumer_id: m for m in demo.DEMO_METERS}
    checked = 0
    for consumer_id, meter in meters.items():
        daily = year.execute(
            "SELECT day, kwh, closing_balance_inr, recharge_inr FROM daily WHERE consumer_id = ? ORDER BY day",
            (consumer_id,),
        ).fetchall()
        first = year.execute(
            "SELECT balance_inr FROM readings WHERE consumer_id = ? ORDER BY ts LIMIT 1", (consumer_id,)
        ).fetchone()[0]
        charges = tariff.charges_for_days(
            meter.tariff_category,
            [(dt.date.fromisoformat(d["day"]), d["kwh"]) for d in daily],
            sanctioned_load_kw=meter.sanctioned_load_kw,
        )
        opening = round(first * 100)
        for row, charge in zip(daily, charges, strict=True):
            deduction = 0 if row["day"] == today else charge.total_paise  # today is not over
            closing = round(row["closing_balance_inr"] * 100)
            assert opening + round(row["recharge_inr"] * 100) - deduction == closing, (
                consumer_id,
                row["day"],
            )
            opening = closing
            checked += 1
    assert checked == 6 * len(daily)


def test_the_balance_moves_only_at_recharges_and_at_the_daily_deduction(year: sqlite3.Connection) -> None:
    for consumer_id, _ in demo.DEMO_LINKED:
        frame = readings(year, consumer_id)
        credited = np.zeros(len(frame))
        for ts, amount in year.execute(
            "SELECT ts, amount_inr FROM recharges WHERE consumer_id = ?", (consumer_id,)
        ).fetchall():
            credited[int(np.searchsorted(frame["ts"], ts))] += amount  # the first reading at or after it
        step = frame["balance_inr"].diff().fillna(0).to_numpy()
        # Between readings the balance changes only by a recharge; the day's deduction is on 23:30.
        other = (frame["local"].dt.strftime("%H:%M") != "23:30").to_numpy()
        assert np.allclose(step[other], credited[other], atol=1e-9), consumer_id
        if consumer_id != "DEMO-1003":  # the village home lives on its free units: no recharge needed
            assert credited.sum() > 0 and (step[~other] < 0).any()


def test_recharges_are_round_amounts_paid_when_low(year: sqlite3.Connection) -> None:
    meters = {m.consumer_id: m for m in demo.DEMO_METERS}
    rows = year.execute("SELECT consumer_id, ts, amount_inr, mode, reference FROM recharges").mappings().all()
    assert len(rows) >= 20
    assert {r["mode"] for r in rows} >= {"UPI", "Cash counter"}
    for r in rows:
        assert r["amount_inr"] % 50 == 0 and r["amount_inr"] > 0
        assert r["reference"]
        before = year.execute(
            "SELECT balance_inr FROM readings WHERE consumer_id = ? AND ts < ? ORDER BY ts DESC LIMIT 1",
            (r["consumer_id"], r["ts"]),
        ).fetchone()[0]
        assert before < meters[r["consumer_id"]].habit.threshold_inr, dict(r)


def test_the_shop_runs_out_is_cut_off_and_comes_back_after_a_recharge(year: sqlite3.Connection) -> None:
    frame = readings(year, "DEMO-1002")
    cut = frame[(frame["balance_inr"] <= 0) & (frame["kwh"] == 0)]
    assert len(cut) >= 24, "at least half a day without supply"
    # While the balance is <= 0 the meter supplies nothing (except the 23:30 interval whose deduction
    # took the balance below zero: that energy was used before the cut).
    negative = frame[frame["balance_inr"] <= 0]
    during = negative[negative["local"].dt.strftime("%H:%M") != "23:30"]
    assert (during["kwh"] == 0).all()
    # Supply returns with the recharge: the first positive reading after the cut follows a recharge.
    back = frame[(frame.index > cut.index[-1]) & (frame["balance_inr"] > 0)].iloc[0]
    recharge = year.execute(
        "SELECT ts, amount_inr, mode FROM recharges WHERE consumer_id = 'DEMO-1002' AND ts > ? AND ts <= ?",
        (cut["ts"].iloc[-1], back["ts"]),
    ).fetchone()
    assert recharge is not None and recharge["amount_inr"] > -cut["balance_inr"].min()
    later = frame[frame.index > back.name]
    assert (later["kwh"].head(48) > 0).any()
    # The other demo connections never run out.
    for consumer_id in ("DEMO-1001", "DEMO-1003"):
        assert (readings(year, consumer_id)["balance_inr"] > 0).all()


# --- Bihar's seasons and days --------------------------------------------------------------------------


def test_summer_peaks_and_low_winter(year: sqlite3.Connection) -> None:
    def monthly(consumer_id: str) -> pd.Series:
        frame = readings(year, consumer_id)
        return frame.groupby(frame["local"].dt.strftime("%Y-%m"))["kwh"].sum()

    home = monthly("DEMO-1001")
    assert home["2026-05"] > 2 * home["2026-01"]
    assert home[["2026-04", "2026-05", "2026-06"]].min() > home[["2025-12", "2026-01", "2026-02"]].max()
    village = monthly("DEMO-1003")
    assert village["2026-05"] > village["2026-01"]
    # Little use: the village home stays near the 125 free units a month.
    assert village.max() < 150


def test_evening_peak_within_the_day(year: sqlite3.Connection) -> None:
    for consumer_id in ("DEMO-1001", "DEMO-1003", "DEMO-1002"):
        frame = readings(year, consumer_id)
        by_hour = frame.groupby(frame["local"].dt.hour)["kwh"].mean()
        assert 18 <= by_hour.idxmax() <= 22, (consumer_id, by_hour.idxmax())
        assert by_hour.max() > 2 * by_hour[3]  # evening vs 3 a.m.


def test_the_shop_is_quiet_on_sundays(year: sqlite3.Connection) -> None:
    frame = readings(year, "DEMO-1002")
    frame = frame[frame["kwh"] > 0]  # leave the days without supply out
    per_day = frame.groupby(frame["local"].dt.date)["kwh"].sum()
    weekday = pd.Series([d.weekday() for d in per_day.index], index=per_day.index)
    assert per_day[weekday == 6].mean() < 0.5 * per_day[weekday < 5].mean()
    home = readings(year, "DEMO-1001")
    home_day = home.groupby(home["local"].dt.date)["kwh"].sum()
    home_weekday = pd.Series([d.weekday() for d in home_day.index], index=home_day.index)
    assert home_day[home_weekday == 6].mean() > home_day[home_weekday < 5].mean()  # family at home


def test_daily_roll_ups_are_filled(year: sqlite3.Connection) -> None:
    row = year.execute(
        "SELECT count(*), sum(intervals = 48), min(intervals) FROM daily WHERE consumer_id = 'DEMO-1001'"
    ).fetchone()
    assert row[0] == row[1] + 1 and row[2] == 24  # every day complete except today (to 11:30 IST)


# --- refusing real data, replacing, ensure_demo_data ------------------------------------------------------


def add_real_consumer(conn: sqlite3.Connection) -> None:
    with storage.transaction(conn):
        storage.consumers.upsert_consumers(
            conn, [{"consumer_id": "101234567", "name": "Asha", "registered_mobile": "+919876543210"}]
        )


def test_refuses_a_database_with_real_data_unless_forced(conn: sqlite3.Connection) -> None:
    add_real_consumer(conn)
    with pytest.raises(demo.RealDataError, match="--force"):
        demo.seed_demo(conn, now=NOW, days=3)
    # Nothing changed: the real consumer is still there and no demo row was written.
    assert [r[0] for r in conn.execute("SELECT consumer_id FROM consumers")] == ["101234567"]
    assert conn.execute("SELECT count(*) FROM readings").fetchone()[0] == 0
    demo.seed_demo(conn, now=NOW, days=3, force=True)
    assert not storage.consumers.holds_real_data(conn)
    assert storage.consumers.consumer_record(conn, "101234567") is None


def test_reseeding_replaces_everything_and_keeps_counting_the_data_version(conn: sqlite3.Connection) -> None:
    demo.seed_demo(conn, now=NOW, days=3)
    version = int(storage.meta.data_version(conn))
    # A camp visitor signs in, links a demo meter and gets an SMS; the audit trail records it.
    with storage.transaction(conn):
        visitor = storage.accounts.create_account(conn, "+910000000099")
        storage.accounts.insert_link(conn, visitor, "DEMO-2001", "Neighbour")
        conn.execute(
            "INSERT INTO sms_outbox (ts, destination, text, kind) VALUES ('2026-11-25T06:00:00Z', '+910000000011', 'x', 'otp')"
        )
        conn.execute("INSERT INTO audit (ts, event) VALUES ('2026-11-25T06:00:00Z', 'link')")
    demo.seed_demo(conn, now=NOW, days=3)
    assert storage.accounts.account_by_mobile(conn, "+910000000099") is None
    assert conn.execute("SELECT count(*) FROM links").fetchone()[0] == 3
    assert conn.execute("SELECT count(*) FROM sms_outbox").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM audit").fetchone()[0] == 1  # append-only: kept
    assert int(storage.meta.data_version(conn)) > version + 1
    if conn.dialect == "sqlite":  # PostgreSQL checks every foreign key at each write; SQLite can be asked
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_ensure_demo_data_seeds_only_an_empty_database(conn: sqlite3.Connection) -> None:
    assert demo.ensure_demo_data(conn, load_settings(env={}, secrets_path=None)) is True
    count = conn.execute("SELECT count(*) FROM readings").fetchone()[0]
    assert count > 365 * 48
    assert demo.ensure_demo_data(conn, load_settings(env={}, secrets_path=None)) is False
    assert conn.execute("SELECT count(*) FROM readings").fetchone()[0] == count


def test_ensure_demo_data_leaves_a_real_database_alone(conn: sqlite3.Connection) -> None:
    add_real_consumer(conn)
    assert demo.ensure_demo_data(conn, load_settings(env={}, secrets_path=None)) is False
    assert conn.execute("SELECT count(*) FROM consumers").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM readings").fetchone()[0] == 0


def test_days_must_be_positive(conn: sqlite3.Connection) -> None:
    with pytest.raises(ValueError, match="days must be at least 1"):
        demo.seed_demo(conn, now=NOW, days=0)


def test_history_starts_no_earlier_than_the_tariff_file(conn: sqlite3.Connection) -> None:
    # A clock in June 2025 asks for a year back to June 2024, before the first tariff version (April 2025).
    summary = demo.seed_demo(conn, now=dt.datetime(2025, 6, 10, 6, 30, tzinfo=dt.UTC), days=365)
    assert summary["first_day"] == "2025-04-01"
    assert conn.execute("SELECT min(day) FROM daily").fetchone()[0] == "2025-04-01"


def test_ensure_demo_data_refuses_an_empty_database_configured_for_production(
    conn: sqlite3.Connection,
) -> None:
    production = load_settings(env={"METERMITRA_SMS_GATEWAY": "http"}, secrets_path=None)
    with pytest.raises(demo.DemoRefused, match="'http'.*import-consumers"):
        demo.ensure_demo_data(conn, production)
    assert conn.execute("SELECT count(*) FROM consumers").fetchone()[0] == 0
    # A database that already has consumers is left alone whatever the settings (no refusal either).
    add_real_consumer(conn)
    assert demo.ensure_demo_data(conn, production) is False
