"""The sign-in form (shown by the frame when nobody is signed in) and the account box in the sidebar.

Sign in: "Mobile number" → "Send OTP" → "OTP" → "Verify OTP". The session keeps only the flow's
challenge id and the normalised mobile (``signin_*``); codes, counters and blocks live in SQLite
(``lib.otp``). On a verified OTP the frame's ``account_id`` is set and the account's saved language
becomes ``lang``. No database text is rendered as HTML.
"""

from __future__ import annotations

import time

import streamlit as st

from lib import auth, otp, storage
from lib.ui.frame import PageContext

SIGNIN_KEYS = (
    "signin_challenge_id",
    "signin_mobile",
    "signin_masked",
    "signin_mobile_input",
    "signin_otp_input",
    "signin_ended",
)
# Per-flow keys of every flow that must not outlive a sign-out (prefixes).
FLOW_PREFIXES = ("signin_", "link_", "manage_")
# "Verify OTP" answers after which the challenge takes no code any more: the OTP form makes way for the
# message and the way forward (``<flow>_ended`` holds the answer; SQLite still refuses every later code).
ENDED_STATUSES = frozenset({"dead", "expired", "used", "unknown", "blocked"})


def draw_account_box(ctx: PageContext) -> None:
    """Sidebar: who is signed in (masked mobile) and "Sign out". Also refuses an unsafe configuration."""
    try:
        with ctx.db() as conn:
            auth.check_startup(conn, ctx.settings)
            summary = auth.account_summary(conn, ctx.account_id) if ctx.account_id is not None else None
    except auth.AuthConfigurationError as error:
        st.error(ctx.t("auth_config_error", detail=str(error)))
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
        if st.button(ctx.t("auth_sign_out"), key="account_sign_out"):
            with ctx.db() as conn:
                auth.record_sign_out(conn, int(ctx.account_id))  # type: ignore[arg-type]
            sign_out()
            st.rerun()


def sign_out() -> None:
    """End the session's sign-in: ``account_id`` and every flow key go."""
    state = st.session_state
    state["account_id"] = None
    for key in list(state.keys()):
        if isinstance(key, str) and key.startswith(FLOW_PREFIXES):
            del state[key]


def draw_sign_in(ctx: PageContext) -> None:
    """The sign-in form: mobile step, then OTP step."""
    state = st.session_state
    st.title(ctx.t("auth_signin_title"))
    if state.get("signed_out_idle"):
        st.info(ctx.t("auth_signed_out_idle"))
    if state.get("signin_challenge_id") is None:
        _mobile_step(ctx)
    else:
        _otp_step(ctx)


def _mobile_step(ctx: PageContext) -> None:
    st.write(ctx.t("auth_signin_intro"))
    with st.form("signin_mobile_form"):
        mobile = st.text_input(
            ctx.t("auth_mobile_label"),
            key="signin_mobile_input",
            placeholder=ctx.t("auth_mobile_placeholder"),
            autocomplete="tel",
        )
        submitted = st.form_submit_button(ctx.t("auth_send_otp"), type="primary")
    if submitted:
        with ctx.db() as conn:
            outcome = auth.start_sign_in(conn, ctx.settings, mobile, lang=ctx.lang)
        _after_send(ctx, outcome)


def _after_send(ctx: PageContext, outcome: auth.SendOutcome) -> None:
    state = st.session_state
    if outcome.status == "invalid_mobile":
        st.error(ctx.t("auth_invalid_mobile"))
    elif outcome.status == "send_failed":
        st.error(ctx.t("auth_send_failed"))
    elif outcome.status == "limited":
        st.error(ctx.t("auth_otp_limited"))
    elif outcome.status == "cooldown":
        st.warning(ctx.t("auth_resend_wait", seconds=outcome.wait_seconds))
    else:
        state["signin_challenge_id"] = outcome.challenge_id
        state["signin_mobile"] = outcome.subject
        state["signin_masked"] = outcome.destination_masked
        state.pop("signin_otp_input", None)
        state.pop("signin_ended", None)
        st.rerun()


def _otp_step(ctx: PageContext) -> None:
    state = st.session_state
    ended = ended_status(state.get("signin_ended"))
    if ended is None:
        st.success(ctx.t("auth_otp_sent_signin", mobile=state.get("signin_masked", "")))
        minutes = int(otp.CODE_TTL.total_seconds() // 60)
        st.caption(ctx.t("auth_otp_validity", minutes=minutes) + " " + ctx.t("auth_sms_warning"))
        with st.form("signin_otp_form"):
            code = st.text_input(
                ctx.t("auth_otp_label"), key="signin_otp_input", autocomplete="one-time-code"
            )
            verify = st.form_submit_button(ctx.t("auth_verify_otp"), type="primary")
        with st.container(horizontal=True):
            resend = st.button(ctx.t("auth_resend_otp"), key="signin_resend")
            change = st.button(ctx.t("auth_change_number"), key="signin_change")
    else:
        # The challenge takes no code any more: the message and the way forward replace the form.
        code, verify = "", False
        resend, change = draw_ended(
            ctx,
            ended,
            resend_key="signin_resend",
            back_key="signin_change",
            back_label=ctx.t("auth_change_number"),
        )
    if change:
        for key in SIGNIN_KEYS:
            state.pop(key, None)
        st.rerun()
    if resend:
        with ctx.db() as conn:
            outcome = auth.resend_sign_in(
                conn, ctx.settings, state["signin_challenge_id"], state["signin_mobile"], lang=ctx.lang
            )
        _after_send(ctx, outcome)
    if verify:
        with ctx.db() as conn:
            result = auth.verify_sign_in(
                conn, ctx.settings, state["signin_challenge_id"], state["signin_mobile"], code, lang=ctx.lang
            )
        if result.status == "ok":
            # Nothing of an earlier session's flows (e.g. before an idle sign-out) survives a sign-in.
            for key in list(state.keys()):
                if isinstance(key, str) and key.startswith(FLOW_PREFIXES):
                    del state[key]
            state.pop("signed_out_idle", None)
            state["account_id"] = result.account_id
            if state.get("lang_chosen"):
                # The visitor picked a language on this device before signing in: keep it, and remember it.
                with ctx.db() as conn:
                    storage.accounts.set_account_language(conn, result.account_id, ctx.lang)
            else:
                state["lang"] = result.language
            state["last_active"] = time.time()
            st.rerun()
        if result.status in ENDED_STATUSES:
            state["signin_ended"] = result.status
            st.rerun()
        st.error(verify_message(ctx, result))


def ended_status(value: object) -> str | None:
    """The flow's ended answer from the session (untrusted: anything else counts as "not ended").

    >>> ended_status("dead"), ended_status("ok"), ended_status(None)
    ('dead', None, None)
    """
    return value if isinstance(value, str) and value in ENDED_STATUSES else None


def draw_ended(
    ctx: PageContext, status: str, *, resend_key: str, back_key: str, back_label: str
) -> tuple[bool, bool]:
    """In place of a dead challenge's OTP form: why it ended and the way forward (shared with Manage
    Connection). Returns whether "Send a new OTP" and the way back ("Change number" on sign-in, "Cancel"
    on Add Another Meter) were pressed. A blocked subject gets no "Send a new OTP": it would not arrive.
    """
    st.error(status_message(ctx, status))
    with st.container(horizontal=True):
        resend = status != "blocked" and st.button(ctx.t("auth_send_new_otp"), key=resend_key, type="primary")
        back = st.button(back_label, key=back_key)
    return resend, back


def verify_message(ctx: PageContext, result: auth.VerifyOutcome) -> str:
    """The user's message for a failed "Verify OTP" (shared with Manage Connection)."""
    return status_message(ctx, result.status, tries_left=result.tries_left)


def status_message(ctx: PageContext, status: str, *, tries_left: int = 0) -> str:
    """The user's message for a "Verify OTP" answer ``status`` (an ``otp.Status``)."""
    if status == "invalid":
        return ctx.t("auth_otp_invalid")
    if status == "wrong":
        return ctx.t("auth_otp_wrong", tries=tries_left)
    if status == "dead":
        return ctx.t("auth_otp_dead")
    if status == "expired":
        return ctx.t("auth_otp_expired")
    if status == "used":
        return ctx.t("auth_otp_used")
    if status == "blocked":
        return ctx.t("auth_otp_blocked")
    return ctx.t("auth_otp_unknown")
