"""What a page gets from the frame: settings, language, the signed-in account and formatting helpers.

Its own module so that the frame, the shared chrome and every page module can import it without
importing each other.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from lib import i18n, storage
from lib.config import Settings


@dataclass
class PageContext:
    """What a page gets from the frame."""

    settings: Settings
    lang: str
    account_id: int | None
    t: Callable[..., str]
    devanagari_digits: bool = False
    _conn: storage.Conn | None = field(default=None, init=False, repr=False, compare=False)
    # What this rerun already read once (``lib.ui.loaders.household``): the context lives for one run.
    rerun_memo: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    # The context this one was detached from (``detached``), weakly: a fragment's arguments outlive the run.
    _lender: weakref.ref[PageContext] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def account(self) -> int:
        """The signed-in account's id, for a page's storage and domain calls.

        ``account_id`` is None only before sign-in, and the frame draws a page only for a signed-in
        account (the sign-in view otherwise), so a page can rely on this. Raises ``RuntimeError`` when
        nobody is signed in: a programming error (a page drawn without the frame's gate), never a user's.

        >>> from pathlib import Path
        >>> PageContext(Settings(db_path=Path("unused.db")), "en", 7, lambda key, **_: key).account
        7
        >>> PageContext(Settings(db_path=Path("unused.db")), "en", None, lambda key, **_: key).account
        Traceback (most recent call last):
        ...
        RuntimeError: PageContext.account used before sign-in: pages draw only for an account
        """
        if self.account_id is None:
            raise RuntimeError("PageContext.account used before sign-in: pages draw only for an account")
        return self.account_id

    def money(self, amount: float, *, decimals: bool = True) -> str:
        """₹ in Indian grouping in the page's language: ``ctx.money(1234.5) == '₹1,234.50'``."""
        return i18n.format_money(
            amount, self.lang, devanagari_digits=self.devanagari_digits, decimals=decimals
        )

    def number(self, value: float, *, decimals: int = 1) -> str:
        return i18n.format_number(
            value, self.lang, decimals=decimals, devanagari_digits=self.devanagari_digits
        )

    def date(self, day: Any, *, pattern: str = "medium") -> str:
        return i18n.format_date(day, self.lang, pattern=pattern, devanagari_digits=self.devanagari_digits)

    def datetime(self, moment: Any, *, pattern: str = "d MMM y, h:mm a") -> str:
        return i18n.format_datetime(
            moment, self.lang, pattern=pattern, devanagari_digits=self.devanagari_digits
        )

    def digits(self, text: str) -> str:
        """Any text with numbers in it (counts, IDs are NOT passed here): Devanagari digits when chosen."""
        return i18n.digits(text, self.devanagari_digits)

    @contextmanager
    def db(self) -> Iterator[storage.Conn]:
        """The rerun's one connection: ``with ctx.db() as conn: ...``.

        Opened on first use and reused by every later ``ctx.db()`` and cache miss of this rerun (the
        context lives for one script run); closed when the context goes away. Never migrates: the frame
        migrates at first start (``frame._first_start``), deploys run ``python -m lib.cli migrate``.
        Raises ``storage.StorageError`` when the database cannot be opened.
        """
        if self._conn is None:
            self.adopt(storage.connect_or_raise(self.settings.db_path))
        assert self._conn is not None
        yield self._conn

    def detached(self) -> PageContext:
        """This context without its connection and memo, for a page's fragment (``st.fragment``).

        Streamlit keeps a fragment's arguments until the next full run and calls the fragment again with
        them, from another thread, when one of its widgets changes; a fragment handed the page's own
        context would keep the rerun's connection open between runs (one per tab on PostgreSQL) and use it
        from that thread. The copy refers to this context only weakly: :func:`lib.ui.frame.fragment_context`
        gives the fragment this context back in the run that made the copy, a new one in a fragment rerun.

        >>> from pathlib import Path
        >>> page = PageContext(Settings(db_path=Path("unused.db")), "hi", 7, lambda key, **_: key)
        >>> copy = page.detached()
        >>> (copy.lang, copy.account, copy.lender() is page, copy.detached().lender() is copy)
        ('hi', 7, True, True)
        """
        copy = PageContext(self.settings, self.lang, self.account_id, self.t, self.devanagari_digits)
        copy._lender = weakref.ref(self)
        return copy

    def lender(self) -> PageContext | None:
        """The context :meth:`detached` copied, while it is alive (its run still going); else None."""
        return self._lender() if self._lender is not None else None

    def adopt(self, conn: storage.Conn) -> None:
        """Make ``conn`` (opened by the frame before the context existed, e.g. to check the sign-in
        session) the rerun's one connection; closed when the context goes away."""
        if self._conn is not None:
            raise RuntimeError("the rerun already has its connection")
        weakref.finalize(self, conn.close)
        self._conn = conn
