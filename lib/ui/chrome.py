"""The chrome the frame draws on every page, apart from the sign-in gate: the camp-mode DEMO banner,
projector text size and on-screen phone; the local demo's phone; the low-balance warning.

Not a page: the frame imports it, and no page module draws another page's parts through it.
"""

from __future__ import annotations

import datetime as dt
import logging

import streamlit as st

from lib import alerts, camp, demo, i18n, otp, sms, storage
from lib.clock import from_ts, now_utc
from lib.ui import loaders
from lib.ui import session_keys as keys
from lib.ui.context import PageContext
from lib.ui.escape import markdown

log = logging.getLogger(__name__)

# Literal CSS only (no data ever goes through unsafe_allow_html).
_LARGE_TEXT_CSS = """
<style>
html, body, [data-testid="stAppViewContainer"] { font-size: 22px; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li,
[data-testid="stWidgetLabel"] p, button p { font-size: 1.25rem !important; }
</style>
"""

PHONE_MESSAGES_SHOWN = 1  # only the newest: the code the visitor needs now


def format_demo_mobile(e164: str) -> str:
    """A demo number as shown on the demo phone (demo numbers are shown whole).

    >>> format_demo_mobile("+910000000001")
    '+91 00000 00001'
    """
    national = e164.removeprefix("+91")
    return f"+91 {national[:5]} {national[5:]}"


# --- camp mode and the local demo ----------------------------------------------------------------------


def draw_camp_chrome(ctx: PageContext) -> None:
    """Banner, optional large text, sign-out after a reset, and the phone panel. Stops on an unsafe setup."""
    st.warning(ctx.t("camp_banner"), icon=":material/science:")
    try:
        _prepare(ctx)
    except camp.CampModeError as error:
        st.error(ctx.t(str(error)))
        st.stop()
    state = st.session_state
    if state.get(keys.LARGE_TEXT):
        st.markdown(_LARGE_TEXT_CSS, unsafe_allow_html=True)
    with ctx.db() as conn:
        generation = camp.camp_generation(conn)
    seen = state.get(keys.CAMP_GENERATION)
    state[keys.CAMP_GENERATION] = generation
    if seen is not None and seen != generation and state.get(keys.ACCOUNT_ID) is not None:
        state[keys.ACCOUNT_ID] = None
        ctx.account_id = None
        st.info(ctx.t("camp_signed_out_by_reset"))
    draw_phone(ctx)
    if ctx.account_id is None:
        st.caption(ctx.t("camp_sign_in_hint", mobile=format_demo_mobile(demo.DEMO_ACCOUNT_MOBILE)))


def draw_demo_chrome(ctx: PageContext) -> None:
    """Outside camp mode, with the demo outbox gateway: the phone panel, so a local demo can sign in.

    The outbox is refused with real consumers (``sms.check_sms_configuration``); this panel also checks,
    so that no SMS to a real number is ever shown on screen.
    """
    with ctx.db() as conn:
        if storage.consumers.holds_real_data(conn):
            return
    st.info(ctx.t("demo_banner"), icon=":material/science:")
    draw_phone(ctx)
    if ctx.account_id is None:
        st.caption(ctx.t("camp_sign_in_hint", mobile=format_demo_mobile(demo.DEMO_ACCOUNT_MOBILE)))


@st.cache_resource(show_spinner=False)
def _prepared(path: str) -> bool:
    """Run the startup checks and first seeding once per server process and database."""
    from lib.config import load_settings

    camp.prepare_camp_database(load_settings())
    return True


def _prepare(ctx: PageContext) -> None:
    camp.check_camp_settings(ctx.settings)
    _prepared(str(ctx.settings.db_path))


def phone_open(signed_in: bool, newest: dict | None, now: dt.datetime) -> bool:
    """Whether the on-screen phone is open: always while signed out (the visitor reads the sign-in OTP there);
    once signed in it folds away, so the visitor's own pages fill the screen, unless its newest message is
    an "Add Another Meter" OTP still valid (the code the visitor needs next).

    >>> t = dt.datetime(2026, 11, 25, 6, 30, tzinfo=dt.UTC)
    >>> link = {"kind": "otp_link", "ts": "2026-11-25T06:28:00Z"}
    >>> phone_open(False, None, t), phone_open(True, link, t), phone_open(True, {**link, "kind": "otp_signin"}, t)
    (True, True, False)
    >>> phone_open(True, link, t + dt.timedelta(minutes=10))
    False
    """
    if not signed_in:
        return True
    if newest is None or newest.get("kind") != "otp_link":
        return False
    return now - from_ts(str(newest["ts"])) < otp.CODE_TTL


def draw_phone(ctx: PageContext) -> None:
    """The newest SMS the demo numbers received, as plain text (never HTML); folded after sign-in.

    A camp reset restores the demo's empty outbox, so the phone is empty again for the next visitor.
    """
    with ctx.db() as conn:
        messages = sms.recent_outbox(conn, limit=PHONE_MESSAGES_SHOWN)
    newest = messages[0] if messages else None
    expanded = phone_open(ctx.account_id is not None, newest, now_utc())
    with st.expander(ctx.t("camp_phone_title"), expanded=expanded, icon=":material/smartphone:"):
        if newest is None:
            st.caption(ctx.t("camp_phone_empty"))
            return
        when = i18n.format_datetime(from_ts(newest["ts"]), ctx.lang, pattern="h:mm:ss a")
        st.caption(ctx.t("camp_phone_to", mobile=format_demo_mobile(newest["destination"]), time=when))
        st.code(newest["text"], language=None, wrap_lines=True)


# --- the low-balance warning -----------------------------------------------------------------------------


def warning_texts(ctx: PageContext, low: list[alerts.LowBalance]) -> list[str]:
    """One warning line per low connection (:func:`lib.alerts.is_low`), most urgent first."""
    lines = []
    for alert in low:
        balance = ctx.money(alert.balance_inr)
        if alert.estimated:
            balance = f"{balance} {ctx.t('ledger_estimated_suffix')}"
        name = markdown(alert.nickname)
        if alert.reason == "exhausted":
            lines.append(ctx.t("alerts_warning_exhausted", nickname=name, balance=balance))
        elif alert.reason == "days":
            lines.append(
                ctx.t(
                    "alerts_warning_days",
                    nickname=name,
                    days=ctx.number(alert.days_left, decimals=1),
                    balance=balance,
                )
            )
        else:
            lines.append(ctx.t("alerts_warning_balance", nickname=name, balance=balance))
    return lines


def draw_low_balance_warning(ctx: PageContext) -> None:
    """The signed-in account's low connections as one warning (the frame draws it on every page).

    Never breaks a page: when the ledger cannot be worked out, the warning is simply left out.
    """
    if ctx.account_id is None:
        return
    try:
        low = loaders.low_balances(ctx)
    except Exception:  # noqa: BLE001 - a warning banner must never take a page down
        log.exception("low-balance warning skipped")
        return
    if low:
        st.warning("  \n".join(warning_texts(ctx, low)), icon=":material/warning:")
