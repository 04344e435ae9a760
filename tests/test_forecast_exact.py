"""The run-out simulation equals main's before issue 15's numpy expected units and pricing, exactly.

:func:`lib.forecast.simulate` reads each connection's ledger columns once and filters them with numpy masks
(h48), and works out the expected units on day numbers with numpy, the month's running units with pandas'
compensated sum, the summary and path frames from typed columns (h58); main 22975ce's module is kept in
``tests/forecast_reference.py`` (itself tested equal to the frame-filter version before h48). Both give the
same summary and path frames (``assert_frame_equal``, exact, dtypes included) per connection and for whole
households, on generated ledgers (``build_ledger`` of generated connections: gaps, partial days, estimated
and unknown balances, recharges, arrears both ways, anchors, net metering, every category), 150 generated
ledger-like households (histories of 1 day to 800, around the level, weekday and season windows, leap days,
year turns, shops closed on Sundays, seasons clipped, negative balances, units in s / us / ns), the demo
household on several days, the shared cases and hand-made inputs the numpy path leaves to pandas.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from lib import demo, forecast, ledger, storage
from tests import forecast_reference
from tests.factories import FIXED_NOW
from tests.test_ledger_exact import CASE_IMPORTS, CATEGORIES, TODAY, _connection, import_case


def _same(rows: pd.DataFrame, details: pd.DataFrame, today: dt.date, **kwargs: object) -> forecast.Forecast:
    """simulate(...) by the numpy path, asserted equal to the reference's (summary and path)."""
    new = forecast.simulate(rows, details, today, **kwargs)  # type: ignore[arg-type]
    old = forecast_reference.simulate(rows, details, today, **kwargs)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(new.summary, old.summary, check_exact=True)
    pd.testing.assert_frame_equal(new.path, old.path, check_exact=True)
    return new


@pytest.mark.parametrize("seed", range(4))
def test_generated_connections_equal_the_frame_filters(seed):
    rng = np.random.default_rng(4800 + seed)
    parts = [_connection(rng, f"{seed}{k:04d}") for k in range(40)]
    summaries = []
    for today in (TODAY, TODAY - dt.timedelta(days=37)):
        household = []
        for part in parts:
            rows = ledger.build_ledger(
                part["daily"],
                part["details"],
                arrears=part["arrears"],
                adjustments=part["adjustments"],
                anchors=part["anchors"],
                today=TODAY,
            )
            if not len(rows):
                continue
            household.append((rows, part["details"], part["arrears"]))
            for arrears in (part["arrears"], None):  # the dashboard's per-connection call
                summaries.append(_same(rows, part["details"], today, arrears=arrears).summary)
        # One call for all of them: the group-by path, connections in order of first appearance
        rows = pd.concat([h[0] for h in household], ignore_index=True)
        details = pd.concat([h[1] for h in household], ignore_index=True)
        arrears = pd.concat([h[2] for h in household if len(h[2])], ignore_index=True)
        _same(rows, details, today, arrears=arrears)
        _same(rows.sample(frac=1.0, random_state=seed, ignore_index=True), details, today, arrears=arrears)
        _same(rows, details.iloc[::2], today)  # connections without details: no forecast, same rows
    every = pd.concat(summaries, ignore_index=True)
    days_left = every["days_left"]
    # The generated households reach every branch: finite run-outs, never, exhausted, unknown; burns
    assert (np.isfinite(days_left) & (days_left > 0)).any() and np.isinf(days_left).any()
    assert (days_left == 0).any() and days_left.isna().any()
    assert every["burn_7_inr"].notna().any() and every["estimated"].any()


def test_the_demo_household_equals_the_frame_filters(tmp_path):
    conn = storage.connect(tmp_path / "demo.db")
    try:
        storage.migrate(conn)
        summary = demo.seed_demo(conn, now=dt.datetime.fromisoformat(FIXED_NOW.replace("Z", "+00:00")))
        account = int(summary["account_id"])
        details = conn.accounts.connection_details(account)
        arrears = conn.ledger.arrears_frame(account, None)
        rows = ledger.load_ledger(conn, account, None, today=TODAY)
    finally:
        conn.close()
    for today in (TODAY, dt.date(2026, 11, 30), dt.date(2026, 12, 1)):
        whole = _same(rows, details, today, arrears=arrears)
        assert len(whole.path) and whole.summary["days_left"].notna().all()
        for cid, own in rows.groupby("consumer_id", sort=False):
            _same(own.reset_index(drop=True), details[details["consumer_id"].astype(str) == cid], today)


@pytest.mark.parametrize("case", sorted(CASE_IMPORTS))
def test_the_shared_cases_equal_the_frame_filters(monkeypatch, tmp_path, case):
    db, folder = import_case(monkeypatch, tmp_path, case)
    with storage.open_db(db) as conn:
        consumers = [str(c) for c in pd.read_csv(folder / "consumers.csv", dtype=str)["consumer_id"]]
        for consumer in consumers:
            details = conn.operator.consumer_details(consumer)
            daily = conn.operator.consumer_daily_frame(consumer)
            if not len(details) or not len(daily):
                continue
            anchors = conn.anchors.consumer_anchors_frame(consumer)
            rows = ledger.build_ledger(daily, details, anchors=anchors, today=dt.date(2026, 11, 28))
            if len(rows):
                _same(rows, details, dt.date(2026, 11, 28))


# --- h58: the expected units and the month's running units on numpy, against main 22975ce ---------------------

STATUSES = np.array(["ok", "ok", "ok", "ok", "unexplained", "start", "incomplete", "no_readings"])
# Last days of the generated histories: a leap day, just after one, a year's turn, a tariff version's
# turn (1 Apr 2026), the suite's day, a month's first day.
LAST_DAYS = ("2028-02-29", "2028-03-09", "2029-03-02", "2027-01-02", "2026-04-02", "2026-11-25", "2026-12-01")
LENGTHS = (1, 2, 3, 4, 20, 27, 28, 29, 40, 55, 56, 57, 90, 200, 329, 330, 331, 365, 366, 367, 420, 800)


def _ledger(rng: np.random.Generator, cid: str, last: pd.Timestamp, unit: str) -> pd.DataFrame:
    """Ledger-like rows of one connection (the columns forecast reads): gaps, zero and missing days, a shop
    closed on Sundays, a season, partial days, recharges, balances unknown, negative or estimated."""
    n = int(rng.choice(LENGTHS))
    days = pd.date_range(end=last, periods=n).as_unit(unit)
    keep = rng.random(n) >= rng.choice([0.0, 0.03, 0.2])  # days without a row
    keep[-1] = True
    days = days[keep]
    n = len(days)
    season = np.maximum(
        1.0 + rng.choice([0.0, 0.3, 3.0]) * np.sin(days.month.to_numpy() / 12 * 2 * np.pi), 0.1
    )
    kwh = np.round(rng.gamma(2.0, rng.choice([0.5, 4.0, 15.0]), n) * season, int(rng.choice([2, 3, 5])))
    if rng.random() < 0.3:
        kwh[days.day_of_week.to_numpy() == 6] = 0.0  # closed on Sundays
    kwh[rng.random(n) < 0.05] = 0.0
    kwh[rng.random(n) < 0.04] = np.nan
    status = rng.choice(STATUSES, n)
    status[-1] = str(rng.choice(["today", "ok", "incomplete"]))
    recharge = np.where(rng.random(n) < 0.05, rng.choice([100.0, 500.0, 1000.0], n), 0.0)
    recharge[rng.random(n) < 0.02] = np.nan
    balance = (
        float(rng.choice([-40.0, 0.0, 35.0, 400.0, 3000.0, 90000.0]))
        + np.cumsum((recharge[::-1] if rng.random() < 0.5 else 0) + rng.uniform(5, 90, n))[::-1]
    )
    balance = np.round(balance, 2)
    balance[rng.random(n) < 0.05] = np.nan
    if rng.random() < 0.1:
        balance[:] = np.nan
    return pd.DataFrame(
        {
            "consumer_id": cid,
            "nickname": f"Meter {cid}",
            "day": days,
            "units": kwh,
            "status": status,
            "balance_inr": balance,
            "estimated": rng.random(n) < 0.2,
            "recharge_inr": recharge,
            "arrears_outstanding_inr": float(rng.choice([0.0, 0.0, 250.0])),
        }
    )


def _arrears(rng: np.random.Generator, cid: str, rows: pd.DataFrame) -> pd.DataFrame:
    """0-2 arrears of either method starting somewhere in (or just before) the history."""
    starts = rows["day"].iloc[rng.integers(0, len(rows), 2)] - pd.to_timedelta(
        rng.integers(0, 20, 2), unit="D"
    )
    return pd.DataFrame(
        [
            {
                "arrear_id": k + 1,
                "consumer_id": cid,
                "amount_inr": float(rng.choice([150.0, 900.0, 24000.0])),
                "start_day": starts.iloc[k].date().isoformat(),
                "method": method,
                "share": 0.25 if method == "recharge_share" else None,
                "daily_inr": 30.0 if method == "daily" else None,
            }
            for k, method in enumerate(rng.choice(ledger.ARREAR_METHODS, int(rng.choice([0, 0, 1, 2]))))
        ],
        columns=["arrear_id", "consumer_id", "amount_inr", "start_day", "method", "share", "daily_inr"],
    )


def _household(rng: np.random.Generator, k: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dt.date]:
    """1-4 connections with their details (every category, a category without a tariff, a connection
    without details) and arrears, and the day to simulate from."""
    last = pd.Timestamp(str(rng.choice(LAST_DAYS)))
    today = (last + pd.Timedelta(days=int(rng.choice([0, 0, 1, 3])))).date()
    unit = str(rng.choice(["s", "us", "ns"]))
    parts, facts, owed = [], [], []
    for j in range(int(rng.integers(1, 5))):
        cid = f"{k:03d}{j}"
        rows = _ledger(rng, cid, last - pd.Timedelta(days=int(rng.choice([0, 0, 0, 9]))), unit)
        parts.append(rows)
        category = str(rng.choice([*CATEGORIES, "LT-X"] if rng.random() < 0.05 else CATEGORIES))
        if rng.random() > 0.05:
            facts.append((cid, category, float(rng.choice([0.5, 1.0, 2.0, 3.7]))))
        owed.append(_arrears(rng, cid, rows))
    details = pd.DataFrame(facts, columns=["consumer_id", "tariff_category", "sanctioned_load_kw"])
    return pd.concat(parts, ignore_index=True), details, pd.concat(owed, ignore_index=True), today


def test_random_households_equal_main():
    """150 generated households (per connection, as one call, with and without arrears), exact."""
    rng = np.random.default_rng(5800)
    fast = total = 0
    summaries = []
    for k in range(150):
        rows, details, arrears, today = _household(rng, k)
        summaries.append(_same(rows, details, today, arrears=arrears).summary)
        if len(arrears) and k % 2:
            _same(rows, details, today)  # without the arrears frame: free units held while owed
        for cid, own in rows.groupby("consumer_id", sort=False):
            own = own.reset_index(drop=True)
            if k % 3 == 0 and len(own) < len(rows):  # the dashboard's call: one connection's rows
                _same(own, details, today, arrears=arrears[arrears["consumer_id"] == cid])
            complete = own[(own["day"] < pd.Timestamp(today)) & ~own["status"].isin(forecast._PARTIAL)]
            complete = complete[complete["units"].notna()]
            if len(complete) >= forecast.MIN_LEVEL_DAYS:
                total += 1
                days = pd.date_range(today, periods=forecast.HORIZON_DAYS).as_unit(complete["day"].dt.unit)
                fast += (
                    forecast._expected_units(complete["day"].to_numpy(), complete["units"].to_numpy(), days)
                    is not None
                )
    assert fast == total > 200  # the numpy path answered every generated history
    every = pd.concat(summaries, ignore_index=True)
    days_left = every["days_left"]
    assert (np.isfinite(days_left) & (days_left > 0)).any() and np.isinf(days_left).any()
    assert (days_left == 0).any() and days_left.isna().any() and every["next_30_inr"].notna().sum() > 100


def test_expected_units_equal_pandas_on_random_histories():
    """The numpy expected units are the pandas ones (main's ``_expected_units``), bit for bit, on 1,500
    histories: every length around the windows, gaps, zeros, leap days, year turns, factors clipped."""
    rng = np.random.default_rng(5801)
    seasons = 0
    for _ in range(1500):
        last = pd.Timestamp(str(rng.choice(LAST_DAYS))) + pd.Timedelta(days=int(rng.integers(-400, 400)))
        n = int(rng.choice(LENGTHS))
        day = pd.date_range(end=last, periods=n).as_unit(str(rng.choice(["s", "ms", "us", "ns"])))
        day = day[(rng.random(n) >= rng.choice([0.0, 0.1, 0.5])) | (np.arange(n) == n - 1)]
        scale = rng.choice([0.001, 1.0, 7.3, 1e4])
        units = np.round(rng.gamma(1.5, scale, len(day)) * (1 + 5 * (day.month.to_numpy() % 3 == 0)), 3)
        units[rng.random(len(day)) < 0.1] = 0.0
        if rng.random() < 0.05:
            units[:] = 0.0
        start = last + pd.Timedelta(days=int(rng.choice([1, 1, 2])))
        days = pd.date_range(start, periods=int(rng.choice([1, 30, 366])), freq="D").as_unit(day.unit)
        history = pd.Series(units, index=pd.Index(day, name="day"), name="units")
        expected = forecast._expected_units(day.to_numpy(), units, days)
        assert expected is not None
        np.testing.assert_array_equal(
            expected, forecast_reference._expected_units(history, days), strict=True
        )
        seasons += (day[-1] - day[0]).days >= forecast.SEASON_HISTORY_DAYS
    assert seasons > 250


def _kahan_means(keys: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """A Kahan-compensated mean per key, in row order (what pandas does only when the keys are not in order)."""
    sums, comps, counts = [0.0] * size, [0.0] * size, [0] * size
    for key, value in zip(keys.tolist(), values.tolist(), strict=True):
        y = value - comps[key]
        t = sums[key] + y
        comps[key] = t - sums[key] - y
        sums[key] = t
        counts[key] += 1
    return np.array([total / n if n else math.nan for total, n in zip(sums, counts, strict=True)])


def test_the_group_means_are_pandas_own_whether_the_keys_come_in_order_or_not():
    """``_group_means`` is pandas' group-by mean bit for bit, keys in order (pandas sums them by
    ``np.add.reduceat``) or shuffled (a Kahan-compensated sum): the cases tell the two sums apart."""
    rng = np.random.default_rng(5803)
    told_apart = 0
    for trial in range(600):
        n = int(rng.integers(2, 400))
        keys = np.sort(rng.integers(1, 13, n)) if trial % 2 == 0 else rng.integers(1, 13, n)
        values = np.round(rng.gamma(1.5, float(rng.choice([1.0, 7.3, 100.0])), n), int(rng.choice([1, 2, 3])))
        means, counts = forecast._group_means(keys, values, 13)
        grouped = pd.Series(values).groupby(keys)
        want = np.full(13, math.nan)
        want[grouped.mean().index.to_numpy()] = grouped.mean().to_numpy()
        np.testing.assert_array_equal(means, want, strict=True)
        assert counts.tolist() == [int((keys == k).sum()) for k in range(13)]
        told_apart += not np.array_equal(means, _kahan_means(keys, values, 13), equal_nan=True)
    assert told_apart > 50


def test_a_year_inside_one_calendar_year_equals_main():
    """Review's case: a meter installed on 1 Jan, forecast on 1 Dec, so the last 365 days' months come in
    order and pandas sums each month by ``np.add.reduceat``; a Kahan sum made April's expected kWh 4.848
    instead of 4.847 and the run-out 1 Apr 2027 instead of 2 Apr."""
    april = [
        3.625,
        8.122,
        3.111,
        2.817,
        6.713,
        5.985,
        1.388,
        1.672,
        4.017,
        7.661,
        4.206,
        7.296,
        3.531,
        2.914,
        7.333,
    ]
    april += [
        8.011,
        1.634,
        1.468,
        6.37,
        3.688,
        5.589,
        2.202,
        7.88,
        4.602,
        8.159,
        7.37,
        6.642,
        2.845,
        7.136,
        1.438,
    ]
    day = pd.date_range("2026-01-01", "2026-11-30")
    kwh = np.full(len(day), 4.0)
    kwh[day.month == 4] = april
    details = pd.DataFrame(
        {
            "consumer_id": ["501"],
            "nickname": ["Shop"],
            "tariff_category": ["NDS-II"],
            "sanctioned_load_kw": [2.0],
        }
    )
    today = dt.date(2026, 12, 1)
    for balance in (5624.28, 5624.27, 20000.0):
        closing = np.full(len(day), np.nan)
        closing[-1] = balance
        daily = pd.DataFrame(
            {
                "consumer_id": "501",
                "nickname": "Shop",
                "day": day,
                "kwh": kwh,
                "intervals": 48,
                "peak_kwh": 0.5,
                "closing_balance_inr": closing,
                "recharge_inr": 0.0,
            }
        )
        got = _same(ledger.build_ledger(daily, details, today=today), details, today)
        april_units = got.path.loc[got.path["day"] == pd.Timestamp("2027-04-01"), "units"]
        assert april_units.tolist() in ([], [4.847])
        if balance == 5624.28:
            assert got.summary["run_out_day"].iloc[0] == pd.Timestamp("2027-04-02")


def test_the_months_running_units_equal_pandas_cumsum():
    rng = np.random.default_rng(5802)
    for _ in range(500):
        n = int(rng.integers(1, 400))
        values = np.round(rng.gamma(2.0, rng.choice([0.1, 3.0, 500.0]), n), int(rng.choice([1, 3, 9])))
        values[rng.random(n) < 0.03] = np.nan
        starts = rng.random(n) < rng.choice([0.03, 0.3])
        starts[0] = True
        expected = pd.Series(values).groupby(np.cumsum(starts)).cumsum().to_numpy()
        np.testing.assert_array_equal(forecast._running_sums(values, starts), expected, strict=True)


def test_a_year_before_is_pandas_dateoffset():
    days = pd.date_range("2023-01-01", "2030-12-31")
    numbers = days.to_numpy().astype("datetime64[D]").astype(np.int64)
    expected = (days - pd.DateOffset(years=1)).to_numpy().astype("datetime64[D]").astype(np.int64)
    np.testing.assert_array_equal(forecast._year_before(numbers), expected)
    leap = np.array(["2028-02-29", "2029-03-01", "2027-01-01"], dtype="datetime64[D]").astype(np.int64)
    assert forecast._year_before(leap).astype("datetime64[D]").astype(str).tolist() == [
        "2027-02-28",
        "2028-03-01",
        "2026-01-01",
    ]


def _one_connection(days: pd.DatetimeIndex | list, **extra: object) -> pd.DataFrame:
    n = len(days)
    rng = np.random.default_rng(n)
    return pd.DataFrame(
        {
            "consumer_id": "501",
            "nickname": "Shop",
            "day": days,
            "units": np.round(rng.uniform(2, 9, n), 3),
            "status": "ok",
            "balance_inr": np.linspace(5000.0, 900.0, n),
            "estimated": False,
            "recharge_inr": 0.0,
            "arrears_outstanding_inr": 0.0,
            **extra,
        }
    )


SHOP = pd.DataFrame({"consumer_id": ["501"], "tariff_category": ["NDS-II"], "sanctioned_load_kw": [2.0]})
YEAR = pd.date_range("2025-11-01", "2026-11-24")


@pytest.mark.parametrize(
    ("name", "rows", "numpy_path"),
    [
        ("a year, in order", _one_connection(YEAR), True),
        ("rows shuffled", _one_connection(YEAR).sample(frac=1.0, random_state=1), True),
        ("a day twice", _one_connection(YEAR.append(YEAR[-40:-39])), False),
        ("a day twice, short history", _one_connection(YEAR[-30:].append(YEAR[-3:-2])), False),
        ("a time of day", _one_connection(YEAR + pd.Timedelta(hours=6)), False),
        ("tz-aware days", _one_connection(YEAR.tz_localize("Asia/Kolkata")), False),
        ("infinite kWh", _one_connection(YEAR, units=np.r_[np.ones(len(YEAR) - 1), np.inf]), False),
        ("absurd kWh", _one_connection(YEAR, units=np.full(len(YEAR), 3e12)), False),
        ("a leap day in the level", _one_connection(pd.date_range("2027-03-01", "2028-03-05")), True),
        ("no nickname", _one_connection(YEAR, nickname=None), True),
        ("integer IDs", _one_connection(YEAR, consumer_id=501), True),
        ("object statuses", _one_connection(YEAR, status=pd.Series(["ok"] * len(YEAR), dtype=object)), True),
    ],
)
def test_hand_made_cases_equal_main(name, rows, numpy_path):
    """Inputs the numpy expected units cannot answer go to pandas' (asserted), and every case gives main's
    frames (or main's error)."""
    today = (pd.Timestamp(rows["day"].max()).tz_localize(None) + pd.Timedelta(days=1)).date()
    day = rows.sort_values("day")["day"].to_numpy()
    complete = day[day < np.datetime64(pd.Timestamp(today))] if day.dtype.kind == "M" else day
    units = rows.sort_values("day")["units"].to_numpy()[: len(complete)]
    days = pd.date_range(today, periods=30)
    assert (forecast._expected_units(complete, units, days) is not None) is numpy_path, name
    details = SHOP.assign(consumer_id=501) if name == "integer IDs" else SHOP
    try:
        expected = forecast_reference.simulate(rows, details, today)
    except Exception as error:  # main's error is the new code's
        with pytest.raises(type(error)):
            forecast.simulate(rows, details, today)
        return
    new = forecast.simulate(rows, details, today)
    pd.testing.assert_frame_equal(new.summary, expected.summary, check_exact=True)
    pd.testing.assert_frame_equal(new.path, expected.path, check_exact=True)


@pytest.mark.parametrize("horizon", [0, 1, 2, 31])
def test_short_horizons_and_empty_rows_equal_main(horizon):
    rows = _one_connection(YEAR)
    for frame in (rows, rows.iloc[:0]):
        try:
            expected = forecast_reference.simulate(frame, SHOP, dt.date(2026, 11, 25), horizon_days=horizon)
        except Exception as error:
            with pytest.raises(type(error)):
                forecast.simulate(frame, SHOP, dt.date(2026, 11, 25), horizon_days=horizon)
            continue
        new = forecast.simulate(frame, SHOP, dt.date(2026, 11, 25), horizon_days=horizon)
        pd.testing.assert_frame_equal(new.summary, expected.summary, check_exact=True)
        pd.testing.assert_frame_equal(new.path, expected.path, check_exact=True)


def test_the_summary_from_typed_columns_is_the_records_frame():
    """``_summary_frame`` answers one or more rows of _one's types (days of one unit, or all NaT) and leaves
    the rest to the records path (asserted by the simulate comparisons above)."""
    stamp = pd.Timestamp("2026-11-25").as_unit("s")
    row = dict.fromkeys(forecast.SUMMARY_COLUMNS, math.nan)
    row.update(consumer_id="1", nickname="A", estimated=False, balance_day=stamp, run_out_day=pd.NaT)
    other = {**row, "consumer_id": "2", "balance_day": pd.NaT, "days_left": math.inf, "estimated": True}
    for rows in ([row], [row, other], [other]):
        expected = pd.DataFrame(rows, columns=list(forecast.SUMMARY_COLUMNS))
        expected["estimated"] = expected["estimated"].astype(bool)
        for column in ("balance_day", "run_out_day"):
            expected[column] = pd.to_datetime(expected[column])
        built = forecast._summary_frame(rows)
        assert built is not None
        pd.testing.assert_frame_equal(built, expected, check_exact=True)
    assert forecast._summary_frame([]) is None
    assert forecast._summary_frame([{**row, "nickname": None}]) is None
    assert forecast._summary_frame([row, {**other, "balance_day": stamp.as_unit("ns")}]) is None
