"""Fixtures of the browser journeys: one camp-mode server and one chromium for the whole package,
a fresh demo database and a fresh browser context (a new Streamlit session) for every journey.

Under ``CI=true`` a missing chromium or playwright is a failure; elsewhere the journeys skip with a
one-line reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lib import demo, storage
from tests import postgres
from tests.browser.harness import (
    ARTIFACTS,
    AppServer,
    Journey,
    browser_missing_reason,
    launch_chromium,
    reset_demo,
)

LANGUAGES = ("en", "hi")
DEVICES = ("desktop", "phone")
VARIANTS = [(lang, device) for lang in LANGUAGES for device in DEVICES]


def _require_browser() -> None:
    reason = browser_missing_reason()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but the browser journeys cannot run: {reason}")
    pytest.skip(f"browser journeys skipped: {reason}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the test item, so the journey fixture knows when a journey failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(scope="package")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """The dashboard in camp mode on a free port of 127.0.0.1 (started once, stopped after the package)."""
    _require_browser()
    work_dir = tmp_path_factory.mktemp("browser-server")
    reset_demo(work_dir / "camp.db")
    with AppServer.start(work_dir) as server:
        yield server


MONTH_END_NOW = "2026-11-30T06:30:00Z"  # the day before the free units restart (issue 14 §1)


@pytest.fixture(scope="package")
def month_end_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """A second camp-mode server whose clock says 30 Nov 2026, 12:00 IST (for the run-out forecast)."""
    _require_browser()
    work_dir = tmp_path_factory.mktemp("browser-server-month-end")
    reset_demo(work_dir / "camp.db", now=MONTH_END_NOW)
    with AppServer.start(work_dir, now=MONTH_END_NOW) as server:
        yield server


@pytest.fixture(scope="package")
def chromium(app_server: AppServer) -> Iterator[Any]:
    """Debian's chromium under Playwright (one browser; each journey gets its own context)."""
    with launch_chromium() as browser:
        yield browser


@pytest.fixture(params=VARIANTS, ids=[f"{lang}-{device}" for lang, device in VARIANTS])
def variant(request: pytest.FixtureRequest) -> tuple[str, str]:
    """(language, device) of one run of a journey."""
    return request.param


@pytest.fixture
def journey(
    request: pytest.FixtureRequest, app_server: AppServer, chromium: Any, variant: tuple[str, str]
) -> Iterator[Journey]:
    """A visitor on the freshly reset demo, in one language at one size; checked clean at the end."""
    yield from _visit(request, app_server, chromium, variant)


@pytest.fixture
def month_end_journey(
    request: pytest.FixtureRequest, month_end_server: AppServer, chromium: Any, variant: tuple[str, str]
) -> Iterator[Journey]:
    """``journey`` on the server whose clock says 30 Nov 2026 (:data:`MONTH_END_NOW`)."""
    yield from _visit(request, month_end_server, chromium, variant, now=MONTH_END_NOW)


def _visit(
    request: pytest.FixtureRequest,
    app_server: AppServer,
    chromium: Any,
    variant: tuple[str, str],
    *,
    now: str | None = None,
) -> Iterator[Journey]:
    lang, device = variant
    if now is None:
        reset_demo(Path(app_server.db_path))
    else:
        reset_demo(Path(app_server.db_path), now=now)
    # The visitor's account speaks the journey's language (a verified sign-in restores the saved one).
    with storage.open_db(app_server.db_path) as conn:
        account = storage.accounts.account_by_mobile(conn, demo.DEMO_ACCOUNT_MOBILE)
        assert account is not None, "the seeded demo has no demo account"
        storage.accounts.set_account_language(conn, int(account["account_id"]), lang)
    name = request.node.originalname.removeprefix("test_")
    visitor = Journey.open(chromium, app_server, lang=lang, device=device, name=name)
    try:
        yield visitor
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            # What the screen showed when the journey failed (and the server's last words, in the log).
            visitor.screenshot(ARTIFACTS / "failed" / f"{name}-{lang}-{device}.png")
            (ARTIFACTS / "failed" / f"{name}-{lang}-{device}.log").write_text(app_server.log_tail(200))
        else:
            visitor.assert_clean()
    finally:
        visitor.close()


@pytest.fixture
def shared_database(postgresql_cluster: postgres.Cluster | None) -> Iterator[str]:
    """A copy of the migrated template on the suite's throwaway PostgreSQL, for app servers sharing one
    database (tests/browser/test_two_servers.py, test_deploy.py); skips (fails under CI) without a browser
    or PostgreSQL."""
    reason = browser_missing_reason()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the browser journeys cannot run: {reason}")
        pytest.skip(f"browser journeys skipped: {reason}")
    if postgresql_cluster is None:
        pytest.skip(f"PostgreSQL half skipped: {postgres.missing_reason()}")
    url = postgresql_cluster.copy_database("mm_template")
    yield url
    storage.engine.dispose(url)
