"""The camp page (``pages/camp.py``): the field officer's walk-through of "Add Another Meter", the demo
consumer IDs to try, the projector text size and the reset between visitors.

The camp chrome on every page (DEMO banner, on-screen phone) is :mod:`lib.ui.chrome`'s.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from lib import camp, demo, i18n
from lib.ui import paths
from lib.ui import session_keys as keys
from lib.ui.chrome import format_demo_mobile
from lib.ui.context import PageContext
from lib.ui.widgets import page_link

__all__ = ["draw_camp_page", "format_demo_mobile"]


def draw_camp_page(ctx: PageContext) -> None:
    """The field officer's page: walk-through of the DISCOM app's steps, demo IDs, text size, reset."""
    if not ctx.settings.camp_mode:
        st.info(ctx.t("camp_not_enabled"))
        return
    st.title(ctx.t("camp_page_title"))
    st.toggle(
        ctx.t("camp_large_text"),
        key="camp_large_text_toggle",
        value=st.session_state[keys.LARGE_TEXT],
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
            # Catalog text with the demo's own IDs and numbers in it (no user or database text), so it is
            # Markdown as written; tests/test_page_camp.py checks these strings hold no Markdown markup.
            st.markdown(f"**{i18n.digits(str(number), ctx.lang == 'hi')}.** {text}")
            if number in (2, 3, 6):
                page_link(
                    paths.MANAGE_CONNECTION, ctx.t("nav_manage_connection"), icon=":material/arrow_forward:"
                )
            if number == 7:
                page_link(paths.OVERVIEW, ctx.t("nav_overview"), icon=":material/arrow_forward:")
                page_link(paths.COMPARE, ctx.t("nav_compare"), icon=":material/arrow_forward:")

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
    st.session_state[keys.ACCOUNT_ID] = None
    st.session_state[keys.CAMP_GENERATION] = None
    st.session_state["camp_reset_confirmed"] = False
    st.session_state["camp_reset_done"] = True


def _sync_large_text() -> None:
    st.session_state[keys.LARGE_TEXT] = bool(st.session_state["camp_large_text_toggle"])
