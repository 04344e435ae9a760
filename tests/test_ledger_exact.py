"""The ledger built with the vectorised day pricing equals the per-day path it replaced, exactly (issue 15).

``lib.ledger._connection_ledger`` prices all of a connection's days at once
(:func:`lib.tariff.day_charges_frame`) and keeps one loop for what is sequential; the per-day path (one
``tariff.day_charges`` call and one row dict per day) is kept in ``tests/ledger_reference.py``. Both
build the same frame (``pd.testing.assert_frame_equal``, exact) on the shared cases, the demo household
and a few hundred generated connections (every category, fractional loads, gaps, partial days, net
metering, arrears both ways, adjustments, anchors, late credits, version and month turns).
"""

from __future__ import annotations

import datetime as dt
import io
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lib import cli, demo, ledger, storage, tariff
from tests import ledger_reference
from tests.factories import FIXED_NOW

TODAY = dt.date(2026, 11, 25)
CASES = Path(__file__).resolve().parents[1].parent / "shared" / "cases"
CATEGORIES = ("KJ", "DS-I", "DS-II", "NDS-I", "NDS-II")


def _both(*args: object, **kwargs: object) -> pd.DataFrame:
    """build_ledger(*args, **kwargs) by the vectorised path, asserted equal to the per-day path's and to
    main's build before h59 (``main_build_ledger``)."""
    new = ledger.build_ledger(*args, **kwargs)  # type: ignore[arg-type]
    old = ledger_reference.per_day_build_ledger(*args, **kwargs)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(new, old, check_exact=True)
    main = ledger_reference.main_build_ledger(*args, **kwargs)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(new, main, check_exact=True)
    return new


def _connection(rng: np.random.Generator, cid: str) -> dict[str, pd.DataFrame]:
    """One generated connection: daily rows, details, arrears, adjustments, anchors."""
    first = pd.Timestamp("2025-03-20") + pd.Timedelta(days=int(rng.integers(0, 560)))
    n = int(rng.choice([1, 2, 12, 45, 120, 400]))
    days = pd.date_range(first, periods=n)
    days = days[days <= pd.Timestamp(TODAY)]
    if not len(days):
        days = pd.DatetimeIndex([pd.Timestamp(TODAY)])
    n = len(days)
    category = str(rng.choice(CATEGORIES))
    kwh = np.round(rng.gamma(2.0, rng.choice([1.5, 4.0, 12.0]), n), int(rng.choice([3, 4, 7])))
    kwh[rng.random(n) < 0.05] = 0.0
    kwh[rng.random(n) < 0.04] = np.nan
    intervals = np.where(np.isnan(kwh), 0, rng.choice([48, 48, 48, 96, 47, 24], n))
    net_metered = rng.random() < 0.15
    export = np.round(rng.uniform(0, 14, n), 3) if net_metered else None
    load = float(rng.choice([0.5, 1.0, 2.0, 2.25, 3.7, 0.1]))
    recharge = np.where(rng.random(n) < 0.06, rng.choice([100.0, 250.0, 500.0, 1000.0], n), 0.0)
    daily = pd.DataFrame(
        {
            "consumer_id": cid,
            "nickname": f"Meter {cid}",
            "day": days,
            "kwh": kwh,
            "intervals": intervals,
            "peak_kwh": 0.5,
            "closing_balance_inr": np.nan,
            "recharge_inr": recharge,
        }
    )
    if rng.random() < 0.5:
        daily["minutes"] = np.where(intervals == 47, 1410.0, intervals * 30.0)
    if export is not None:
        daily["export_kwh"] = export
    missing = rng.random(n) < 0.03  # days with no row at all: the calendar fills them
    if missing.any() and not missing.all():
        daily = daily[~missing].reset_index(drop=True)
    details = pd.DataFrame(
        {
            "consumer_id": [cid],
            "nickname": [f"Meter {cid}"],
            "tariff_category": [category],
            "sanctioned_load_kw": [load],
        }
    )
    # Metered balances that follow the tariff (the ledger's own closings from ₹800), then what meters do:
    # a deduction ₹25 off now and then, a recharge reaching the meter a day late, days without a balance,
    # a connection that reports none (estimated from an anchor, or unknown).
    start = pd.DataFrame([{"consumer_id": cid, "day": days[0].date().isoformat(), "balance_inr": 800.0}])
    follow = ledger.build_ledger(daily, details, anchors=start, today=TODAY)
    closing = (
        follow.set_index("day")["closing_inr"].reindex(daily["day"]).to_numpy() if len(follow) else np.nan
    )
    metered = np.round(np.asarray(closing, dtype=float) * np.ones(len(daily)), 2)
    metered += np.cumsum(np.where(rng.random(len(daily)) < 0.03, -25.0, 0.0))
    paid = daily["recharge_inr"].to_numpy()
    for i in np.flatnonzero(paid > 0):
        if rng.random() < 0.4:
            metered[i] -= paid[i]  # the credit shows on the next day's balance
    metered[rng.random(len(daily)) < 0.05] = np.nan
    if rng.random() < 0.15:
        metered[:] = np.nan
    daily["closing_balance_inr"] = metered
    arrears = pd.DataFrame(
        [
            {
                "arrear_id": k + 1,
                "consumer_id": cid,
                "amount_inr": float(rng.choice([150.0, 900.0, 2400.0])),
                "start_day": (days[int(rng.integers(0, n))] - pd.Timedelta(days=int(rng.integers(0, 20))))
                .date()
                .isoformat(),
                "method": method,
                "share": 0.25 if method == "recharge_share" else None,
                "daily_inr": 30.0 if method == "daily" else None,
            }
            for k, method in enumerate(rng.choice(ledger.ARREAR_METHODS, int(rng.choice([0, 0, 1, 2]))))
        ]
    )
    adjustments = pd.DataFrame(
        [
            {
                "consumer_id": cid,
                "day": days[int(rng.integers(0, n))].date().isoformat(),
                "amount_inr": float(a),
            }
            for a in rng.choice([-50.0, 20.5, 100.0], int(rng.choice([0, 0, 1, 3])))
        ]
    )
    anchors = pd.DataFrame(
        [
            {
                "consumer_id": cid,
                "day": days[int(rng.integers(0, n))].date().isoformat(),
                "balance_inr": float(b),
            }
            for b in rng.choice([-20.0, 300.0, 512.34], int(rng.choice([0, 1, 2])))
        ]
    )
    return {
        "daily": daily,
        "details": details,
        "arrears": arrears,
        "adjustments": adjustments,
        "anchors": anchors,
    }


@pytest.mark.parametrize("seed", range(6))
def test_generated_connections_equal_the_per_day_path(seed):
    rng = np.random.default_rng(4200 + seed)
    parts = [_connection(rng, f"{seed}{k:04d}") for k in range(50)]  # 300 connections over the seeds
    frames = {key: pd.concat([p[key] for p in parts], ignore_index=True) for key in parts[0]}
    rows = _both(
        frames["daily"],
        frames["details"],
        arrears=frames["arrears"],
        adjustments=frames["adjustments"],
        anchors=frames["anchors"],
        today=TODAY,
    )
    seen = set(rows["status"])
    assert {"ok", "start", "estimated", "unexplained", "today", "pending", "late_credit", "gap"} <= seen, seen
    assert rows["arrears_outstanding_inr"].gt(0).any() and rows["billed_units"].ne(rows["units"]).any()
    assert set(rows["tariff_version"]) <= {"FY2025-26", "FY2026-27"} and len(set(rows["tariff_version"])) == 2


def test_the_demo_household_equals_the_per_day_path(tmp_path):
    conn = storage.connect(tmp_path / "demo.db")
    try:
        storage.migrate(conn)
        summary = demo.seed_demo(conn, now=dt.datetime.fromisoformat(FIXED_NOW.replace("Z", "+00:00")))
        account = int(summary["account_id"])
        details = conn.accounts.connection_details(account)
        daily = conn.readings.daily_frame(account, None)
        frames = {
            "arrears": conn.ledger.arrears_frame(account, None),
            "adjustments": conn.ledger.adjustments_frame(account, None),
            "anchors": conn.anchors.anchors_frame(account, None),
        }
    finally:
        conn.close()
    rows = _both(daily, details, **frames, today=TODAY)
    assert len(rows) > 300 and rows["consumer_id"].nunique() == len(details)


CASE_IMPORTS = {
    "late-recharge-credit": [("import-readings", "readings.csv"), ("import-recharges", "recharges.csv")],
    "interval-length": [("import-readings", "period_change.csv"), ("import-readings", "hourly.csv"),
                        ("import-readings", "fifteen_minute.csv")],
    "negative-balance": [("import-readings", "balance_history.csv"), ("import-recharges", "recharges.csv")],
    "net-metering": [("import-readings", "net_metered_hourly.csv", "--id-col", "meter_number", "--id-kind",
                      "meter-serial", "--kwh-col", "net_kwh", "--kwh-kind", "net")],
    "recharge-identity": [("import-recharges", "discom_recharge_history.csv"),
                          ("import-recharges", "payments_export.csv", "--reference-col", "reference")],
    "register-glitch": [("import-readings", "zero_glitch.csv", "--consumer-id", "201000001", "--time-col",
                         "meter_time", "--kwh-col", "reading_kwh", "--kwh-kind", "register", "--skip-invalid")],
}  # fmt: skip


def import_case(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, case: str) -> tuple[str, Path]:
    """A fresh SQLite file with the shared ``case`` imported through the CLI's documented flags
    (:data:`CASE_IMPORTS`), the clock at 28 Nov 2026: ``(db, folder)``. Skips where ../shared is absent,
    fails under ``CI=true``."""
    folder = CASES / case
    if not folder.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the shared case is missing: {folder}")
        pytest.skip(f"shared case not found at {folder}")
    monkeypatch.setenv("METERMITRA_NOW", "2026-11-28T10:00:00+05:30")
    db = str(tmp_path / "case.db")
    assert cli.main(["--db", db, "import-consumers", str(folder / "consumers.csv")], out=io.StringIO()) == 0
    for command, name, *flags in CASE_IMPORTS[case]:
        if "--skip-invalid" in flags:  # the refused rows go to a file of ours, never beside the case
            flags = [*flags, "--rejects", str(tmp_path / "rejects.csv")]
        code = cli.main(
            ["--db", db, command, str(folder / name), *flags], out=io.StringIO(), err=io.StringIO()
        )
        assert code == 0, (case, name)
    return db, folder


@pytest.mark.parametrize("case", sorted(CASE_IMPORTS))
def test_the_shared_cases_equal_the_per_day_path(monkeypatch, tmp_path, case):
    db, folder = import_case(monkeypatch, tmp_path, case)
    compared = 0
    with storage.open_db(db) as conn:
        consumers = [str(c) for c in pd.read_csv(folder / "consumers.csv", dtype=str)["consumer_id"]]
        for consumer in consumers:
            details = conn.operator.consumer_details(consumer)
            daily = conn.operator.consumer_daily_frame(consumer)
            if not len(details) or not len(daily):
                continue
            anchors = conn.anchors.consumer_anchors_frame(consumer)
            rows = _both(daily, details, anchors=anchors, today=dt.date(2026, 11, 28))
            compared += len(rows)
    if case != "recharge-identity":  # recharges only: no readings, no ledger rows
        assert compared > 0


def test_tariff_errors_still_leave_a_connection_out():
    """A category the tariff file lacks: no rows by either path (listed by connections_without_ledger)."""
    rng = np.random.default_rng(1)
    part = _connection(rng, "77")
    part["details"]["tariff_category"] = "HT-1"
    rows = _both(part["daily"], part["details"], today=TODAY)
    assert rows.empty


def test_day_prices_are_day_charges_of_the_ledgers_own_units():
    """Each generated day's parts are ``tariff.day_charges`` of its billed units and month so far."""
    rng = np.random.default_rng(9)
    part = _connection(rng, "55")
    while len(part["daily"]) < 100:
        part = _connection(rng, "55")
    rows = _both(part["daily"], part["details"], arrears=part["arrears"], today=TODAY)
    fact = part["details"].iloc[0]
    book = tariff.load_tariffs()
    for row in rows.itertuples():
        before = row.units_month_to_date - row.billed_units
        c = tariff.day_charges(
            fact["tariff_category"], row.day.date(), row.billed_units,
            units_before=max(0.0, round(before, 6)), sanctioned_load_kw=fact["sanctioned_load_kw"],
            book=book if row.arrears_outstanding_inr == 0 else tariff.TariffBook(book.path, book.versions, ()),
        )  # fmt: skip
        assert abs(c.total - (row.energy_inr + row.fixed_inr + row.duty_inr - row.rebate_inr)) < 0.015


# --- h59: the numpy calendar and typed frame against main's build (main_build_ledger, 22975ce) -------


def _same_as_main(daily: pd.DataFrame, details: pd.DataFrame, **kwargs: object) -> pd.DataFrame | None:
    """build_ledger equal to main's build (exact, dtypes included), or both raising the same error type."""
    try:
        main = ledger_reference.main_build_ledger(daily, details, **kwargs)  # type: ignore[arg-type]
    except Exception as error:  # noqa: BLE001 - the same refusal is what is compared
        with pytest.raises(type(error)):
            ledger.build_ledger(daily, details, **kwargs)  # type: ignore[arg-type]
        return None
    new = ledger.build_ledger(daily, details, **kwargs)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(new, main, check_exact=True)
    return new


def _household(rng: np.random.Generator, number: int) -> dict[str, pd.DataFrame]:
    """1-4 generated connections of one household, their daily rows shuffled now and then."""
    parts = [_connection(rng, f"{number}{k:02d}") for k in range(int(rng.integers(1, 5)))]
    frames = {key: pd.concat([p[key] for p in parts], ignore_index=True) for key in parts[0]}
    if rng.random() < 0.3:
        frames["daily"] = frames["daily"].sample(frac=1.0, random_state=int(rng.integers(0, 1000)))
    return frames


@pytest.mark.parametrize("seed", range(3))
def test_random_households_equal_mains_build(seed):
    """180 random households (60 a seed): the positions' calendar answers every one, the same frames."""
    rng = np.random.default_rng(5900 + seed)
    statuses: set[str] = set()
    for number in range(60):
        frames = _household(rng, number)
        daily = frames.pop("daily")
        assert ledger._calendars(daily) is not None  # the numpy path answers a stored-shape frame
        rows = _same_as_main(daily, frames.pop("details"), **frames, today=TODAY)
        assert rows is not None
        statuses |= set(rows["status"])
    assert {
        "ok",
        "start",
        "estimated",
        "unexplained",
        "pending",
        "late_credit",
        "gap",
        "incomplete",
    } <= statuses


def _edge_daily() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two connections across a month and year end, a gap, a recharge credited late, a balance below zero."""
    rng = np.random.default_rng(11)
    parts = [_connection(rng, cid) for cid in ("801", "802")]
    while any(len(p["daily"]) < 40 for p in parts):
        parts = [_connection(rng, cid) for cid in ("801", "802")]
    daily = pd.concat([p["daily"] for p in parts], ignore_index=True)
    details = pd.concat([p["details"] for p in parts], ignore_index=True)
    return daily, details


def _twice(d: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([d, d.iloc[[3]]], ignore_index=True)


def _noon(d: pd.DataFrame) -> pd.DataFrame:
    return d.assign(day=d["day"] + pd.Timedelta(hours=12))


def _tz(d: pd.DataFrame) -> pd.DataFrame:
    return d.assign(day=d["day"].dt.tz_localize("Asia/Kolkata"))


def _with(column: str, values: object):
    return lambda d: d.assign(**{column: values(d) if callable(values) else values})


EDGES = {  # name: (change to the daily frame, whether the positions' calendar answers)
    "as stored": (lambda d: d, True),
    "rows shuffled": (lambda d: d.sample(frac=1.0, random_state=3), True),
    "days in ns": (_with("day", lambda d: d["day"].astype("datetime64[ns]")), True),
    "days in s": (_with("day", lambda d: d["day"].astype("datetime64[s]")), True),
    "a label index": (lambda d: d.set_axis(np.arange(len(d)) * 3 + 7), True),
    "int intervals as floats with NaN": (
        _with("intervals", lambda d: d["intervals"].astype(float).where(d.index % 9 != 4)),
        True,
    ),
    "no minutes column": (lambda d: d.drop(columns=["minutes"], errors="ignore"), True),
    "export as objects": (
        _with(
            "export_kwh",
            lambda d: pd.Series(
                [None, 1.5] * (len(d) // 2) + [None] * (len(d) % 2), index=d.index, dtype=object
            ),
        ),
        True,
    ),  # fmt: skip
    "integer kWh": (_with("kwh", lambda d: d["kwh"].fillna(0).round().astype(np.int64)), True),
    "a day twice": (_twice, False),
    "days at noon": (_noon, False),
    "tz-aware days": (_tz, False),
    "integer IDs": (_with("consumer_id", lambda d: d["consumer_id"].astype(np.int64)), False),
    "a missing ID": (_with("consumer_id", lambda d: d["consumer_id"].where(d.index != 5)), False),
    "kWh as objects": (_with("kwh", lambda d: d["kwh"].astype(object)), False),
    "nullable kWh": (_with("kwh", lambda d: d["kwh"].astype("Float64")), False),
    "recharge as booleans": (_with("recharge_inr", lambda d: d["recharge_inr"] > 0), False),
    "infinite intervals": (
        _with("intervals", lambda d: d["intervals"].astype(float).where(d.index != 2, np.inf)),
        False,
    ),  # fmt: skip
    "no nickname column": (lambda d: d.drop(columns=["nickname"]), False),
}


@pytest.mark.parametrize("edge", sorted(EDGES))
def test_hand_made_edges_equal_mains_build_and_take_the_expected_path(edge):
    change, positions = EDGES[edge]
    daily, details = _edge_daily()
    changed = change(daily)
    assert (ledger._calendars(changed) is not None) is positions
    arrears = pd.DataFrame([{"arrear_id": 1, "consumer_id": "801", "amount_inr": 900.0, "start_day": "2025-01-01",
                             "method": "daily", "share": None, "daily_inr": 30.0}])  # fmt: skip
    _same_as_main(changed, details, arrears=arrears, today=TODAY)


def test_details_edges_equal_mains_build():
    """Details read by position or, for IDs twice / not text / a NaN nickname, as main read them."""
    daily, details = _edge_daily()
    twice = pd.concat([details, details.iloc[[0]]], ignore_index=True)
    numbered = details.assign(consumer_id=details["consumer_id"].astype(np.int64))
    unknown = details.assign(tariff_category=["HT-1", "DS-II"])
    one_missing = details.iloc[[1]]
    for d in (twice, numbered, unknown, one_missing):
        _same_as_main(daily, d, today=TODAY)
    _same_as_main(daily.assign(nickname=np.nan), details, today=TODAY)
    _same_as_main(daily.assign(nickname=None), details, today=TODAY)


def test_load_ledger_equals_mains_on_the_demo_household(tmp_path):
    """load_ledger (SQLite) per connection given the account's inputs, and for all, equal to main's."""
    conn = storage.connect(tmp_path / "demo.db")
    try:
        storage.migrate(conn)
        summary = demo.seed_demo(conn, now=dt.datetime.fromisoformat(FIXED_NOW.replace("Z", "+00:00")))
        account = int(summary["account_id"])
        inputs = ledger.read_ledger_inputs(conn, account)
        ids = conn.accounts.connection_details(account)["consumer_id"].astype(str).tolist()
        for cid in ids:
            new = ledger.load_ledger(conn, account, [cid], today=TODAY, inputs=inputs)
            main = ledger_reference.main_load_ledger(conn, account, [cid], today=TODAY, inputs=inputs)
            pd.testing.assert_frame_equal(new, main, check_exact=True)
            assert ledger._calendars(conn.readings.daily_frame(account, [cid])) is not None
        every = ledger.load_ledger(conn, account, today=TODAY)
        pd.testing.assert_frame_equal(
            every, ledger_reference.main_load_ledger(conn, account, today=TODAY), check_exact=True
        )
    finally:
        conn.close()


def test_the_numpy_balances_equal_the_loop(monkeypatch):
    """Openings, closings and statuses by prefix sums (``_balances_numpy``) equal the day-by-day loop's
    (``_balances_loop``, kept for sums near 2**52 and day-by-day-priced deductions) on 60 random households;
    the numpy one answers each of them, and a balance of 10**14 rupees is left to the loop."""
    answered: list[bool] = []
    numpy_balances = ledger._balances_numpy

    def spy(*args: object, **kwargs: object) -> object:
        result = numpy_balances(*args, **kwargs)  # type: ignore[arg-type]
        answered.append(result is not None)
        return result

    rng = np.random.default_rng(5959)
    households = [_household(rng, number) for number in range(60)]
    monkeypatch.setattr(ledger, "_balances_numpy", spy)
    built = []
    for frames in households:
        kwargs = {k: v for k, v in frames.items() if k not in ("daily", "details")}
        built.append(ledger.build_ledger(frames["daily"], frames["details"], **kwargs, today=TODAY))
    assert answered and all(answered)
    monkeypatch.setattr(ledger, "_balances_numpy", lambda *args, **kwargs: None)
    for frames, rows in zip(households, built, strict=True):
        kwargs = {k: v for k, v in frames.items() if k not in ("daily", "details")}
        looped = ledger.build_ledger(frames["daily"], frames["details"], **kwargs, today=TODAY)
        pd.testing.assert_frame_equal(rows, looped, check_exact=True)
    monkeypatch.setattr(ledger, "_balances_numpy", spy)
    answered.clear()
    daily, details = _edge_daily()
    huge = daily.assign(closing_balance_inr=daily["closing_balance_inr"] + 1e14)
    _same_as_main(huge, details, today=TODAY)
    assert False in answered  # a connection with metered balances of 10**14 rupees: the loop answered


def test_anchors_with_a_day_twice_or_a_noon_row_equal_mains_build():
    """Review of h59: rows that are not one per consecutive day (a day twice, a midnight and a noon row)
    leave the balances to the loop, which finds an anchor by its date: an anchor after the repeated day,
    on it, on the day after the last row, or on a day with no row gives main's ledger."""
    daily = pd.DataFrame(
        {"consumer_id": "101", "nickname": "Home",
         "day": pd.to_datetime(["2026-11-01", "2026-11-02", "2026-11-02", "2026-11-03"]),
         "kwh": 2.0, "intervals": 48, "peak_kwh": 0.1, "closing_balance_inr": np.nan, "recharge_inr": 0.0}
    )  # fmt: skip
    details = pd.DataFrame(
        {
            "consumer_id": ["101"],
            "nickname": ["Home"],
            "tariff_category": ["NDS-II"],
            "sanctioned_load_kw": [1.0],
        }
    )
    noon = daily.iloc[[0, 1, 3]].assign(
        day=pd.to_datetime(["2026-11-01 00:00", "2026-11-01 12:00", "2026-11-03 00:00"])
    )
    cases = [(daily, day) for day in ("2026-11-02", "2026-11-03", "2026-11-04")] + [(noon, "2026-11-02")]
    for frame, day in cases:
        anchors = pd.DataFrame([{"consumer_id": "101", "day": day, "balance_inr": 500.0}])
        got = _same_as_main(frame, details, anchors=anchors, today=TODAY)
        assert got is not None
    # and the wrong reading is possible: on the day twice, 3 Nov's anchor is not the 2nd 2 Nov row's
    anchors = pd.DataFrame([{"consumer_id": "101", "day": "2026-11-03", "balance_inr": 500.0}])
    rows = ledger.build_ledger(daily, details, anchors=anchors, today=TODAY)
    assert np.isnan(rows["opening_inr"].iloc[2]) and rows["opening_inr"].iloc[3] == 500.0


def test_a_details_column_twice_is_read_as_main_read_it():
    """Review of h59: details with ``tariff_category`` or ``sanctioned_load_kw`` twice go through main's
    ``loc`` (the same ledger or the same error), not the by-position read."""
    daily, details = _edge_daily()
    for name in ("tariff_category", "sanctioned_load_kw"):
        _same_as_main(daily, pd.concat([details, details[name]], axis=1), today=TODAY)
