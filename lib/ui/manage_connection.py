"""The Manage Connection page: every linked connection (rename, "Remove" with confirmation) and the
"Add Another Meter" flow (consumer ID → "Send OTP" → OTP to its registered mobile → "Verify OTP").

Nothing from the database reaches the page as HTML or live Markdown: names and IDs go through
``plain`` (every Markdown/HTML metacharacter escaped). Widget values are untrusted: a consumer ID
from the page is only acted on through ``lib.auth``, which checks the account's link in SQL.
Works with the keyboard (forms submit on Enter) and in one column on a narrow phone screen.
"""

from __future__ import annotations

import hashlib
from typing import Any

import streamlit as st

from lib import auth, otp, storage
from lib.clock import from_ts
from lib.ui.escape import inert as plain
from lib.ui.frame import PageContext
from lib.ui.signin import ENDED_STATUSES, draw_ended, ended_status, verify_message

LINK_KEYS = (
    "link_challenge_id",
    "link_consumer_id",
    "link_masked",
    "link_otp_input",
    "link_nickname_input",
    "link_ended",
)


def _widget_id(consumer_id: str) -> str:
    return hashlib.sha256(consumer_id.encode("utf-8")).hexdigest()[:12]


def draw(ctx: PageContext) -> None:
    """Draw the page for the signed-in account (the frame has checked that someone is signed in).

    "Add Another Meter" comes first: it is what people come for, and on a phone its consumer ID and OTP
    boxes then sit right under the camp's demo phone. The linked connections follow as compact cards.
    """
    account_id = ctx.account_id
    if account_id is None:  # pragma: no cover - the frame's gate stops before this
        return
    state = st.session_state
    st.title(ctx.t("auth_manage_title"))
    flash = state.pop("manage_flash", None)
    if flash:
        st.success(plain(flash))
    _draw_add_meter(ctx, account_id)
    st.divider()
    with ctx.db() as conn:
        connections = storage.accounts.linked_connections(conn, account_id)
    if not connections:
        st.info(ctx.t("auth_manage_none"))
        return
    st.subheader(ctx.t("auth_linked_title", count=ctx.number(len(connections), decimals=0)))
    for connection in connections:
        _draw_connection(ctx, account_id, connection)


def _draw_connection(ctx: PageContext, account_id: int, connection: dict[str, Any]) -> None:
    state = st.session_state
    consumer_id = str(connection["consumer_id"])
    wid = _widget_id(consumer_id)
    with st.container(border=True, gap="small"):
        st.markdown("**" + plain(connection["nickname"]) + "**")
        # A stale link (the registered mobile changed) shows nothing of the consumer's record: the
        # connection may have changed hands since the OTP proved it.
        facts = ctx.t(
            "auth_connection_facts",
            consumer_id=consumer_id,
            tariff=connection["tariff_category"] if connection["active"] else "—",
            date=ctx.date(from_ts(connection["linked_at"])),
        )
        if connection["active"]:
            facts += " · " + ctx.t("auth_consumer_name", name=connection["name"])
        st.caption(plain(facts))
        if not connection["active"]:
            st.warning(ctx.t("auth_stale"))
        if state.get("manage_confirm_remove") == consumer_id:
            st.warning(
                plain(ctx.t("auth_remove_confirm", nickname=connection["nickname"], consumer_id=consumer_id))
            )
            with st.container(horizontal=True):
                yes = st.button(ctx.t("auth_remove_yes"), key=f"manage_remove_yes_{wid}", type="primary")
                no = st.button(ctx.t("auth_cancel"), key=f"manage_remove_no_{wid}")
            if yes:
                with ctx.db() as conn:
                    auth.remove_connection(conn, account_id, consumer_id)
                state.pop("manage_confirm_remove", None)
                state["manage_flash"] = ctx.t("auth_removed")
                st.rerun()
            if no:
                state.pop("manage_confirm_remove", None)
                st.rerun()
            return
        # One row: "Change nickname" (a popover holding the rename form) beside "Remove".
        with st.container(horizontal=True, vertical_alignment="center"):
            with st.popover(ctx.t("auth_rename_open")), st.form(f"manage_rename_form_{wid}", border=False):
                nickname = st.text_input(
                    ctx.t("auth_nickname_label"),
                    value=connection["nickname"],
                    key=f"manage_nickname_{wid}",
                    max_chars=auth.MAX_NICKNAME_CHARS,
                )
                renamed = st.form_submit_button(ctx.t("auth_rename"), type="primary")
            remove = st.button(ctx.t("auth_remove"), key=f"manage_remove_{wid}")
        if renamed:
            with ctx.db() as conn:
                ok = auth.rename_connection(conn, account_id, consumer_id, nickname)
            if ok:
                state["manage_flash"] = ctx.t("auth_renamed")
                st.rerun()
            st.error(ctx.t("auth_rename_invalid"))
        if remove:
            state["manage_confirm_remove"] = consumer_id
            st.rerun()


def _draw_add_meter(ctx: PageContext, account_id: int) -> None:
    state = st.session_state
    st.subheader(ctx.t("auth_add_title"))
    if state.get("link_challenge_id") is None:
        st.caption(ctx.t("auth_add_intro"))
        with st.form("link_consumer_form"):
            typed = st.text_input(ctx.t("auth_consumer_id_label"), key="link_consumer_input")
            submitted = st.form_submit_button(ctx.t("auth_send_otp"), type="primary")
        if submitted:
            with ctx.db() as conn:
                outcome = auth.start_link(conn, ctx.settings, account_id, typed, lang=ctx.lang)
            _after_send(ctx, outcome)
        return

    st.caption(plain(ctx.t("auth_linking", consumer_id=state.get("link_consumer_id", ""))))
    ended = ended_status(state.get("link_ended"))
    if ended is None:
        st.success(ctx.t("auth_otp_sent_link", mobile=state.get("link_masked", "")))
        minutes = int(otp.CODE_TTL.total_seconds() // 60)
        st.caption(ctx.t("auth_otp_validity", minutes=minutes) + " " + ctx.t("auth_sms_warning"))
        with st.form("link_otp_form"):
            code = st.text_input(ctx.t("auth_otp_label"), key="link_otp_input", autocomplete="one-time-code")
            nickname = st.text_input(
                ctx.t("auth_nickname_label"), key="link_nickname_input", max_chars=auth.MAX_NICKNAME_CHARS
            )
            verify = st.form_submit_button(ctx.t("auth_verify_otp"), type="primary")
        with st.container(horizontal=True):
            resend = st.button(ctx.t("auth_resend_otp"), key="link_resend")
            cancel = st.button(ctx.t("auth_cancel"), key="link_cancel")
    else:
        # The challenge takes no code any more: the message and the way forward replace the form.
        code, nickname, verify = "", "", False
        resend, cancel = draw_ended(
            ctx, ended, resend_key="link_resend", back_key="link_cancel", back_label=ctx.t("auth_cancel")
        )
    if cancel:
        _clear_link_flow()
        st.rerun()
    if resend:
        with ctx.db() as conn:
            outcome = auth.resend_link(
                conn,
                ctx.settings,
                account_id,
                state["link_challenge_id"],
                state["link_consumer_id"],
                lang=ctx.lang,
            )
        _after_send(ctx, outcome)
    if verify:
        with ctx.db() as conn:
            result = auth.verify_link(
                conn,
                ctx.settings,
                account_id,
                state["link_challenge_id"],
                state["link_consumer_id"],
                code,
                nickname,
                lang=ctx.lang,
            )
        if result.status == "ok":
            _clear_link_flow()
            state["manage_flash"] = ctx.t("auth_linked_ok", nickname=result.nickname)
            st.rerun()
        if result.status in ENDED_STATUSES:
            state["link_ended"] = result.status
            st.rerun()
        st.error(verify_message(ctx, result))


def _after_send(ctx: PageContext, outcome: auth.SendOutcome) -> None:
    state = st.session_state
    if outcome.status == "invalid_consumer_id":
        st.error(ctx.t("auth_invalid_consumer_id"))
    elif outcome.status == "send_failed":
        st.error(ctx.t("auth_send_failed"))
    elif outcome.status == "cooldown":
        st.warning(ctx.t("auth_resend_wait", seconds=outcome.wait_seconds))
    else:
        state["link_challenge_id"] = outcome.challenge_id
        state["link_consumer_id"] = outcome.subject
        state["link_masked"] = outcome.destination_masked
        state.pop("link_otp_input", None)
        state.pop("link_ended", None)
        st.rerun()


def _clear_link_flow() -> None:
    for key in LINK_KEYS:
        st.session_state.pop(key, None)
