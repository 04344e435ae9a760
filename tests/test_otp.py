"""lib.otp: every rule of the OTP policy (issue 3; research doc sections 7 and 8), with an explicit clock."""

from __future__ import annotations

import datetime as dt
import hmac
import os
import stat
import threading
from pathlib import Path

import pytest

from lib import audit, otp, storage
from lib.config import Settings

T0 = dt.datetime(2026, 11, 25, 6, 30, tzinfo=dt.UTC)
MOBILE = "+919876543210"
OWNER = "+919812345678"


@pytest.fixture
def conn(any_conn: storage.Database) -> storage.Database:
    """Every test of this module that takes ``conn`` runs on SQLite and on PostgreSQL (issue 12)."""
    return any_conn


def sec(n: float) -> dt.timedelta:
    return dt.timedelta(seconds=n)


@pytest.fixture
def key() -> otp.OtpKey:
    return otp.load_key(
        Settings(
            db_path=Path("unused"), otp_key="6f147fc0f49af9c7fa3a6a75ae11ebde8b6a51afd0f3b9bb6bd68e40709dd7ba"
        )
    )


def login(conn, key, now=T0, subject=MOBILE):
    return otp.issue(
        conn, key, purpose="login", account_id=None, subject=subject, destination=subject, now=now
    )


def link(conn, key, now=T0, account_id=1, consumer="101", destination=OWNER):
    return otp.issue(
        conn, key, purpose="link", account_id=account_id, subject=consumer, destination=destination, now=now
    )


def check_login(conn, key, issued, code, now=T0, subject=MOBILE, **extra):
    return otp.verify(
        conn,
        key,
        issued.challenge_id,
        purpose="login",
        account_id=None,
        subject=subject,
        code_input=code,
        now=now,
        **extra,
    )


def check_link(conn, key, issued, code, now=T0, account_id=1, consumer="101", **extra):
    return otp.verify(
        conn,
        key,
        issued.challenge_id,
        purpose="link",
        account_id=account_id,
        subject=consumer,
        code_input=code,
        now=now,
        **extra,
    )


def wrong_code(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


# --- codes and input --------------------------------------------------------------------------------


def test_codes_are_six_ascii_digits_from_secrets(monkeypatch):
    calls = []
    monkeypatch.setattr(otp.secrets, "randbelow", lambda n: calls.append(n) or 123)
    assert otp.generate_code() == "000123"
    assert calls == [10**6]


@pytest.mark.parametrize(
    "raw",
    [
        "",
        " ",
        "12345",
        "1234567",
        "123456\n",
        "\t123456",
        "12345a",
        "-12345",
        "+12345",
        "1e5",
        "0x1F",
        "１２３",
        "1' OR '1'='1",
        "<script>",
        "12\x0034",
        None,
        123456,
        "1" * 33,
    ],
)
def test_malformed_codes_are_refused(raw):
    assert otp.normalise_code(raw) is None


def test_spaces_between_digits_are_allowed():
    assert otp.normalise_code("12 34 56") == "123456"
    assert otp.normalise_code(" 123 456 ") == "123456"


@pytest.mark.parametrize("raw", ["１２３４５６", "१२३४५६", "١٢٣٤٥٦"])
def test_non_ascii_digits_are_refused_although_isdigit_accepts_them(raw):
    assert raw.isdigit() and int(raw) > 0  # what a naive check would let through
    assert otp.normalise_code(raw) is None


def test_long_input_is_refused_before_any_processing(monkeypatch):
    touched = []
    monkeypatch.setattr(otp, "_CODE_RE", type("Spy", (), {"fullmatch": lambda self, s: touched.append(s)})())
    for size in (33, 10_000, 1_000_000):
        assert otp.normalise_code("1" * size) is None
    assert touched == []


def test_leading_zeros_verify(conn, key, monkeypatch):
    monkeypatch.setattr(otp, "generate_code", lambda: "000123")
    issued = login(conn, key)
    assert issued.code == "000123"
    assert check_login(conn, key, issued, "000 123").status == "ok"


def test_malformed_input_costs_no_attempt(conn, key):
    issued = login(conn, key)
    for raw in ["", "abc", "१२३४५६", "x" * 1_000_000]:
        assert check_login(conn, key, issued, raw).status == "invalid"
    assert otp.challenge(conn, issued.challenge_id).attempts == 0
    assert check_login(conn, key, issued, issued.code).status == "ok"


# --- storage -------------------------------------------------------------------------------------


def test_only_a_keyed_mac_is_stored(conn, key):
    issued = login(conn, key)
    row = dict(conn.execute("SELECT * FROM otp_challenges").mappings().one())
    assert issued.code not in " ".join(str(v) for v in row.values())
    assert row["code_mac"] == otp.code_mac(key, issued.challenge_id, "login", None, MOBILE, issued.code)
    assert key.secret.hex() not in " ".join(str(v) for v in row.values())


def test_same_code_in_two_challenges_gives_different_macs(conn, key, monkeypatch):
    monkeypatch.setattr(otp, "generate_code", lambda: "424242")
    first = login(conn, key)
    second = login(conn, key, subject="+919811111111")
    macs = [r[0] for r in conn.execute("SELECT code_mac FROM otp_challenges ORDER BY created_at")]
    assert first.code == second.code and len(set(macs)) == 2


def test_a_new_key_invalidates_outstanding_challenges(conn, key):
    issued = login(conn, key)
    other = otp.load_key(
        Settings(
            db_path=Path("unused"), otp_key="f343f7fcdff47d037e1668557a0477ed50deb853e3a48cd32375a96c2801a614"
        )
    )
    assert other.kid != key.kid
    assert check_login(conn, other, issued, issued.code).status == "wrong"


def test_verification_compares_with_compare_digest(conn, key, monkeypatch):
    seen = []
    real = hmac.compare_digest

    def spy(a, b):
        seen.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(otp.hmac, "compare_digest", spy)
    issued = login(conn, key)
    check_login(conn, key, issued, wrong_code(issued.code))
    check_login(conn, key, issued, issued.code)
    assert seen == [(64, 64), (64, 64)]  # always full-length MACs, no early exit on length


# --- validity and single use ---------------------------------------------------------------------


def test_valid_for_five_minutes_strictly(conn, key):
    issued = login(conn, key)
    assert check_login(conn, key, issued, issued.code, now=T0 + sec(299)).status == "ok"
    at_boundary = login(conn, key, now=T0 + sec(400), subject="+919811111111")
    verdict = check_login(
        conn, key, at_boundary, at_boundary.code, now=T0 + sec(700), subject="+919811111111"
    )
    assert verdict.status == "expired"
    late = login(conn, key, now=T0 + sec(800), subject="+919822222222")
    assert (
        check_login(conn, key, late, late.code, now=T0 + sec(1101), subject="+919822222222").status
        == "expired"
    )
    assert audit.count(conn, "otp_expired") == 2


def test_single_use_and_reuse_is_audited(conn, key):
    issued = login(conn, key)
    assert check_login(conn, key, issued, issued.code).status == "ok"
    assert check_login(conn, key, issued, issued.code).status == "used"
    assert audit.count(conn, "otp_reuse", challenge_id=issued.challenge_id) == 1


def test_the_consuming_session_repeating_the_right_code_gets_the_same_success(conn, key):
    # Issue 10 (double submit: Enter, then a tap on "Verify OTP"): one consume, one side effect, two "ok".
    issued = link(conn, key)
    made: list[str] = []
    first = check_link(
        conn, key, issued, issued.code, session="tab-A", on_success=lambda c, ch: made.append(1) or 7
    )
    again = check_link(
        conn, key, issued, issued.code, session="tab-A", on_success=lambda c, ch: made.append(2) or 8
    )
    assert (first.status, first.repeat, first.account_id) == ("ok", False, 7)
    assert (again.status, again.repeat, again.account_id) == ("ok", True, 7)
    assert made == [1]
    row = (
        conn.execute(
            "SELECT attempts, consumed_session, consumed_account_id FROM otp_challenges "
            "WHERE challenge_id = :challenge_id",
            {"challenge_id": issued.challenge_id},
        )
        .mappings()
        .one()
    )
    assert row["attempts"] == 1 and row["consumed_account_id"] == 7
    assert row["consumed_session"] == otp.session_mac(key, issued.challenge_id, "tab-A") != "tab-A"
    assert audit.count(conn, "otp_reuse") == 0


@pytest.mark.parametrize(
    "session, code, after",
    [("tab-B", "right", 0), (None, "right", 0), ("tab-A", "wrong", 0), ("tab-A", "right", 301)],
    ids=["another-session", "no-session", "a-wrong-code", "after-the-code-expired"],
)
def test_anything_but_the_same_session_and_code_in_time_finds_the_code_used(conn, key, session, code, after):
    issued = link(conn, key)
    assert check_link(conn, key, issued, issued.code, session="tab-A").status == "ok"
    typed = issued.code if code == "right" else wrong_code(issued.code)
    verdict = check_link(conn, key, issued, typed, now=T0 + sec(after), session=session)
    assert (verdict.status, verdict.repeat) == ("used", False)
    assert audit.count(conn, "otp_reuse", challenge_id=issued.challenge_id) == 1


def test_a_code_consumed_without_a_session_is_never_repeated(conn, key):
    issued = login(conn, key)
    assert check_login(conn, key, issued, issued.code).status == "ok"
    assert check_login(conn, key, issued, issued.code, session="tab-A").status == "used"


def test_five_wrong_tries_kill_the_challenge(conn, key):
    issued = login(conn, key)
    statuses = [check_login(conn, key, issued, wrong_code(issued.code)) for _ in range(5)]
    assert [v.status for v in statuses] == ["wrong"] * 4 + ["dead"]
    assert [v.tries_left for v in statuses] == [4, 3, 2, 1, 0]
    assert check_login(conn, key, issued, issued.code).status == "dead"
    assert otp.challenge(conn, issued.challenge_id).attempts == 5
    assert audit.count(conn, "otp_dead") == 1 and audit.count(conn, "otp_failed") == 5


def test_resend_kills_the_old_code(conn, key):
    first = login(conn, key)
    second = login(conn, key, now=T0 + sec(31))
    assert second.code is not None and second.challenge_id != first.challenge_id
    assert check_login(conn, key, first, first.code, now=T0 + sec(32)).status == "dead"
    assert otp.challenge(conn, first.challenge_id).dead_reason == "superseded"
    assert check_login(conn, key, second, second.code, now=T0 + sec(33)).status == "ok"


def test_resend_keeps_the_failure_count(conn, key):
    now = T0
    issued = login(conn, key, now=now)
    for _ in range(4):
        check_login(conn, key, issued, wrong_code(issued.code), now=now)
    now += sec(31)
    issued = login(conn, key, now=now)
    assert otp.consecutive_failures(conn, "login", None, MOBILE) == 4
    for _ in range(5):
        check_login(conn, key, issued, wrong_code(issued.code), now=now)
    now += sec(31)
    issued = login(conn, key, now=now)
    assert issued.code is not None
    assert check_login(conn, key, issued, wrong_code(issued.code), now=now).status == "blocked"
    assert otp.consecutive_failures(conn, "login", None, MOBILE) == 10


# --- binding -------------------------------------------------------------------------------------


def test_a_code_works_only_for_what_it_was_issued_for(conn, key):
    issued = link(conn, key, consumer="101")
    assert check_link(conn, key, issued, issued.code, consumer="102").status == "wrong"
    # Another account cannot even try it: the challenge belongs to its requester (issue 13).
    assert check_link(conn, key, issued, issued.code, account_id=2).status == "unknown"
    wrong_purpose = otp.verify(
        conn,
        key,
        issued.challenge_id,
        purpose="login",
        account_id=None,
        subject="101",
        code_input=issued.code,
        now=T0,
    )
    assert wrong_purpose.status in {"wrong", "unknown"}
    assert check_link(conn, key, issued, issued.code).status == "ok"


def test_a_login_code_does_not_link(conn, key):
    issued = login(conn, key)
    verdict = otp.verify(
        conn,
        key,
        issued.challenge_id,
        purpose="link",
        account_id=1,
        subject=MOBILE,
        code_input=issued.code,
        now=T0,
    )
    assert verdict.status == "wrong"


def test_unknown_or_forged_challenge_ids_verify_nothing(conn, key):
    login(conn, key)
    for forged in [None, "", "../etc", "0" * 32, "' OR 1=1 --", 12]:
        verdict = otp.verify(
            conn, key, forged, purpose="login", account_id=None, subject=MOBILE, code_input="123456", now=T0
        )
        assert verdict.status == "unknown"


# --- send limits ---------------------------------------------------------------------------------


def test_resend_cooldown_is_thirty_seconds(conn, key):
    first = login(conn, key)
    early = login(conn, key, now=T0 + sec(29))
    assert early.code is None and early.limited == "cooldown"
    assert early.challenge_id == first.challenge_id  # the code already sent still works
    assert login(conn, key, now=T0 + sec(31)).code is not None
    assert otp.resend_wait_seconds(otp.challenge(conn, first.challenge_id), T0 + sec(29)) == 1
    assert otp.resend_wait_seconds(otp.challenge(conn, first.challenge_id), T0 + sec(30)) == 0


def test_sends_per_requester_per_15_minutes_hour_and_day(conn, key):
    times = [T0 + sec(40 * i) for i in range(4)]
    results = [link(conn, key, now=t) for t in times]
    assert [r.code is not None for r in results] == [True, True, True, False]
    assert results[3].limited == "sends_per_15min"
    # Another account asking for the same consumer ID is not slowed by the first one (issue 13 item 2).
    assert link(conn, key, now=T0 + sec(121), account_id=2).code is not None
    assert link(conn, key, now=T0 + dt.timedelta(minutes=16)).code is not None
    assert link(conn, key, now=T0 + dt.timedelta(minutes=17)).code is not None
    sixth = link(conn, key, now=T0 + dt.timedelta(minutes=32))
    assert sixth.code is None and sixth.limited == "sends_per_60min"
    # The window moves on: after the hour it sends again, until 10 in a day.
    sent = 5
    now = T0 + dt.timedelta(hours=1, minutes=1)
    while sent < 10:
        assert link(conn, key, now=now).code is not None
        sent += 1
        now += dt.timedelta(minutes=20)
    assert link(conn, key, now=now + dt.timedelta(hours=2)).limited == "sends_per_1440min"
    assert link(conn, key, now=T0 + dt.timedelta(days=1, minutes=1)).code is not None


def test_one_account_cannot_use_up_the_owners_sends(conn, key):
    """Issue 13 item 2: one account burning a consumer ID's sends leaves the owner's "Send OTP" working."""
    now = T0
    for _ in range(10):
        assert link(conn, key, now=now, account_id=7).code is not None
        now += dt.timedelta(minutes=21)
    assert link(conn, key, now=now, account_id=7).code is None
    owner = link(conn, key, now=now, account_id=1)
    assert owner.code is not None and owner.limited is None


def test_every_account_together_gets_twenty_sends_a_day_to_one_mobile(conn, key):
    for n in range(otp.TARGET_SENDS_PER_DAY):
        assert link(conn, key, now=T0 + sec(n), account_id=100 + n).code is not None
    flooded = link(conn, key, now=T0 + sec(30), account_id=999)
    assert flooded.code is None and flooded.limited == "target_sends"
    owner = otp.issue(
        conn,
        key,
        purpose="link",
        account_id=1,
        subject="101",
        destination=OWNER,
        now=T0 + sec(31),
        owner=True,
    )
    assert owner.code is not None  # the proven owner is never stopped by the flood guard


def test_an_account_may_start_ten_distinct_consumer_ids_a_day(conn, key):
    for n in range(10):
        issued = link(conn, key, consumer=f"C{n}", destination=None)  # unknown IDs count too
        assert issued.limited is None
    eleventh = link(conn, key, consumer="C10", destination=OWNER)
    assert eleventh.code is None and eleventh.limited == "account_distinct_consumers"
    assert link(conn, key, consumer="C10", account_id=2).code is not None
    assert link(conn, key, consumer="C10", now=T0 + dt.timedelta(days=1, seconds=1)).code is not None


def test_an_account_may_open_twenty_link_challenges_a_day(conn, key):
    now = T0
    for n in range(20):
        assert link(conn, key, consumer=f"C{n % 5}", now=now).limited is None
        now += dt.timedelta(minutes=31)
    assert link(conn, key, consumer="C0", now=now).limited == "account_link_challenges"


def test_limited_answers_look_like_real_ones(conn, key):
    real = link(conn, key)
    limited = link(conn, key, account_id=1, now=T0 + sec(1))
    assert limited.code is None and limited.limited == "cooldown" and limited.wait_seconds == 29
    assert limited.destination_masked == real.destination_masked
    assert limited.challenge_id == real.challenge_id and limited.reused  # its own live challenge
    assert audit.count(conn, "rate_limited", account_id=1) == 1
    unknown_a = link(conn, key, consumer="999", destination=None, now=T0 + sec(2))
    unknown_b = link(conn, key, consumer="999", destination=None, now=T0 + sec(3))
    assert unknown_b.limited == "cooldown" and unknown_b.destination_masked == unknown_a.destination_masked


# --- consecutive failures ------------------------------------------------------------------------


def _fail(conn, key, n, now, **kw):
    """n wrong codes across as many challenges as needed; returns the clock afterwards."""
    issued = None
    for i in range(n):
        if issued is None or i % 5 == 0:
            now += sec(31)
            issued = link(conn, key, now=now, **kw)
        check_link(conn, key, issued, "999999" if issued.code != "999999" else "888888", now=now, **kw)
    return now


def test_ten_failures_block_an_hour_and_twenty_a_day(conn, key):
    now = _fail(conn, key, 10, T0)
    assert otp.blocked_until(conn, "link", 1, "101", now) == otp.to_ts(now + dt.timedelta(hours=1))
    blocked = link(conn, key, now=now + sec(31))
    assert blocked.code is None and blocked.limited == "failures_block"
    # After the hour a new code may be sent; each further failure blocks another hour.
    now += dt.timedelta(hours=1, seconds=1)
    issued = link(conn, key, now=now)
    assert issued.code is not None
    assert check_link(conn, key, issued, wrong_code(issued.code), now=now).status == "blocked"
    assert otp.blocked_until(conn, "link", 1, "101", now) == otp.to_ts(now + dt.timedelta(hours=1))
    # The 20th consecutive failure blocks a day (counter primed to 19: the send caps would take days).
    conn.execute("UPDATE otp_failures SET consecutive = 19, blocked_until = NULL")
    now += dt.timedelta(hours=1, seconds=1)
    issued = link(conn, key, now=now)
    assert check_link(conn, key, issued, wrong_code(issued.code), now=now).status == "blocked"
    assert otp.consecutive_failures(conn, "link", 1, "101") == 20
    assert otp.blocked_until(conn, "link", 1, "101", now) == otp.to_ts(now + dt.timedelta(days=1))
    assert link(conn, key, now=now + dt.timedelta(hours=23)).limited == "failures_block"
    assert audit.count(conn, "rate_limited", reason="failures_block") >= 3


def test_a_block_also_refuses_the_correct_code(conn, key):
    now = _fail(conn, key, 9, T0)
    issued = link(conn, key, now=now + sec(31))
    assert check_link(conn, key, issued, wrong_code(issued.code), now=now + sec(31)).status == "blocked"
    assert check_link(conn, key, issued, issued.code, now=now + sec(32)).status == "dead"
    assert otp.challenge(conn, issued.challenge_id).dead_reason == "blocked"


def test_success_resets_the_failure_count(conn, key):
    now = _fail(conn, key, 9, T0)
    issued = link(conn, key, now=now + sec(31))
    assert check_link(conn, key, issued, issued.code, now=now + sec(31)).status == "ok"
    assert otp.consecutive_failures(conn, "link", 1, "101") == 0


def test_failure_counters_are_per_scope(conn, key):
    _fail(conn, key, 10, T0)
    assert otp.blocked_until(conn, "link", 1, "101", T0 + sec(400)) is not None
    assert otp.blocked_until(conn, "link", 2, "101", T0 + sec(400)) is None
    assert otp.blocked_until(conn, "link", 1, "102", T0 + sec(400)) is None


# --- decoys and the time floor -------------------------------------------------------------------


def test_unknown_ids_get_a_stable_decoy_and_burn_the_same_limits(conn, key):
    first = link(conn, key, consumer="NOSUCH", destination=None)
    again = link(conn, key, consumer="NOSUCH", destination=None, now=T0 + sec(31))
    assert first.code is None and first.limited is None
    assert first.destination_masked == again.destination_masked == otp.decoy_mask(key, "NOSUCH")
    assert first.destination_masked.startswith("+91 ••••••••") and len(first.destination_masked) == 14
    tails = {otp.decoy_mask(key, f"X{n}")[-2:] for n in range(50)}
    assert len(tails) > 20  # spread like real numbers, not one constant
    other = otp.load_key(
        Settings(
            db_path=Path("unused"), otp_key="f343f7fcdff47d037e1668557a0477ed50deb853e3a48cd32375a96c2801a614"
        )
    )
    assert [otp.decoy_mask(other, f"X{n}") for n in range(20)] != [
        otp.decoy_mask(key, f"X{n}") for n in range(20)
    ]
    link(conn, key, consumer="NOSUCH", destination=None, now=T0 + sec(62))
    assert link(conn, key, consumer="NOSUCH", destination=None, now=T0 + sec(93)).limited == "sends_per_15min"


def test_a_decoy_never_verifies(conn, key):
    decoy = link(conn, key, consumer="NOSUCH", destination=None)
    for guess in ("000000", "123456", "999999"):
        assert check_link(conn, key, decoy, guess, consumer="NOSUCH").status in {"wrong", "dead"}


def test_the_floor_sleeps_whatever_is_left():
    slept: list[float] = []
    for took in (0.0, 0.4, 1.49, 2.0):
        ticks = iter([100.0, 100.0 + took])
        with otp.Pacer(1.5, sleep=slept.append, clock=lambda ticks=ticks: next(ticks)).floor():
            pass
    assert slept == [1.5, 1.1, 0.01]  # nothing to add when the work took longer than the floor


def test_the_floor_applies_even_when_the_work_fails():
    slept: list[float] = []
    ticks = iter([0.0, 0.5])
    with pytest.raises(RuntimeError), otp.Pacer(1.0, sleep=slept.append, clock=lambda: next(ticks)).floor():
        raise RuntimeError("gateway down")
    assert slept == [0.5]


# --- concurrency (SQLite file in WAL mode; PostgreSQL: one connection per thread) ----------------
#
# Each thread takes its own connection after the barrier (PostgreSQL's pool holds 15 per process, so
# 20 threads holding one each at the barrier would wait on the pool for ever).


@pytest.fixture
def migrated(backend: str) -> str:
    with storage.open_db(backend) as conn:
        if conn.dialect == "sqlite":
            assert conn.execute("PRAGMA journal_mode").scalar() == "wal"
    return backend


def race(target: str, threads: int, work) -> list:
    """Run ``work(conn, n)`` in ``threads`` threads at once, each on its own connection; their results."""
    barrier = threading.Barrier(threads)
    results: list = []
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        barrier.wait()
        try:
            with storage.open_db(target, run_migrations=False) as conn:
                results.append(work(conn, n))
        except BaseException as error:  # noqa: BLE001 - reported below, with the thread's error
            errors.append(error)

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert errors == []
    return results


def test_twenty_threads_with_the_right_code_consume_it_once(migrated, key):
    with storage.open_db(migrated) as conn:
        issued = link(conn, key)
    side_effects: list[str] = []
    results = race(
        migrated,
        20,
        lambda conn, n: (
            check_link(
                conn, key, issued, issued.code, on_success=lambda c, ch: side_effects.append(ch.challenge_id)
            ).status
        ),
    )
    assert sorted(results) == ["ok"] + ["used"] * 19
    assert side_effects == [issued.challenge_id]


def test_twenty_threads_with_wrong_codes_never_pass_five_attempts(migrated, key):
    with storage.open_db(migrated) as conn:
        issued = link(conn, key)
    results = race(
        migrated, 20, lambda conn, n: check_link(conn, key, issued, wrong_code(issued.code)).status
    )
    with storage.open_db(migrated) as conn:
        assert otp.challenge(conn, issued.challenge_id).attempts == 5
        assert audit.count(conn, "otp_failed") == 5
    assert results.count("wrong") == 4 and results.count("dead") == 16


def test_parallel_sends_never_pass_the_cap(migrated, key):
    codes = race(migrated, 12, lambda conn, n: link(conn, key, account_id=1).code)
    assert sum(code is not None for code in codes) == 1  # the 30 s cooldown admits exactly one


def _capped(monkeypatch, limit: str) -> None:
    """Every send limit but ``limit`` out of the way, ``limit`` set to 3 (issue 12: a cap of 3)."""
    monkeypatch.setattr(otp, "RESEND_COOLDOWN", dt.timedelta(0))
    windows = {"sends_per_15min": ((dt.timedelta(minutes=15), 3),)}
    monkeypatch.setattr(otp, "SEND_WINDOWS", windows.get(limit, ((dt.timedelta(minutes=15), 100),)))
    monkeypatch.setattr(otp, "CLIENT_LOGIN_SENDS_PER_DAY", 3 if limit == "client_sends" else 100)
    monkeypatch.setattr(
        otp, "ACCOUNT_LINK_CHALLENGES_PER_DAY", 3 if limit == "account_link_challenges" else 100
    )
    monkeypatch.setattr(otp, "ACCOUNT_DISTINCT_CONSUMERS_PER_DAY", 100)
    monkeypatch.setattr(otp, "TARGET_SENDS_PER_DAY", 3 if limit == "target_sends" else 100)


# Each limit with 8 requests at once: the same requester and mobile; 8 browser sessions of one client
# address, each for its own mobile; one account for 8 consumer IDs; 8 accounts for one consumer ID.
SEND_RACES = {
    "sends_per_15min": lambda key, conn, n: login(conn, key),
    "client_sends": lambda key, conn, n: otp.issue(
        conn, key, purpose="login", account_id=None, subject=f"+9198765432{n:02d}",
        destination=f"+9198765432{n:02d}", now=T0, session=f"tab-{n}", client="203.0.113.9",
    ),
    "account_link_challenges": lambda key, conn, n: link(conn, key, account_id=1, consumer=f"10{n}"),
    "target_sends": lambda key, conn, n: link(conn, key, account_id=n + 1),
}  # fmt: skip


@pytest.mark.parametrize("limit", sorted(SEND_RACES))
def test_eight_concurrent_sends_against_a_cap_of_three_let_exactly_three_through(
    migrated, key, monkeypatch, limit
):
    """Issue 12: count-then-insert under concurrency (two app servers); the PostgreSQL half takes the
    subjects' advisory locks, without them it let all 8 through."""
    _capped(monkeypatch, limit)
    issued = race(migrated, 8, lambda conn, n: SEND_RACES[limit](key, conn, n))
    assert sum(i.code is not None for i in issued) == 3
    assert sorted(i.limited for i in issued if i.code is None) == [limit] * 5
    with storage.open_db(migrated) as conn:
        assert conn.execute("SELECT count(*) FROM otp_sends").scalar() == 3


# --- the key -------------------------------------------------------------------------------------


def test_a_short_configured_key_fails_closed(tmp_path):
    with pytest.raises(otp.OtpKeyError, match="32"):
        otp.load_key(Settings(db_path=tmp_path / "x.db", otp_key="short"), key_file=tmp_path / "k")
    with pytest.raises(otp.OtpKeyError):
        otp.load_key(Settings(db_path=tmp_path / "x.db", otp_key="x" * 31), key_file=tmp_path / "k")
    assert not (tmp_path / "k").exists()


def test_a_hex_key_is_decoded():
    key = otp.load_key(
        Settings(
            db_path=Path("x"), otp_key="6f147fc0f49af9c7fa3a6a75ae11ebde8b6a51afd0f3b9bb6bd68e40709dd7ba"
        )
    )
    assert (
        key.secret == bytes.fromhex("6f147fc0f49af9c7fa3a6a75ae11ebde8b6a51afd0f3b9bb6bd68e40709dd7ba")
        and key.source == "configured"
    )


def test_without_a_configured_key_one_is_generated_with_0600(tmp_path):
    path = tmp_path / "data" / ".otp_key"
    first = otp.load_key(Settings(db_path=tmp_path / "x.db"), key_file=path)
    assert first.source == "file" and len(first.secret) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert otp.load_key(Settings(db_path=tmp_path / "x.db"), key_file=path) == first


def test_a_key_file_others_can_read_is_refused(tmp_path):
    path = tmp_path / ".otp_key"
    otp.load_key(Settings(db_path=tmp_path / "x.db"), key_file=path)
    os.chmod(path, 0o644)
    with pytest.raises(otp.OtpKeyError, match="chmod 600"):
        otp.load_key(Settings(db_path=tmp_path / "x.db"), key_file=path)


def test_the_key_file_is_git_ignored():
    root = Path(__file__).resolve().parent.parent
    assert "data/.otp_key" in (root / ".gitignore").read_text().splitlines()
    assert root / "data" / ".otp_key" == otp.KEY_FILE


def test_the_key_never_shows_in_repr(key):
    assert key.secret.hex() not in repr(key) and str(key.secret) not in repr(key)


# --- abuse (issue 13) ------------------------------------------------------------------------------


def _attack_day(conn, key, accounts: int, start: dt.datetime) -> int:
    """``accounts`` attacker accounts guess wrong codes at consumer 101 all day, as fast as every limit
    lets them; returns how many guesses were evaluated (a "wrong" or "dead" answer)."""
    before = conn.execute("SELECT count(*) FROM otp_guesses").fetchone()[0]
    now = start
    end = start + dt.timedelta(days=1)
    while now < end:
        for n in range(accounts):
            issued = link(conn, key, now=now, account_id=1000 + n)
            if issued.code is None:
                continue
            for _ in range(otp.MAX_ATTEMPTS):
                verdict = check_link(conn, key, issued, wrong_code(issued.code), now=now, account_id=1000 + n)
                if verdict.status != "wrong":
                    break
        now += dt.timedelta(minutes=20)
    return conn.execute("SELECT count(*) FROM otp_guesses").fetchone()[0] - before


@pytest.mark.parametrize("accounts", [1, 5, 20])
def test_at_most_twenty_guesses_a_day_per_consumer_id_whatever_the_accounts(conn, key, accounts):
    assert _attack_day(conn, key, accounts, T0) <= otp.TARGET_GUESSES_PER_DAY
    assert conn.execute("SELECT count(*) FROM otp_guesses").fetchone()[0] <= otp.TARGET_GUESSES_PER_DAY
    # The household itself (an account signed in with the registered mobile) still links.
    later = T0 + dt.timedelta(hours=23)
    mine = otp.issue(
        conn, key, purpose="link", account_id=1, subject="101", destination=OWNER, now=later, owner=True
    )
    verdict = otp.verify(
        conn,
        key,
        mine.challenge_id,
        purpose="link",
        account_id=1,
        subject="101",
        code_input=mine.code,
        now=later,
        owner=True,
    )
    assert verdict.status == "ok"


def test_at_most_one_hundred_consecutive_failures_per_consumer_id(conn, key):
    now = T0
    total = 0
    for _day in range(6):
        total += _attack_day(conn, key, 5, now)
        now += dt.timedelta(days=1)
    assert total <= otp.TARGET_MAX_CONSECUTIVE
    assert otp.target_failures(conn, "link", "101") <= otp.TARGET_MAX_CONSECUTIVE


def _login_for(conn, key, now, session, client=None):
    return otp.issue(
        conn,
        key,
        purpose="login",
        account_id=None,
        subject=MOBILE,
        destination=MOBILE,
        now=now,
        session=session,
        client=client,
    )


def _check_for(conn, key, issued, code, now, session, client=None):
    return otp.verify(
        conn,
        key,
        issued.challenge_id,
        purpose="login",
        account_id=None,
        subject=MOBILE,
        code_input=code,
        now=now,
        session=session,
        client=client,
    )


def test_a_stranger_cannot_keep_a_household_signed_out(conn, key):
    """432 ten-minute probes over 72 h: a stranger from one address burns wrong codes at the mobile's
    sign-in before each probe; the owner's fresh challenge works at every probe (issue 13 item 2)."""
    now = T0
    owner_ok = 0
    probes = 432
    for probe in range(probes):
        attack = _login_for(conn, key, now, "stranger", client="203.0.113.9")
        if attack.code is not None:
            for _ in range(otp.MAX_ATTEMPTS):
                if (
                    _check_for(
                        conn, key, attack, wrong_code(attack.code), now, "stranger", "203.0.113.9"
                    ).status
                    != "wrong"
                ):
                    break
        mine = _login_for(conn, key, now + sec(1), f"owner-{probe}")  # each probe: a fresh visit
        owner_ok += _check_for(conn, key, mine, mine.code, now + sec(2), f"owner-{probe}").status == "ok"
        now += dt.timedelta(minutes=10)
    assert owner_ok == probes


def test_a_second_send_within_the_cooldown_never_gets_anothers_challenge(conn, key):
    first = _login_for(conn, key, T0, "tab-owner")
    second = _login_for(conn, key, T0 + sec(5), "tab-stranger")
    assert second.challenge_id != first.challenge_id and second.code is not None
    # The stranger's wrong codes against the owner's challenge count nothing and kill nothing.
    for _ in range(10):
        assert (
            _check_for(conn, key, first, wrong_code(first.code), T0 + sec(6), "tab-stranger").status
            == "unknown"
        )
    assert otp.challenge(conn, first.challenge_id).attempts == 0
    assert _check_for(conn, key, first, first.code, T0 + sec(7), "tab-owner").status == "ok"


def test_a_challenge_is_bound_to_the_mobile_it_was_sent_to(conn, key):
    """Issue 13 item 4: A -> B -> A between "Send OTP" and "Verify OTP" needs a new OTP."""
    sent = otp.issue(
        conn, key, purpose="link", account_id=1, subject="101", destination=OWNER, now=T0, binding=f"{OWNER}|"
    )
    after_a_b_a = f"{OWNER}|2026-11-25T06:31:00Z"  # mobile_changed_at moved on, even if the number is back
    verdict = otp.verify(
        conn,
        key,
        sent.challenge_id,
        purpose="link",
        account_id=1,
        subject="101",
        code_input=sent.code,
        now=T0 + sec(90),
        binding=after_a_b_a,
    )
    assert (
        verdict.status == "dead"
        and otp.challenge(conn, sent.challenge_id).dead_reason == "destination_changed"
    )
    fresh = otp.issue(
        conn,
        key,
        purpose="link",
        account_id=1,
        subject="101",
        destination=OWNER,
        now=T0 + sec(100),
        binding=after_a_b_a,
    )
    assert (
        otp.verify(
            conn,
            key,
            fresh.challenge_id,
            purpose="link",
            account_id=1,
            subject="101",
            code_input=fresh.code,
            now=T0 + sec(101),
            binding=after_a_b_a,
        ).status
        == "ok"
    )


def test_after_a_key_rotation_a_live_challenge_still_verifies(conn, key):
    issued = login(conn, key)
    rotated = otp.load_key(
        Settings(
            db_path=Path("unused"),
            otp_key="f343f7fcdff47d037e1668557a0477ed50deb853e3a48cd32375a96c2801a614",
            otp_previous_keys=(key.secret.hex(),),
        )
    )
    assert rotated.kid != key.kid
    assert check_login(conn, rotated, issued, issued.code, now=T0 + sec(5)).status == "ok"
    # Without the old key configured the code cannot be checked: refused, but it is not "wrong".
    other = login(conn, key, now=T0 + sec(60), subject=OWNER)
    bare = otp.load_key(
        Settings(
            db_path=Path("unused"), otp_key="f343f7fcdff47d037e1668557a0477ed50deb853e3a48cd32375a96c2801a614"
        )
    )
    assert check_login(conn, bare, other, other.code, now=T0 + sec(61), subject=OWNER).status != "ok"


@pytest.mark.parametrize("weak", ["password" * 4, "passwordpassword" * 3, "ab" * 32, "0" * 64, "a1b2" * 16])
def test_low_entropy_keys_are_refused(tmp_path, weak):
    with pytest.raises(otp.OtpKeyError, match="random"):
        otp.load_key(Settings(db_path=tmp_path / "x.db", otp_key=weak), key_file=tmp_path / "k")


def test_forty_parallel_first_starts_share_one_key(tmp_path):
    import multiprocessing

    key_file = tmp_path / "data" / ".otp_key"
    with multiprocessing.get_context("fork").Pool(8) as pool:
        results = pool.map(_start_key, [str(key_file)] * 40)
    assert all(isinstance(r, str) for r in results), results
    assert len(set(results)) == 1
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [p.name for p in key_file.parent.iterdir()] == [".otp_key"]  # no temporary files left


def _start_key(path: str) -> str:
    try:
        return otp.load_key(Settings(db_path=Path("unused"), otp_key=None), key_file=Path(path)).kid
    except Exception as exc:  # noqa: BLE001 - the test reports any failure of a start
        return exc  # type: ignore[return-value]
