"""The HTTP edge beside Streamlit: the routes that set and clear the session cookie (issue 14 section 2).

Streamlit talks to the page over a WebSocket, which cannot set a cookie; Streamlit 1.67's ``st.App``
(``serve.py``) adds ordinary Starlette routes next to Streamlit's own, and these two answer there:

- ``POST /mm/session`` with a one-time hand-off (``lib.sessions.start``) as the text body: the hand-off is
  swapped for the session token, which comes back only as ``Set-Cookie: mm_session=…; HttpOnly;
  SameSite=Strict; Path=/; Max-Age=43200`` (+ ``Secure`` over https). 204, or 403 for anything else.
- ``POST /mm/session/end``: expires the cookie unless it still names a live session (a sign-out ended it
  in the database first; an old page's late request never drops a newer sign-in's cookie). 204.

Both refuse cross-site requests (``Sec-Fetch-Site`` other than same-origin, or an ``Origin`` of another
host): the cookie is only ever set for the page's own sign-in. Nothing is read from the URL. This module
imports no Streamlit; the page side (the script that posts the hand-off) is ``lib.ui.frame``.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lib import otp, sessions, storage
from lib.config import load_settings

log = logging.getLogger(__name__)

SESSION_PATH = "/mm/session"
END_PATH = "/mm/session/end"
MAX_BODY = 200


def is_same_origin(request: Request) -> bool:
    """Whether the request comes from the app's own page (fetch metadata, else the Origin header)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site != "same-origin":
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return site == "same-origin"
    return urlsplit(origin).netloc == request.headers.get("host", "")


def is_https(request: Request) -> bool:
    """Whether the page is served over https (directly, or behind a proxy that says so)."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def cookie_header(value: str, *, max_age: int, secure: bool) -> str:
    """The ``Set-Cookie`` value of the session cookie.

    >>> cookie_header("abc", max_age=60, secure=False)
    'mm_session=abc; Path=/; Max-Age=60; HttpOnly; SameSite=Strict'
    """
    parts = [f"{sessions.COOKIE_NAME}={value}", "Path=/", f"Max-Age={max_age}", "HttpOnly", "SameSite=Strict"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def _no_store(status: int) -> Response:
    return Response(status_code=status, headers={"Cache-Control": "no-store"})


def _claim(handoff: str) -> str | None:
    settings = load_settings()
    with storage.open_db(settings.db_path) as conn:
        return sessions.claim(conn, otp.load_key(settings), handoff)


def _is_live(token: str | None) -> bool:
    settings = load_settings()
    with storage.open_db(settings.db_path) as conn:
        return sessions.is_live_token(conn, otp.load_key(settings), token)


async def set_session_cookie(request: Request) -> Response:
    """``POST /mm/session``: hand-off in, HttpOnly session cookie out."""
    if not is_same_origin(request):
        return _no_store(403)
    body = (await request.body())[:MAX_BODY].decode("ascii", errors="replace").strip()
    try:
        token = await run_in_threadpool(_claim, body)
    except (storage.StorageError, otp.OtpKeyError):
        log.exception("session hand-off failed")
        return _no_store(503)
    if token is None:
        return _no_store(403)
    response = _no_store(204)
    max_age = int(sessions.ABSOLUTE_LIFETIME.total_seconds())
    response.headers.append("Set-Cookie", cookie_header(token, max_age=max_age, secure=is_https(request)))
    return response


async def clear_session_cookie(request: Request) -> Response:
    """``POST /mm/session/end``: expire the cookie once its session has ended."""
    if not is_same_origin(request):
        return _no_store(403)
    token = request.cookies.get(sessions.COOKIE_NAME)
    if token is None:
        return _no_store(204)
    try:
        live = await run_in_threadpool(_is_live, token)
    except (storage.StorageError, otp.OtpKeyError):
        log.exception("session cookie check failed")
        return _no_store(503)
    response = _no_store(204)
    if not live:
        response.headers.append("Set-Cookie", cookie_header("", max_age=0, secure=is_https(request)))
    return response


ROUTES = [
    Route(SESSION_PATH, set_session_cookie, methods=["POST"]),
    Route(END_PATH, clear_session_cookie, methods=["POST"]),
]
