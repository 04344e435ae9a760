"""Two app servers on one PostgreSQL (issue 12): what a DISCOM deployment behind a load balancer does.

Both servers run with the environment of ``docs/deploy/metermitra.env`` (its database URL and key replaced
by the test's own, SMS to the outbox instead of the http gateway). One browser signs in through server A;
the same browser on server B is signed in (the session lives in PostgreSQL, the cookie in the browser); an
"Add Another Meter" OTP asked for through A is entered through B and links the meter; A then shows it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lib import demo, storage
from tests.browser.harness import AppServer, Journey, deploy_env, latest_otp

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]


def test_sign_in_and_a_link_cross_two_app_servers(
    shared_database: str, tmp_path: Path, chromium: Any
) -> None:
    """``chromium``: the package's one browser (a second sync Playwright cannot start beside it)."""
    env = deploy_env()
    assert set(env) >= {"METERMITRA_DB", "METERMITRA_SMS_GATEWAY", "METERMITRA_OTP_KEY"}
    env.update(METERMITRA_DB=shared_database, METERMITRA_SMS_GATEWAY="outbox")
    env.pop("METERMITRA_OTP_KEY")  # the harness's own test key, the same on both servers
    consumer_id, registered_mobile = demo.DEMO_UNLINKED[0]
    with (
        AppServer.start(tmp_path / "a", database=shared_database, env=env) as server_a,
        AppServer.start(tmp_path / "b", database=shared_database, env=env) as server_b,
    ):
        on_a = Journey.open(chromium, server_a, lang="en", device="desktop", name="two_servers_a")
        on_a.send_sign_in_otp(demo.DEMO_ACCOUNT_MOBILE)
        on_a.submit_otp(latest_otp(shared_database, demo.DEMO_ACCOUNT_MOBILE))
        on_a.main.get_by_text(demo.DEMO_LINKED[0][1]).first.wait_for(state="visible")

        # The same browser on server B: signed in there too, without an OTP.
        on_b = Journey.open(chromium, server_b, lang="en", device="desktop", name="two_servers_b")
        on_b.main.get_by_text(demo.DEMO_LINKED[0][1]).first.wait_for(state="visible")
        assert on_b.main.get_by_label(on_b.t("auth_mobile_label"), exact=True).count() == 0

        # "Add Another Meter": the OTP is asked for through A ...
        on_a.navigate("nav_manage_connection")
        on_a.page.locator(".st-key-link_consumer_input input").fill(consumer_id)
        on_a.act(on_a.button("auth_send_otp").click)
        on_a.main.get_by_label(on_a.t("auth_otp_label"), exact=True).wait_for(state="visible")
        code = latest_otp(shared_database, registered_mobile)

        # ... and entered through B, whose Manage Connection page takes up the account's pending OTP.
        on_b.navigate("nav_manage_connection")
        on_b.main.get_by_label(on_b.t("auth_otp_label"), exact=True).wait_for(state="visible")
        on_b.page.locator(".st-key-link_nickname_input input").fill("Flat 2")
        on_b.submit_otp(code)
        on_b.main.get_by_text(on_b.t("auth_linked_ok", nickname="Flat 2")).wait_for(state="visible")
        with storage.open_db(shared_database, run_migrations=False) as conn:
            linked = {
                row["consumer_id"]
                for row in conn.accounts.linked_connections(
                    conn.accounts.account_by_mobile(demo.DEMO_ACCOUNT_MOBILE)["account_id"]
                )
            }
        assert consumer_id in linked

        # Server A shows the new connection at its next visit to the Overview.
        on_a.navigate("nav_overview")
        on_a.main.get_by_text("Flat 2").first.wait_for(state="visible")
        for journey in (on_a, on_b):
            assert journey.console_errors == [] and journey.outside_requests == []
            journey.close()
