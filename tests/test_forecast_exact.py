"""The run-out simulation with numpy row masks equals the frame-filter version it replaced, exactly (issue 15).

:func:`lib.forecast.simulate` reads each connection's ledger columns once and filters them with numpy
masks (and skips the group-by for the dashboard's one-connection call); the version before is kept in
``tests/forecast_reference.py``. Both give the same summary and path frames (``assert_frame_equal``,
exact) per connection and for whole households, on generated connections (gaps, partial days, estimated
and unknown balances, recharges, arrears both ways, anchors, net metering, every category), the demo
household on several days, and the shared cases.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from lib import demo, forecast, ledger, storage
from tests import forecast_reference
from tests.factories import FIXED_NOW
from tests.test_ledger_exact import CASE_IMPORTS, TODAY, _connection, import_case


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
