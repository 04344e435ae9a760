"""lib.web: the cookie routes beside Streamlit (issue 14 section 2), called as Starlette would call them."""

from __future__ import annotations

import asyncio

import pytest
from starlette.requests import Request

from lib import auth, otp, sessions, storage, web
from lib.config import load_settings


def request(path: str, body: str = "", *, headers: dict[str, str] | None = None, cookie: str | None = None):
    raw = {"host": "127.0.0.1:8501", "sec-fetch-site": "same-origin", "origin": "http://127.0.0.1:8501"}
    raw.update(headers or {})
    if cookie is not None:
        raw["cookie"] = f"{sessions.COOKIE_NAME}={cookie}"
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "scheme": "http",
        "server": ("127.0.0.1", 8501),
        "query_string": b"",
        "headers": [(k.encode(), v.encode()) for k, v in raw.items() if v is not None],
    }

    async def receive():
        return {"type": "http.request", "body": body.encode(), "more_body": False}

    return Request(scope, receive)


def call(handler, req):
    return asyncio.run(handler(req))


@pytest.fixture
def started(db_path):
    settings = load_settings()
    with storage.open_db(db_path) as conn:
        auth.check_startup(conn, settings)
        account = conn.accounts.create_account("+910000000001", now="2026-11-25T06:00:00Z")
        return sessions.start(conn, otp.load_key(settings), account)


def set_cookie(response) -> str:
    return response.headers.get("set-cookie", "")


def test_a_handoff_comes_back_as_an_httponly_strict_cookie(started):
    response = call(web.set_session_cookie, request(web.SESSION_PATH, started.handoff))
    assert response.status_code == 204 and response.headers["cache-control"] == "no-store"
    cookie = set_cookie(response)
    assert cookie.startswith(f"{sessions.COOKIE_NAME}=") and started.handoff not in cookie
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert "Max-Age=43200" in cookie and "Secure" not in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    with storage.open_db(load_settings().db_path) as conn:
        assert (
            sessions.resume(conn, otp.load_key(load_settings()), token).session.session_id
            == started.session_id
        )
    # once only
    assert call(web.set_session_cookie, request(web.SESSION_PATH, started.handoff)).status_code == 403


def test_secure_over_https(started):
    req = request(web.SESSION_PATH, started.handoff, headers={"x-forwarded-proto": "https"})
    assert "Secure" in set_cookie(call(web.set_session_cookie, req))


@pytest.mark.parametrize(
    "headers",
    [
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
        {"origin": "https://evil.example"},
        {"sec-fetch-site": None, "origin": None},
    ],
)
def test_cross_site_requests_are_refused(started, headers):
    response = call(web.set_session_cookie, request(web.SESSION_PATH, started.handoff, headers=headers))
    assert response.status_code == 403 and not set_cookie(response)
    # the hand-off was not used up by the refused request
    assert call(web.set_session_cookie, request(web.SESSION_PATH, started.handoff)).status_code == 204


def test_the_end_route_clears_only_an_ended_sessions_cookie(started):
    response = call(web.set_session_cookie, request(web.SESSION_PATH, started.handoff))
    token = set_cookie(response).split(";")[0].split("=", 1)[1]
    live = call(web.clear_session_cookie, request(web.END_PATH, cookie=token))
    assert live.status_code == 204 and not set_cookie(live)  # a newer sign-in's cookie stays
    with storage.open_db(load_settings().db_path) as conn:
        sessions.end(conn, started.session_id)
    ended = call(web.clear_session_cookie, request(web.END_PATH, cookie=token))
    assert "Max-Age=0" in set_cookie(ended) and "HttpOnly" in set_cookie(ended)
    assert call(web.clear_session_cookie, request(web.END_PATH)).status_code == 204
