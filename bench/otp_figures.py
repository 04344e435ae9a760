"""The OTP abuse figures of README's security section (issue 13), on simulated days (no sleeps).

    .venv/bin/python bench/otp_figures.py

Prints: wrong codes evaluated per consumer ID in one day with 1, 5 and 20 attacker accounts (each asking
for OTPs and guessing as fast as every limit allows, every 20 minutes), the longest run of consecutive
failures over 7 days, the ten-minute lock-out probes of a stranger against a sign-in over 72 hours, and
how the SMS budget's shares hold when 1,000 unauthenticated sign-ins from one client hit it.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lib import otp, sms, storage  # noqa: E402
from lib.config import Settings  # noqa: E402

T0 = dt.datetime(2026, 11, 25, 0, 0, tzinfo=dt.UTC)
OWNER = "+919812345678"
VICTIM = "+919876543210"
KEY = otp.OtpKey(secret=bytes(range(7, 39)), kid="bench", source="configured")


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
    """1,000 sign-in sends to 1,000 mobiles from one client: what goes out, and what link/alerts keep."""
    settings = Settings(db_path=Path(":memory:"), sms_daily_budget=1000)
    sent = {"signin": 0, "limited": 0}
    with storage.open_db(":memory:") as conn:
        for n in range(attempts):
            mobile = f"+9198{n:08d}"
            now = T0 + dt.timedelta(seconds=n)
            issued = otp.issue(
                conn,
                KEY,
                purpose="login",
                account_id=None,
                subject=mobile,
                destination=mobile,
                now=now,
                session=f"s{n}",
                client="203.0.113.9",
                budget_ok=lambda c, now=now: (
                    sms.budget_left(c, settings, otp.to_ts(now), kind="otp_login") > 0
                ),
            )
            if issued.code is not None:
                sms.send_sms(conn, settings, mobile, "x", kind="otp_login", now=otp.to_ts(now))
                sent["signin"] += 1
            else:
                sent["limited"] += 1
        ts = otp.to_ts(T0 + dt.timedelta(hours=1))
        sent["link_left"] = sms.budget_left(conn, settings, ts, kind="otp_link")
        sent["alerts_left"] = sms.budget_left(conn, settings, ts, kind="low_balance")
        sent["signin_left"] = sms.budget_left(conn, settings, ts, kind="otp_login")
    return sent


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


if __name__ == "__main__":
    main()
