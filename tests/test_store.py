"""Storage's authorized reads used by Overview and Compare (builders in tests/factories.py)."""

from __future__ import annotations

import datetime as dt
import random

import pandas as pd
import pytest

from lib import quality, storage
from lib.clock import IST, UTC, to_ts
from lib.storage import dialect
from lib.storage.engine import transaction
from tests.factories import (
    LINKED_AT,
    NICKNAMES,
    OWNER,
    STRANGER,
    add_consumer,
    add_readings,
    seed_household,
)


@pytest.fixture
def conn(any_conn: storage.Database) -> storage.Database:
    """Every test of this module runs on SQLite and on PostgreSQL (issue 12)."""
    return any_conn


def _two_accounts(conn: storage.Database) -> tuple[int, int]:
    add_consumer(conn, "111")
    add_consumer(conn, "222", mobile=STRANGER)
    owner = storage.accounts.create_account(conn, OWNER, now=LINKED_AT)
    stranger = storage.accounts.create_account(conn, STRANGER, now=LINKED_AT)
    with transaction(conn):
        storage.accounts.insert_link(conn, owner, "111", "Home", now=LINKED_AT)
        storage.accounts.insert_link(conn, stranger, "222", "Theirs", now=LINKED_AT)
    start = dt.datetime(2026, 11, 20, tzinfo=IST)
    add_readings(conn, "111", start, [0.5] * 48, balance=100.0, recharges={10: 50.0})
    add_readings(conn, "222", start, [0.25] * 48, balance=100.0, recharges={10: 70.0})
    return owner, stranger


def test_daily_frame_returns_only_linked_connections(conn):
    owner, _ = _two_accounts(conn)
    frame = storage.readings.daily_frame(conn, owner)
    assert frame["consumer_id"].unique().tolist() == ["111"]
    assert frame["nickname"].tolist() == ["Home"]
    assert frame["kwh"].tolist() == [24.0]


def test_forged_consumer_id_returns_nothing_from_every_read(any_conn):
    conn = any_conn
    owner, _ = _two_accounts(conn)
    assert storage.readings.daily_frame(conn, owner, ["222"]).empty
    assert storage.readings.readings_frame(conn, owner, "222").empty
    assert storage.readings.recharges_frame(conn, owner, ["222"]).empty
    assert "222" not in set(storage.accounts.connection_details(conn, owner)["consumer_id"])
    # An unknown ID and an SQL-looking value are just absent too.
    assert storage.readings.daily_frame(conn, owner, ["999", "111' OR '1'='1"]).empty


def test_empty_id_list_means_no_connection(conn):
    owner, _ = _two_accounts(conn)
    assert storage.readings.daily_frame(conn, owner, []).empty


def test_changed_registered_mobile_stops_access(any_conn):
    conn = any_conn
    owner, _ = _two_accounts(conn)
    add_consumer(conn, "111", mobile="+919800000001")
    assert storage.readings.daily_frame(conn, owner).empty
    assert storage.readings.readings_frame(conn, owner, "111").empty
    assert storage.readings.recharges_frame(conn, owner).empty
    assert storage.accounts.connection_details(conn, owner).empty
    assert [link["active"] for link in storage.accounts.linked_connections(conn, owner)] == [False]


def test_daily_frame_day_range_and_types(conn):
    owner, _ = _two_accounts(conn)
    start = dt.datetime(2026, 11, 22, tzinfo=IST)
    add_readings(conn, "111", start, [1.0] * 96, balance=500.0)
    frame = storage.readings.daily_frame(conn, owner, ["111"], "2026-11-22", "2026-11-23")
    assert frame["day"].dt.strftime("%Y-%m-%d").tolist() == ["2026-11-22", "2026-11-23"]
    assert pd.api.types.is_datetime64_any_dtype(frame["day"])
    assert frame["kwh"].tolist() == [48.0, 48.0]
    assert frame["closing_balance_inr"].tolist() == [500.0 - 48 * 6, 500.0 - 96 * 6]


def test_ist_midnight_splits_days(conn):
    owner, _ = _two_accounts(conn)
    # 18:00Z and 18:30Z on 21 Nov are 23:30 IST on the 21st and 00:00 IST on the 22nd.
    start = dt.datetime(2026, 11, 21, 18, 0, tzinfo=UTC)
    add_readings(conn, "111", start, [1.0, 2.0], balance=10.0)
    frame = storage.readings.daily_frame(conn, owner, ["111"], "2026-11-21", "2026-11-22")
    assert dict(zip(frame["day"].dt.strftime("%d"), frame["kwh"], strict=True)) == {"21": 1.0, "22": 2.0}


def test_recharges_frame_and_connection_details(any_conn):
    conn = any_conn
    owner, _ = _two_accounts(conn)
    paid = storage.readings.recharges_frame(conn, owner)
    assert paid["amount_inr"].tolist() == [50.0]
    assert str(paid["ts"].dt.tz) == "UTC"
    details = storage.accounts.connection_details(conn, owner)
    assert details[["consumer_id", "nickname"]].values.tolist() == [["111", "Home"]]


def test_readings_frame_range_is_half_open(conn):
    owner, _ = _two_accounts(conn)
    frame = storage.readings.readings_frame(
        conn, owner, "111", "2026-11-19T18:30:00Z", "2026-11-19T19:30:00Z"
    )
    assert frame["ts"].dt.strftime("%H:%M").tolist() == ["18:30", "19:00"]


def test_data_version_changes_with_links_and_imports(any_conn):
    conn = any_conn
    before = storage.meta.data_version(conn)
    owner, _ = _two_accounts(conn)
    after_seed = storage.meta.data_version(conn)
    assert after_seed != before
    add_readings(conn, "111", dt.datetime(2026, 11, 24, tzinfo=IST), [1.0], balance=5.0)
    assert storage.meta.data_version(conn) != after_seed


def test_seed_household_shape(any_conn):
    conn = any_conn
    account_id = seed_household(conn, 6)
    details = storage.accounts.connection_details(conn, account_id)
    assert details["nickname"].tolist() == list(NICKNAMES)
    daily = storage.readings.daily_frame(conn, account_id)
    assert sorted(daily["consumer_id"].unique()) == [
        "1000000001",
        "1000000002",
        "1000000004",
        "1000000005",
        "1000000006",
    ]
    cut = daily[daily["consumer_id"] == "1000000004"].tail(4)
    assert (cut["kwh"] == 0).all() and (cut["closing_balance_inr"] < 0).all()


# The roll-up as a plain GROUP BY over every reading (what refresh_daily computed before its per-day
# primary-key ranges): refresh_daily must store exactly these rows.
_DAILY_REFERENCE = """
WITH r AS (
    SELECT {day_of_ts} AS day, ts, kwh, balance_inr FROM readings WHERE consumer_id = :cid
),
per_day AS (
    SELECT day, sum(kwh) AS kwh, count(*) AS intervals, max(kwh) AS peak_kwh FROM r GROUP BY day
),
closing AS (
    SELECT day, balance_inr FROM (
        SELECT day, balance_inr, row_number() OVER (PARTITION BY day ORDER BY ts DESC) AS n
        FROM r WHERE balance_inr IS NOT NULL
    ) AS ranked WHERE n = 1
),
paid AS (
    SELECT {day_of_ts} AS day, sum(amount_inr) AS amount
    FROM recharges WHERE consumer_id = :cid GROUP BY day
),
days AS (SELECT day FROM per_day UNION SELECT day FROM paid)
SELECT :cid, days.day, per_day.kwh, coalesce(per_day.intervals, 0), per_day.peak_kwh,
       closing.balance_inr, coalesce(paid.amount, 0.0)
FROM days
LEFT JOIN per_day ON per_day.day = days.day
LEFT JOIN closing ON closing.day = days.day
LEFT JOIN paid ON paid.day = days.day
ORDER BY days.day
"""


def _reference_daily(conn: storage.Database, consumer_id: str) -> list[tuple]:
    sql = _DAILY_REFERENCE.format(day_of_ts=dialect.ist_day(conn, "ts"))
    return [tuple(row) for row in conn.execute(sql, {"cid": consumer_id})]


def _stored_daily(conn: storage.Database, consumer_id: str) -> list[tuple]:
    return [
        tuple(row)
        for row in conn.execute(
            "SELECT consumer_id, day, kwh, intervals, peak_kwh, closing_balance_inr, recharge_inr FROM daily "
            "WHERE consumer_id = :cid ORDER BY day",
            {"cid": consumer_id},
        )
    ]


def test_refresh_daily_matches_a_plain_group_by(conn):
    add_consumer(conn, "111")
    add_consumer(conn, "222")  # a neighbour whose rows must not leak into 111's days
    rng = random.Random(7)  # noqa: S311 - test data
    start = dt.datetime(2026, 11, 18, 12, 0, tzinfo=UTC)  # 17:30 IST: the first day is partial
    rows, balance = [], 900.0
    for index in range(5 * 48):
        ts = start + dt.timedelta(minutes=30 * index)
        if dt.date(2026, 11, 20) == ts.astimezone(IST).date():
            continue  # a whole IST day without readings (a gap)
        kwh = round(rng.uniform(0.0, 1.3), 3)
        balance -= kwh * 7.42
        # balances missing on some rows: every 7th row, and all of 21 Nov after 20:00 IST
        missing = index % 7 == 3 or ts.astimezone(IST) >= dt.datetime(2026, 11, 21, 20, 0, tzinfo=IST)
        rows.append(("111", to_ts(ts), kwh, None if missing else round(balance, 2)))
    # the IST midnight boundary: 18:29:59Z is 23:59:59 IST on the 22nd, 18:30:00Z is 00:00 on the 23rd
    rows += [("111", "2026-11-22T18:29:59Z", 0.125, 5.5), ("111", "2026-11-23T18:30:00Z", 0.25, None)]
    with transaction(conn):
        storage.readings.insert_readings(conn, rows)
        storage.readings.insert_readings(conn, [("222", to_ts(start), 9.0, 1.0)])
        storage.readings.insert_recharges(
            conn,
            [
                # 20 Nov: a day with recharges and no readings
                {"consumer_id": "111", "ts": "2026-11-20T06:00:00Z", "amount_inr": 500.0},
                {"consumer_id": "111", "ts": "2026-11-20T09:00:00Z", "amount_inr": 250.0},
                {"consumer_id": "111", "ts": "2026-11-21T18:29:00Z", "amount_inr": 100.0},  # 23:59 IST
                # 30 Nov: after the last reading
                {"consumer_id": "111", "ts": "2026-11-30T06:00:00Z", "amount_inr": 300.0},
                # 20 Dec: a month of days to roll up, more than one statement's worth
                {"consumer_id": "111", "ts": "2026-12-20T06:00:00Z", "amount_inr": 200.0},
            ],
        )
        storage.readings.refresh_daily(conn, "111")
    expected = _reference_daily(conn, "111")
    assert [row[1] for row in expected] == [
        "2026-11-18",
        "2026-11-19",
        "2026-11-20",
        "2026-11-21",
        "2026-11-22",
        "2026-11-23",
        "2026-11-24",
        "2026-11-30",
        "2026-12-20",
    ]
    by_day = {row[1]: row for row in expected}
    assert by_day["2026-11-20"][2:] == (None, 0, None, None, 750.0)  # recharge only
    assert by_day["2026-11-21"][5] is not None and by_day["2026-11-21"][6] == 100.0
    assert by_day["2026-11-24"][3] == 1 and by_day["2026-11-24"][5] is None  # no balance that day
    assert _stored_daily(conn, "111") == expected

    # Refreshing day ranges (as an import does) gives the same rows and leaves other days alone.
    with transaction(conn):
        conn.execute("UPDATE daily SET kwh = -1 WHERE consumer_id = '111' AND day = '2026-11-18'")
        conn.execute("DELETE FROM daily WHERE consumer_id = '111' AND day > '2026-11-18'")
        storage.readings.refresh_daily(conn, "111", "2026-11-19", "2026-11-21")
        storage.readings.refresh_daily(conn, "111", dt.date(2026, 11, 22), "9999-12-31")
        storage.readings.refresh_daily(conn, "111", "2026-11-25", "2026-11-24")  # an empty range: no change
    stored = _stored_daily(conn, "111")
    assert stored[0][2] == -1
    assert stored[1:] == expected[1:]
    assert _stored_daily(conn, "222") == []  # never refreshed


def test_recharge_identity_is_the_reference_when_there_is_one(conn):
    """Migration 0005 (issue 11 section 2): the recharge-identity case's rows through the write path."""
    from tests.factories import add_consumer

    add_consumer(conn, "201000001")
    rows = [
        {
            "consumer_id": "201000001",
            "ts": "2026-11-24T13:32:00Z",
            "amount_inr": 500.0,
            "reference": "UPI-884101",
        },
        {
            "consumer_id": "201000001",
            "ts": "2026-11-24T13:32:00Z",
            "amount_inr": 500.0,
            "reference": "UPI-884102",
        },
        # a refund of a payment that never reached the balance: stored, not counted on it
        {
            "consumer_id": "201000001",
            "ts": "2026-11-27T04:30:00Z",
            "amount_inr": -300.0,
            "reference": "UPI-884250",
            "kind": "refund",
            "status": "REFUND",
        },
    ]
    assert storage.readings.insert_recharges(conn, rows) == 3
    # The DISCOM's history of the same two recharges, with seconds: the same references, stored once.
    again = [
        {
            "consumer_id": "201000001",
            "ts": "2026-11-24T13:32:41Z",
            "amount_inr": 500.0,
            "reference": "UPI-884101",
        },
        {
            "consumer_id": "201000001",
            "ts": "2026-11-24T13:32:58Z",
            "amount_inr": 500.0,
            "reference": "UPI-884102",
        },
    ]
    assert storage.readings.insert_recharges(conn, again) == 0
    # Without a reference: consumer, time and amount (also against a stored row that has one).
    bare = {"consumer_id": "201000001", "ts": "2026-11-24T13:32:00Z", "amount_inr": 500.0}
    assert storage.readings.insert_recharges(conn, [bare]) == 0
    assert storage.readings.insert_recharges(conn, [{**bare, "ts": "2026-11-25T13:32:00Z"}]) == 1
    assert storage.readings.insert_recharges(conn, [{**bare, "ts": "2026-11-25T13:32:00Z"}]) == 0
    storage.readings.refresh_daily(conn, "201000001")
    paid = dict(
        conn.execute("SELECT day, recharge_inr FROM daily WHERE consumer_id = '201000001'").fetchall()
    )
    assert paid["2026-11-24"] == 1000.0 and paid["2026-11-25"] == 500.0 and "2026-11-27" not in paid
    kinds = conn.execute("SELECT kind, count(*) FROM recharges GROUP BY kind ORDER BY kind").fetchall()
    assert [tuple(k) for k in kinds] == [("recharge", 3), ("refund", 1)]


def test_refresh_daily_minutes_peak_kw_and_export_follow_each_readings_interval(conn):
    """The SQL roll-up gives each reading the interval lib.quality.reading_minutes gives it (one rule):
    30-minute readings, a change to 15 minutes, a missing hour, a 5-minute stretch, export on some."""
    add_consumer(conn, "111")
    stamps = [dt.datetime(2026, 11, 23, 18, 30, tzinfo=UTC) + dt.timedelta(minutes=30 * i) for i in range(20)]
    last = stamps[-1]
    stamps += [last + dt.timedelta(minutes=15 * i) for i in range(1, 9)]
    last = stamps[-1] + dt.timedelta(minutes=75)  # a missing hour
    stamps += [last + dt.timedelta(minutes=15 * i) for i in range(6)]
    last = stamps[-1]
    stamps += [last + dt.timedelta(minutes=5 * i) for i in range(1, 13)]
    rng = random.Random(3)  # noqa: S311 - test data
    rows = [
        ("111", to_ts(ts), round(rng.uniform(0.0, 0.5), 3), None, 0.2 if i % 4 == 0 else None)
        for i, ts in enumerate(stamps)
    ]
    with transaction(conn):
        storage.readings.insert_readings(conn, rows)
        storage.readings.refresh_daily(conn, "111")
    frame = pd.DataFrame({"ts": pd.to_datetime([r[1] for r in rows], utc=True), "kwh": [r[2] for r in rows]})
    minutes = quality.reading_minutes(frame)
    assert sorted(set(minutes)) == [5.0, 15.0, 30.0]  # the missing hour is not a 75-minute interval
    kw = frame["kwh"] / (minutes / 60)
    ((day, minutes_covered, peak_kw, export),) = conn.execute(
        "SELECT day, minutes, peak_kw, export_kwh FROM daily WHERE consumer_id = '111'"
    ).fetchall()
    assert day == "2026-11-24"
    assert minutes_covered == pytest.approx(minutes.sum())
    assert peak_kw == pytest.approx(kw.max())
    assert export == pytest.approx(0.2 * len(range(0, len(rows), 4)))


def test_refresh_daily_with_the_importers_known_days_gives_the_same_rows(conn):
    """``known_days`` (issue 11, benchmark): a day whose stored count matches the caller's takes its step
    from the caller; any other day of the range is checked reading by reading. Even 30- and 15-minute
    days, a change of capture period, a lone reading, a day with readings stored before (count differs:
    a wrong claimed step is ignored) and a day the caller does not know give the rows the SQL check gives."""
    from lib.importing.write import day_grids

    add_consumer(conn, "111")
    start = dt.datetime(2026, 11, 19, 18, 30, tzinfo=UTC)  # 00:00 IST on 20 Nov
    day = dt.timedelta(days=1)
    stamps = [start + dt.timedelta(minutes=30 * i) for i in range(48)]  # 20 Nov: 30 minutes
    stamps += [start + day + dt.timedelta(minutes=15 * i) for i in range(96)]  # 21 Nov: 15 minutes
    stamps += [start + 2 * day + dt.timedelta(minutes=30 * i) for i in range(20)]  # 22 Nov: 30, then 10
    stamps += [stamps[-1] + dt.timedelta(minutes=10 * i) for i in range(1, 30)]
    stamps += [start + 3 * day + dt.timedelta(hours=7)]  # 23 Nov: one reading
    earlier = [start + 4 * day + dt.timedelta(minutes=30 * i) for i in range(0, 48, 2)]  # 24 Nov, hourly
    stamps += [start + 4 * day + dt.timedelta(minutes=30 * i) for i in range(1, 48, 2)]  # + the half hours
    unknown = [start + 5 * day + dt.timedelta(minutes=5 * i) for i in range(12)]  # 25 Nov: not told
    rng = random.Random(11)  # noqa: S311 - test data
    rows = [("111", to_ts(ts), round(rng.uniform(0.0, 0.6), 3), 100.0 - i) for i, ts in enumerate(stamps)]
    with transaction(conn):
        storage.readings.insert_readings(conn, [("111", to_ts(ts), 0.3, None) for ts in earlier + unknown])
        storage.readings.insert_readings(conn, rows)
        storage.readings.refresh_daily(conn, "111")
    expected = _stored_daily(conn, "111")
    minutes = {row[0]: tuple(row) for row in conn.execute("SELECT day, minutes, peak_kw FROM daily")}
    # 22 Nov: 19 half hours, then 30 readings of 10 minutes (the last takes the gap before it)
    assert [m[1] for m in minutes.values()] == [1440.0, 1440.0, 19 * 30 + 30 * 10, 30.0, 1440.0, 60.0]

    known = day_grids([row[1] for row in rows], {})
    assert known["2026-11-20"] == (48, 30.0) and known["2026-11-21"] == (96, 15.0)
    assert known["2026-11-22"] == (49, None) and known["2026-11-23"] == (1, None)
    assert known["2026-11-24"] == (24, 60.0)  # the file's hourly half: 24 stored readings more that day
    with transaction(conn):
        conn.execute("DELETE FROM daily")
        storage.readings.refresh_daily(conn, "111", "2026-11-20", "2026-11-25", known_days=known)
    assert _stored_daily(conn, "111") == expected
    assert [tuple(r) for r in conn.execute("SELECT day, minutes, peak_kw FROM daily")] == list(
        minutes.values()
    )


def test_a_reading_of_an_unknown_consumer_is_never_stored(conn):
    """The foreign key readings -> consumers stays on both engines (BENCHMARKS.md section 5: no measurable
    COPY cost with timestamptz): plain, fill-export and conflict paths all refuse an unknown consumer, the
    whole batch with it; and deleting a consumer deletes its readings."""
    refused = storage.StorageError  # the driver's foreign-key error, as storage's own
    add_consumer(conn, "111")
    known = ("111", "2026-11-24T18:30:00Z", 0.5, 10.0, None)
    stranger = ("999", "2026-11-24T18:30:00Z", 0.5, 10.0, None)
    for rows, fill in (([known, stranger], False), ([known, stranger], True)):
        with pytest.raises(refused), transaction(conn):
            storage.readings.insert_readings(conn, rows, fill_export=fill)
        assert conn.execute("SELECT count(*) FROM readings").scalar() == 0
    with transaction(conn):
        assert storage.readings.insert_readings(conn, [known]) == 1
    with pytest.raises(refused), transaction(conn):  # a stored reading sends the batch through the upsert
        storage.readings.insert_readings(conn, [known, stranger])
    assert conn.execute("SELECT consumer_id FROM readings").fetchall() == [("111",)]
    conn.execute("DELETE FROM consumers WHERE consumer_id = '111'")
    assert conn.execute("SELECT count(*) FROM readings").scalar() == 0


def test_reads_for_some_connections_are_the_whole_read_cut_the_same_way(conn):
    """Arrears, adjustments, anchors, meter events and recharges read for ``consumer_ids`` are the account's
    whole read cut as storage always cut them (``isin``, the read's order, a fresh index, the same columns
    and dtypes; lib.frames.for_connections), for one, several (in any order), unknown, another household's
    and no IDs; and lib.ledger.LedgerInputs.of gives what read_ledger_inputs reads for the same IDs."""
    from lib import ledger

    owner = seed_household(conn, 4, days=10)
    ids = [f"10{index:08d}" for index in (1, 2, 3, 4)]  # 1000000003 has no readings
    add_consumer(conn, "999", mobile=STRANGER)
    stranger = storage.accounts.create_account(conn, STRANGER, now=LINKED_AT)
    with transaction(conn):
        storage.accounts.insert_link(conn, stranger, "999", "Theirs", now=LINKED_AT)
    start = dt.datetime(2026, 11, 20, tzinfo=IST)
    add_readings(conn, "999", start, [0.2] * 48, balance=100.0, recharges={3: 40.0})
    for n, cid in enumerate([*ids, *ids]):  # entries of every connection, interleaved in time
        day = f"2026-11-{18 + n:02d}"
        assert storage.ledger.insert_arrear(
            conn,
            owner,
            cid,
            amount_inr=100.0 + n,
            start_day=day,
            method="daily",
            share=None,
            daily_inr=5.0,
            note=f"arrear {n}" if n % 2 else None,
        )
        assert storage.ledger.insert_adjustment(
            conn, owner, cid, day=day, amount_inr=10.0 - n, reason=f"r{n}"
        )
        assert storage.anchors.insert_anchor(conn, owner, cid, day, 500.0 + n)
        ts = to_ts(dt.datetime(2026, 11, 18, 6, tzinfo=UTC) + dt.timedelta(hours=7 * n))
        with transaction(conn):
            storage.meter_events.insert_meter_events(
                conn, [{"consumer_id": cid, "ts": ts, "kind": "glitch", "line": n + 2, "detail": None}]
            )
        add_readings(conn, cid, start + dt.timedelta(hours=n), [0.1], balance=50.0, recharges={0: 25.0 + n})
    reads = {
        "arrears": storage.ledger.arrears_frame,
        "adjustments": storage.ledger.adjustments_frame,
        "anchors": storage.anchors.anchors_frame,
        "meter_events": storage.meter_events.meter_events_frame,
        "recharges": storage.readings.recharges_frame,
    }
    for name, read in reads.items():
        whole = read(conn, owner)
        assert set(whole["consumer_id"]) == set(ids), name  # every connection's rows; not the stranger's
        for wanted in ([ids[1]], [ids[3], ids[0]], ids, ["999"], ["nope"], []):
            got = read(conn, owner, wanted)
            expected = whole[whole["consumer_id"].isin(list(wanted))].reset_index(drop=True)  # the old cut
            if set(wanted) & set(ids):
                assert len(expected) >= 2, (name, wanted)
                pd.testing.assert_frame_equal(got, expected, check_exact=True)
                continue
            # No row: the same columns and dtypes, but a ts parsed from no text at all (meter events and
            # recharges parse it after the cut, as they always did) gets pandas' resolution for nothing.
            assert got.empty and list(got.columns) == list(whole.columns), (name, wanted)
            timed = "ts" in got.columns
            pd.testing.assert_frame_equal(got, expected, check_exact=True, check_dtype=not timed)
            if timed:
                assert str(got["ts"].dt.tz) == "UTC"
                assert got.drop(columns="ts").dtypes.equals(expected.drop(columns="ts").dtypes)
    everything = ledger.read_ledger_inputs(conn, owner)
    for wanted in ([ids[1]], [ids[3], ids[0]], ["999"], []):
        cut, read_so = everything.of(wanted), ledger.read_ledger_inputs(conn, owner, wanted)
        for part in ("arrears", "adjustments", "anchors"):
            pd.testing.assert_frame_equal(getattr(cut, part), getattr(read_so, part), check_exact=True)
        assert cut.details is everything.details
