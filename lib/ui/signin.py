"""The sign-in form (shown by the frame when nobody is signed in) and the account box in the sidebar.

Sign in: "Mobile number" → "Send OTP" → "OTP" → "Verify OTP", the OTP flow of ``lib.ui.otp_flow``
(shared with "Add Another Meter"). The session keeps only the flow's ``signin_*`` keys; codes, counters
and blocks live in the database (``lib.otp``). On a verified OTP the frame's ``account_id`` is set and
the account's saved language becomes ``lang`` (unless the visitor chose one on this device, or in camp
mode, where the device's language always wins). No
database text is rendered as HTML.
"""

from __future__ import annotations

import logging
import time

import streamlit as st

from lib import auth, otp, sessions, storage
from lib.ui import otp_flow, session_keys, widgets
from lib.ui.frame import PageContext

# Per-flow keys of every flow that must not outlive a sign-out or a new sign-in (prefixes).
_LOG = logging.getLogger("metermitra.startup")

FLOW_PREFIXES = tuple(f"{prefix}_" for prefix in (*session_keys.FLOW_PREFIXES, "manage"))


def draw_account_box(ctx: PageContext) -> None:
    """Sidebar: who is signed in (masked mobile) and "Sign out". Also refuses an unsafe configuration."""
    try:
        with ctx.db() as conn:
            auth.check_startup(conn, ctx.settings)
            summary = auth.account_summary(conn, ctx.account_id) if ctx.account_id is not None else None
    except auth.AuthConfigurationError as error:
        # Visitors get a plain message; the operator's details go to the server log only (issue 13).
        _LOG.error("refusing to start: %s", error)
        st.error(ctx.t("auth_config_error"))
        st.stop()
    if ctx.account_id is not None and summary is None:
        # The account no longer exists (or the session holds something that is not one): sign out.
        sign_out()
        ctx.account_id = None
        return
    if summary is None:
        return
    with st.sidebar:
        st.caption(ctx.t("auth_signed_in_as", mobile=summary["mobile_masked"]))
        if st.button(ctx.t("auth_sign_out"), key=session_keys.widget("account", "sign_out")):
            try:
                with ctx.db() as conn:
                    auth.record_sign_out(conn, int(ctx.account_id))  # type: ignore[arg-type]
                    sessions.end(conn, st.session_state.get(session_keys.SESSION_ID))  # every tab, the cookie
            except storage.StorageError as error:  # still signed in: busy, "try again in a moment"
                widgets.write_failed(ctx, error)
                return
            sign_out()
            st.rerun()


def sign_out() -> None:
    """End the session's sign-in: ``account_id`` and every flow key go."""
    st.session_state[session_keys.ACCOUNT_ID] = None
    st.session_state.pop(session_keys.SESSION_ID, None)
    st.session_state.pop(session_keys.SESSION_HANDOFF, None)
    _forget_flows()


def draw_sign_in(ctx: PageContext) -> None:
    """The sign-in form: mobile step, then OTP step."""
    st.title(ctx.t("auth_signin_title"))
    if st.session_state.get(session_keys.SIGNED_OUT_IDLE):
        st.info(ctx.t("auth_signed_out_idle"))
    flow = sign_in_flow(ctx)
    if otp_flow.in_progress(flow):
        otp_flow.draw_otp_step(ctx, flow)
        return
    st.write(ctx.t("auth_signin_intro"))
    otp_flow.draw_send_form(
        ctx,
        flow,
        label=ctx.t("auth_mobile_label"),
        placeholder=ctx.t("auth_mobile_placeholder"),
        autocomplete="tel",
    )


def sign_in_flow(ctx: PageContext) -> otp_flow.OtpFlow:
    """The sign-in OTP flow: an OTP to the typed mobile; a verified one signs this session in."""
    return otp_flow.OtpFlow(
        prefix="signin",
        subject="mobile",
        step="mobile",
        sent_message="auth_otp_sent_signin",
        back="change",
        back_label="auth_change_number",
        send=lambda conn, typed: auth.start_sign_in(
            conn, ctx.settings, typed, lang=ctx.lang, **otp_flow.requester()
        ),
        resend=lambda conn, challenge_id, mobile: auth.resend_sign_in(
            conn, ctx.settings, challenge_id, mobile, lang=ctx.lang, **otp_flow.requester()
        ),
        verify=lambda conn, challenge_id, mobile, code, _extra, session: auth.verify_sign_in(
            conn,
            ctx.settings,
            challenge_id,
            mobile,
            code,
            lang=ctx.lang,
            session=session,
            client=otp_flow.client_address(),
        ),
        on_verified=lambda result: _signed_in(ctx, result),
    )


def _signed_in(ctx: PageContext, result: auth.VerifyOutcome) -> None:
    state = st.session_state
    # Nothing of an earlier session's flows (e.g. before an idle sign-out) survives a sign-in.
    _forget_flows()
    state.pop(session_keys.SIGNED_OUT_IDLE, None)
    state[session_keys.ACCOUNT_ID] = result.account_id
    if state.get(session_keys.LANG_CHOSEN) or ctx.settings.camp_mode:
        # The visitor picked a language on this device before signing in: keep it, and remember it. In
        # camp mode the device's language always wins: the demo account is shared by every visitor, and
        # the next visitor's Hindi demo must not flip to the language an earlier one left saved.
        try:
            with ctx.db() as conn:
                storage.accounts.set_account_language(conn, int(result.account_id or 0), ctx.lang)
        except storage.StorageError as error:  # signed in all the same; the language is saved next time
            if not storage.is_busy(error):
                raise
    else:
        state[session_keys.LANG] = result.language
    state[session_keys.LAST_ACTIVE] = time.time()
    # The server session that keeps this browser signed in (reload, other tabs); the frame hands its
    # cookie over. Without it (database or key trouble) this tab alone stays signed in.
    try:
        with ctx.db() as conn:
            started = sessions.start(conn, otp.load_key(ctx.settings), int(result.account_id or 0))
    except (storage.StorageError, otp.OtpKeyError):
        return
    state[session_keys.SESSION_ID] = started.session_id
    state[session_keys.SESSION_HANDOFF] = started.handoff


def _forget_flows() -> None:
    state = st.session_state
    for key in list(state.keys()):
        if isinstance(key, str) and key.startswith(FLOW_PREFIXES):
            state.pop(key, None)
