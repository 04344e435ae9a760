"""The session-state registry: every key literal in lib/ui is registered, and docs/DEVELOPING.md lists
exactly the registry."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lib.ui import session_keys

ROOT = Path(__file__).resolve().parent.parent
UI_FILES = sorted((ROOT / "lib" / "ui").glob("*.py"))

# session_state["x"], state.get("x"), .pop("x"), .setdefault("x"), key="x" and key=f"x_{...}".
_KEY_LITERAL = re.compile(
    r"""(?:session_state|state)(?:\[|\.get\(|\.pop\(|\.setdefault\()\s*f?["']([^"']+)["']"""
    r"""|\bkey\s*=\s*f?["']([^"']+)["']"""
)


def key_literals(text: str) -> list[str]:
    """Key literals in source text; an f-string key is kept up to its first placeholder."""
    return [(a or b).split("{", 1)[0] for a, b in _KEY_LITERAL.findall(text)]


def _registered(literal: str) -> bool:
    if session_keys.is_registered(literal):
        return True
    # the static start of an f-string key ("ledger_arrear_delete_") must name a registered family
    prefix = literal.split("_", 1)[0]
    return literal.endswith("_") and prefix in session_keys.WIDGET_PREFIXES + session_keys.FLOW_PREFIXES


def test_the_grep_finds_every_kind_of_key_literal():
    text = (
        'st.session_state["lang"] state.get("signin_masked") state.pop("link_ended", None) '
        'state.setdefault("large_text", False) key="compare_range" key=f"manage_remove_{wid}"'
    )
    assert key_literals(text) == [
        "lang",
        "signin_masked",
        "link_ended",
        "large_text",
        "compare_range",
        "manage_remove_",
    ]
    assert not _registered("otp_code") and not _registered("secret_")


@pytest.mark.parametrize("path", UI_FILES, ids=lambda p: p.name)
def test_every_session_key_in_lib_ui_is_registered(path):
    unregistered = [k for k in key_literals(path.read_text(encoding="utf-8")) if not _registered(k)]
    assert unregistered == []


def test_the_ui_uses_session_state_at_all():
    # guards the grep itself: if the pattern stopped matching, the test above would pass on nothing
    found = {k for path in UI_FILES for k in key_literals(path.read_text(encoding="utf-8"))}
    assert {"compare_connections", "ledger_connection", "camp_reset_confirmed"} <= found


def _developing_section() -> str:
    text = (ROOT / "docs" / "DEVELOPING.md").read_text(encoding="utf-8")
    return text.split("## Session state", 1)[1].split("\n## ", 1)[0]


def _listed(line_start: str) -> list[str]:
    section = _developing_section()
    item = section.split(f"- {line_start}", 1)[1].split("\n- ", 1)[0]
    if "one of:" in item:
        item = item.split("one of:", 1)[1]
    return re.findall(r"`([a-z_]+)`", item)


def test_developing_md_lists_exactly_the_registry():
    assert sorted(_listed("Global keys:")) == sorted(session_keys.GLOBAL_KEYS)
    assert _listed("Widget keys") == list(session_keys.WIDGET_PREFIXES)
    assert _listed("Per-flow keys") == list(session_keys.FLOW_PREFIXES)
