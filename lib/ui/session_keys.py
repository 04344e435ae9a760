"""Every ``st.session_state`` key the app uses: one registry, checked against docs/DEVELOPING.md by a test.

Global keys are constants below; widget keys are ``<page>_<what>`` and per-flow keys ``<flow>_<what>``
with a prefix from ``WIDGET_PREFIXES`` / ``FLOW_PREFIXES``, built with :func:`widget`:

>>> widget("compare", "range")
'compare_range'
>>> is_registered("signin_challenge_id"), is_registered("otp_code")
(True, False)

Nothing that proves identity or counts attempts (codes, tries, limits) ever lives in session state: the
database holds those.
"""

from __future__ import annotations

import re

LANG = "lang"  # "hi" or "en", kept outside the widget so it survives page changes
LANG_SWITCH = "lang_switch"  # the language widget
LANG_CHOSEN = "lang_chosen"  # the visitor switched language in this session
ACCOUNT_ID = "account_id"  # set only after an OTP verified; None = signed out
LAST_ACTIVE = "last_active"  # UTC epoch seconds of the last run (idle timeout)
SIGNED_OUT_IDLE = "signed_out_idle"  # the last sign-out was the idle timeout (the sign-in page says so)
LARGE_TEXT = "large_text"  # camp projector option
DEVANAGARI_DIGITS = "devanagari_digits"  # numbers as १२३ in Hindi
DIGITS_SWITCH = "digits_switch"  # the Devanagari-digits widget
CAMP_GENERATION = "camp_generation"  # camp reset generation this session saw (a reset signs it out)
PAGE_MENU = "page_menu"  # the page menu at the top of every page (a container, for its CSS class)
LANG_MENU = "lang_menu"  # the page menu's "other language" button
SESSION_ID = "session_id"  # the server session (lib.sessions) this tab is signed in with: a row id, no secret
SESSION_HANDOFF = "session_handoff"  # one-time hand-off to the cookie route, kept until used (<= 2 min)

GLOBAL_KEYS: dict[str, str] = {
    LANG: "language of the pages",
    LANG_SWITCH: "language widget",
    LANG_CHOSEN: "visitor switched language in this session",
    ACCOUNT_ID: "signed-in account (None = signed out)",
    LAST_ACTIVE: "epoch seconds of the last run, for the idle timeout",
    SIGNED_OUT_IDLE: "the last sign-out was the idle timeout",
    LARGE_TEXT: "camp projector text size",
    DEVANAGARI_DIGITS: "numbers in Devanagari digits",
    DIGITS_SWITCH: "Devanagari-digits widget",
    CAMP_GENERATION: "camp reset generation seen by this session",
    PAGE_MENU: "page menu container at the top of every page",
    LANG_MENU: "page menu's other-language button",
    SESSION_ID: "server session this tab is signed in with (row id)",
    SESSION_HANDOFF: "one-time hand-off of a new server session to the cookie route",
}

# Widget keys: <page>_<what>; flow keys: <flow>_<what>.
WIDGET_PREFIXES = ("overview", "compare", "ledger", "manage", "camp", "account")
FLOW_PREFIXES = ("signin", "link")

_FAMILY = re.compile(rf"^({'|'.join(WIDGET_PREFIXES + FLOW_PREFIXES)})_[a-z0-9_]+$")


def widget(prefix: str, what: str) -> str:
    """The key of a widget or flow value: ``widget("ledger", "period")`` → ``"ledger_period"``.

    Raises ``ValueError`` for a prefix that is not registered.
    """
    if prefix not in WIDGET_PREFIXES + FLOW_PREFIXES:
        raise ValueError(f"unregistered session-state prefix: {prefix!r}")
    return f"{prefix}_{what}"


def is_registered(key: str) -> bool:
    """Whether ``key`` is a global key or belongs to a registered widget/flow family."""
    return key in GLOBAL_KEYS or bool(_FAMILY.match(key))
