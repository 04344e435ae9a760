"""The catalog is complete, every key is used, and formatting follows Indian conventions."""

from __future__ import annotations

import datetime as dt
import re
import string
from pathlib import Path

import pytest

from lib import i18n

ROOT = Path(__file__).resolve().parent.parent
CODE_FILES = [
    ROOT / "dashboard.py",
    *sorted((ROOT / "pages").glob("*.py")),
    *sorted((ROOT / "lib").rglob("*.py")),
]
DEVANAGARI = re.compile(r"[\u0900-\u097F]")


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_has_both_languages():
    missing = [
        (key, lang)
        for key, entry in i18n.catalog().items()
        for lang in i18n.LANGUAGES
        if not entry.get(lang, "").strip()
    ]
    assert missing == []


def test_no_catalog_entry_has_unknown_languages():
    extra = [(key, set(entry) - set(i18n.LANGUAGES)) for key, entry in i18n.catalog().items()]
    assert [(key, langs) for key, langs in extra if langs] == []


def test_placeholders_match_between_languages():
    mismatched = [
        key
        for key, entry in i18n.catalog().items()
        if _placeholders(entry["hi"]) != _placeholders(entry["en"])
    ]
    assert mismatched == []


def test_hindi_texts_are_written_in_devanagari():
    not_hindi = [key for key, entry in i18n.catalog().items() if not DEVANAGARI.search(entry["hi"])]
    # Texts that are only a symbol, a number format or a brand-neutral mark may stay without Devanagari.
    allowed = {"language_label"}
    assert [key for key in not_hindi if key not in allowed] == []


def test_every_key_is_used_by_the_code():
    code = "\n".join(path.read_text(encoding="utf-8") for path in CODE_FILES)
    unused = [key for key in i18n.catalog() if f'"{key}"' not in code and f"'{key}'" not in code]
    assert unused == []


def test_every_key_the_code_asks_for_exists():
    pattern = re.compile(r"""\bt\(\s*["']([a-z0-9_]+)["']""")
    asked = {key for path in CODE_FILES for key in pattern.findall(path.read_text(encoding="utf-8"))}
    assert sorted(asked - set(i18n.catalog())) == []


def test_duplicate_keys_across_files_are_refused(tmp_path, monkeypatch):
    (tmp_path / "a.toml").write_text('[same]\nen = "A"\nhi = "अ"\n', encoding="utf-8")
    (tmp_path / "b.toml").write_text('[same]\nen = "B"\nhi = "ब"\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.catalog.cache_clear()
    try:
        with pytest.raises(i18n.CatalogError, match="same"):
            i18n.catalog()
    finally:
        i18n.catalog.cache_clear()


def test_missing_key_raises():
    with pytest.raises(KeyError):
        i18n.t("no_such_key", "en")


def test_unknown_language_falls_back_to_hindi():
    assert i18n.t("app_title", "fr") == i18n.t("app_title", "hi")


@pytest.mark.parametrize(
    ("amount", "lang", "deva", "expected"),
    [
        (123456.5, "en", False, "₹1,23,456.50"),
        (123456.5, "hi", False, "₹1,23,456.50"),
        (123456.5, "hi", True, "₹१,२३,४५६.५०"),
        (-1234.5, "en", False, "-₹1,234.50"),
        (12345678, "en", False, "₹1,23,45,678.00"),
        (0, "en", False, "₹0.00"),
    ],
)
def test_money_in_indian_grouping(amount, lang, deva, expected):
    assert i18n.format_money(amount, lang, devanagari_digits=deva) == expected


def test_money_without_paise():
    assert i18n.format_money(1234.4, "en", decimals=False) == "₹1,234"


def test_dates_in_hindi_use_hindi_month_and_weekday_names():
    day = dt.date(2025, 8, 15)
    assert i18n.format_date(day, "hi", pattern="full") == "शुक्रवार, 15 अगस्त 2025"
    assert i18n.format_date(day, "en", pattern="full") == "Friday, 15 August 2025"
    assert i18n.format_date(day, "hi", pattern="long", devanagari_digits=True) == "१५ अगस्त २०२५"


def test_datetimes_are_shown_in_ist():
    moment = dt.datetime(2026, 1, 1, 18, 15, tzinfo=dt.UTC)  # 23:45 IST the same day
    assert i18n.format_datetime(moment, "en") == "1 Jan 2026, 11:45 pm"
    with pytest.raises(ValueError):
        i18n.format_datetime(dt.datetime(2026, 1, 1), "en")


def test_numbers_in_indian_grouping():
    assert i18n.format_number(1234567.25, "en", decimals=2) == "12,34,567.25"
    assert i18n.format_number(5, "hi", decimals=0, devanagari_digits=True) == "५"


def test_devanagari_digit_choice_applies_to_every_formatter_in_hindi_only():
    import contextvars

    def run() -> tuple[str, ...]:
        i18n.use_devanagari_digits(True)
        return (
            i18n.format_money(1234.5, "hi"),
            i18n.format_number(12.5, "hi"),
            i18n.format_date(dt.date(2026, 1, 2), "hi", pattern="d/M/y"),
            i18n.format_money(1234.5, "en"),
            i18n.t("camp_step_consumer_id", "hi", consumer_id="DEMO-2001"),
        )

    money_hi, number_hi, date_hi, money_en, text = contextvars.copy_context().run(run)
    assert (money_hi, number_hi, date_hi, money_en) == ("₹१,२३४.५०", "१२.५", "२/१/२०२६", "₹1,234.50")
    assert "DEMO-2001" in text  # IDs passed as text keep their digits
    assert i18n.format_money(1234.5, "hi") == "₹1,234.50"  # the choice stayed in its own context
