"""The one place that knows Streamlit's page chrome: every page opens with ``ctx = frame.page("overview")``.

It sets the page config, keeps the language across pages (and on the signed-in account), draws the
translated navigation (:mod:`lib.ui.paths`), the shared chrome (:mod:`lib.ui.chrome`: camp banner and
phone, the low-balance warning), enforces the idle timeout and the sign-in gate, and returns a
:class:`lib.ui.context.PageContext` with what a page needs. It imports no page module.

Session state keys come from :mod:`lib.ui.session_keys` (the registry, checked against
docs/DEVELOPING.md by a test). Nothing that proves identity is read from a URL: ``st.query_params``
is never consulted.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from functools import partial
from pathlib import Path

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from lib import config, i18n, otp, sessions, sms, storage, web
from lib.config import Settings, load_settings
from lib.ui import chrome, paths
from lib.ui import session_keys as keys
from lib.ui.context import PageContext

_LOG = logging.getLogger("metermitra.startup")  # an operator's details of a refused start

__all__ = [
    "IDLE_TIMEOUT_SECONDS",
    "PageContext",
    "fragment_context",
    "in_fragment_rerun",
    "page",
    "settings",
    "stop_sms_senders",
]

IDLE_TIMEOUT_SECONDS = 15 * 60

# Streamlit's text_input has no ``inputmode``: this literal script (no data in it) gives the OTP and
# mobile-number boxes the phone's number keypad. It runs in the page itself, watches for new inputs,
# and only ever sets two attributes. It looks only at what a mutation added (and at a changed
# ``autocomplete``), skipping SVG: it used to search the whole document twice on every DOM mutation batch,
# and a plotly chart's drawing is thousands of SVG nodes (issue 15, BENCHMARKS section 7 run 2).
# Streamlit's own "Press Enter to submit form" under a form's inputs is English only: in Hindi it is hidden
# (Enter still submits; a form's button says what to do). Literal CSS, no data.
HIDE_ENTER_HINT_CSS = '<style>[data-testid="InputInstructions"] { display: none; }</style>'

_NUMERIC_KEYPAD_SCRIPT = """
<script>
(() => {
  const KEYPADS = new Map([["one-time-code", "numeric"], ["tel", "tel"]]);
  const fix = (el) => {
    const mode = KEYPADS.get(el.getAttribute("autocomplete"));
    if (mode && el.getAttribute("inputmode") !== mode) el.setAttribute("inputmode", mode);
  };
  const scan = (node) => {
    if (node.nodeType !== 1 || node instanceof SVGElement) return;
    if (node.tagName === "INPUT") fix(node);
    else for (const el of node.getElementsByTagName("input")) fix(el);
  };
  scan(document.body);
  if (!window.__mmKeypadObserver) {
    window.__mmKeypadObserver = new MutationObserver((records) => {
      for (const record of records) {
        if (record.type === "attributes") scan(record.target);
        else for (const node of record.addedNodes) scan(node);
      }
    });
    window.__mmKeypadObserver.observe(document.body, {
      childList: true, subtree: true, attributes: true, attributeFilter: ["autocomplete"],
    });
  }
})();
</script>
"""


# The environment variables lib.config reads: part of the settings' cache key.
_SETTINGS_ENV = (
    "METERMITRA_DB",
    "METERMITRA_CAMP",
    "METERMITRA_SMS_GATEWAY",
    "METERMITRA_SMS_DAILY_BUDGET",
    "METERMITRA_OTP_KEY",
)

# Phone first (issue 14 section 4), literal CSS: the page menu at the top of every page is for screens
# where the sidebar is folded away (below 768 px, Streamlit's own break point), with 44 px touch targets;
# radio and toggle rows get the same height on touch screens. The small per-connection tables are Markdown
# (lib.ui.widgets.draw_table): Streamlit draws them at their content's width with 1 rem of padding each side
# of a cell, so at 390 px a five-column table made the whole page scroll sideways (by up to 64 px with 12
# connections). Below 768 px the tables' text is 13 px and a cell's padding 4 px: every column of the demo's
# and a 12-connection household's tables fits in 358 px, en and hi (measured in chromium at 390×844). A
# table still wider than the screen (longer figures) scrolls sideways inside its own box (display: block, as
# GitHub's Markdown does), never the page.
_PHONE_CSS = """
<style>
.st-key-page_menu { flex-wrap: wrap; gap: 0.25rem 0.5rem; }
.st-key-page_menu [data-testid="stPageLink"] a, .st-key-page_menu button {
  min-height: 44px; display: flex; align-items: center; padding: 0 0.75rem;
  border: 1px solid rgba(27, 110, 194, 0.35); border-radius: 0.5rem;
}
.st-key-page_menu [data-testid="stPageLink"] p, .st-key-page_menu button p { font-size: 1rem; }
@media (min-width: 768px) { .st-key-page_menu { display: none !important; } }
[data-testid="stMarkdownContainer"] table { display: block; max-width: 100%; overflow-x: auto; }
@media (max-width: 767.98px) {
  [data-testid="stMarkdownContainer"] table { font-size: 0.8125rem; }
  [data-testid="stMarkdownContainer"] :is(th, td) { padding: 0.25rem; }
}
@media (pointer: coarse) {
  [data-testid="stRadio"] label, [data-testid="stCheckbox"] label { min-height: 44px; align-items: center; }
}
</style>
"""

# On a phone the open sidebar covers the page: a tap on one of its page links folds it away again.
_SIDEBAR_CLOSER_SCRIPT = """
<script>
(() => {
  if (window.__mmSidebarCloser) return;
  window.__mmSidebarCloser = true;
  document.addEventListener("click", (event) => {
    if (window.innerWidth >= 768) return;
    if (!event.target.closest || !event.target.closest('[data-testid="stSidebar"] [data-testid="stPageLink"] a')) return;
    const collapse = document.querySelector('[data-testid="stSidebarCollapseButton"] button');
    if (collapse) setTimeout(() => collapse.click(), 0);
  }, true);
})();
</script>
"""

LANGUAGE_NAMES = {"hi": "हिन्दी", "en": "English"}


def settings() -> Settings:
    """The server's settings, read once per process and again only when ``secrets.toml`` (its
    modification time or size) or one of the ``METERMITRA_*`` variables changes: a ``stat`` per rerun."""
    path = config.SECRETS_PATH
    try:
        stamp = path.stat()
        version: tuple[int, int] | None = (stamp.st_mtime_ns, stamp.st_size)
    except OSError:
        version = None
    return _settings(path, version, tuple(os.environ.get(name) for name in _SETTINGS_ENV))


@functools.lru_cache(maxsize=8)
def _settings(path: Path, version: tuple[int, int] | None, env: tuple[str | None, ...]) -> Settings:
    """``load_settings`` for one state of the secrets file and environment (the arguments are the key)."""
    return load_settings(secrets_path=path)


@st.cache_resource(show_spinner=False)
def _first_start(path: str) -> bool:
    """Once per server process and database: migrate, and seed the demo into an empty database meant to
    be a demo. Raises ``demo.DemoRefused`` (not cached: tried again next run, so the page works as soon
    as consumers are imported) for an empty database configured for production."""
    from lib import demo

    with storage.open_db(path) as conn:
        return demo.ensure_demo_data(conn, settings())


def _start_or_refuse(cfg: Settings) -> None:
    """The first start (:func:`_first_start`); a refusal shows visitors a plain message in their language
    and gives the operator the details in the server log (issue 13 item 12), then stops the page."""
    from lib import demo

    try:
        _first_start(str(cfg.db_path))
    except demo.DemoRefused as error:
        _LOG.error("refusing to start: %s", error)
    except storage.StorageError as error:  # the database is down or unreachable: tried again next run
        _LOG.error("cannot start on %s: %s", storage.display_target(str(cfg.db_path)), error)
    else:
        return
    st.error(i18n.t("auth_config_error", st.session_state.get(keys.LANG, i18n.DEFAULT_LANGUAGE)))
    st.stop()


# The SMS sender of each database this process serves: its thread and the event that stops it.
_senders: dict[str, tuple[threading.Thread, threading.Event]] = {}
_senders_lock = threading.Lock()


def _sms_sender(path: str) -> None:
    """With the http gateway: make sure this process runs the thread that delivers the SMS queue of the
    database ``path`` (``lib.sms.run_sender``), so a page's "Send OTP" only queues its SMS and never waits
    on the gateway (issue 13 item 5). One per process and database (started again if it died); the
    senders of several processes share the queue, their claims keep a message from going twice."""
    with _senders_lock:
        running = _senders.get(path)
        if running is not None and running[0].is_alive():
            return
        stop = threading.Event()
        thread = threading.Thread(
            target=sms.run_sender,
            args=(lambda: storage.open_db(path, run_migrations=False), settings),
            kwargs={"stop": stop},
            name="metermitra-sms-sender",
            daemon=True,
        )
        thread.start()
        _senders[path] = (thread, stop)


def stop_sms_senders() -> None:
    """Stop this process's SMS senders and wait for them (a server shutting down, a test's end)."""
    with _senders_lock:
        running = list(_senders.values())
        _senders.clear()
    for _, stop in running:
        stop.set()
    sms.wake_sender()
    for thread, _ in running:
        thread.join(timeout=30)


def _sync_language() -> None:
    _set_language(st.session_state[keys.LANG_SWITCH])


def _other_language() -> None:
    """The page menu's language button: switch to the other language."""
    current = i18n.normalise_language(st.session_state.get(keys.LANG, i18n.DEFAULT_LANGUAGE))
    _set_language("en" if current == "hi" else "hi")


def _set_language(lang: str) -> None:
    state = st.session_state
    state[keys.LANG] = i18n.normalise_language(lang)
    state[keys.LANG_CHOSEN] = True
    account_id = state.get(keys.ACCOUNT_ID)
    if account_id is not None:
        try:
            with storage.open_db(settings().db_path, run_migrations=False) as conn:
                storage.accounts.set_account_language(conn, account_id, state[keys.LANG])
        except storage.StorageError:  # the page still switches; the account keeps its saved language
            pass


def _menu_pages(cfg: Settings) -> list[tuple[str, str]]:
    """(script path, label key) of the pages in the navigation: camp mode's page only in camp mode."""
    return [
        (path, label_key)
        for pid, path, label_key in paths.PAGES
        if (pid != "camp" or cfg.camp_mode) and paths.exists(path)
    ]


def _draw_page_menu(cfg: Settings, lang: str, t: partial[str]) -> None:
    """The page menu at the top of every page on phones (issue 14 section 4): every page and the other
    language, one tap each, 44 px high; hidden where the sidebar shows the same links."""
    st.html(_PHONE_CSS)
    with st.container(key=keys.PAGE_MENU, horizontal=True):
        for path, label_key in _menu_pages(cfg):
            st.page_link(path, label=t(label_key))
        other = "en" if lang == "hi" else "hi"
        st.button(LANGUAGE_NAMES[other], key=keys.LANG_MENU, on_click=_other_language, type="tertiary")


def _follow_server_session(cfg: Settings) -> tuple[str | None, storage.Database | None]:
    """Keep this tab's sign-in in step with its server session (:mod:`lib.sessions`); (the cookie script
    to run, the connection opened for it or None).

    - signed in with a server session: check it (another tab's sign-out, idle, lifetime sign this tab out);
      while its hand-off has not reached the cookie route, the script that posts it;
    - signed in without one (only tests set ``account_id`` directly): the in-tab idle timeout;
    - signed out: the session cookie this connection came with (a reload, a second tab) signs it back
      in; a cookie of an ended session gets the script that clears it.

    The database is opened only when a session or a cookie must be checked, never migrated (the first
    start did), and the connection is handed to the page context as the rerun's one connection.
    A database failure leaves the tab as it is (signed out if it had to be resumed).
    """
    state = st.session_state
    now = time.time()
    cookie = st.context.cookies.get(sessions.COOKIE_NAME)
    script = None
    conn: storage.Database | None = None
    try:
        if state[keys.ACCOUNT_ID] is not None and state.get(keys.SESSION_ID) is not None:
            conn = storage.connect_or_raise(cfg.db_path)
            status = sessions.check(conn, state[keys.SESSION_ID])
            live = status.session
            if live is None or live.account_id != state[keys.ACCOUNT_ID]:
                _signed_out(idle=status.reason == "idle")
            elif not live.handed_off and sessions.is_token_shaped(state.get(keys.SESSION_HANDOFF)):
                script = _cookie_script(web.SESSION_PATH, str(state[keys.SESSION_HANDOFF]))
            else:
                state.pop(keys.SESSION_HANDOFF, None)
        elif state[keys.ACCOUNT_ID] is not None:
            if now - state.get(keys.LAST_ACTIVE, now) > IDLE_TIMEOUT_SECONDS:
                _signed_out(idle=True)
        elif cookie is not None:
            conn = storage.connect_or_raise(cfg.db_path)
            status = sessions.resume(conn, otp.load_key(cfg), cookie)
            if status.session is not None:
                _resumed(conn, status.session)
            else:
                script = _cookie_script(web.END_PATH, "")
    except (storage.StorageError, otp.OtpKeyError):
        # the sign-in gate below reports an unusable database or key
        if conn is not None:
            conn.close()
            conn = None
    state[keys.LAST_ACTIVE] = now
    return script, conn


def _signed_out(*, idle: bool) -> None:
    state = st.session_state
    state[keys.ACCOUNT_ID] = None
    state.pop(keys.SESSION_ID, None)
    state.pop(keys.SESSION_HANDOFF, None)
    if idle:
        state[keys.SIGNED_OUT_IDLE] = True


def _resumed(conn: storage.Database, live: sessions.Session) -> None:
    """A reload or another tab of a signed-in browser: signed in again, in the account's language
    unless the visitor picked one on this device."""
    state = st.session_state
    state[keys.ACCOUNT_ID] = live.account_id
    state[keys.SESSION_ID] = live.session_id
    state.pop(keys.SIGNED_OUT_IDLE, None)
    account = conn.accounts.account_by_id(live.account_id)
    if account is not None and not state.get(keys.LANG_CHOSEN):
        state[keys.LANG] = i18n.normalise_language(account["language"])


def _cookie_script(path: str, body: str) -> str:
    """A literal script that posts ``body`` (a token-shaped hand-off or nothing) to a cookie route.

    >>> 'fetch("/mm/session"' in _cookie_script("/mm/session", "a" * 43)
    True
    >>> _cookie_script("/mm/session", '"</script><script>alert(1)//')
    Traceback (most recent call last):
    ...
    ValueError: not a hand-off
    """
    if path not in (web.SESSION_PATH, web.END_PATH) or (body and not sessions.is_token_shaped(body)):
        raise ValueError("not a hand-off")
    return (
        "<script>fetch("
        f'"{path}", {{method: "POST", body: "{body}", credentials: "same-origin", '
        'headers: {"Content-Type": "text/plain"}}).catch(() => {});</script>'
    )


def _sync_digits() -> None:
    st.session_state[keys.DEVANAGARI_DIGITS] = bool(st.session_state[keys.DIGITS_SWITCH])


def page(page_id: str, *, require_sign_in: bool = True) -> PageContext:
    """Draw the shared frame of ``page_id`` and return its context; stops the script at the sign-in gate."""
    cfg = settings()
    title = i18n.t("app_title", st.session_state.get(keys.LANG, i18n.DEFAULT_LANGUAGE))
    st.set_page_config(page_title=title, page_icon="⚡", layout="wide")
    if not cfg.camp_mode:  # camp mode prepares its own database (lib.ui.camp)
        _start_or_refuse(cfg)
    if cfg.sms_gateway == "http" and not cfg.camp_mode:
        _sms_sender(str(cfg.db_path))
    state = st.session_state
    state.setdefault(keys.LANG, i18n.DEFAULT_LANGUAGE)
    state.setdefault(keys.ACCOUNT_ID, None)
    state.setdefault(keys.LARGE_TEXT, False)
    state.setdefault(keys.DEVANAGARI_DIGITS, False)

    cookie_script, session_conn = _follow_server_session(cfg)

    lang = i18n.normalise_language(state[keys.LANG])
    t = partial(i18n.t, lang=lang)

    with st.sidebar:
        st.markdown(f"### ⚡ {t('app_title')}")
        st.caption(t("app_tagline"))
        state[keys.LANG_SWITCH] = lang
        st.radio(
            t("language_label"),
            options=list(i18n.LANGUAGES),
            format_func=LANGUAGE_NAMES.__getitem__,
            key=keys.LANG_SWITCH,
            horizontal=True,
            on_change=_sync_language,
        )
        if lang == "hi":
            state[keys.DIGITS_SWITCH] = state[keys.DEVANAGARI_DIGITS]
            st.toggle(t("devanagari_digits_label"), key=keys.DIGITS_SWITCH, on_change=_sync_digits)
            st.html(HIDE_ENTER_HINT_CSS)
        st.html(_NUMERIC_KEYPAD_SCRIPT, unsafe_allow_javascript=True)
        if cookie_script:
            st.html(cookie_script, unsafe_allow_javascript=True)
        st.html(_SIDEBAR_CLOSER_SCRIPT, unsafe_allow_javascript=True)
        for path, label_key in _menu_pages(cfg):
            st.page_link(path, label=t(label_key))
    _draw_page_menu(cfg, lang, t)

    ctx = PageContext(
        settings=cfg,
        lang=lang,
        account_id=state[keys.ACCOUNT_ID],
        t=t,
        devanagari_digits=lang == "hi" and bool(state[keys.DEVANAGARI_DIGITS]),
    )
    if session_conn is not None:
        ctx.adopt(session_conn)
    i18n.use_devanagari_digits(ctx.devanagari_digits)
    _camp_chrome(ctx)
    _account_chrome(ctx)
    if require_sign_in and ctx.account_id is None:
        _sign_in_gate(ctx)
        st.stop()
    _low_balance_warning(ctx)
    return ctx


def in_fragment_rerun() -> bool:
    """Whether this script run reruns fragments alone (a widget inside an ``st.fragment`` changed):
    the page script, this frame included, did not run."""
    run = get_script_run_ctx(suppress_warning=True)
    return bool(run is not None and run.fragment_ids_this_run)


def fragment_context(spec: PageContext) -> PageContext:
    """The context of one run of a page's fragment, which the page handed ``spec = ctx.detached()``.

    In the page's full run it is the page's own context (the rerun's one connection, its memo). In a
    rerun of the fragment alone nothing of this frame ran, so the checks of every run that matter to
    a fragment are made here, on a new context (its own connection, opened on first use, closed when the
    run's context goes away):

    - signed in with a server session: the session is checked and touched (:func:`lib.sessions.check`,
      so a tab used only through a fragment is not idle); if it has ended (another tab's "Sign out", idle,
      lifetime) or cannot be checked, the whole page runs again (``st.rerun()``), whose frame signs
      this tab out (or reports the database);
    - signed in without one (tests): the in-tab idle timeout, the same way;
    - the activity time and the reader's digits (a context variable: each run has its own thread).

    Language, digits and sign-out are widgets outside every fragment: changing them runs the whole page.
    """
    page_ctx = spec.lender()
    if page_ctx is not None and not in_fragment_rerun():
        return page_ctx
    state = st.session_state
    now = time.time()
    ctx = PageContext(
        settings=spec.settings,
        lang=spec.lang,
        account_id=spec.account_id,
        t=spec.t,
        devanagari_digits=spec.devanagari_digits,
    )
    if state.get(keys.ACCOUNT_ID) != spec.account_id:
        st.rerun()
    if state.get(keys.SESSION_ID) is not None:
        try:
            with ctx.db() as conn:
                live = sessions.check(conn, state[keys.SESSION_ID]).session
        except storage.StorageError:
            live = None
        if live is None or live.account_id != spec.account_id:
            st.rerun()
    elif now - state.get(keys.LAST_ACTIVE, now) > IDLE_TIMEOUT_SECONDS:
        st.rerun()
    state[keys.LAST_ACTIVE] = now
    i18n.use_devanagari_digits(ctx.devanagari_digits)
    return ctx


def _camp_chrome(ctx: PageContext) -> None:
    """Camp mode: DEMO banner, projector text size, on-screen phone. A local demo (outbox gateway): the phone."""
    if ctx.settings.camp_mode:
        chrome.draw_camp_chrome(ctx)
    elif ctx.settings.sms_gateway == "outbox":
        chrome.draw_demo_chrome(ctx)


def _account_chrome(ctx: PageContext) -> None:
    """Who is signed in, and the "Sign out" button (drawn by the sign-in gate's module)."""
    from lib.ui import signin  # lazy: signin imports PageContext from this module (lib.ui.context soon)

    signin.draw_account_box(ctx)


def _low_balance_warning(ctx: PageContext) -> None:
    """The signed-in account's low-balance warning, on every page."""
    chrome.draw_low_balance_warning(ctx)


def _sign_in_gate(ctx: PageContext) -> None:
    from lib.ui import signin  # lazy: see _account_chrome

    signin.draw_sign_in(ctx)
