"""The one registry of page paths: the navigation, every ``st.page_link`` and every ``switch_page``.

No ``"pages/x.py"`` literal appears anywhere else in ``lib/ui`` or ``pages`` (a test greps for them).

>>> path_of("compare"), PAGE_IDS[0]
('pages/compare.py', 'overview')
"""

from __future__ import annotations

from typing import Final

from lib.storage import ROOT

OVERVIEW: Final = "dashboard.py"
COMPARE: Final = "pages/compare.py"
LEDGER: Final = "pages/ledger.py"
MANAGE_CONNECTION: Final = "pages/manage_connection.py"
CAMP: Final = "pages/camp.py"

# (page id, script path, catalog key of its label), in navigation order.
PAGES: Final[tuple[tuple[str, str, str], ...]] = (
    ("overview", OVERVIEW, "nav_overview"),
    ("compare", COMPARE, "nav_compare"),
    ("ledger", LEDGER, "nav_ledger"),
    ("manage_connection", MANAGE_CONNECTION, "nav_manage_connection"),
    ("camp", CAMP, "nav_camp"),
)
PAGE_IDS: Final = tuple(pid for pid, _, _ in PAGES)


def path_of(page_id: str) -> str:
    """The script path of a page id; ``KeyError`` for an unknown id."""
    return {pid: path for pid, path, _ in PAGES}[page_id]


def exists(path: str) -> bool:
    """Whether the page's script is in this checkout (a page can be left out of a build)."""
    return (ROOT / path).exists()
