"""Camp mode on screen: the DEMO banner, the projector text size, the on-screen phone, the camp page.

Called by ``lib.ui.frame`` on every page when camp mode is on, and by ``pages/camp.py``.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from lib import camp, i18n, storage
from lib.clock import from_ts
from lib.ui.frame import PageContext

# Literal CSS only (no data ever goes through unsafe_allow_html).
_LARGE_TEXT_CSS = """
<style>
html, body, [data-testid="stAppViewContainer"] { font-size: 22px; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li,
[data-testid="stWidgetLabel"] p, button p { font-size: 1.25rem !important; }
</style>
"""

PHONE_MESSAGES_SHOWN = 3


def format_demo_mobile(e164: str) -> str:
    """``+919000000001`` → ``+91 90000 00001`` (demo numbers are shown whole on the demo phone)."""
    national = e164.removeprefix("+91")
    return f"+91 {national[:5]} {national[5:]}"


def draw_camp_chrome(ctx: PageContext) -> None:
    """Banner, optional large text, sign-out after a reset, and the phone panel. Stops on an unsafe setup."""
    st.warning(ctx.t("camp_banner"), icon=":material/science:")
    try:
        _prepare(ctx)
    except camp.CampModeError as error:
        st.error(ctx.t(str(error)))
        st.stop()
    if st.session_state.get("large_text"):
        st.markdown(_LARGE_TEXT_CSS, unsafe_allow_html=True)
    with ctx.db() as conn:
        generation = camp.camp_generation(conn)
    seen = st.session_state.get("camp_generation")
    st.session_state["camp_generation"] = generation
    if seen is not None and seen != generation and st.session_state.get("account_id") is not None:
        st.session_state["account_id"] = None
        ctx.account_id = None
        st.info(ctx.t("camp_signed_out_by_reset"))
    draw_phone(ctx)
    if ctx.account_id is None:
        from lib import demo

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
        from lib import demo

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


def draw_phone(ctx: PageContext) -> None:
    """The SMS that the demo numbers received, newest first, as plain text (never HTML)."""
    from lib import sms

    with (
        st.expander(ctx.t("camp_phone_title"), expanded=True, icon=":material/smartphone:"),
        ctx.db() as conn,
    ):
        messages = sms.recent_outbox(conn, limit=PHONE_MESSAGES_SHOWN)
        if not messages:
            st.caption(ctx.t("camp_phone_empty"))
            return
        for message in messages:
            when = i18n.format_datetime(from_ts(message["ts"]), ctx.lang, pattern="h:mm:ss a")
            st.caption(ctx.t("camp_phone_to", mobile=format_demo_mobile(message["destination"]), time=when))
            st.code(message["text"], language=None, wrap_lines=True)


def draw_camp_page(ctx: PageContext) -> None:
    """The field officer's page: walk-through of the DISCOM app's steps, demo IDs, text size, reset."""
    if not ctx.settings.camp_mode:
        st.info(ctx.t("camp_not_enabled"))
        return
    from lib import demo

    st.title(ctx.t("camp_page_title"))
    st.toggle(
        ctx.t("camp_large_text"),
        key="camp_large_text_toggle",
        value=st.session_state["large_text"],
        on_change=_sync_large_text,
    )

    first_id, first_mobile = demo.DEMO_UNLINKED[0]
    st.info(ctx.t("camp_sign_in_hint", mobile=format_demo_mobile(demo.DEMO_ACCOUNT_MOBILE)))

    st.subheader(ctx.t("camp_walkthrough_title"))
    steps = [
        ctx.t("camp_step_more"),
        ctx.t("camp_step_manage"),
        ctx.t("camp_step_add"),
        ctx.t("camp_step_consumer_id", consumer_id=first_id),
        ctx.t("camp_step_otp", mobile=format_demo_mobile(first_mobile)),
        ctx.t("camp_step_verify"),
        ctx.t("camp_step_see"),
    ]
    for number, text in enumerate(steps, start=1):
        with st.container(border=True):
            st.markdown(f"**{i18n.digits(str(number), ctx.lang == 'hi')}.** {_escape_markdown(text)}")
            if number in (2, 3, 6):
                st.page_link(
                    "pages/manage_connection.py",
                    label=ctx.t("nav_manage_connection"),
                    icon=":material/arrow_forward:",
                )
            if number == 7:
                st.page_link("dashboard.py", label=ctx.t("nav_overview"), icon=":material/arrow_forward:")
                st.page_link("pages/compare.py", label=ctx.t("nav_compare"), icon=":material/arrow_forward:")

    st.subheader(ctx.t("camp_try_consumers"))
    st.dataframe(
        {
            ctx.t("camp_col_consumer_id"): [cid for cid, _ in demo.DEMO_UNLINKED],
            ctx.t("camp_col_registered_mobile"): [format_demo_mobile(m) for _, m in demo.DEMO_UNLINKED],
        },
        hide_index=True,
    )

    st.subheader(ctx.t("camp_reset_title"))
    st.caption(ctx.t("camp_reset_help"))
    confirmed = st.checkbox(ctx.t("camp_reset_confirm"), key="camp_reset_confirmed")
    st.button(
        ctx.t("camp_reset_button"),
        key="camp_reset",
        disabled=not confirmed,
        type="primary",
        on_click=_reset,
        args=(str(ctx.settings.db_path),),
    )
    if st.session_state.pop("camp_reset_done", False):
        st.success(ctx.t("camp_reset_done"))


def _reset(path: str) -> None:
    """Button callback: runs before the page reruns, so the page redraws on the fresh demo."""
    camp.reset_demo(Path(path))
    st.cache_data.clear()
    st.session_state["account_id"] = None
    st.session_state["camp_generation"] = None
    st.session_state["camp_reset_confirmed"] = False
    st.session_state["camp_reset_done"] = True


def _sync_large_text() -> None:
    st.session_state["large_text"] = bool(st.session_state["camp_large_text_toggle"])


def _escape_markdown(text: str) -> str:
    """Catalog text is ours, but keep Markdown metacharacters literal anyway."""
    for char in "\\`*_[]<>#|":
        text = text.replace(char, "\\" + char)
    return text
