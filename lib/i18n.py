"""Every visible string, in Hindi and English, and money, numbers and dates formatted with Babel.

The catalog is the TOML files in ``lib/locales/`` (one per area of the app, so that people working
on different pages do not edit the same file). Each key is a table with ``hi`` and ``en``:

    [add_another_meter]
    en = "Add Another Meter"
    hi = "एक और मीटर जोड़ें"

>>> t("app_title", "hi")
'मीटर मित्र'
>>> format_money(123456.5, "en")
'₹1,23,456.50'
>>> format_money(123456.5, "hi", devanagari_digits=True)
'₹१,२३,४५६.५०'
>>> import datetime as dt
>>> format_date(dt.date(2025, 8, 15), "hi")
'15 अग॰ 2025'
"""

from __future__ import annotations

import contextvars
import datetime as dt
import functools
import tomllib
from pathlib import Path
from typing import Any, Literal

from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.numbers import format_currency, format_decimal

from lib.clock import IST

LANGUAGES = ("hi", "en")
DEFAULT_LANGUAGE = "hi"
LOCALES = {"hi": "hi_IN", "en": "en_IN"}
LOCALE_DIR = Path(__file__).resolve().parent / "locales"
_DEVANAGARI = str.maketrans("0123456789", "०१२३४५६७८९")

# The reader's choice of digits for this script run (set by lib.ui.frame on every run; each Streamlit
# session runs its script in its own thread, so one session's choice never leaks into another's).
_DEVANAGARI_DIGITS: contextvars.ContextVar[bool] = contextvars.ContextVar("devanagari_digits", default=False)


def use_devanagari_digits(enabled: bool) -> None:
    """Make every formatter of this run print Hindi numbers as १२३ (only where the language is Hindi)."""
    _DEVANAGARI_DIGITS.set(bool(enabled))


def _deva(lang: str, requested: bool | None) -> bool:
    if requested is not None:
        return requested
    return normalise_language(lang) == "hi" and _DEVANAGARI_DIGITS.get()


def devanagari_digits_active(lang: str, requested: bool | None = None) -> bool:
    """Whether the formatters print ``lang``'s numbers as १२३: ``requested`` when given, else the choice
    of this run (:func:`use_devanagari_digits`), and only for Hindi. For what formats numbers itself
    (plotly tick labels) and for cache keys of things built with these numbers."""
    return _deva(lang, requested)


class CatalogError(ValueError):
    """A catalog file is malformed or two files define the same key."""


@functools.cache
def catalog() -> dict[str, dict[str, str]]:
    """All keys of all locale files: ``{key: {"hi": ..., "en": ...}}``."""
    merged: dict[str, dict[str, str]] = {}
    for path in sorted(LOCALE_DIR.glob("*.toml")):
        with path.open("rb") as handle:
            data = tomllib.load(handle)
        for key, entry in data.items():
            if key in merged:
                raise CatalogError(f"{path.name}: key {key!r} is already defined in another file")
            if not isinstance(entry, dict):
                raise CatalogError(f"{path.name}: {key!r} must be a table with hi and en")
            merged[key] = {lang: str(text) for lang, text in entry.items()}
    return merged


def normalise_language(lang: str | None) -> str:
    """``"en"`` or ``"hi"``; anything else falls back to Hindi."""
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def t(key: str, lang: str, **values: Any) -> str:
    """The text of ``key`` in ``lang`` with ``{placeholders}`` filled.

    A missing key raises KeyError: the catalog tests catch it before users do.
    """
    text = catalog()[key][normalise_language(lang)]
    if not values:
        return text
    if _deva(lang, None):  # bare counts ("{n} tries left") follow the reader's digits too
        values = {
            name: digits(str(value), True)
            if isinstance(value, int | float) and not isinstance(value, bool)
            else value
            for name, value in values.items()
        }
    return text.format(**values)


def digits(text: str, devanagari: bool) -> str:
    """Swap ASCII digits for Devanagari ones when asked (Babel prints Latin digits even for hi_IN)."""
    return text.translate(_DEVANAGARI) if devanagari else text


def format_money(
    amount: float, lang: str, *, devanagari_digits: bool | None = None, decimals: bool = True
) -> str:
    """₹ in Indian digit grouping: ``format_money(-1234.5, "en") == '-₹1,234.50'``."""
    pattern = None if decimals else "¤#,##,##0"
    text = _babel_currency(_Key(amount), pattern, LOCALES[normalise_language(lang)], decimals)
    return digits(text, _deva(lang, devanagari_digits))


def format_number(
    value: float, lang: str, *, decimals: int = 1, devanagari_digits: bool | None = None
) -> str:
    """A plain number with Indian grouping: ``format_number(123456.78, "en") == '1,23,456.8'``."""
    pattern = "#,##,##0" + ("." + "0" * decimals if decimals else "")
    text = _babel_decimal(_Key(value), pattern, LOCALES[normalise_language(lang)])
    return digits(text, _deva(lang, devanagari_digits))


def format_date(
    day: dt.date | dt.datetime, lang: str, *, pattern: str = "medium", devanagari_digits: bool | None = None
) -> str:
    """A calendar date with month names in the language (``pattern``: Babel name or CLDR pattern)."""
    if isinstance(day, dt.datetime):
        day = day.astimezone(IST).date() if day.tzinfo else day.date()
    text = _babel_date(day, pattern, LOCALES[normalise_language(lang)])
    return digits(text, _deva(lang, devanagari_digits))


def format_datetime(
    moment: dt.datetime, lang: str, *, pattern: str = "d MMM y, h:mm a", devanagari_digits: bool | None = None
) -> str:
    """A moment shown in IST: ``format_datetime(datetime(2026,1,1,tzinfo=UTC), "en") == '1 Jan 2026, 5:30 am'``."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: give a timezone")
    text = babel_format_datetime(moment, format=pattern, tzinfo=IST, locale=LOCALES[normalise_language(lang)])
    return digits(text, _deva(lang, devanagari_digits))


# --- Babel's answers, remembered ------------------------------------------------------------------
# Babel parses the pattern and walks the locale's data on every call (~0.1-0.5 ms): a page formats the
# same few amounts and days on every rerun, so the text of each (value, pattern, locale) is kept
# (bounded: least recently used go first). Babel's answer depends only on these arguments.

_FORMAT_CACHE = 16_384


class _Key:
    """A number as a cache key: equal only to the same type, value and sign (``1 == 1.0 == Decimal(1)``
    and ``0.0 == -0.0`` in Python, but Babel may print them differently); NaN equal to NaN.

    >>> _Key(0.0) == _Key(-0.0), _Key(1) == _Key(1.0), _Key(float("nan")) == _Key(float("nan"))
    (False, False, True)
    """

    __slots__ = ("value", "_key")

    def __init__(self, value: Any) -> None:
        self.value = value
        self._key = (type(value), repr(value))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Key) and self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)


@functools.lru_cache(maxsize=_FORMAT_CACHE)
def _babel_currency(amount: _Key, pattern: str | None, locale: str, decimals: bool) -> str:
    return str(format_currency(amount.value, "INR", format=pattern, locale=locale, currency_digits=decimals))


@functools.lru_cache(maxsize=_FORMAT_CACHE)
def _babel_decimal(value: _Key, pattern: str, locale: str) -> str:
    return str(format_decimal(value.value, format=pattern, locale=locale))


@functools.lru_cache(maxsize=_FORMAT_CACHE)
def _babel_date(day: dt.date, pattern: str, locale: str) -> str:
    return str(babel_format_date(day, format=pattern, locale=locale))


def month_name(month: int, lang: str, *, width: Literal["abbreviated", "narrow", "wide"] = "wide") -> str:
    """``month_name(8, "hi") == 'अगस्त'``."""
    from babel.dates import get_month_names

    return str(get_month_names(width, locale=LOCALES[normalise_language(lang)])[month])
