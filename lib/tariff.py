"""The tariff: what a prepaid meter deducts from the balance each day, read from ``data/tariff.toml``.

Numbers live in the tariff file, never here (``data/tariff.toml`` explains each field and marks the
values still "to verify"). This module loads and validates the file and does the arithmetic, to the
paisa, for one day of one connection:

>>> c = day_charges("DS-II", dt.date(2025, 6, 10), 10, units_before=95, sanctioned_load_kw=2)
>>> c.energy_charge, c.fixed_charge, c.duty, c.rebate, c.total
(48.2, 5.33, 3.21, 2.5, 54.24)

By hand (FY2025-26, before the free units began): units 96–100 at ₹4.12 and 101–105 at ₹5.52 give
5 × 4.12 + 5 × 5.52 = 20.60 + 27.60 = 48.20; the fixed charge ₹80/kW × 2 kW = ₹160 a month is
spread over June's 30 days (cumulative ₹53.33 by the 10th, ₹48.00 by the 9th: 5.33); duty 6 % of
48.20 + 5.33 = 3.2118 → 3.21; rebate 10 × 0.25 = 2.50; total 48.20 + 5.33 + 3.21 − 2.50 = 54.24.

A domestic connection gets the month's first 125 units free from August 2025, a shop does not:

>>> day_charges("DS-II", dt.date(2026, 11, 3), 6, units_before=40, sanctioned_load_kw=2).total
0.0
>>> day_charges("NDS-II", dt.date(2026, 11, 3), 6, units_before=40, sanctioned_load_kw=2).total
62.17

(NDS-II in FY2026-27: 6 × 7.79 = 46.74; ₹200/kW × 2 = ₹400 over 30 days: cumulative 40.00 by the
3rd, 26.67 by the 2nd: 13.33; duty 6 % of 60.07 = 3.6042 → 3.60; rebate 1.50;
46.74 + 13.33 + 3.60 − 1.50 = 62.17.)

Rules (also in the file's header):

- every day uses the tariff version in force that day; slabs and the free allowance count the
  units of the whole calendar month, across a version change (pass ``units_before``);
- units are counted to the watt-hour (0.001 kWh), as meters register them;
- each part is rounded to the paisa (half up) and ``total`` is the sum of the rounded parts, so
  ``energy_charge + fixed_charge + duty - rebate == total`` exactly (in paise) for every day;
- the fixed charge of day *d* is the month's charge accrued by *d* minus that accrued by *d − 1*,
  each rounded to the paisa, so a full month of fixed charges adds up to the monthly charge exactly.

Callers: the demo data (``lib.demo``), the ledger (issue 7) and analytics (issue 4).
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import math
import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lib.clock import IST, today_ist

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TARIFF_FILE = ROOT / "data" / "tariff.toml"
SCHEMA_VERSION = 1
FIXED_CHARGE_BASES = ("per_kw", "per_connection")

_PAISA = Decimal("0.01")
_WH = Decimal("0.001")
_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


class TariffError(ValueError):
    """The tariff file is missing or malformed, or has no tariff for a category on a day.

    The message names the file, the version, the category and the field, e.g.
    ``data/tariff.toml: version 'FY2025-26', category 'DS-II', slab 2: 'rate' must be a number >= 0``.
    """


# --- the tariff, as loaded ------------------------------------------------------------------------


@dataclass(frozen=True)
class Slab:
    """Units of the month up to ``upto_units`` (None: no upper end) cost ``rate`` ₹ each."""

    upto_units: Decimal | None
    rate: Decimal


@dataclass(frozen=True)
class CategoryTariff:
    """Everything that decides one category's deduction on one day (a version plus the free units in force)."""

    category: str
    label: str
    version: str
    effective_from: dt.date
    domestic: bool
    slabs: tuple[Slab, ...]
    fixed_charge_inr: Decimal  # a month, per kW or per connection (``fixed_charge_basis``)
    fixed_charge_basis: str
    electricity_duty_percent: Decimal
    prepaid_rebate_per_unit: Decimal
    free_units_per_month: Decimal = _ZERO
    free_units_waive_fixed_charge: bool = False

    def monthly_fixed_charge(self, sanctioned_load_kw: float) -> Decimal:
        """The whole month's fixed charge of a connection with this sanctioned load."""
        if self.fixed_charge_basis == "per_connection":
            return self.fixed_charge_inr
        return self.fixed_charge_inr * _decimal(sanctioned_load_kw)


@dataclass(frozen=True)
class _Version:
    name: str
    effective_from: dt.date
    source: str
    categories: Mapping[str, dict[str, Any]]


@dataclass(frozen=True)
class _FreeUnits:
    name: str
    effective_from: dt.date
    units_per_month: Decimal
    categories: frozenset[str]
    waive_fixed_charge: bool


@dataclass(frozen=True)
class NetMetering:
    """How export from rooftop solar is set against import (the file's ``[net_metering]`` table).

    kWh are netted within each calendar month (the billing period); a month's surplus export is carried
    forward as a kWh credit to later months and lapses, unpaid, when a settlement period ends; a settlement
    period starts on the 1st of ``settlement_starts_month`` (4: a financial year, to verify).
    """

    settlement_starts_month: int
    to_verify: bool
    source: str


@dataclass(frozen=True)
class TariffBook:
    """All versions of the tariff file, oldest first. Usually reached through the module functions."""

    path: str
    versions: tuple[_Version, ...]
    free_units: tuple[_FreeUnits, ...]
    net_metering: NetMetering | None = None

    def tariff_for(self, category: str, day: dt.date) -> CategoryTariff:
        """The tariff of ``category`` in force on IST date ``day``; TariffError when there is none."""
        version: _Version | None = None
        for candidate in self.versions:
            if candidate.effective_from <= day:
                version = candidate
        if version is None:
            first = self.versions[0].effective_from.isoformat()
            raise TariffError(
                f"{self.path}: no tariff in force on {day.isoformat()} (the first starts {first})"
            )
        values = version.categories.get(category)
        if values is None:
            known = ", ".join(sorted(version.categories))
            raise TariffError(
                f"{self.path}: version {version.name!r} has no category {category!r} (it has {known})"
            )
        scheme: _FreeUnits | None = None
        for free_units in self.free_units:
            if free_units.effective_from <= day:
                scheme = free_units
        free = scheme.units_per_month if scheme and category in scheme.categories else _ZERO
        return CategoryTariff(
            category=category,
            version=version.name,
            effective_from=version.effective_from,
            free_units_per_month=free,
            free_units_waive_fixed_charge=bool(free and scheme and scheme.waive_fixed_charge),
            **values,
        )

    def categories(self, day: dt.date) -> list[str]:
        """The category codes of the version in force on ``day`` (empty before the first version)."""
        names: list[str] = []
        for version in self.versions:
            if version.effective_from <= day:
                names = sorted(version.categories)
        return names


# --- loading and validation -------------------------------------------------------------------------

_cache: dict[str, tuple[tuple[int, int], TariffBook]] = {}  # path -> ((mtime_ns, size), book)


def load_tariffs(path: str | os.PathLike[str] | None = None) -> TariffBook:
    """Read and validate a tariff file (default ``data/tariff.toml``); cached until the file changes.

    >>> book = load_tariffs()
    >>> [v.name for v in book.versions]
    ['FY2025-26', 'FY2026-27']
    """
    target = Path(path) if path is not None else DEFAULT_TARIFF_FILE
    try:
        stat = target.stat()
    except OSError as error:
        raise TariffError(f"{target}: cannot read the tariff file ({error.strerror or error})") from error
    stamp = (stat.st_mtime_ns, stat.st_size)
    cached = _cache.get(str(target))
    if cached is not None and cached[0] == stamp:
        return cached[1]
    try:
        text = target.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise TariffError(f"{target}: cannot read the tariff file ({error})") from error
    book = parse_tariffs(text, name=str(target))
    _cache[str(target)] = (stamp, book)
    return book


def parse_tariffs(text: str, *, name: str = "tariff.toml") -> TariffBook:
    """Validate the text of a tariff file; TariffError names the first problem.

    >>> parse_tariffs("schema_version = 1\\n[[version]]\\nname = 'x'", name="t.toml")
    Traceback (most recent call last):
    ...
    lib.tariff.TariffError: t.toml: version 'x': 'effective_from' is missing
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise TariffError(f"{name}: not valid TOML: {error}") from error
    if data.get("schema_version") != SCHEMA_VERSION:
        raise TariffError(
            f"{name}: 'schema_version' must be {SCHEMA_VERSION}, got {data.get('schema_version')!r}"
        )
    raw_versions = data.get("version")
    if not isinstance(raw_versions, list) or not raw_versions:
        raise TariffError(f"{name}: no [[version]] tables: the file needs at least one tariff version")
    versions = [_parse_version(raw, index, name) for index, raw in enumerate(raw_versions, start=1)]
    _check_order(versions, name, "version")
    all_categories = {c for v in versions for c in v.categories}
    raw_free = data.get("free_units", [])
    if not isinstance(raw_free, list):
        raise TariffError(f"{name}: 'free_units' must be [[free_units]] tables")
    free = [_parse_free_units(raw, index, name, all_categories) for index, raw in enumerate(raw_free, 1)]
    _check_order(free, name, "free_units")
    return TariffBook(
        path=name,
        versions=tuple(versions),
        free_units=tuple(free),
        net_metering=_parse_net_metering(data.get("net_metering"), name),
    )


def _parse_net_metering(raw: Any, name: str) -> NetMetering | None:
    if raw is None:
        return None
    where = f"{name}: [net_metering]"
    if not isinstance(raw, dict):
        raise TariffError(f"{where} must be a table")
    known = {"netting", "settlement_starts_month", "to_verify", "source"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise TariffError(f"{where}: unknown field {unknown[0]!r} (known: {', '.join(sorted(known))})")
    if raw.get("netting") != "kwh_monthly_carry_forward":
        raise TariffError(
            f"{where}: 'netting' must be \"kwh_monthly_carry_forward\", got {raw.get('netting')!r}"
        )
    month = raw.get("settlement_starts_month")
    if isinstance(month, bool) or not isinstance(month, int) or not 1 <= month <= 12:
        raise TariffError(f"{where}: 'settlement_starts_month' must be a month number 1-12, got {month!r}")
    to_verify = raw.get("to_verify", True)
    if not isinstance(to_verify, bool):
        raise TariffError(f"{where}: 'to_verify' must be true or false")
    return NetMetering(settlement_starts_month=month, to_verify=to_verify, source=str(raw.get("source", "")))


def _check_order(items: list[Any], name: str, what: str) -> None:
    dates = [item.effective_from for item in items]
    for earlier, later in zip(dates, dates[1:], strict=False):
        if later <= earlier:
            raise TariffError(
                f"{name}: [[{what}]] tables must be in order of 'effective_from' with no repeats "
                f"({later.isoformat()} comes after {earlier.isoformat()})"
            )


def _parse_version(raw: Any, index: int, name: str) -> _Version:
    if not isinstance(raw, dict):
        raise TariffError(f"{name}: version {index} must be a table")
    where = f"{name}: version {raw.get('name', index)!r}"
    version_name = _text(raw, "name", where)
    effective_from = _date(raw, "effective_from", where)
    duty = _number(raw, "electricity_duty_percent", where, maximum=_HUNDRED)
    rebate = _number(raw, "prepaid_rebate_per_unit", where)
    categories = raw.get("category")
    if not isinstance(categories, dict) or not categories:
        raise TariffError(f"{where}: no [version.category.<CODE>] tables")
    parsed: dict[str, dict[str, Any]] = {}
    for code, values in categories.items():
        parsed[code] = _parse_category(code, values, f"{where}, category {code!r}", duty, rebate)
    return _Version(
        name=version_name,
        effective_from=effective_from,
        source=str(raw.get("source", "")),
        categories=parsed,
    )


def _parse_category(code: str, raw: Any, where: str, duty: Decimal, rebate: Decimal) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise TariffError(f"{where}: must be a table")
    known = {
        "label",
        "domestic",
        "slabs",
        "fixed_charge_inr",
        "fixed_charge_basis",
        "electricity_duty_percent",
        "prepaid_rebate_per_unit",
    }
    unknown = sorted(set(raw) - known)
    if unknown:
        raise TariffError(f"{where}: unknown field {unknown[0]!r} (known: {', '.join(sorted(known))})")
    domestic = raw.get("domestic")
    if not isinstance(domestic, bool):
        raise TariffError(f"{where}: 'domestic' must be true or false")
    basis = raw.get("fixed_charge_basis")
    if basis not in FIXED_CHARGE_BASES:
        raise TariffError(f"{where}: 'fixed_charge_basis' must be one of {FIXED_CHARGE_BASES}, got {basis!r}")
    return {
        "label": _text(raw, "label", where),
        "domestic": domestic,
        "slabs": _parse_slabs(raw.get("slabs"), where),
        "fixed_charge_inr": _number(raw, "fixed_charge_inr", where),
        "fixed_charge_basis": basis,
        # A category may override the version's duty or rebate.
        "electricity_duty_percent": _number(raw, "electricity_duty_percent", where, _HUNDRED)
        if "electricity_duty_percent" in raw
        else duty,
        "prepaid_rebate_per_unit": _number(raw, "prepaid_rebate_per_unit", where)
        if "prepaid_rebate_per_unit" in raw
        else rebate,
    }


def _parse_slabs(raw: Any, where: str) -> tuple[Slab, ...]:
    if not isinstance(raw, list) or not raw:
        raise TariffError(
            f"{where}: 'slabs' must be a list like [{{ upto_units = 100, rate = 4.12 }}, {{ rate = 5.52 }}]"
        )
    slabs: list[Slab] = []
    previous = _ZERO
    for number, item in enumerate(raw, start=1):
        at = f"{where}, slab {number}"
        if not isinstance(item, dict):
            raise TariffError(f"{at}: must be a table like {{ upto_units = 100, rate = 4.12 }}")
        rate = _number(item, "rate", at)
        last = number == len(raw)
        if last:
            if "upto_units" in item:
                raise TariffError(f"{at}: the last slab has no 'upto_units' (it covers every unit above)")
            upto = None
        else:
            upto = _number(item, "upto_units", at)
            if upto <= previous:
                raise TariffError(f"{at}: 'upto_units' must be above the previous slab's ({previous})")
            previous = upto
        slabs.append(Slab(upto_units=upto, rate=rate))
    return tuple(slabs)


def _parse_free_units(raw: Any, index: int, name: str, all_categories: set[str]) -> _FreeUnits:
    if not isinstance(raw, dict):
        raise TariffError(f"{name}: free_units {index} must be a table")
    where = f"{name}: free_units {raw.get('name', index)!r}"
    categories = raw.get("categories")
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        raise TariffError(f"{where}: 'categories' must be a list of category codes")
    missing = sorted(set(categories) - all_categories)
    if missing:
        raise TariffError(f"{where}: category {missing[0]!r} is in no [[version]]")
    waive = raw.get("waive_fixed_charge", False)
    if not isinstance(waive, bool):
        raise TariffError(f"{where}: 'waive_fixed_charge' must be true or false")
    return _FreeUnits(
        name=_text(raw, "name", where),
        effective_from=_date(raw, "effective_from", where),
        units_per_month=_number(raw, "units_per_month", where),
        categories=frozenset(categories),
        waive_fixed_charge=waive,
    )


def _text(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if value is None:
        raise TariffError(f"{where}: {key!r} is missing")
    if not isinstance(value, str) or not value.strip():
        raise TariffError(f"{where}: {key!r} must be non-empty text, got {value!r}")
    return value


def _date(raw: Mapping[str, Any], key: str, where: str) -> dt.date:
    value = raw.get(key)
    if value is None:
        raise TariffError(f"{where}: {key!r} is missing")
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date | str):
        raise TariffError(f"{where}: {key!r} must be a date like 2026-04-01, got {value!r}")
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError as error:
            raise TariffError(f"{where}: {key!r} must be a date like 2026-04-01, got {value!r}") from error
    return value


def _number(raw: Mapping[str, Any], key: str, where: str, maximum: Decimal | None = None) -> Decimal:
    value = raw.get(key)
    if value is None:
        raise TariffError(f"{where}: {key!r} is missing")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TariffError(f"{where}: {key!r} must be a number >= 0, got {value!r}")
    number = _decimal(value)
    if not number.is_finite() or number < 0 or (maximum is not None and number > maximum):
        limit = f" and <= {maximum}" if maximum is not None else ""
        raise TariffError(f"{where}: {key!r} must be a number >= 0{limit}, got {value!r}")
    return number


def _decimal(value: float | int | Decimal) -> Decimal:
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation as error:  # pragma: no cover - str(float) is always a valid Decimal
        raise TariffError(f"not a number: {value!r}") from error


# --- the arithmetic ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayCharges:
    """One day's deduction of one connection, in ₹ rounded to the paisa.

    ``total == energy_charge + fixed_charge + duty - rebate`` exactly (in paise).
    """

    day: dt.date
    category: str
    version: str
    units: float
    free_units_used: float
    energy_charge: float
    fixed_charge: float
    duty: float
    rebate: float
    total: float

    @property
    def total_paise(self) -> int:
        """The deduction in whole paise (exact, for reconciling balances)."""
        return round(self.total * 100)


@dataclass(frozen=True)
class MonthCost:
    """The sum of the daily deductions of a calendar month (``days`` holds each day)."""

    month: dt.date  # first day of the month
    category: str
    units: float
    free_units_used: float
    energy_charge: float
    fixed_charge: float
    duty: float
    rebate: float
    total: float
    days: tuple[DayCharges, ...]


def tariff_for(category: str, day: dt.date | str, *, book: TariffBook | None = None) -> CategoryTariff:
    """The tariff of ``category`` in force on ``day`` (an IST date; a datetime is taken in IST).

    >>> t = tariff_for("DS-II", dt.date(2026, 3, 31))
    >>> t.version, [float(s.rate) for s in t.slabs], float(t.free_units_per_month)
    ('FY2025-26', [4.12, 5.52], 125.0)
    >>> tariff_for("DS-II", "2026-04-01").version
    'FY2026-27'
    """
    return (book or load_tariffs()).tariff_for(category, _as_day(day))


def day_charges(
    category: str,
    day: dt.date | str,
    units: float,
    *,
    units_before: float = 0.0,
    sanctioned_load_kw: float = 1.0,
    book: TariffBook | None = None,
) -> DayCharges:
    """What the balance loses for one IST day of a connection.

    ``units``: kWh used that day; ``units_before``: kWh used earlier in the same calendar month (the
    slabs and the free allowance are per month); ``sanctioned_load_kw``: for a per-kW fixed charge.

    Crossing the free allowance in the middle of a day (DS-II, 2 kW, 20 Aug 2025, 120 units before):

    >>> c = day_charges("DS-II", dt.date(2025, 8, 20), 8, units_before=120, sanctioned_load_kw=2)
    >>> c.free_units_used, c.energy_charge, c.fixed_charge, c.duty, c.rebate, c.total
    (5.0, 16.56, 1.94, 1.11, 0.75, 18.86)

    (5 units free; units 126–128 at ₹5.52 = 16.56; August's fixed charge ₹160 accrues 5.17 on the
    20th (103.23 − 98.06), of which 3/8 is charged (the day's share of units above the allowance) =
    1.935 → 1.94; duty 6 % of 18.50 = 1.11; rebate 3 × 0.25 = 0.75; 16.56 + 1.94 + 1.11 − 0.75 = 18.86.)
    """
    tariff = tariff_for(category, day, book=book)
    day = _as_day(day)
    used = _units(units, "units")
    before = _units(units_before, "units_before")
    free = tariff.free_units_per_month
    free_used = min(used, max(_ZERO, free - before))
    charged = used - free_used
    energy = _paise(_slab_cost(tariff.slabs, before + free_used, before + used))
    # Off the energy charge, so never more than it (a slab priced at ₹0 earns no rebate).
    rebate = min(energy, _paise(charged * tariff.prepaid_rebate_per_unit))
    fixed_today = _fixed_accrued(tariff, day, sanctioned_load_kw)
    if tariff.free_units_waive_fixed_charge:
        if before + used <= free:
            fixed = _ZERO  # still within the free allowance: fixed charge waived
        elif before >= free:
            fixed = fixed_today  # allowance used up earlier this month
        else:
            # The day the allowance runs out: the share of units above it, one division of exact
            # operands (``fixed_today * (charged / used)`` rounded the share to 28 digits first, which
            # turned a half paisa such as 0.14 × 1/28 = 0.005 into 0.00499…9 and rounded it down).
            fixed = _paise(fixed_today * charged / used)
    else:
        fixed = fixed_today
    duty = _paise((energy + fixed) * tariff.electricity_duty_percent / _HUNDRED)
    total = energy + fixed + duty - rebate
    return DayCharges(
        day=day,
        category=category,
        version=tariff.version,
        units=float(used),
        free_units_used=float(free_used),
        energy_charge=float(energy),
        fixed_charge=float(fixed),
        duty=float(duty),
        rebate=float(rebate),
        total=float(total),
    )


def charges_for_days(
    category: str,
    daily_units: Iterable[tuple[dt.date | str, float]],
    *,
    sanctioned_load_kw: float = 1.0,
    units_before: float = 0.0,
    book: TariffBook | None = None,
) -> list[DayCharges]:
    """Day after day, carrying the month's units forward (and restarting them on each 1st).

    ``daily_units``: ``(day, kWh)`` in increasing order of day; ``units_before``: kWh used in the first
    day's month before that day. A missing day counts as no consumption.

    >>> days = [(dt.date(2026, 4, 30), 5.0), (dt.date(2026, 5, 1), 5.0)]
    >>> [c.free_units_used for c in charges_for_days("DS-II", days, units_before=122)]
    [3.0, 5.0]
    """
    results: list[DayCharges] = []
    month: tuple[int, int] | None = None
    so_far = _units(units_before, "units_before")
    previous: dt.date | None = None
    for raw_day, units in daily_units:
        day = _as_day(raw_day)
        if previous is not None and day <= previous:
            raise ValueError(f"days must increase: {day.isoformat()} after {previous.isoformat()}")
        if month is not None and (day.year, day.month) != month:
            so_far = _ZERO
        month = (day.year, day.month)
        charge = day_charges(
            category, day, units, units_before=float(so_far), sanctioned_load_kw=sanctioned_load_kw, book=book
        )
        results.append(charge)
        so_far += _units(units, "units")
        previous = day
    return results


# --- many days at once ------------------------------------------------------------------------------

DAY_FRAME_COLUMNS = (
    "day",
    "version",
    "units",
    "free_units_used",
    "energy_charge",
    "fixed_charge",
    "duty",
    "rebate",
    "total",
    "energy_paise",
    "fixed_paise",
    "duty_paise",
    "rebate_paise",
    "total_paise",
)
# Integers of the vectorised arithmetic stay below this (int64 with room for ``2 n + d``), and every
# amount, count of units and paise below 2**52, so ``n / 100`` is the float ``float(Decimal)`` gives.
_INT_ROOM = 2**61
_FLOAT_EXACT = 2**52
# Wh at or above this are quantized one by one through Decimal: float × 1000 is too coarse there to tell
# which side of a half watt-hour the shortest decimal of the float lies (1.1 × 10**9 kWh in a day).
_WH_FLOAT_LIMIT = 2.0**40


def day_charges_frame(
    category: str,
    days: Any,
    units: Any,
    *,
    units_before: Any = 0.0,
    sanctioned_load_kw: float = 1.0,
    free_units_held: Any = None,
    book: TariffBook | None = None,
) -> pd.DataFrame:
    """:func:`day_charges` of many days of one connection at once, in exact integer arithmetic.

    ``days``: IST dates (``datetime.date``, Timestamps, a DatetimeIndex or datetime64 values, any order);
    ``units`` / ``units_before``: kWh per day (arrays or scalars), as :func:`day_charges` takes them one
    day at a time (each quantized to the watt-hour, half up, from its shortest decimal); ``free_units_held``:
    days that get no free units (booleans; the ledger's arrears hold, ``ledger.FREE_UNITS_NEED_ARREARS_CLEARED``).

    Columns (:data:`DAY_FRAME_COLUMNS`, one row per day in the given order): day (datetime64), version,
    units, free_units_used (kWh), energy_charge, fixed_charge, duty, rebate, total (₹, the floats
    :class:`DayCharges` holds) and the same five in whole paise (``*_paise``, int64). Every row equals
    ``day_charges(category, day, units, units_before=…, sanctioned_load_kw=…, book=…)`` field for field
    (tests/test_tariff_frame.py checks it on random days of every category and version).

    How: one tariff lookup per segment of days under one tariff version, free-units scheme and hold;
    inside a segment, units in watt-hours (or the finer step of a fractional allowance or slab edge) and
    rates, duty and rebate scaled to integers, so each part is an integer quotient rounded half up to
    the paisa (``(2n + d) // 2d``), exactly the rules of :func:`day_charges` (the module docstring; the
    source of each number is the tariff file). Decimal's 28-digit context changes none of these results
    while the integers stay below 2**61: every product is exact, and an exact quotient that is not a half
    paisa lies at least 1 / (200 × divisor) away from one, far beyond 28 digits. A segment whose numbers
    are beyond that (over 10**9 kWh a day) is priced day by day by :func:`day_charges`.
    Raises :class:`TariffError` (no tariff for the category on a day) and ValueError (negative, NaN or
    infinite kWh or load), as :func:`day_charges` does.

    The days around the allowance running out (DS-II, 2 kW, August 2025; 20 Aug as in :func:`day_charges`):

    >>> f = day_charges_frame("DS-II", [dt.date(2025, 8, d) for d in (19, 20, 21)], [6, 8, 4],
    ...     units_before=[114, 120, 128], sanctioned_load_kw=2)
    >>> f[["free_units_used", "energy_charge", "fixed_charge", "duty", "rebate", "total"]].values.tolist()
    [[6.0, 0.0, 0.0, 0.0, 0.0, 0.0], [5.0, 16.56, 1.94, 1.11, 0.75, 18.86], [0.0, 22.08, 5.16, 1.63, 1.0, 27.87]]

    (19th: 120 units by its end, inside the 125 free: nothing. 21st: the allowance gone, 4 units at ₹5.52
    = 22.08; fixed ₹160 × 21/31 = 108.39 accrued less 103.23 by the 20th = 5.16; duty 6 % of 27.24 =
    1.6344 → 1.63; rebate 4 × 0.25 = 1.00; 22.08 + 5.16 + 1.63 − 1.00 = 27.87.)
    """
    return pd.DataFrame(
        day_charges_columns(
            category,
            days,
            units,
            units_before=units_before,
            sanctioned_load_kw=sanctioned_load_kw,
            free_units_held=free_units_held,
            book=book,
        )
    )


def day_charges_columns(
    category: str,
    days: Any,
    units: Any,
    *,
    units_before: Any = 0.0,
    sanctioned_load_kw: float = 1.0,
    free_units_held: Any = None,
    book: TariffBook | None = None,
) -> dict[str, np.ndarray]:
    """:func:`day_charges_frame`'s columns as numpy arrays (for a caller that builds its own frame).

    >>> day_charges_columns("NDS-II", [dt.date(2026, 11, 3)], [6], units_before=[40])["total_paise"]
    array([5511])

    (1 kW: 6 × 7.79 = 46.74; ₹200 over 30 days, 20.00 accrued by the 3rd less 13.33 by the 2nd = 6.67;
    duty 6 % of 53.41 = 3.20; rebate 1.50; 46.74 + 6.67 + 3.20 − 1.50 = 55.11.)
    """
    book = book or load_tariffs()
    stamps = pd.DatetimeIndex(pd.to_datetime(days))
    if stamps.tz is not None:
        stamps = stamps.tz_convert(IST).tz_localize(None)
    stamps = stamps.normalize()
    n = len(stamps)
    kwh = np.broadcast_to(np.asarray(units, dtype=float), (n,))
    kwh_before = np.broadcast_to(np.asarray(units_before, dtype=float), (n,))
    held = np.zeros(n, dtype=bool) if free_units_held is None else np.asarray(free_units_held, dtype=bool)
    if sanctioned_load_kw < 0 or math.isnan(sanctioned_load_kw):
        raise ValueError(f"sanctioned_load_kw must be >= 0, got {sanctioned_load_kw}")
    used_wh, used_exact = _wh(kwh, "units")
    before_wh, before_exact = _wh(kwh_before, "units_before")
    day_of_month = stamps.day.to_numpy().astype(np.int64)
    month_days = stamps.days_in_month.to_numpy().astype(np.int64)
    parts = {name: np.zeros(n, dtype=np.int64) for name in ("energy", "fixed", "duty", "rebate", "free")}
    unit_scale = np.zeros(n, dtype=np.int64)  # 10**places of each row's units (free_units_used's step)
    versions = np.empty(n, dtype=object)
    late: list[tuple[np.ndarray, CategoryTariff, TariffBook]] = []  # segments priced day by day
    changes = sorted({v.effective_from for v in book.versions} | {f.effective_from for f in book.free_units})
    bounds = np.array([np.datetime64(c, "ns") for c in changes], dtype="datetime64[ns]")
    segment = np.searchsorted(bounds, stamps.to_numpy(dtype="datetime64[ns]"), side="right") * 2 + held
    no_free = dataclasses.replace(book, free_units=())
    for key in np.unique(segment):
        rows = np.flatnonzero(segment == key)
        seg_book = no_free if key % 2 else book
        tariff = seg_book.tariff_for(category, stamps[rows[0]].date())
        versions[rows] = tariff.version
        priced = None
        if used_exact and before_exact:
            priced = _price_segment(
                tariff,
                sanctioned_load_kw,
                used_wh[rows],
                before_wh[rows],
                day_of_month[rows],
                month_days[rows],
            )
        if priced is None:
            late.append((rows, tariff, seg_book))
            continue
        for name, values in priced[0].items():
            parts[name][rows] = values
        unit_scale[rows] = priced[1]
    total = parts["energy"] + parts["fixed"] + parts["duty"] - parts["rebate"]
    columns: dict[str, np.ndarray] = {
        "day": stamps.to_numpy(dtype="datetime64[ns]"),
        "version": versions,
        "units": used_wh / 1000 if used_exact else np.zeros(n),
        "free_units_used": parts["free"] / np.maximum(unit_scale, 1),
        "energy_charge": parts["energy"] / 100,
        "fixed_charge": parts["fixed"] / 100,
        "duty": parts["duty"] / 100,
        "rebate": parts["rebate"] / 100,
        "total": total / 100,
        "energy_paise": parts["energy"],
        "fixed_paise": parts["fixed"],
        "duty_paise": parts["duty"],
        "rebate_paise": parts["rebate"],
        "total_paise": total,
    }
    if late:
        _price_day_by_day(columns, late, category, kwh, kwh_before, sanctioned_load_kw)
    return columns


def _wh(kwh: np.ndarray, name: str) -> tuple[np.ndarray, bool]:
    """kWh → whole watt-hours as :func:`_units` quantizes them (half up from the float's shortest decimal).

    Returns (int64 Wh, True), or (zeros, False) when a value is at or above :data:`_WH_FLOAT_LIMIT` (the
    caller then prices day by day). ValueError for a negative, NaN or infinite value, as ``_units``.
    float × 1000 is within a few units in the last place of 1000 × the shortest decimal, so it rounds
    the same way except within a hair of a half watt-hour; those values go through ``_units`` itself.

    >>> _wh(np.array([1.0005, 2.0004, 0.0, 12.3456]), "units")
    (array([ 1001,  2000,     0, 12346]), True)
    """
    bad = ~np.isfinite(kwh) | (kwh < 0)
    if bad.any():
        _units(float(kwh[int(np.flatnonzero(bad)[0])]), name)  # raises ValueError with its message
    scaled = kwh * 1000.0
    if len(scaled) and float(scaled.max()) >= _WH_FLOAT_LIMIT:
        return np.zeros(len(kwh), dtype=np.int64), False
    floor = np.floor(scaled)
    wh = (floor + (scaled - floor >= 0.5)).astype(np.int64)
    near_half = np.flatnonzero(np.abs(scaled - floor - 0.5) < 1e-2)
    for i in near_half:
        wh[i] = int(_units(float(kwh[i]), name).scaleb(3))
    return wh, True


def _places(number: Decimal) -> int:
    """Decimal places of a tariff number (``Decimal('4.12')`` → 2, ``Decimal('80.0')`` → 1, 125 → 0)."""
    exponent = number.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _scaled(number: Decimal, places: int) -> int:
    """``number × 10**places`` as an int (exact: ``places`` is at least the number's own places)."""
    return int(number.scaleb(places))


def _half_up(numerator: Any, divisor: Any) -> Any:
    """``numerator / divisor`` rounded half up, for numerators >= 0 and divisors > 0 (ints or int arrays).

    >>> _half_up(np.array([5, 14, 15, 25]), 10).tolist()
    [1, 1, 2, 3]
    """
    return (2 * numerator + divisor) // (2 * divisor)


def _price_segment(
    tariff: CategoryTariff,
    load_kw: float,
    used_wh: np.ndarray,
    before_wh: np.ndarray,
    day_of_month: np.ndarray,
    month_days: np.ndarray,
) -> tuple[dict[str, np.ndarray], int] | None:
    """Paise of each part of each day under one tariff, and the scale of free_units_used; None when the
    numbers would leave int64 (the caller then prices these days one by one)."""
    edges = [s.upto_units for s in tariff.slabs if s.upto_units is not None]
    unit_places = max([3, _places(tariff.free_units_per_month)] + [_places(e) for e in edges])
    rate_places = max(_places(s.rate) for s in tariff.slabs)
    rebate_places = _places(tariff.prepaid_rebate_per_unit)
    duty_places = _places(tariff.electricity_duty_percent)
    monthly = tariff.monthly_fixed_charge(load_kw)
    monthly_places = max(2, _places(monthly))
    step = 10 ** (unit_places - 3)
    used, before = used_wh * step, before_wh * step
    free = _scaled(tariff.free_units_per_month, unit_places)
    rates = [_scaled(s.rate, rate_places) for s in tariff.slabs]
    rebate_rate = _scaled(tariff.prepaid_rebate_per_unit, rebate_places)
    duty_rate = _scaled(tariff.electricity_duty_percent, duty_places)
    monthly_scaled = _scaled(monthly, monthly_places)
    most_units = int((used + before).max()) if len(used) else 0
    largest = (
        most_units * max(rates),
        most_units * rebate_rate,
        monthly_scaled * 31,
        10 ** (unit_places + max(rate_places, rebate_places)),
        10**monthly_places * 31,
    )
    if max(largest) >= _INT_ROOM or most_units >= _FLOAT_EXACT:
        return None
    free_used = np.minimum(used, np.maximum(0, free - before))
    charged = used - free_used
    energy = _half_up(
        _slab_units_cost(tariff, rates, unit_places, before + used)
        - _slab_units_cost(tariff, rates, unit_places, before + free_used),
        10 ** (unit_places + rate_places - 2),
    )
    rebate = np.minimum(energy, _half_up(charged * rebate_rate, 10 ** (unit_places + rebate_places - 2)))
    divisor = month_days * 10 ** (monthly_places - 2)
    accrued = _half_up(monthly_scaled * day_of_month, divisor) - _half_up(
        monthly_scaled * (day_of_month - 1), divisor
    )
    if tariff.free_units_waive_fixed_charge:
        crossing = int(accrued.max()) * int(charged.max()) if len(accrued) else 0
        if crossing >= _INT_ROOM:
            return None
        share = _half_up(accrued * charged, np.maximum(used, 1))  # the day the allowance runs out
        fixed = np.where(before + used <= free, 0, np.where(before >= free, accrued, share))
    else:
        fixed = accrued
    if int((energy + fixed).max(initial=0)) * max(duty_rate, 1) >= _INT_ROOM:
        return None
    duty = _half_up((energy + fixed) * duty_rate, 100 * 10**duty_places)
    parts = {"energy": energy, "fixed": fixed, "duty": duty, "rebate": rebate, "free": free_used}
    return {k: np.asarray(v, dtype=np.int64) for k, v in parts.items()}, 10**unit_places


def _slab_units_cost(
    tariff: CategoryTariff, rates: list[int], unit_places: int, upto: np.ndarray
) -> np.ndarray:
    """Cost of the month's units numbered 0..``upto`` on the slab scale, in 10**-(units + rate places) ₹."""
    cost = np.zeros(len(upto), dtype=np.int64)
    lower = 0
    for slab, rate in zip(tariff.slabs, rates, strict=True):
        if slab.upto_units is None:
            cost += np.maximum(upto - lower, 0) * rate
            break
        upper = _scaled(slab.upto_units, unit_places)
        cost += np.maximum(np.minimum(upto, upper) - lower, 0) * rate
        lower = upper
    return cost


def _price_day_by_day(
    columns: dict[str, np.ndarray],
    late: list[tuple[np.ndarray, CategoryTariff, TariffBook]],
    category: str,
    kwh: np.ndarray,
    kwh_before: np.ndarray,
    load_kw: float,
) -> None:
    """Fill the rows of segments beyond int64 from :func:`day_charges` (paise columns as Python ints)."""
    paise = ("energy_paise", "fixed_paise", "duty_paise", "rebate_paise", "total_paise")
    amounts = ("energy_charge", "fixed_charge", "duty", "rebate", "total")
    for column in paise:
        columns[column] = columns[column].astype(object)
    for rows, _tariff, seg_book in late:
        for i in rows:
            c = day_charges(
                category,
                pd.Timestamp(columns["day"][i]).date(),
                float(kwh[i]),
                units_before=float(kwh_before[i]),
                sanctioned_load_kw=load_kw,
                book=seg_book,
            )
            for name in ("units", "free_units_used", *amounts):
                columns[name][i] = getattr(c, name)
            for name, amount in zip(paise, amounts, strict=True):
                columns[name][i] = int(round(getattr(c, amount) * 100))


def month_cost(
    category: str,
    units: float,
    *,
    month: dt.date | str | None = None,
    sanctioned_load_kw: float = 1.0,
    book: TariffBook | None = None,
) -> MonthCost:
    """Estimated cost of ``units`` kWh in a calendar month (default: this month), used at an even pace.

    The units are spread evenly over the month's days (to the watt-hour) and each day is charged as
    the meter would (``day_charges``), so the result is what the balance would lose, paise included.

    >>> month_cost("DS-II", 125, month=dt.date(2026, 11, 1), sanctioned_load_kw=2).total
    0.0
    >>> m = month_cost("NDS-II", 150, month=dt.date(2026, 11, 1))
    >>> m.energy_charge, m.fixed_charge, m.duty, m.rebate, m.total
    (1168.5, 200.0, 82.2, 37.5, 1413.2)

    (By hand, NDS-II, 1 kW, November 2026: 5 units a day; energy 150 × 7.79 = 1168.50; fixed ₹200 a
    month, accrued to the paisa day by day = 200.00; duty each day 6 % of 38.95 + 6.67 (or 6.66) =
    2.74, × 30 = 82.20; rebate 150 × 0.25 = 37.50; total 1168.50 + 200 + 82.20 − 37.50 = 1413.20.)
    """
    first = _as_day(month or today_ist()).replace(day=1)
    days_in_month = calendar.monthrange(first.year, first.month)[1]
    total_wh = int(_units(units, "units") * 1000)
    share, extra = divmod(total_wh, days_in_month)
    daily = [
        (first + dt.timedelta(days=i), (share + (1 if i < extra else 0)) / 1000) for i in range(days_in_month)
    ]
    days = charges_for_days(category, daily, sanctioned_load_kw=sanctioned_load_kw, book=book)
    return MonthCost(
        month=first,
        category=category,
        units=float(_units(units, "units")),
        free_units_used=_sum(d.free_units_used for d in days),
        energy_charge=_sum(d.energy_charge for d in days),
        fixed_charge=_sum(d.fixed_charge for d in days),
        duty=_sum(d.duty for d in days),
        rebate=_sum(d.rebate for d in days),
        total=_sum(d.total for d in days),
        days=tuple(days),
    )


def free_units_left(
    category: str, day: dt.date | str, units_this_month: float, *, book: TariffBook | None = None
) -> float:
    """Free units the connection still has this month after ``units_this_month`` kWh (0 for a shop).

    >>> free_units_left("DS-II", "2026-11-25", 97.5), free_units_left("NDS-II", "2026-11-25", 10)
    (27.5, 0.0)
    """
    tariff = tariff_for(category, day, book=book)
    return float(max(_ZERO, tariff.free_units_per_month - _units(units_this_month, "units_this_month")))


def _slab_cost(slabs: tuple[Slab, ...], start: Decimal, end: Decimal) -> Decimal:
    """Cost of the month's units numbered (start, end] on the slab scale."""
    cost = _ZERO
    lower = _ZERO
    for slab in slabs:
        upper = slab.upto_units
        lo = max(start, lower)
        hi = end if upper is None else min(end, upper)
        if hi > lo:
            cost += (hi - lo) * slab.rate
        if upper is None or upper >= end:
            break
        lower = upper
    return cost


def _fixed_accrued(tariff: CategoryTariff, day: dt.date, sanctioned_load_kw: float) -> Decimal:
    """Day ``day``'s share of the monthly fixed charge: accrued by ``day`` minus accrued by the day before."""
    if sanctioned_load_kw < 0:
        raise ValueError(f"sanctioned_load_kw must be >= 0, got {sanctioned_load_kw}")
    monthly = tariff.monthly_fixed_charge(sanctioned_load_kw)
    days_in_month = calendar.monthrange(day.year, day.month)[1]
    return _paise(monthly * day.day / days_in_month) - _paise(monthly * (day.day - 1) / days_in_month)


def _units(value: float, name: str) -> Decimal:
    number = _decimal(value)
    if not number.is_finite() or number < 0:
        raise ValueError(f"{name} must be a number of kWh >= 0, got {value!r}")
    return number.quantize(_WH, rounding=ROUND_HALF_UP)


def _paise(amount: Decimal) -> Decimal:
    return amount.quantize(_PAISA, rounding=ROUND_HALF_UP)


def _sum(values: Iterable[float]) -> float:
    return float(sum((_decimal(v) for v in values), _ZERO))


def _as_day(day: dt.date | str) -> dt.date:
    if isinstance(day, str):
        return dt.date.fromisoformat(day[:10])
    if isinstance(day, dt.datetime):
        return day.astimezone(IST).date() if day.tzinfo else day.date()
    return day


# --- net metering (rooftop solar) ------------------------------------------------------------------


@dataclass(frozen=True)
class NetDay:
    """One IST day of a net-metered connection, in kWh (to the watt-hour).

    ``billed_kwh`` is what the day's charges are priced on (:func:`day_charges`' ``units``);
    ``credit_kwh`` the export credit still unused at the day's end (carried forward); ``lapsed_kwh``
    credit that lapsed at the start of this day (a new settlement period).
    """

    day: dt.date
    import_kwh: float
    export_kwh: float
    billed_kwh: float
    credit_kwh: float
    lapsed_kwh: float


def net_billed_units(
    days: Iterable[tuple[dt.date | str, float, float]],
    *,
    credit_kwh: float = 0.0,
    book: TariffBook | None = None,
) -> list[NetDay]:
    """Billed kWh per day of a net-metered connection from ``(day, import_kWh, export_kWh)``, days increasing.

    The rule (bihar-tariff-notes.md, BERC rooftop solar regulations 2018, marked "to verify" in the
    tariff file's ``[net_metering]``): kWh are netted, and a surplus is a kWh credit carried forward that
    lapses, unpaid, when a settlement period starts. A prepaid meter deducts daily and cannot net against
    export that has not happened yet, so each day's import is set first against the credit available (what
    was carried in plus the export so far, the day's own included) and only the rest is billed; a month
    that ends ahead carries the credit into the next. Over a month this bills ``max(0, import − export −
    credit brought in)`` whenever the export comes before the import it offsets (a day's sun before its
    evening); ``credit_kwh`` is credit brought into the first day. Without a ``[net_metering]`` table
    export is not netted (``billed_kwh`` = import).

    >>> d = dt.date
    >>> days = [(d(2026, 11, 29), 6.0, 8.0), (d(2026, 11, 30), 5.0, 1.0), (d(2026, 12, 1), 4.0, 0.5)]
    >>> [(n.billed_kwh, n.credit_kwh) for n in net_billed_units(days)]
    [(0.0, 2.0), (2.0, 0.0), (3.5, 0.0)]
    >>> [(n.billed_kwh, n.credit_kwh) for n in net_billed_units(days[:1] + [(d(2026, 12, 1), 1.0, 0.0)])]
    [(0.0, 2.0), (0.0, 1.0)]

    (29 Nov: import 6, export 8: nothing billed, 2 kWh ahead. 30 Nov: the month stands at 11 − 9 = 2 kWh
    billed. 1 Dec: no credit came out of November (it ended 2 kWh billed), so 4 − 0.5 = 3.5. In the second
    call November ends 2 kWh ahead: that credit covers December's first kWh and 1 kWh is left.)
    """
    rule = (book or load_tariffs()).net_metering
    credit = _units(credit_kwh, "credit_kwh")
    out: list[NetDay] = []
    previous: dt.date | None = None
    for raw_day, import_kwh, export_kwh in days:
        day = _as_day(raw_day)
        if previous is not None and day <= previous:
            raise ValueError(f"days must increase: {day.isoformat()} after {previous.isoformat()}")
        previous = day
        used, sent = _units(import_kwh, "import_kwh"), _units(export_kwh, "export_kwh")
        if rule is None:
            out.append(NetDay(day, float(used), float(sent), float(used), 0.0, 0.0))
            continue
        lapsed = _ZERO
        if day.month == rule.settlement_starts_month and day.day == 1 and credit:
            lapsed, credit = credit, _ZERO  # a new settlement period: unused credit lapses, unpaid
        credit += sent
        billed = max(_ZERO, used - credit)
        credit -= used - billed
        out.append(NetDay(day, float(used), float(sent), float(billed), float(credit), float(lapsed)))
    return out
