"""The OTP flow, written once for both places that use it: sign-in and "Add Another Meter".

One state machine, the purpose-specific parts passed in as an :class:`OtpFlow`:

- **send**: the subject form ("Mobile number" / "Consumer ID") → "Send OTP" → the OTP step;
- **resend**: "Resend OTP" (a new code; "wait N s" within the 30 s cooldown);
- **verify**: "Verify OTP" → ``flow.on_verified`` (signed in / linked), or the message of the answer;
- **dead challenge**: an answer after which the challenge takes no code (``ENDED_STATUSES``) replaces the
  OTP form with its message, "Send a new OTP" (not for a blocked subject: it would not arrive) and the
  way back;
- **cancel**: the way back ("Change number" / "Cancel") forgets the flow.

The session keeps only the flow's keys (``<prefix>_challenge_id``, the normalised subject, the masked
number, the inputs and the ended answer; ``lib.ui.session_keys``). Codes, attempts and limits live in
the database (``lib.otp``), and so does the answer to a double submit (issue 10): "Verify OTP" passes
this browser session's token (:func:`session_token`), so when Enter and a tap both submit the right
code, the second submission gets the first one's success, even if the first run's result never
reached the session.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypedDict

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from lib import auth, otp, storage
from lib.ui import escape, session_keys, widgets
from lib.ui.frame import PageContext

# "Verify OTP" answers after which the challenge takes no code any more: the OTP form makes way for the
# message and the way forward (``<prefix>_ended`` holds the answer; the database still refuses every code).
ENDED_STATUSES = frozenset({"dead", "expired", "used", "unknown", "blocked"})

# "Send OTP" answers that keep the visitor on the subject step, with their message.
_SEND_ERRORS = {
    "invalid_mobile": "auth_invalid_mobile",
    "empty_mobile": "auth_enter_mobile",
    "invalid_consumer_id": "auth_invalid_consumer_id",
    "limited": "auth_otp_limited",
    "sms_paused": "auth_sms_paused",
}


@dataclass(frozen=True)
class Field:
    """One more text box in the OTP form (the nickname of a new connection)."""

    what: str  # key suffix: the widget's key is ``<prefix>_<what>``
    label: str  # catalog key of the label
    max_chars: int | None = None


@dataclass(frozen=True)
class OtpFlow:
    """What differs between sign-in and "Add Another Meter"; everything else is this module.

    ``send(conn, typed)``, ``resend(conn, challenge_id, subject)`` and
    ``verify(conn, challenge_id, subject, code, extra, session)`` are the ``lib.auth`` calls with the
    page's settings, language and account bound; ``extra`` maps each :class:`Field`'s ``what`` to its
    typed text. ``on_verified(result)`` runs on "ok" after the flow's keys are gone, then the page reruns.
    """

    prefix: str  # a ``session_keys.FLOW_PREFIXES`` entry: "signin" or "link"
    subject: str  # the key suffix of the normalised subject: "mobile" or "consumer_id"
    step: str  # the subject form's key stem: "<prefix>_<step>_form" holding "<prefix>_<step>_input"
    sent_message: str  # catalog key of "OTP sent to {mobile}"
    back: str  # the way back's key suffix: "change" or "cancel"
    back_label: str  # catalog key of the way back: "Change number" or "Cancel"
    send: Callable[[storage.Conn, str], auth.SendOutcome]
    resend: Callable[[storage.Conn, str, str], auth.SendOutcome]
    verify: Callable[[storage.Conn, str, str, str, dict[str, str], str | None], auth.VerifyOutcome]
    on_verified: Callable[[auth.VerifyOutcome], None]
    fields: tuple[Field, ...] = ()
    # A flow whose challenge belongs to the account (links) resumes it after a reload, in another tab or
    # on another app server: ``pending(conn)`` is the stored challenge's "sent" answer, ``cancel(conn,
    # challenge_id)`` ends it when the way back is taken (else it would come straight back).
    pending: Callable[[storage.Conn], auth.SendOutcome | None] | None = None
    cancel: Callable[[storage.Conn, str], None] | None = None

    def key(self, what: str) -> str:
        """This flow's session key for ``what``: ``key("ended") == "signin_ended"``."""
        return session_keys.widget(self.prefix, what)

    def value_keys(self) -> tuple[str, ...]:
        """Every key holding this flow's values (the buttons' keys are Streamlit's own)."""
        whats = ("challenge_id", self.subject, "masked", "ended", f"{self.step}_input", "otp_input")
        return tuple(self.key(w) for w in whats + tuple(f.what for f in self.fields))


def session_token() -> str | None:
    """This browser session's id (Streamlit's, one per browser tab and connection), or None outside a run.

    It names the session that consumed a challenge (only an HMAC of it is stored, ``otp.session_mac``);
    it is never shown and never kept in ``st.session_state``.
    """
    run = get_script_run_ctx()
    return str(run.session_id) if run is not None and run.session_id else None


def client_address() -> str | None:
    """The browser's address as the server sees it (``st.context.ip_address``), or None (locally or
    behind a proxy). A coarse guard only: the OTP limits key on it where present (``lib.otp``)."""
    try:
        address = st.context.ip_address
    except Exception:  # noqa: BLE001 - outside a script run there is no context
        return None
    return str(address)[:64] if address else None


class Requester(TypedDict):
    """``auth.start_*``/``auth.resend_*``'s ``session`` and ``client`` keyword arguments, typed for ``**``."""

    session: str | None
    client: str | None


def requester() -> Requester:
    """Who asks for an OTP: this browser session and its address (``auth.start_*``'s ``session``/``client``)."""
    return {"session": session_token(), "client": client_address()}


def in_progress(flow: OtpFlow) -> bool:
    """Whether the flow is past "Send OTP" (a challenge is pending in this session)."""
    return st.session_state.get(flow.key("challenge_id")) is not None


def resume(ctx: PageContext, flow: OtpFlow) -> bool:
    """Take up the flow's stored challenge (``OtpFlow.pending``) at this session's first sight of the flow
    (a reload, a second tab, another app server); whether it did. Once per session only: a tab in which
    someone is typing another consumer ID is never taken over by another tab's challenge."""
    state = st.session_state
    if flow.pending is None or in_progress(flow) or state.get(flow.key("resume_checked")):
        return False
    state[flow.key("resume_checked")] = True
    with ctx.db() as conn:
        outcome = flow.pending(conn)
    if outcome is None or outcome.challenge_id is None:
        return False
    state[flow.key("challenge_id")] = outcome.challenge_id
    state[flow.key(flow.subject)] = outcome.subject
    state[flow.key("masked")] = outcome.destination_masked
    return True


def clear(flow: OtpFlow) -> None:
    """Forget the flow (the way back, or after a verified OTP)."""
    for key in flow.value_keys():
        st.session_state.pop(key, None)


def draw_send_form(
    ctx: PageContext,
    flow: OtpFlow,
    *,
    label: str,
    placeholder: str | None = None,
    autocomplete: str | None = None,
) -> None:
    """The subject step: one text box and "Send OTP"; a sent OTP moves the flow to its OTP step."""
    with st.form(flow.key(f"{flow.step}_form")):
        typed = st.text_input(
            label, key=flow.key(f"{flow.step}_input"), placeholder=placeholder, autocomplete=autocomplete
        )
        submitted = st.form_submit_button(ctx.t("auth_send_otp"), type="primary")
    if submitted:
        try:
            with ctx.db() as conn:
                outcome = flow.send(conn, typed)
        except storage.StorageError as error:  # busy (beside a long import): "try again in a moment"
            widgets.write_failed(ctx, error)
            return
        _after_send(ctx, flow, outcome)


def draw_otp_step(ctx: PageContext, flow: OtpFlow) -> None:
    """The OTP step: the form (or, once the challenge is dead, its message), "Resend OTP" and the way back."""
    state = st.session_state
    ended = ended_status(state.get(flow.key("ended")))
    extra: dict[str, str] = {}
    if ended is None:
        st.success(ctx.t(flow.sent_message, mobile=state.get(flow.key("masked"), "")))
        st.caption(ctx.t("auth_otp_validity", minutes=otp.CODE_TTL_MINUTES) + " " + ctx.t("auth_sms_warning"))
        with st.form(flow.key("otp_form")):
            code = st.text_input(
                ctx.t("auth_otp_label"), key=flow.key("otp_input"), autocomplete="one-time-code"
            )
            for field in flow.fields:
                extra[field.what] = st.text_input(
                    ctx.t(field.label), key=flow.key(field.what), max_chars=field.max_chars
                )
            verify = st.form_submit_button(ctx.t("auth_verify_otp"), type="primary")
        with st.container(horizontal=True):
            resend = st.button(ctx.t("auth_resend_otp"), key=flow.key("resend"))
            back = st.button(ctx.t(flow.back_label), key=flow.key(flow.back))
    else:
        # The challenge takes no code any more: the message and the way forward replace the form.
        code, verify = "", False
        resend, back = _draw_ended(ctx, flow, ended)
    try:
        _act(ctx, flow, back=back, resend=resend, verify=verify, code=code, extra=extra)
    except storage.StorageError as error:  # busy (beside a long import): "try again in a moment"
        widgets.write_failed(ctx, error)


def _act(
    ctx: PageContext,
    flow: OtpFlow,
    *,
    back: bool,
    resend: bool,
    verify: bool,
    code: str,
    extra: dict[str, str],
) -> None:
    """What the OTP step's buttons do: the way back, "Resend OTP", "Verify OTP" (each writes)."""
    state = st.session_state
    if back:
        challenge_id = state.get(flow.key("challenge_id"))
        if flow.cancel is not None and challenge_id:
            with ctx.db() as conn:
                flow.cancel(conn, str(challenge_id))
        clear(flow)
        st.rerun()
    if resend:
        with ctx.db() as conn:
            outcome = flow.resend(conn, state[flow.key("challenge_id")], state[flow.key(flow.subject)])
        _after_send(ctx, flow, outcome)
    if verify:
        with ctx.db() as conn:
            result = flow.verify(
                conn,
                state[flow.key("challenge_id")],
                state[flow.key(flow.subject)],
                code,
                extra,
                session_token(),
            )
        if result.status == "ok":
            clear(flow)
            flow.on_verified(result)
            st.rerun()
        if result.status in ENDED_STATUSES:
            state[flow.key("ended")] = result.status
            st.rerun()
        st.error(status_message(ctx, result.status, tries_left=result.tries_left))


def ended_status(value: object) -> str | None:
    """The flow's ended answer from the session (untrusted: anything else counts as "not ended").

    >>> ended_status("dead"), ended_status("ok"), ended_status(None)
    ('dead', None, None)
    """
    return value if isinstance(value, str) and value in ENDED_STATUSES else None


def status_message(ctx: PageContext, status: str, *, tries_left: int = 0) -> str:
    """The user's message for a "Verify OTP" answer ``status`` (an ``otp.Status``)."""
    if status == "invalid":
        return ctx.t("auth_otp_invalid")
    if status == "wrong":
        # Plural forms (issue 14): "1 try left", never "1 tries left".
        return ctx.t("auth_otp_wrong_one") if tries_left == 1 else ctx.t("auth_otp_wrong", tries=tries_left)
    if status == "dead":
        return ctx.t("auth_otp_dead")
    if status == "expired":
        return ctx.t("auth_otp_expired")
    if status == "used":
        return ctx.t("auth_otp_used")
    if status == "blocked":
        return ctx.t("auth_otp_blocked")
    return ctx.t("auth_otp_unknown")


def _draw_ended(ctx: PageContext, flow: OtpFlow, status: str) -> tuple[bool, bool]:
    """Why the challenge ended and the way forward; whether "Send a new OTP" and the way back were pressed."""
    st.error(status_message(ctx, status))
    with st.container(horizontal=True):
        resend = status != "blocked" and st.button(
            ctx.t("auth_send_new_otp"), key=flow.key("resend"), type="primary"
        )
        back = st.button(ctx.t(flow.back_label), key=flow.key(flow.back))
    return resend, back


def _after_send(ctx: PageContext, flow: OtpFlow, outcome: auth.SendOutcome) -> None:
    state = st.session_state
    if outcome.status == "already_linked":
        st.info(ctx.t("auth_already_linked", consumer_id=escape.markdown(outcome.subject or "")))
    elif outcome.status in _SEND_ERRORS:
        st.error(ctx.t(_SEND_ERRORS[outcome.status]))
    elif outcome.status == "cooldown":
        st.warning(ctx.t("auth_resend_wait", seconds=outcome.wait_seconds))
    else:
        state[flow.key("challenge_id")] = outcome.challenge_id
        state[flow.key(flow.subject)] = outcome.subject
        state[flow.key("masked")] = outcome.destination_masked
        state.pop(flow.key("otp_input"), None)
        state.pop(flow.key("ended"), None)
        st.rerun()
