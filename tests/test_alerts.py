"""Low-balance alerts: the rule, who is low, the SMS text, once a day and never for unlinked connections."""

from __future__ import annotations

import collections
import dataclasses
import io
import math
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from lib import alerts, cli, demo, storage
from lib.clock import now_utc
from lib.config import load_settings

NOW = "2026-11-25T06:30:00Z"  # 12:00 IST, the suite's clock
TOMORROW = "2026-11-26T06:30:00Z"


@pytest.fixture
def seeded(conn) -> int:
    return int(demo.seed_demo(conn, now=now_utc(), days=120)["account_id"])


@pytest.fixture
def settings(db_path):
    return load_settings()


def _outbox(conn) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in conn.execute("SELECT destination, text FROM sms_outbox ORDER BY sms_id")]


def _everything_low(conn, account_id: int) -> None:
    """A rule no demo balance passes: every linked connection is "low"."""
    alerts.set_alert_rule(conn, account_id, min_days_left=60, min_balance_inr=100_000)


# --- the rule and who is low -------------------------------------------------------------------------


def test_default_rule_is_three_days_or_below_100_rupees(conn, seeded):
    assert alerts.alert_rule(conn, seeded) == alerts.AlertRule(3.0, 100.0, True)


@pytest.mark.parametrize(
    ("days", "rupees", "key"),
    [(-1, 100, "alerts_error_days"), (61, 100, "alerts_error_days"), (3, -5, "alerts_error_balance"),
     (float("nan"), 100, "alerts_error_days"), ("abc", 100, "alerts_error_rule")],
)  # fmt: skip
def test_rule_out_of_range_is_refused_and_nothing_is_saved(conn, seeded, days, rupees, key):
    with pytest.raises(alerts.AlertRuleError, match=key):
        alerts.set_alert_rule(conn, seeded, min_days_left=days, min_balance_inr=rupees)
    assert conn.execute("SELECT count(*) FROM alert_rules").fetchone()[0] == 0


def test_low_balances_most_urgent_first():
    outlook = pd.DataFrame(
        {
            "consumer_id": ["a", "b", "c", "d", "e"],
            "nickname": ["Plenty", "Low money", "Cut", "Two days", "Unknown"],
            "balance_inr": [5000.0, 60.0, -12.0, 400.0, math.nan],
            "days_left": [40.0, math.inf, 0.0, 2.0, math.nan],
            "estimated": [False, True, False, False, False],
        }
    )
    low = alerts.low_balances(outlook, alerts.AlertRule(min_days_left=3, min_balance_inr=100))
    assert [(a.consumer_id, a.reason) for a in low] == [("c", "exhausted"), ("d", "days"), ("b", "balance")]
    assert low[2].estimated


def test_sms_text_has_nickname_and_days_left_and_no_link():
    alert = alerts.LowBalance("1", "https://bit.ly/x www.win.in", 250.0, 2.7, False, "days")
    for lang in ("hi", "en"):
        text = alerts.sms_text(alert, lang)
        assert "2" in text and "₹250.00" in text
        for linkish in ("http", "www", "bit.ly", "/", ".in"):
            assert linkish not in text
    assert alerts.sms_text(alerts.LowBalance("1", "Home", 250.0, 2.7, False, "days"), "en").startswith(
        "MeterMitra: Home has about 2 days"
    )
    exhausted = alerts.LowBalance("1", "Shop", -44.21, 0.0, False, "exhausted")
    assert "exhausted" in alerts.sms_text(exhausted, "en")
    unknown_pace = alerts.LowBalance("1", "Shop", 60.0, math.inf, False, "balance")
    assert "days" not in alerts.sms_text(unknown_pace, "en")


# --- sending -----------------------------------------------------------------------------------------


def test_alerts_are_sent_once_a_day_not_twice(conn, seeded, settings):
    _everything_low(conn, seeded)
    first = alerts.send_low_balance_alerts(conn, settings, now=NOW)
    assert (first.accounts, first.sent, first.already_sent, first.failed) == (1, 3, 0, 0)
    second = alerts.send_low_balance_alerts(conn, settings, now=NOW)
    assert (second.sent, second.already_sent) == (0, 3)
    messages = _outbox(conn)
    assert len(messages) == 3
    assert {dest for dest, _ in messages} == {demo.DEMO_ACCOUNT_MOBILE}
    # The account's language is Hindi: each SMS names its connection.
    for nickname in ("Home", "Shop", "Village home"):
        assert sum(nickname in text for _, text in messages) >= 1
    assert all("मीटर मित्र" in text for _, text in messages)
    # The next IST day they go again.
    third = alerts.send_low_balance_alerts(conn, settings, now=TOMORROW)
    assert third.sent == 3


def test_never_for_unlinked_or_stale_connections(conn, seeded, settings):
    # Another household follows DEMO-2001; then its registered mobile changes: the link goes stale.
    other = storage.accounts.create_account(conn, "+919812345678", language="en")
    storage.accounts.insert_link(conn, other, "DEMO-2001", "Mother's house")
    _everything_low(conn, seeded)
    _everything_low(conn, other)
    storage.consumers.upsert_consumers(
        conn,
        [{**storage.consumers.consumer_record(conn, "DEMO-2001"), "registered_mobile": "+919899999999"}],
    )
    result = alerts.send_low_balance_alerts(conn, settings, now=NOW)
    assert result.accounts == 1  # the other account has no active link left
    sent = {(r[0], r[1]) for r in conn.execute("SELECT account_id, consumer_id FROM alerts_sent")}
    assert sent == {(seeded, cid) for cid, _ in demo.DEMO_LINKED}
    assert all(dest == demo.DEMO_ACCOUNT_MOBILE for dest, _ in _outbox(conn))
    assert not any("Mother" in text for _, text in _outbox(conn))


def test_sms_off_means_no_sms_but_still_counted(conn, seeded, settings):
    alerts.set_alert_rule(conn, seeded, min_days_left=60, min_balance_inr=100_000, sms_enabled=False)
    result = alerts.send_low_balance_alerts(conn, settings, now=NOW)
    assert (result.sent, result.sms_off) == (0, 3)
    assert _outbox(conn) == []


def test_a_failed_send_is_retried_by_the_next_run(conn, seeded, settings):
    _everything_low(conn, seeded)
    broke = dataclasses.replace(settings, sms_daily_budget=0)  # the gateway refuses everything
    failed = alerts.send_low_balance_alerts(conn, broke, now=NOW)
    assert (failed.sent, failed.failed) == (0, 3)
    assert {r[0] for r in conn.execute("SELECT outcome FROM alerts_sent")} == {"failed"}
    retried = alerts.send_low_balance_alerts(conn, settings, now=NOW)
    assert (retried.sent, retried.already_sent) == (3, 0)
    assert len(_outbox(conn)) == 3


def test_nothing_low_sends_nothing(conn, seeded, settings):
    alerts.set_alert_rule(conn, seeded, min_days_left=0, min_balance_inr=0)
    result = alerts.send_low_balance_alerts(conn, settings, now=NOW)
    assert (result.accounts, result.sent) == (1, 0)


def test_account_low_balances_follow_the_ledger(conn, seeded):
    _everything_low(conn, seeded)
    low = alerts.account_low_balances(conn, seeded, now=NOW)
    assert {a.consumer_id for a in low} == {cid for cid, _ in demo.DEMO_LINKED}
    balances = {a.consumer_id: a.balance_inr for a in low}
    # The balance is the meter's latest (today's last reading).
    latest = conn.execute(
        "SELECT balance_inr FROM readings WHERE consumer_id = 'DEMO-1001' ORDER BY ts DESC LIMIT 1"
    ).fetchone()[0]
    assert balances["DEMO-1001"] == latest


# --- the command ---------------------------------------------------------------------------------------


def test_cli_send_alerts_is_idempotent_for_a_day(conn, seeded, db_path):
    _everything_low(conn, seeded)
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["--db", str(db_path), "send-alerts"], out=out, err=err) == 0
    assert "3 sent" in out.getvalue()
    out2 = io.StringIO()
    assert cli.main(["--db", str(db_path), "send-alerts"], out=out2, err=err) == 0
    assert "0 sent, 3 already sent today" in out2.getvalue()
    assert len(_outbox(conn)) == 3


def test_cli_dry_run_sends_nothing(conn, seeded, db_path):
    _everything_low(conn, seeded)
    out = io.StringIO()
    assert cli.main(["--db", str(db_path), "send-alerts", "--dry-run"], out=out, err=io.StringIO()) == 0
    assert "DEMO-1001" in out.getvalue()
    assert _outbox(conn) == []


@pytest.mark.parametrize(
    ("balance", "days", "expected"),
    [
        (250.0, 2.5, "days"),
        (80.0, 12.0, "balance"),
        (0.0, 5.0, "exhausted"),
        (-5.0, math.nan, "exhausted"),
        (900.0, 12.0, None),
        (math.nan, 1.0, None),  # nothing known: never low
        (150.0, math.inf, None),  # nothing deducted lately
        (150.0, None, None),
        (99.99, math.nan, "balance"),
        (100.0, 3.0, None),  # the rule's bounds are "fewer than" and "below"
    ],
)
def test_is_low_answers_with_the_reason(balance, days, expected):
    assert alerts.is_low(balance, days, alerts.AlertRule(min_days_left=3, min_balance_inr=100)) == expected


def test_is_low_follows_the_accounts_rule_not_a_fixed_three_days():
    assert alerts.is_low(900.0, 10.0, alerts.AlertRule(min_days_left=14, min_balance_inr=0)) == "days"
    assert alerts.is_low(900.0, 2.0, alerts.AlertRule(min_days_left=0, min_balance_inr=0)) is None


def test_low_balances_are_exactly_the_connections_is_low_names():
    outlook = pd.DataFrame(
        {
            "consumer_id": ["1", "2", "3", "4"],
            "nickname": ["A", "B", "C", "D"],
            "balance_inr": [250.0, 50.0, -1.0, 900.0],
            "days_left": [2.0, 20.0, math.nan, 30.0],
            "estimated": [False, True, False, False],
        }
    )
    rule = alerts.AlertRule(min_days_left=3, min_balance_inr=100)
    low = alerts.low_balances(outlook, rule)
    assert [(a.consumer_id, a.reason) for a in low] == [("3", "exhausted"), ("1", "days"), ("2", "balance")]
    expected = {
        r.consumer_id for r in outlook.itertuples() if alerts.is_low(r.balance_inr, r.days_left, rule)
    }
    assert {a.consumer_id for a in low} == expected
    assert low[2].estimated is True


def test_a_storage_failure_is_a_storage_error(tmp_path):
    with storage.open_db(tmp_path / "x.db") as conn:
        conn.execute("DROP TABLE alerts_sent")
        with pytest.raises(storage.StorageError):
            alerts.alerts_sent_on(conn, 1, "2026-11-25")


# --- one run at a time, shards (issue 12) -----------------------------------------------------------------


def test_a_second_run_of_the_same_shard_exits_at_once(any_conn):
    account = int(demo.seed_demo(any_conn, now=now_utc(), days=120)["account_id"])
    _everything_low(any_conn, account)
    settings = dataclasses.replace(load_settings(), db_path=any_conn.target)
    assert any_conn.meta.take_lease("send-alerts:0/1", "other-server", now=NOW, until=TOMORROW)
    with pytest.raises(alerts.AlertsBusy):
        alerts.send_low_balance_alerts(any_conn, settings, now=NOW)
    assert _outbox(any_conn) == []
    # Another shard is not held by it; once the other run gives its lease back, this one runs.
    other_shard = ((account + 1) % 2, 2)  # the half of the accounts the demo account is not in
    assert alerts.send_low_balance_alerts(any_conn, settings, now=NOW, shard=other_shard).accounts == 0
    any_conn.meta.release_lease("send-alerts:0/1", "other-server")
    assert alerts.send_low_balance_alerts(any_conn, settings, now=NOW).sent == 3
    # A lease left by a run that died expires: the next day's run is not stuck behind it.
    assert any_conn.meta.take_lease("send-alerts:0/1", "died", now=NOW, until="2026-11-25T07:30:00Z")
    assert alerts.send_low_balance_alerts(any_conn, settings, now=TOMORROW).sent == 3


def test_shards_split_the_accounts_without_overlap(any_conn, monkeypatch):
    demo.seed_demo(any_conn, now=now_utc(), days=120)
    with storage.transaction(any_conn):
        ids = [any_conn.accounts.create_account(f"+9198765432{n:02d}", now=NOW) for n in range(7)]
        for account_id in ids:
            any_conn.accounts.insert_link(account_id, demo.DEMO_LINKED[0][0], f"home {account_id}", now=NOW)
    everyone = [row["account_id"] for row in any_conn.accounts.accounts_with_active_links()]
    assert set(ids) < set(everyone)
    monkeypatch.setattr(alerts, "BATCH", 2)  # several batches per shard
    seen = []
    for index in range(3):
        part = [row["account_id"] for row in alerts._accounts(any_conn, (index, 3))]
        assert all(account_id % 3 == index for account_id in part)
        seen += part
    assert sorted(seen) == everyone


def test_cli_shard_is_checked(db_path):
    err = io.StringIO()
    with pytest.raises(SystemExit):
        cli.main(["--db", str(db_path), "send-alerts", "--shard", "3/3"], out=io.StringIO(), err=err)


# --- the tables (storage.alerts) on both engines (issue 12) -------------------------------------------


def _follower(conn, consumer_id: str = "101", mobile: str = "+919876543210") -> int:
    """An account following one connection, written with plain SQL (this module's storage only)."""
    conn.execute(
        "INSERT INTO consumers (consumer_id, name, registered_mobile) VALUES (:cid, 'Asha', :mobile)",
        {"cid": consumer_id, "mobile": mobile},
    )
    account = conn.execute(
        "INSERT INTO accounts (mobile, created_at) VALUES (:mobile, :now) RETURNING account_id",
        {"mobile": mobile, "now": NOW},
    ).scalar_one()
    conn.execute(
        "INSERT INTO links (account_id, consumer_id, nickname, linked_at, mobile_at_link) "
        "VALUES (:account, :cid, 'Home', :now, :mobile)",
        {"account": account, "cid": consumer_id, "now": NOW, "mobile": mobile},
    )
    return int(account)


def test_the_rule_row_is_saved_and_replaced(any_conn):
    account = _follower(any_conn)
    assert storage.alerts.alert_rule_row(any_conn, account) is None
    storage.alerts.upsert_alert_rule(
        any_conn, account, min_days_left=5, min_balance_inr=200, sms_enabled=True
    )
    storage.alerts.upsert_alert_rule(
        any_conn, account, min_days_left=2.5, min_balance_inr=0, sms_enabled=False, now=TOMORROW
    )
    assert storage.alerts.alert_rule_row(any_conn, account) == (2.5, 0.0, False)
    assert any_conn.execute("SELECT count(*), max(updated_at) FROM alert_rules").one() == (1, TOMORROW)


def test_an_alert_is_reserved_once_a_day_and_a_failed_one_again(any_conn):
    account = _follower(any_conn)
    day, values = "2026-11-25", {"ts": NOW, "days_left": 2.0, "balance_inr": 80.0}
    assert storage.alerts.reserve_alert(any_conn, account, "101", day=day, **values)
    assert not storage.alerts.reserve_alert(any_conn, account, "101", day=day, **values)
    storage.alerts.mark_alert_failed(any_conn, account, "101", day)
    assert storage.alerts.alerts_sent_on(any_conn, account, day)[0]["outcome"] == "failed"
    later = {"ts": "2026-11-25T08:00:00Z", "days_left": None, "balance_inr": 75.5}
    assert storage.alerts.reserve_alert(any_conn, account, "101", day=day, **later)
    assert storage.alerts.alerts_sent_on(any_conn, account, day) == [
        {
            "consumer_id": "101",
            "sent_at": "2026-11-25T08:00:00Z",
            "days_left": None,
            "balance_inr": 75.5,
            "outcome": "sent",
        }
    ]
    assert storage.alerts.reserve_alert(any_conn, account, "101", day="2026-11-26", **values)  # a new day
    assert storage.alerts.alerts_sent_on(any_conn, account, "2026-11-24") == []


def test_no_alert_for_a_connection_not_followed_or_stale(any_conn):
    account = _follower(any_conn)
    values = {"day": "2026-11-25", "ts": NOW, "days_left": 1.0, "balance_inr": 10.0}
    assert not storage.alerts.reserve_alert(any_conn, account, "999", **values)
    any_conn.execute("UPDATE consumers SET registered_mobile = '+919800000000' WHERE consumer_id = '101'")
    assert not storage.alerts.reserve_alert(any_conn, account, "101", **values)
    assert any_conn.execute("SELECT count(*) FROM alerts_sent").scalar() == 0


# --- two send-alerts processes at once (issue 12): real subprocesses on each engine ------------------------

ROOT = Path(__file__).resolve().parent.parent

# One ``python -m lib.cli`` run that waits at a start line: it imports everything first, writes its
# ``ready`` file and starts when the ``go`` file appears, so the race is between the two runs, not
# between two Python start-ups. With a ``hold`` file named, a run that got the lease waits (after
# taking it, before sending anything) until that file appears: a run that is still busy, made visible.
RACER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from lib import alerts, cli
    ready, go, hold, *argv = sys.argv[1:]
    if hold != "-":
        real = alerts._send_all
        def held(*args, **options):
            Path(hold + ".taken").touch()
            while not Path(hold).exists():
                time.sleep(0.01)
            return real(*args, **options)
        alerts._send_all = held
    Path(ready).touch()
    while not Path(go).exists():
        time.sleep(0.002)
    sys.exit(cli.main(argv))
    """
)


def _racing_accounts(target: str, extra: int = 3) -> dict[int, str]:
    """The demo plus ``extra`` accounts following every demo connection, each with a rule no balance
    passes (all its connections low); returns account_id -> mobile."""
    with storage.connect(target) as conn:
        demo.seed_demo(conn, now=now_utc(), days=120)
        with storage.transaction(conn):
            for n in range(extra):
                account_id = conn.accounts.create_account(f"+9198765432{n:02d}", now=NOW)
                for consumer_id, nickname in demo.DEMO_LINKED:
                    conn.accounts.insert_link(account_id, consumer_id, nickname, now=NOW)
        accounts = {
            int(row["account_id"]): str(row["mobile"]) for row in conn.accounts.accounts_with_active_links()
        }
        for account_id in accounts:
            _everything_low(conn, account_id)
    storage.engine.dispose(target)
    return accounts


def _race(tmp_path: Path, target: str, runs: list[list[str]], hold: Path | None = None):
    """Start one RACER per argument list, release them together; returns the processes (running)."""
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "METERMITRA_DB": target}
    processes, ready = [], []
    for number, argv in enumerate(runs):
        ready.append(tmp_path / f"ready{number}")
        processes.append(
            subprocess.Popen(  # noqa: S603
                [sys.executable, "-c", RACER, str(ready[-1]), str(go), str(hold or "-"), *argv],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    _wait_for(lambda: all(path.exists() for path in ready) or any(p.poll() is not None for p in processes))
    assert all(p.poll() is None for p in processes), [p.communicate() for p in processes]
    go.touch()
    return processes


def _wait_for(condition, timeout: float = 180.0) -> None:
    """Poll ``condition`` until it holds (a guard against a hung child, not a timing assumption)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the racing processes never got there"
        time.sleep(0.01)


def _finish(process: subprocess.Popen) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=180)
    return process.returncode, out, err


def _sent_alerts(target: str) -> list[tuple[str, str]]:
    """Every low-balance SMS in the outbox, as (destination, text), in order."""
    with storage.connect(target) as conn:
        rows = conn.execute(
            "SELECT destination, text FROM sms_outbox WHERE kind = :kind ORDER BY sms_id",
            {"kind": alerts.SMS_KIND},
        ).fetchall()
    storage.engine.dispose(target)
    return [(str(r[0]), str(r[1])) for r in rows]


def _assert_each_alert_sent_once(target: str, accounts: dict[int, str]) -> None:
    """Every account got one SMS per linked demo connection (three different texts), none twice."""
    sent = _sent_alerts(target)
    assert len(set(sent)) == len(sent), sent  # no SMS went twice
    per_mobile = collections.Counter(destination for destination, _ in sent)
    assert per_mobile == {mobile: len(demo.DEMO_LINKED) for mobile in accounts.values()}


def test_a_second_send_alerts_process_finds_the_lease_held_and_exits_3(migrated_backend, tmp_path):
    accounts = _racing_accounts(migrated_backend)
    hold = tmp_path / "hold"
    first, second = _race(tmp_path, migrated_backend, [["send-alerts"], ["send-alerts"]], hold=hold)
    # The run that got the lease waits at ``hold`` with it; the other one must give up on its own.
    _wait_for(lambda: first.poll() is not None or second.poll() is not None)
    loser, winner = (first, second) if first.poll() is not None else (second, first)
    code, out, err = _finish(loser)
    assert code == 3, (out, err)
    assert "another send-alerts run holds send-alerts:0/1" in err
    assert winner.poll() is None and Path(f"{hold}.taken").exists()
    assert _sent_alerts(migrated_backend) == []  # the loser sent nothing
    hold.touch()
    code, out, err = _finish(winner)
    assert code == 0, (out, err)
    assert f"{len(accounts)} accounts checked, {len(accounts) * 3} sent" in out
    _assert_each_alert_sent_once(migrated_backend, accounts)


def test_two_send_alerts_processes_at_once_send_each_alert_exactly_once(migrated_backend, tmp_path):
    accounts = _racing_accounts(migrated_backend)
    runs = _race(tmp_path, migrated_backend, [["send-alerts"], ["send-alerts"]])
    results = [_finish(process) for process in runs]
    # Whichever order they met the lease in: one ran, the other exited at once (3) or ran after it
    # and found everything sent already today.
    assert sorted(code for code, _, _ in results) in ([0, 0], [0, 3]), results
    sent = sum(int(re.search(r"(\d+) sent", out)[1]) for code, out, _ in results if code == 0)
    assert sent == len(accounts) * 3
    _assert_each_alert_sent_once(migrated_backend, accounts)


def test_two_shards_at_once_cover_every_account_once(migrated_backend, tmp_path):
    accounts = _racing_accounts(migrated_backend)
    runs = _race(
        tmp_path,
        migrated_backend,
        [["send-alerts", "--shard", "0/2"], ["send-alerts", "--shard", "1/2"]],
    )
    for index, process in enumerate(runs):
        code, out, err = _finish(process)
        assert code == 0, (out, err)  # different shards: different leases, both run
        mine = [account_id for account_id in accounts if account_id % 2 == index]
        assert f"{len(mine)} accounts checked, {len(mine) * 3} sent" in out
    _assert_each_alert_sent_once(migrated_backend, accounts)
