"""The Manage Connection page: every linked connection (rename, "Remove" with confirmation) and the
"Add Another Meter" flow (consumer ID → "Send OTP" → OTP to its registered mobile → "Verify OTP"), the
OTP flow of ``lib.ui.otp_flow`` (shared with sign-in).

Nothing from the database reaches the page as HTML or live Markdown: names and IDs go through
``plain`` (every Markdown/HTML metacharacter escaped). Widget values are untrusted: a consumer ID
from the page is only acted on through ``lib.auth``, which checks the account's link in SQL.
Works with the keyboard (forms submit on Enter) and in one column on a narrow phone screen.
"""

from __future__ import annotations

import hashlib
from typing import Any

import streamlit as st

from lib import auth, storage
from lib.clock import from_ts
from lib.ui import otp_flow, widgets
from lib.ui.escape import inert as plain
from lib.ui.frame import PageContext
from lib.ui.session_keys import widget

FLASH = widget("manage", "flash")  # the confirmation shown once after a change
CONFIRM_REMOVE = widget("manage", "confirm_remove")  # the consumer ID whose "Remove" awaits confirmation


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
    flash = state.pop(FLASH, None)
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
        if state.get(CONFIRM_REMOVE) == consumer_id:
            st.warning(
                plain(ctx.t("auth_remove_confirm", nickname=connection["nickname"], consumer_id=consumer_id))
            )
            with st.container(horizontal=True):
                yes = st.button(
                    ctx.t("auth_remove_yes"), key=widget("manage", f"remove_yes_{wid}"), type="primary"
                )
                no = st.button(ctx.t("auth_cancel"), key=widget("manage", f"remove_no_{wid}"))
            if yes:
                try:
                    with ctx.db() as conn:
                        auth.remove_connection(conn, account_id, consumer_id)
                except storage.StorageError as error:  # busy: the question stays, "try again in a moment"
                    widgets.write_failed(ctx, error)
                    return
                state.pop(CONFIRM_REMOVE, None)
                state[FLASH] = ctx.t("auth_removed")
                st.rerun()
            if no:
                state.pop(CONFIRM_REMOVE, None)
                st.rerun()
            return
        # One row: "Change nickname" (a popover holding the rename form) beside "Remove".
        with st.container(horizontal=True, vertical_alignment="center"):
            with (
                st.popover(ctx.t("auth_rename_open")),
                st.form(widget("manage", f"rename_form_{wid}"), border=False),
            ):
                nickname = st.text_input(
                    ctx.t("auth_nickname_label"),
                    value=connection["nickname"],
                    key=widget("manage", f"nickname_{wid}"),
                    max_chars=auth.MAX_NICKNAME_CHARS,
                )
                renamed = st.form_submit_button(ctx.t("auth_rename"), type="primary")
            remove = st.button(ctx.t("auth_remove"), key=widget("manage", f"remove_{wid}"))
        if renamed:
            try:
                with ctx.db() as conn:
                    ok = auth.rename_connection(conn, account_id, consumer_id, nickname)
            except storage.StorageError as error:  # busy: "try again in a moment"
                widgets.write_failed(ctx, error)
                return
            if ok:
                state[FLASH] = ctx.t("auth_renamed")
                st.rerun()
            st.error(ctx.t("auth_rename_invalid"))
        if remove:
            state[CONFIRM_REMOVE] = consumer_id
            st.rerun()


def _draw_add_meter(ctx: PageContext, account_id: int) -> None:
    st.subheader(ctx.t("auth_add_title"))
    flow = add_meter_flow(ctx, account_id)
    otp_flow.resume(ctx, flow)  # an OTP asked for before a reload, or through another app server
    if not otp_flow.in_progress(flow):
        st.caption(ctx.t("auth_add_intro"))
        otp_flow.draw_send_form(ctx, flow, label=ctx.t("auth_consumer_id_label"))
        return
    st.caption(plain(ctx.t("auth_linking", consumer_id=st.session_state.get(flow.key("consumer_id"), ""))))
    otp_flow.draw_otp_step(ctx, flow)


def add_meter_flow(ctx: PageContext, account_id: int) -> otp_flow.OtpFlow:
    """The "Add Another Meter" OTP flow: an OTP to the consumer ID's registered mobile links it."""

    def linked(result: auth.VerifyOutcome) -> None:
        st.session_state[FLASH] = ctx.t("auth_linked_ok", nickname=result.nickname)

    return otp_flow.OtpFlow(
        prefix="link",
        subject="consumer_id",
        step="consumer",
        sent_message="auth_otp_sent_link",
        back="cancel",
        back_label="auth_cancel",
        send=lambda conn, typed: auth.start_link(
            conn, ctx.settings, account_id, typed, lang=ctx.lang, **otp_flow.requester()
        ),
        resend=lambda conn, challenge_id, consumer_id: auth.resend_link(
            conn, ctx.settings, account_id, challenge_id, consumer_id, lang=ctx.lang, **otp_flow.requester()
        ),
        verify=lambda conn, challenge_id, consumer_id, code, extra, session: auth.verify_link(
            conn,
            ctx.settings,
            account_id,
            challenge_id,
            consumer_id,
            code,
            extra.get("nickname_input"),
            lang=ctx.lang,
            session=session,
            client=otp_flow.client_address(),
        ),
        on_verified=linked,
        fields=(otp_flow.Field("nickname_input", "auth_nickname_label", auth.MAX_NICKNAME_CHARS),),
        pending=lambda conn: auth.pending_link(conn, account_id),
        cancel=lambda conn, challenge_id: auth.cancel_link(conn, account_id, challenge_id),
    )
