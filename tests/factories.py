"""Builders the tests share: consumers, readings, households (no test module imports another).

``seed_household`` builds a deterministic household of N linked connections with 30-minute readings,
recharges, a low balance and a disconnection, through storage's own write functions.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import random
import sqlite3
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from lib import demo, storage
from lib.clock import IST, to_ts
from lib.storage.engine import transaction

FIXED_NOW = "2026-11-25T06:30:00Z"  # the suite's fixed clock, 12:00 IST (set by tests/conftest.py)
NOW = dt.datetime(2026, 11, 25, 6, 30, tzinfo=dt.UTC)  # FIXED_NOW as a datetime

OWNER = "+919876500000"
STRANGER = "+919876599999"
LINKED_AT = "2026-01-01T00:00:00Z"
NICKNAMES = ("Home", "Shop", "Village home", "Pump", "Tenant", "Office")
RATE_INR_PER_KWH = 6.0


def add_consumer(conn: sqlite3.Connection, consumer_id: str, mobile: str = OWNER, **extra: object) -> None:
    storage.consumers.upsert_consumers(
        conn,
        [
            {
                "consumer_id": consumer_id,
                "name": f"Consumer {consumer_id}",
                "registered_mobile": mobile,
                **extra,
            }
        ],
    )


def add_readings(
    conn: sqlite3.Connection,
    consumer_id: str,
    start: dt.datetime,
    kwh: Sequence[float | None],
    *,
    balance: float,
    rate: float = RATE_INR_PER_KWH,
    recharges: dict[int, float] | None = None,
) -> float:
    """30-minute readings from ``start`` (aware); ``None`` in ``kwh`` is a missing interval.

    The balance falls by ``kwh × rate`` each interval; ``recharges`` maps an interval index to an
    amount paid just before it. Returns the last balance. Refreshes the daily roll-ups.
    """
    rows = []
    paid = []
    for index, energy in enumerate(kwh):
        ts = start + dt.timedelta(minutes=30 * index)
        if recharges and index in recharges:
            balance += recharges[index]
            paid.append(
                {
                    "consumer_id": consumer_id,
                    "ts": to_ts(ts - dt.timedelta(minutes=1)),
                    "amount_inr": recharges[index],
                }
            )
        if energy is None:
            continue
        balance -= energy * rate
        rows.append((consumer_id, to_ts(ts), float(energy), round(balance, 2)))
    with transaction(conn):
        storage.readings.insert_readings(conn, rows)
        if paid:
            storage.readings.insert_recharges(conn, paid)
        storage.readings.refresh_daily(conn, consumer_id)
        storage.meta.bump_data_version(conn)
    return balance


def seed_household(
    conn: sqlite3.Connection, n: int, *, days: int = 45, today: dt.date = dt.date(2026, 11, 25)
) -> int:
    """An account with ``n`` linked connections and ``days`` days of readings up to today 12:00 IST.

    Connection 0 is healthy with a recharge; 1 runs low (under 3 days); 2 has no readings; 3 is
    disconnected for its last 3 days; the rest are healthy. Returns the account ID.
    """
    rng = random.Random(20261125 + n)  # noqa: S311 - test data
    account_id = storage.accounts.create_account(conn, OWNER, now=LINKED_AT)
    start = dt.datetime.combine(today - dt.timedelta(days=days - 1), dt.time(), tzinfo=IST)
    intervals = (days - 1) * 48 + 24  # up to 12:00 IST today
    for index in range(n):
        cid = f"10{index + 1:08d}"
        add_consumer(
            conn, cid, tariff_category="NDS-II" if index == 1 else "DS-II", sanctioned_load_kw=2.0, is_demo=1
        )
        with transaction(conn):
            storage.accounts.insert_link(
                conn, account_id, cid, NICKNAMES[index], now=f"2026-01-01T00:0{index}:00Z"
            )
        if index == 2:
            continue
        kwh = [round(rng.uniform(0.05, 0.35), 3) for _ in range(intervals)]
        if index == 1:
            add_readings(conn, cid, start, kwh, balance=sum(kwh) * RATE_INR_PER_KWH + 120.0)
        elif index == 3:
            cut_from = intervals - 24 - 3 * 48  # the last three whole days and today: supply cut
            energy = sum(kwh[:cut_from]) * RATE_INR_PER_KWH
            kwh = kwh[:cut_from] + [0.0] * (intervals - cut_from)
            add_readings(conn, cid, start, kwh, balance=energy - 5.0)
        else:
            add_readings(conn, cid, start, kwh, balance=2000.0, recharges={intervals - 5 * 48: 1000.0})
    return account_id


# --- tests -----------------------------------------------------------------------------------------


def household(db_path: Path, connections: int) -> int:
    """1 or 6 connections from the hand-built household; 3 = the demo household."""
    with storage.open_db(db_path) as conn:
        if connections == 3:
            return demo.seed_demo(conn, now=NOW, days=120)["account_id"]
        return seed_household(conn, connections)


def imported_connection(conn, account_id: int, consumer_id: str = "204500001", *, is_demo: int = 0) -> None:
    """Three IST days (22-24 Nov 2026) of half-hourly readings without a balance, and one ₹500 recharge."""
    storage.consumers.upsert_consumers(
        conn,
        [
            {
                "consumer_id": consumer_id,
                "name": "Imported",
                "registered_mobile": "+919812300000",
                "tariff_category": "NDS-II",
                "sanctioned_load_kw": 1.0,
                "is_demo": is_demo,
            }
        ],
    )
    storage.accounts.insert_link(conn, account_id, consumer_id, "Godown")
    start = dt.datetime(2026, 11, 22, tzinfo=IST)
    rows = [(consumer_id, to_ts(start + dt.timedelta(minutes=30 * i)), 0.125, None) for i in range(3 * 48)]
    storage.readings.insert_readings(conn, rows)
    storage.readings.insert_recharges(
        conn, [{"consumer_id": consumer_id, "ts": to_ts(start + dt.timedelta(hours=10)), "amount_inr": 500.0}]
    )
    storage.readings.refresh_daily(conn, consumer_id)


class SmsGateway:
    """A real HTTP SMS gateway on 127.0.0.1 that records requests and answers as told: ``status`` (500),
    ``reply`` (a DLT refusal) and ``delay`` in seconds (slow; past the client's timeout: a timeout).
    ``settle()`` waits until every request that reached it is recorded; ``close()`` stops it."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.status = 200
        self.reply: dict = {"status": "ok", "message_id": "m-1"}
        self.delay = 0.0
        self._open = 0  # connections accepted and not yet handled to the end
        self._lock = threading.Condition()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name; settle()'s probe, not recorded
                self.send_response(204)
                self.end_headers()

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", "0"))
                gateway.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": json.loads(self.rfile.read(length)),
                    }
                )
                if gateway.delay:
                    time.sleep(gateway.delay)
                try:
                    self.send_response(gateway.status)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(json.dumps(gateway.reply).encode())
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def process_request(self, request, client_address):  # type: ignore[no-untyped-def]
                with gateway._lock:  # in the accepting thread: counted before the handler runs
                    gateway._open += 1
                super().process_request(request, client_address)

            def process_request_thread(self, request, client_address):  # type: ignore[no-untyped-def]
                try:
                    super().process_request_thread(request, client_address)
                finally:
                    with gateway._lock:
                        gateway._open -= 1
                        gateway._lock.notify_all()

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send"

    def settle(self, timeout: float = 60.0) -> None:
        """Wait until every request a client sent so far is recorded. A client that gave up (its timeout
        shorter than ``delay``) may leave its request in the listening queue or in a handler not yet run,
        to be recorded after the client went on: on a loaded machine, after the test's next count. A probe
        of its own goes through the same queue (accepted in order, so every earlier connection has been
        accepted once it is answered); then the accepted ones are waited for."""
        urllib.request.urlopen(self.url, timeout=timeout).close()
        with self._lock:
            if not self._lock.wait_for(lambda: self._open == 0, timeout=timeout):
                raise TimeoutError(f"the SMS gateway still handles {self._open} request(s)")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def http_sms_config(url: str, **overrides: object) -> dict[str, object]:
    """``[sms.http]`` settings for ``url`` (an ``SmsGateway``): every DLT field and template, a 0.3 s
    timeout and 2 retries unless ``overrides`` say otherwise."""
    return {
        "url": url,
        "api_key": "secret-api-key",
        "entity_id": "1101234567890123456",
        "sender_id": "MTRMTR",
        "templates": {
            "otp_login": "1107000000000000001",
            "otp_link": "1107000000000000002",
            "link_notice": "1107000000000000003",
        },
        "timeout_seconds": 0.3,
        "retries": 2,
        **overrides,
    }


@contextlib.contextmanager
def write_lock_held(db_path: Path) -> Iterator[None]:
    """Another connection holds the SQLite database's write lock (``BEGIN IMMEDIATE``) for the block, as a
    long import did for its whole file before issue 13 item 11: every other write waits its busy timeout
    (tests shorten it: ``monkeypatch.setattr(storage.engine, "BUSY_TIMEOUT_MS", 100)``), then fails."""
    holder = sqlite3.connect(db_path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        yield
    finally:
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()
