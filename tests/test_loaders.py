"""The dashboard's caches (issue 15): a view-only rerun reuses the frames, a write to one connection drops
only that connection's cached frames, settings are read once per secrets-file state, and the vectorised
run-out forecast equals the per-connection loop it replaced."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from lib import cli, config, i18n, storage
from lib.ui import frame, loaders
from lib.ui.context import PageContext
from tests.factories import household

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.both_engines  # every db_path test on SQLite and on PostgreSQL (issue 12)


@pytest.fixture
def reads(monkeypatch) -> list[tuple]:
    """The consumer IDs of every storage.readings.daily_frame call."""
    seen: list[tuple] = []
    original = storage.readings.daily_frame

    def counting(conn, account_id, consumer_ids=None, *args, **kwargs):
        seen.append(tuple(consumer_ids or ()))
        return original(conn, account_id, consumer_ids, *args, **kwargs)

    monkeypatch.setattr(storage.readings, "daily_frame", counting)
    return seen


def context(db_path: Path, account_id: int) -> PageContext:
    return PageContext(settings=config.Settings(db_path=db_path), lang="en", account_id=account_id, t=i18n.t)


def test_a_metric_change_reuses_the_frames(db_path, reads):
    account_id = household(db_path, 3)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["account_id"] = account_id
    at.session_state["lang"] = "en"
    at.run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception
    assert reads, "the first render reads the daily frames"
    reads.clear()
    at.radio(key="compare_metric").set_value("units").run()
    at.radio(key="compare_metric").set_value("spend").run()
    assert not at.exception
    assert reads == []  # the metric is a view option: no storage read again
    at.radio(key="compare_range").set_value("1y").run()
    assert not at.exception
    assert reads == []  # a period inside the last year: cut from the year read with the first view
    at.radio(key="compare_range").set_value("custom").run()
    at.date_input(key="compare_dates").set_value((dt.date(2025, 6, 1), dt.date(2025, 6, 30))).run()
    assert not at.exception
    assert reads  # a period before that year is read


def test_a_write_to_one_connection_drops_only_its_cached_frames(db_path, reads):
    account_id = household(db_path, 3)
    first, last = "2026-10-01", "2026-11-25"
    ctx = context(db_path, account_id)
    home = loaders.household(ctx)
    ids = [key[0] for key in home.keys]
    before = loaders.household_frame(ctx, loaders.connection_daily, home.keys, first, last)
    assert sorted(reads) == sorted((cid,) for cid in ids)
    reads.clear()
    assert loaders.household(context(db_path, account_id)).keys == home.keys  # nothing written: same keys
    with storage.open_db(db_path) as conn:
        assert storage.accounts.rename_link(conn, account_id, ids[1], "Shop upstairs")
    ctx = context(db_path, account_id)
    after_home = loaders.household(ctx)
    changed = [new for old, new in zip(home.keys, after_home.keys, strict=True) if old != new]
    assert [key[0] for key in changed] == [ids[1]]
    after = loaders.household_frame(ctx, loaders.connection_daily, after_home.keys, first, last)
    assert reads == [(ids[1],)]  # only the written connection is read again
    assert set(after.loc[after["consumer_id"] == ids[1], "nickname"]) == {"Shop upstairs"}
    untouched = before[before["consumer_id"] != ids[1]].reset_index(drop=True)
    pd.testing.assert_frame_equal(after[after["consumer_id"] != ids[1]].reset_index(drop=True), untouched)


def test_a_write_that_names_no_connection_moves_every_version(db_path):
    account_id = household(db_path, 3)
    with storage.open_db(db_path) as conn:
        ids = list(storage.accounts.connection_details(conn, account_id)["consumer_id"].astype(str))
        before = storage.meta.consumer_versions(conn, ids)
        with storage.transaction(conn):
            storage.meta.bump_data_version(conn)
        after = storage.meta.consumer_versions(conn, ids)
    assert all(after[cid] > before[cid] for cid in ids)


def test_the_dashboard_does_not_migrate_but_the_cli_does(tmp_path):
    path = tmp_path / "fresh.db"
    with storage.open_db(path, run_migrations=False) as conn:
        assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'consumers'").fetchone()[0] == 0
    assert cli.main(["--db", str(path), "migrate"]) == 0
    with storage.open_db(path, run_migrations=False) as conn:
        assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'consumers'").fetchone()[0] == 1
        assert storage.migrate(conn) == []  # nothing left to apply


def test_settings_are_read_once_per_secrets_file_state(tmp_path, monkeypatch):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text("[sms]\ndaily_budget = 5\n", encoding="utf-8")
    monkeypatch.setattr(config, "SECRETS_PATH", secrets)
    monkeypatch.delenv("METERMITRA_SMS_DAILY_BUDGET", raising=False)
    calls: list[Path | None] = []
    original = frame.load_settings

    def counting(*args, **kwargs):
        calls.append(kwargs.get("secrets_path"))
        return original(*args, **kwargs)

    monkeypatch.setattr(frame, "load_settings", counting)
    frame._settings.cache_clear()
    assert frame.settings().sms_daily_budget == 5
    assert frame.settings().sms_daily_budget == 5
    assert calls == [secrets]
    secrets.write_text("[sms]\ndaily_budget = 77\n", encoding="utf-8")
    assert frame.settings().sms_daily_budget == 77
    assert len(calls) == 2


def test_a_new_households_ledgers_and_forecasts_equal_the_per_connection_reads(db_path, monkeypatch):
    """The per-connection ledger and simulation read the account's details, arrears, adjustments and
    anchors once per run (``loaders.ledger_inputs``) and give exactly the frames of the per-connection
    reads they replaced (``ledger.load_ledger`` for one connection, then ``forecast.simulate`` of it with
    that connection's details and arrears): 6 connections (a shop, one without readings, one cut off), with
    arrears of both methods, adjustments and anchors entered on some of them."""
    import datetime as dt

    from lib import forecast, ledger

    account_id = household(db_path, 6)
    today = dt.date(2026, 11, 25)
    with storage.open_db(db_path) as conn:
        ids = list(storage.accounts.connection_details(conn, account_id)["consumer_id"].astype(str))
        ledger.add_arrear(
            conn,
            account_id,
            ids[0],
            amount_inr=300.0,
            start_day=dt.date(2026, 10, 20),
            method="daily",
            daily_inr=7.5,
        )
        ledger.add_arrear(
            conn,
            account_id,
            ids[1],
            amount_inr=500.0,
            start_day=dt.date(2026, 10, 1),
            method="recharge_share",
            share=0.25,
        )
        ledger.add_arrear(
            conn,
            account_id,
            ids[4],
            amount_inr=80.0,
            start_day=dt.date(2026, 11, 10),
            method="daily",
            daily_inr=20.0,
        )
        ledger.add_adjustment(
            conn, account_id, ids[0], day=dt.date(2026, 11, 2), amount_inr=-45.0, reason="meter_fee"
        )
        ledger.add_adjustment(
            conn, account_id, ids[3], day=dt.date(2026, 11, 12), amount_inr=60.0, reason="refund"
        )
        ledger.add_balance_anchor(
            conn, account_id, ids[4], day=dt.date(2026, 11, 1), balance_inr=640.0, today=today
        )
    reads: list[int] = []
    original = storage.accounts.connection_details

    def counting(conn, account):
        reads.append(account)
        return original(conn, account)

    monkeypatch.setattr(storage.accounts, "connection_details", counting)
    loaders.connection_ledger.clear()
    loaders.connection_simulation.clear()
    ctx = context(db_path, account_id)
    home = loaders.household(ctx)
    assert reads == [account_id]
    shared = home.details.copy(deep=True)
    reads.clear()
    db = str(db_path)
    got = {
        key[0]: loaders.connection_ledger(ctx, db, account_id, key, today.isoformat()) for key in home.keys
    }
    sims = {
        key[0]: loaders.connection_simulation(ctx, db, account_id, key, today.isoformat())
        for key in home.keys
    }
    assert reads == []  # the run's household details serve the six connections' ledgers and simulations
    pd.testing.assert_frame_equal(home.details, shared, check_exact=True)  # and none of them changed it
    with storage.open_db(db_path, run_migrations=False) as conn:
        details_read = original(conn, account_id)
        pd.testing.assert_frame_equal(home.details, details_read, check_exact=True)  # the same read
        for cid in ids:
            # the reads load_ledger made per connection before it took pre-read inputs
            rows = ledger.build_ledger(
                storage.readings.daily_frame(conn, account_id, [cid]),
                details_read,
                arrears=storage.ledger.arrears_frame(conn, account_id, [cid]),
                adjustments=storage.ledger.adjustments_frame(conn, account_id, [cid]),
                anchors=storage.anchors.anchors_frame(conn, account_id, [cid]),
                today=today,
            )
            pd.testing.assert_frame_equal(got[cid], rows, check_exact=True)
            pd.testing.assert_frame_equal(ledger.load_ledger(conn, account_id, [cid], today=today), rows)
            details = details_read[details_read["consumer_id"].astype(str) == cid]
            arrears = storage.ledger.arrears_frame(conn, account_id, [cid])
            expected = forecast.simulate(rows, details, today, arrears=arrears)
            pd.testing.assert_frame_equal(sims[cid].summary, expected.summary, check_exact=True)
            pd.testing.assert_frame_equal(sims[cid].path, expected.path, check_exact=True)
        # load_ledger given the account's inputs (one or several connections, or all) is the ledger it reads
        inputs = ledger.read_ledger_inputs(conn, account_id)
        for chosen in ([ids[0]], [ids[4], ids[1]], None):
            pd.testing.assert_frame_equal(
                ledger.load_ledger(conn, account_id, chosen, today=today, inputs=inputs),
                ledger.load_ledger(conn, account_id, chosen, today=today),
                check_exact=True,
            )
    assert sum(len(got[cid]) for cid in ids) and any(got[ids[0]]["arrears_inr"] > 0)
    assert any(got[ids[3]]["adjustment_inr"] > 0) and got[ids[4]]["anchor_inr"].notna().any()
    assert len(sims[ids[0]].path)  # something was simulated


@pytest.mark.parametrize("connections", [1, 3])
def test_the_forecast_readers_share_the_simulations_own_frames(db_path, connections):
    """``shared_forecast`` / ``shared_projection`` are the shared simulation's own frames (no ``st.cache_data``
    copy), the same object on every call; ``household_frame`` puts them together in link order, and the
    account's forecast (the Ledger's headline) is those frames."""
    import datetime as dt

    account_id = household(db_path, connections)
    today = dt.date(2026, 11, 25).isoformat()
    ctx = context(db_path, account_id)
    keys = loaders.household(ctx).keys
    sims = [loaders.connection_simulation(ctx, loaders._db(ctx), ctx.account, key, today) for key in keys]
    for key, simulation in zip(keys, sims, strict=True):
        assert loaders.shared_forecast(ctx, loaders._db(ctx), ctx.account, key, today) is simulation.summary
        assert loaders.shared_projection(ctx, loaders._db(ctx), ctx.account, key, today) is simulation.path
    summary = pd.concat([s.summary for s in sims], ignore_index=True)
    path = pd.concat([s.path for s in sims if len(s.path)], ignore_index=True)
    assert len(summary) == connections and len(path)
    account = loaders.account_forecast(ctx)
    pd.testing.assert_frame_equal(account.summary, summary, check_exact=True)
    pd.testing.assert_frame_equal(account.path, path, check_exact=True)
    if connections == 1:  # one connection: the frame itself, not a concatenated copy
        assert account.summary is sims[0].summary and account.path is sims[0].path


@pytest.mark.parametrize("connections", [1, 3])
def test_no_page_changes_the_shared_simulation(db_path, monkeypatch, connections):
    """The pages read the simulations' frames themselves (``shared_forecast``; with one connection not even
    a concatenated copy): every page a household opens, with its view options changed, leaves each
    simulation exactly as ``forecast.simulate`` returned it."""
    import copy

    from lib import forecast

    made: list[tuple[forecast.Forecast, forecast.Forecast]] = []
    original = forecast.simulate

    def keeping(*args, **kwargs):
        result = original(*args, **kwargs)
        made.append((result, copy.deepcopy(result)))
        return result

    monkeypatch.setattr(forecast, "simulate", keeping)
    account_id = household(db_path, connections)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["account_id"] = account_id
    at.session_state["lang"] = "en"
    at.run()
    at.switch_page("pages/compare.py").run()
    for metric in ("units", "spend", "balance"):
        at.radio(key="compare_metric").set_value(metric).run()
    at.radio(key="compare_range").set_value("1y").run()
    at.switch_page("pages/ledger.py").run()
    at.switch_page("dashboard.py").run()
    assert not at.exception
    assert len(made) >= connections  # each connection simulated once per data version and day
    for result, kept in made:
        pd.testing.assert_frame_equal(result.summary, kept.summary, check_exact=True)
        pd.testing.assert_frame_equal(result.path, kept.path, check_exact=True)
