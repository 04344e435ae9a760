"""The OTP abuse figures of README's security section (issue 13), on simulated days (no sleeps).

    .venv/bin/python bench/otp_figures.py

Prints: wrong codes evaluated per consumer ID in one day with 1, 5 and 20 attacker accounts (each asking
for OTPs and guessing as fast as every limit allows, every 20 minutes), the longest run of consecutive
failures over 7 days, the ten-minute lock-out probes of a stranger against a sign-in over 72 hours, how
the SMS budget's shares hold when 1,000 unauthenticated sign-ins from one client hit it (through
``auth.start_sign_in``, the page's path), and the answer "Send OTP" gives for a real and an unknown
consumer ID while a real http gateway on 127.0.0.1 delivers, is slow, answers 500 or times out (its
delays are real, but they come after the answers; the response floor runs on a simulated clock on which
every gateway request costs 2.5 s, so a send that waited on the gateway would show it).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lib import audit, auth, otp, sms, storage  # noqa: E402
from lib.config import Settings  # noqa: E402

T0 = dt.datetime(2026, 11, 25, 0, 0, tzinfo=dt.UTC)
OWNER = "+919812345678"
VICTIM = "+919876543210"
KEY = otp.OtpKey(secret=bytes(range(7, 39)), kid="bench", source="configured")
KEY_HEX = bytes(range(7, 39)).hex()  # the same key, as settings carry it
GATEWAY_SECONDS = 2.5  # simulated cost of one gateway request (issue 13: real IDs answered after 2.5 s)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def attack_link(conn: storage.Database, accounts: int, days: int) -> int:
    """Wrong codes evaluated against consumer 101 by ``accounts`` accounts over ``days`` days."""
    now, end = T0, T0 + dt.timedelta(days=days)
    while now < end:
        for n in range(accounts):
            issued = otp.issue(
                conn, KEY, purpose="link", account_id=1000 + n, subject="101", destination=OWNER, now=now
            )
            if issued.code is None:
                continue
            for _ in range(otp.MAX_ATTEMPTS):
                verdict = otp.verify(
                    conn,
                    KEY,
                    issued.challenge_id,
                    purpose="link",
                    account_id=1000 + n,
                    subject="101",
                    code_input=wrong(issued.code),
                    now=now,
                )
                if verdict.status != "wrong":
                    break
        now += dt.timedelta(minutes=20)
    return int(conn.execute("SELECT count(*) FROM otp_guesses").fetchone()[0])


def lockout_probes(hours: int = 72) -> tuple[int, int]:
    """A stranger (one client address) burns wrong codes at a sign-in mobile before every ten-minute
    probe; returns (probes at which the owner's fresh challenge signed in, probes)."""
    with storage.open_db(":memory:") as conn:
        now, ok, probes = T0, 0, hours * 6
        for probe in range(probes):
            attack = otp.issue(
                conn,
                KEY,
                purpose="login",
                account_id=None,
                subject=VICTIM,
                destination=VICTIM,
                now=now,
                session="stranger",
                client="203.0.113.9",
            )
            if attack.code is not None:
                for _ in range(otp.MAX_ATTEMPTS):
                    v = otp.verify(
                        conn,
                        KEY,
                        attack.challenge_id,
                        purpose="login",
                        account_id=None,
                        subject=VICTIM,
                        code_input=wrong(attack.code),
                        now=now,
                        session="stranger",
                        client="203.0.113.9",
                    )
                    if v.status != "wrong":
                        break
            mine = otp.issue(
                conn,
                KEY,
                purpose="login",
                account_id=None,
                subject=VICTIM,
                destination=VICTIM,
                now=now,
                session=f"owner-{probe}",
            )
            done = otp.verify(
                conn,
                KEY,
                mine.challenge_id,
                purpose="login",
                account_id=None,
                subject=VICTIM,
                code_input=mine.code,
                now=now,
                session=f"owner-{probe}",
            )
            ok += done.status == "ok"
            now += dt.timedelta(minutes=10)
    return ok, probes


def budget_drain(attempts: int = 1000) -> dict[str, int]:
    """1,000 sign-in sends to 1,000 mobiles from one client (new browser session each): what goes out,
    and what the link and alerts shares keep."""
    settings = Settings(db_path=Path(":memory:"), sms_daily_budget=1000, otp_key=KEY_HEX)
    sent = {"signin": 0, "limited": 0}
    with storage.open_db(":memory:") as conn:
        for n in range(attempts):
            answer = auth.start_sign_in(
                conn,
                settings,
                f"+9198{n:08d}",
                lang="en",
                now=T0 + dt.timedelta(seconds=n),
                pacer=otp.Pacer(0),
                session=f"s{n}",
                client="203.0.113.9",
            )
            sent["signin" if answer.status == "sent" else "limited"] += 1
        sent["signin"] = sms.sent_today(conn, otp.to_ts(T0), share="signin")  # SMS that really went
        ts = otp.to_ts(T0 + dt.timedelta(hours=1))
        sent["link_left"] = sms.budget_left(conn, settings, ts, kind="otp_link")
        sent["alerts_left"] = sms.budget_left(conn, settings, ts, kind="low_balance")
        sent["signin_left"] = sms.budget_left(conn, settings, ts, kind="otp_login")
    return sent


class _Gateway:
    """A real http SMS gateway on 127.0.0.1 answering ``status`` after ``delay`` seconds."""

    def __init__(self, status: int, delay: float) -> None:
        self.requests = 0
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                gateway.requests += 1
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                time.sleep(delay)
                try:
                    self.send_response(status)
                    self.end_headers()
                    self.wfile.write(json.dumps({"status": "ok", "message_id": "m"}).encode())
                except OSError:
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


GATEWAYS = {  # (HTTP status, seconds before it answers, the client's timeout)
    "delivers": (200, 0.0, 2.0),
    "is slow": (200, 0.5, 2.0),
    "answers 500": (500, 0.0, 2.0),
    "times out": (200, 0.5, 0.2),
}


@dataclass(frozen=True)
class GatewayFigure:
    answers: set[tuple[str, int]]  # (status, length of the masked number) of each answer
    slept: list[float]  # what the response floor slept per answer, on the simulated clock
    before: int  # requests the gateway had seen when both answers were given
    run: sms.DeliveryRun  # what the sender did afterwards
    audited: int  # sms_failed audit rows


def gateway_answers(behaviour: str) -> GatewayFigure:
    """Issue 13 item 5: "Send OTP" under Add Another Meter for a real and an unknown consumer ID."""
    status, delay, timeout = GATEWAYS[behaviour]
    gateway = _Gateway(status, delay)
    http = {"url": gateway.url, "api_key": "k", "entity_id": "e", "sender_id": "s", "templates": {}}
    settings = Settings(
        db_path=Path(":memory:"),
        sms_gateway="http",
        otp_key=KEY_HEX,
        sms_http={**http, "timeout_seconds": timeout, "retries": 0},
    )
    slept: list[float] = []
    try:
        with storage.open_db(":memory:") as conn:
            conn.consumers.upsert_consumers(
                [{"consumer_id": "101", "name": "A", "registered_mobile": OWNER, "is_demo": 1}]
            )
            account_id = conn.accounts.create_account(VICTIM, language="en", now=otp.to_ts(T0))
            answers = {
                typed: auth.start_link(
                    conn,
                    settings,
                    account_id,
                    typed,
                    lang="en",
                    now=T0,
                    session="bench",
                    pacer=otp.Pacer(
                        1.5, sleep=slept.append, clock=lambda: gateway.requests * GATEWAY_SECONDS
                    ),
                )
                for typed in ("101", "404")
            }
            before = gateway.requests
            run = sms.deliver_queued(conn, settings, now=otp.to_ts(T0), sleep=lambda s: None)
            failed_audited = audit.count(conn, "sms_failed")
    finally:
        gateway.close()
    answered = {(a.status, len(a.destination_masked or "")) for a in answers.values()}
    return GatewayFigure(answered, slept, before, run, failed_audited)


def main() -> None:
    print("OTP abuse figures (issue 13; simulated time)")
    for accounts in (1, 5, 20):
        with storage.open_db(":memory:") as conn:
            guesses = attack_link(conn, accounts, 1)
        print(
            f"  guesses at one consumer ID in a day, {accounts:>2} attacker accounts: {guesses:>3}"
            f"  (P(success) <= {guesses / 1e6:.0e})"
        )
    with storage.open_db(":memory:") as conn:
        week = attack_link(conn, 5, 7)
        longest = otp.target_failures(conn, "link", "101")
    print(
        f"  7 days, 5 accounts: {week} guesses, {longest} consecutive failures (cap {otp.TARGET_MAX_CONSECUTIVE})"
    )
    ok, probes = lockout_probes()
    print(f"  stranger vs a sign-in, 72 h: the owner signed in at {ok} of {probes} ten-minute probes")
    drain = budget_drain()
    print(
        f"  1,000 unauthenticated sign-ins from one client: {drain['signin']} sent, {drain['limited']} limited;"
        f" left today: sign-in {drain['signin_left']}, link {drain['link_left']}, alerts {drain['alerts_left']}"
    )
    for behaviour in GATEWAYS:
        seen = gateway_answers(behaviour)
        statuses = "/".join(sorted({status for status, _ in seen.answers}))
        print(
            f"  Send OTP, real vs unknown consumer ID, http gateway {behaviour}:"
            f" {'alike' if len(seen.answers) == 1 else 'DIFFERENT'} ({statuses}), floor"
            f" {' / '.join(f'{s:.1f}' for s in seen.slept)} s slept (simulated), {seen.before} gateway"
            f" requests before the answers; then {seen.run.sent} delivered, {seen.run.failed} failed,"
            f" {seen.audited} audited"
        )


if __name__ == "__main__":
    main()
