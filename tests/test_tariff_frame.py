"""``tariff.day_charges_frame`` against ``tariff.day_charges``, day by day, field by field (issue 15).

The vectorised day pricing must give exactly what the one-day Decimal rule gives: random days of every
category and tariff version in the tariff file, month turns, the free allowance running out mid-day,
fractional loads, 0 units, net-metered (netted) units, arrears holds and huge units, fixed seeds.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from lib import tariff

BOOK = tariff.load_tariffs()
FIELDS = ("units", "free_units_used", "energy_charge", "fixed_charge", "duty", "rebate", "total")
LOADS = (0.0, 0.1, 0.0375, 0.5, 1.0, 1.5, 2.0, 2.25, 3.7, 7.123456, 49.99)


def _expected(category, days, units, before, load, held, book=BOOK):
    no_free = dataclasses.replace(book, free_units=())
    return [
        tariff.day_charges(
            category, d, u, units_before=b, sanctioned_load_kw=load, book=no_free if h else book
        )
        for d, u, b, h in zip(days, units, before, held, strict=True)
    ]


def _assert_same(frame: pd.DataFrame, expected: list[tariff.DayCharges], where: str) -> None:
    assert len(frame) == len(expected), where
    for i, c in enumerate(expected):
        row = frame.iloc[i]
        got = {f: float(row[f]) for f in FIELDS}
        want = {f: getattr(c, f) for f in FIELDS}
        assert got == want, f"{where}, row {i} ({c.day}): {got} != {want}"
        assert row["version"] == c.version, where
        assert pd.Timestamp(row["day"]).date() == c.day, where
        for part in ("energy_charge", "fixed_charge", "duty", "rebate", "total"):
            column = part.split("_")[0] + "_paise" if part != "total" else "total_paise"
            assert int(row[column]) == round(getattr(c, part) * 100), f"{where}, row {i}: {column}"


def _random_units(rng: random.Random) -> float:
    kind = rng.random()
    if kind < 0.1:
        return 0.0
    if kind < 0.2:
        return round(rng.uniform(0, 40), 3) + rng.choice((0.0005, 0.0015, 0.0004999, 0.0005001))  # half Wh
    if kind < 0.3:  # net-metered: import less export, as float subtraction leaves it
        return max(0.0, round(rng.uniform(0, 30), 3) - round(rng.uniform(0, 20), 3))
    if kind < 0.35:
        return rng.choice((1e6, 123456789.123, 1e9 + 0.5, 5e9, 1e12, 3.3e14))  # huge, some past int64 room
    return rng.uniform(0, 60)


@pytest.mark.parametrize("seed", range(6))
def test_frame_equals_day_charges_on_random_days_of_every_category_and_version(seed: int) -> None:
    rng = random.Random(1500 + seed)
    first = BOOK.versions[0].effective_from
    span = (dt.date(2027, 3, 31) - first).days
    for category in sorted({c for v in BOOK.versions for c in v.categories}):
        for _ in range(3):
            n = rng.choice((1, 5, 40, 120))
            days = sorted(first + dt.timedelta(days=rng.randrange(span)) for _ in range(n))
            units = [_random_units(rng) for _ in days]
            # around the free allowance (125 units) and the slab edges (50, 100), or anything
            before = [
                rng.choice((0.0, rng.uniform(95, 130), rng.uniform(40, 60), rng.uniform(0, 400), 124.9995))
                for _ in days
            ]
            held = [rng.random() < 0.3 for _ in days]
            load = rng.choice(LOADS)
            frame = tariff.day_charges_frame(
                category,
                days,
                units,
                units_before=before,
                sanctioned_load_kw=load,
                free_units_held=held,
                book=BOOK,
            )
            _assert_same(
                frame, _expected(category, days, units, before, load, held), f"{category} seed {seed}"
            )


@pytest.mark.parametrize("category", ["KJ", "DS-I", "DS-II", "NDS-II"])
def test_whole_months_carried_forward_equal_charges_for_days_across_month_and_version_turns(category) -> None:
    """Consecutive days over a version change (1 Apr 2026) and month turns, the month's units carried as
    :func:`tariff.charges_for_days` carries them (its sums of quantized units), loads fractional."""
    rng = np.random.default_rng(7)
    days = pd.date_range("2026-01-15", "2026-06-10")
    units = np.round(rng.gamma(2.0, 3.5, len(days)), 4)
    for load in (0.5, 1.0, 2.25):
        expected = tariff.charges_for_days(category, zip(days, units, strict=True), sanctioned_load_kw=load)
        month = days.year * 12 + days.month
        wh = np.array([int(Decimal(str(u)).quantize(Decimal("0.001"), ROUND_HALF_UP) * 1000) for u in units])
        before_wh = pd.Series(wh).groupby(month).cumsum().to_numpy() - wh
        frame = tariff.day_charges_frame(
            category, days, units, units_before=before_wh / 1000, sanctioned_load_kw=load
        )
        _assert_same(frame, expected, f"{category} {load} kW")
        assert set(frame["version"]) == {"FY2025-26", "FY2026-27"}


def test_the_day_the_allowance_runs_out_is_charged_its_share_exactly_to_the_half_paisa() -> None:
    """Decimal's 28-digit context: ``fixed × (charged / used)`` rounded 1/28 first and took a half paisa
    down (0.14 × 1/28 = 0.005 → 0.00); ``fixed × charged / used`` is exact. DS-I, 0.1 kW: ₹4 a month,
    0.13 accrued on 1 Nov, 0.27 by the 2nd: 0.14; 98 units before and 28 on the day, 1 above the 125."""
    c = tariff.day_charges("DS-I", dt.date(2026, 11, 2), 28, units_before=98, sanctioned_load_kw=0.1)
    assert (c.free_units_used, c.fixed_charge) == (27.0, 0.01)
    old = (Decimal("0.14") * (Decimal(1) / Decimal(28))).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert old == Decimal("0.00")  # what day_charges gave before
    frame = tariff.day_charges_frame(
        "DS-I", [dt.date(2026, 11, 2)], [28], units_before=[98], sanctioned_load_kw=0.1
    )
    assert int(frame["fixed_paise"].iloc[0]) == 1


def test_day_charges_share_of_the_fixed_charge_is_the_exact_quotient_rounded_half_up() -> None:
    """Every accrued charge of a DS-II day (2 kW, each day of a 30- and a 31-day month: 5.33/5.34, 5.16/5.17)
    and of a DS-I 0.1 kW day, × every share charged/used with used up to 60 kWh (Wh multiples too): the
    fixed charge equals ⌊accrued × charged / used + ½⌋ paise computed in fractions."""
    checked = 0
    for category, load in (("DS-II", 2.0), ("DS-I", 0.1), ("DS-I", 0.0375)):
        for day in (dt.date(2026, 11, 1), dt.date(2026, 11, 2), dt.date(2026, 12, 3), dt.date(2026, 12, 4)):
            full = tariff.day_charges(category, day, 10, units_before=200, sanctioned_load_kw=load)
            accrued = round(full.fixed_charge * 100)
            for used in range(2, 61):
                for step in (1, 0.001):
                    for charged in range(1, used):
                        u, ch = used * step, charged * step
                        c = tariff.day_charges(
                            category, day, u, units_before=125 - (u - ch), sanctioned_load_kw=load
                        )
                        exact = Fraction(accrued * charged, used)
                        assert round(c.fixed_charge * 100) == int(exact + Fraction(1, 2)), (
                            category,
                            day,
                            u,
                            ch,
                        )
                        checked += 1
    assert checked > 30000


def test_fractional_allowance_slab_edges_and_rates_take_a_finer_step() -> None:
    text = """
schema_version = 1
[[version]]
name = "odd"
effective_from = 2026-01-01
electricity_duty_percent = 6.25
prepaid_rebate_per_unit = 0.255
[version.category.X]
label = "x"
domestic = true
slabs = [{ upto_units = 50.2505, rate = 1.975 }, { upto_units = 100.5, rate = 4.1234 }, { rate = 5.5 }]
fixed_charge_inr = 33.33
fixed_charge_basis = "per_kw"
[[free_units]]
name = "f"
effective_from = 2026-02-01
units_per_month = 60.0001
categories = ["X"]
waive_fixed_charge = true
"""
    book = tariff.parse_tariffs(text)
    rng = random.Random(3)
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(120)) for _ in range(400)]
    units = [rng.choice((0.0, rng.uniform(0, 30), 0.0005, 10.0005)) for _ in days]
    before = [rng.choice((rng.uniform(40, 70), 60.0001, 60.0, 50.2505, rng.uniform(0, 200))) for _ in days]
    held = [rng.random() < 0.2 for _ in days]
    frame = tariff.day_charges_frame(
        "X", days, units, units_before=before, sanctioned_load_kw=1.37, free_units_held=held, book=book
    )
    _assert_same(frame, _expected("X", days, units, before, 1.37, held, book), "fractional tariff")


def test_errors_are_those_of_day_charges() -> None:
    with pytest.raises(ValueError, match="units must be a number of kWh >= 0"):
        tariff.day_charges_frame("DS-II", [dt.date(2026, 11, 1)], [-1.0])
    with pytest.raises(ValueError, match="units_before must be"):
        tariff.day_charges_frame("DS-II", [dt.date(2026, 11, 1)], [1.0], units_before=[float("nan")])
    with pytest.raises(ValueError, match="sanctioned_load_kw"):
        tariff.day_charges_frame("DS-II", [dt.date(2026, 11, 1)], [1.0], sanctioned_load_kw=-2)
    with pytest.raises(tariff.TariffError, match="no tariff in force"):
        tariff.day_charges_frame("DS-II", [dt.date(2024, 11, 1)], [1.0])
    with pytest.raises(tariff.TariffError, match="has no category"):
        tariff.day_charges_frame("XX", [dt.date(2026, 11, 1)], [1.0])
    empty = tariff.day_charges_frame("DS-II", [], [])
    assert list(empty.columns) == list(tariff.DAY_FRAME_COLUMNS) and len(empty) == 0
