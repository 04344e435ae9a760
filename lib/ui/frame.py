"""The one place that knows Streamlit's page chrome: every page opens with ``ctx = frame.page("overview")``.

It sets the page config, keeps the language across pages (and on the signed-in account), draws the
translated navigation, the camp-mode banner and phone, enforces the idle timeout and the sign-in gate,
and returns a ``PageContext`` with what a page needs.

Session state keys (the only ones the app uses):

- ``lang``: "hi" or "en" (kept outside the widget so it survives page changes);
- ``lang_chosen``: the visitor switched language in this session (sign-in then keeps it, not the saved one);
- ``account_id``: set only after an OTP verified; ``None`` means signed out;
- ``last_active``: UTC epoch seconds of the last run, for the idle timeout;
- ``large_text``: camp projector option;
- ``devanagari_digits``: show numbers as १२३ in Hindi (``ctx.money``/``ctx.date`` honour it).

Nothing that proves identity is read from a URL: ``st.query_params`` is never consulted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import streamlit as st

from lib import i18n, storage
from lib.config import Settings, load_settings

IDLE_TIMEOUT_SECONDS = 15 * 60

# Streamlit's text_input has no ``inputmode``: this literal script (no data in it) gives the OTP and
# mobile-number boxes the phone's number keypad. It runs in the page itself, watches for new inputs,
# and only ever sets two attributes.
_NUMERIC_KEYPAD_SCRIPT = """
<script>
(() => {
  const apply = () => {
    document.querySelectorAll('input[autocomplete="one-time-code"]').forEach((el) => {
      if (el.getAttribute("inputmode") !== "numeric") el.setAttribute("inputmode", "numeric");
    });
    document.querySelectorAll('input[autocomplete="tel"]').forEach((el) => {
      if (el.getAttribute("inputmode") !== "tel") el.setAttribute("inputmode", "tel");
    });
  };
  apply();
  if (!window.__mmKeypadObserver) {
    window.__mmKeypadObserver = new MutationObserver(apply);
    window.__mmKeypadObserver.observe(document.body, { childList: true, subtree: true });
  }
})();
</script>
"""

PAGES: list[tuple[str, str, str]] = [
    # (page id, script path for st.page_link, catalog key of its label)
    ("overview", "dashboard.py", "nav_overview"),
    ("compare", "pages/compare.py", "nav_compare"),
    ("ledger", "pages/ledger.py", "nav_ledger"),
    ("manage_connection", "pages/manage_connection.py", "nav_manage_connection"),
    ("camp", "pages/camp.py", "nav_camp"),
]


@dataclass
class PageContext:
    """What a page gets from the frame."""

    settings: Settings
    lang: str
    account_id: int | None
    t: Callable[..., str]
    devanagari_digits: bool = False

    def money(self, amount: float, *, decimals: bool = True) -> str:
        """₹ in Indian grouping in the page's language: ``ctx.money(1234.5) == '₹1,234.50'``."""
        return i18n.format_money(
            amount, self.lang, devanagari_digits=self.devanagari_digits, decimals=decimals
        )

    def number(self, value: float, *, decimals: int = 1) -> str:
        return i18n.format_number(
            value, self.lang, decimals=decimals, devanagari_digits=self.devanagari_digits
        )

    def date(self, day: Any, *, pattern: str = "medium") -> str:
        return i18n.format_date(day, self.lang, pattern=pattern, devanagari_digits=self.devanagari_digits)

    def datetime(self, moment: Any, *, pattern: str = "d MMM y, h:mm a") -> str:
        return i18n.format_datetime(
            moment, self.lang, pattern=pattern, devanagari_digits=self.devanagari_digits
        )

    def digits(self, text: str) -> str:
        """Any text with numbers in it (counts, IDs are NOT passed here): Devanagari digits when chosen."""
        return i18n.digits(text, self.devanagari_digits)

    @contextmanager
    def db(self) -> Iterator[Any]:
        """A migrated connection for one operation: ``with ctx.db() as conn: ...``."""
        with storage.open_db(self.settings.db_path) as conn:
            yield conn


def settings() -> Settings:
    return load_settings()


@st.cache_resource(show_spinner=False)
def _first_start(path: str) -> bool:
    """Once per server process and database: migrate, and seed the demo into an empty database."""
    from lib import demo

    with storage.open_db(path) as conn:
        return demo.ensure_demo_data(conn)


def _page_exists(path: str) -> bool:
    return (storage.ROOT / path).exists()


def _sync_language() -> None:
    st.session_state["lang"] = st.session_state["lang_switch"]
    st.session_state["lang_chosen"] = True
    account_id = st.session_state.get("account_id")
    if account_id is not None:
        with storage.open_db(settings().db_path) as conn:
            storage.accounts.set_account_language(conn, account_id, st.session_state["lang"])


def _sync_digits() -> None:
    st.session_state["devanagari_digits"] = bool(st.session_state["digits_switch"])


def page(page_id: str, *, require_sign_in: bool = True) -> PageContext:
    """Draw the shared frame of ``page_id`` and return its context; stops the script at the sign-in gate."""
    cfg = settings()
    title = i18n.t("app_title", st.session_state.get("lang", i18n.DEFAULT_LANGUAGE))
    st.set_page_config(page_title=title, page_icon="⚡", layout="wide")
    if not cfg.camp_mode:  # camp mode prepares its own database (lib.ui.camp)
        _first_start(str(cfg.db_path))
    state = st.session_state
    state.setdefault("lang", i18n.DEFAULT_LANGUAGE)
    state.setdefault("account_id", None)
    state.setdefault("large_text", False)
    state.setdefault("devanagari_digits", False)

    now = time.time()
    if state["account_id"] is not None and now - state.get("last_active", now) > IDLE_TIMEOUT_SECONDS:
        state["account_id"] = None
        state["signed_out_idle"] = True
    state["last_active"] = now

    lang = i18n.normalise_language(state["lang"])
    t = partial(i18n.t, lang=lang)

    with st.sidebar:
        st.markdown(f"### ⚡ {t('app_title')}")
        st.caption(t("app_tagline"))
        state["lang_switch"] = lang
        st.radio(
            t("language_label"),
            options=list(i18n.LANGUAGES),
            format_func=lambda code: {"hi": "हिन्दी", "en": "English"}[code],
            key="lang_switch",
            horizontal=True,
            on_change=_sync_language,
        )
        if lang == "hi":
            state["digits_switch"] = state["devanagari_digits"]
            st.toggle(t("devanagari_digits_label"), key="digits_switch", on_change=_sync_digits)
        st.html(_NUMERIC_KEYPAD_SCRIPT, unsafe_allow_javascript=True)
        for pid, path, label_key in PAGES:
            if pid == "camp" and not cfg.camp_mode:
                continue
            if _page_exists(path):
                st.page_link(path, label=t(label_key))

    ctx = PageContext(
        settings=cfg,
        lang=lang,
        account_id=state["account_id"],
        t=t,
        devanagari_digits=lang == "hi" and bool(state["devanagari_digits"]),
    )
    i18n.use_devanagari_digits(ctx.devanagari_digits)
    _camp_chrome(ctx)
    _account_chrome(ctx)
    if require_sign_in and ctx.account_id is None:
        _sign_in_gate(ctx)
        st.stop()
    _low_balance_warning(ctx)
    return ctx


def _camp_chrome(ctx: PageContext) -> None:
    """Camp mode: DEMO banner, projector text size, on-screen phone. A local demo (outbox gateway): the phone."""
    from lib.ui import camp  # lazy: the view modules import PageContext from here

    if ctx.settings.camp_mode:
        camp.draw_camp_chrome(ctx)
    elif ctx.settings.sms_gateway == "outbox":
        camp.draw_demo_chrome(ctx)


def _account_chrome(ctx: PageContext) -> None:
    """Who is signed in, and the "Sign out" button (drawn by the sign-in module)."""
    from lib.ui import signin  # lazy: the view modules import PageContext from here

    signin.draw_account_box(ctx)


def _low_balance_warning(ctx: PageContext) -> None:
    """The signed-in account's low-balance warning, on every page (drawn by the ledger module)."""
    if ctx.account_id is None:
        return
    from lib.ui import ledger  # lazy: the view modules import PageContext from here

    ledger.draw_low_balance_warning(ctx)


def _sign_in_gate(ctx: PageContext) -> None:
    from lib.ui import signin

    signin.draw_sign_in(ctx)
