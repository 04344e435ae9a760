"""lib.tariff: the tariff file's validation and the daily deduction arithmetic, checked by hand."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from pathlib import Path

import pytest

from lib import tariff
from lib.tariff import TariffError

D = dt.date

# A small tariff with round numbers, so every expected figure below can be worked out on paper.
# "old" is in force 1–15 January 2026, "new" from 16 January: a change in the middle of a month.
HAND_TARIFF = """
schema_version = 1

[[version]]
name = "old"
effective_from = 2026-01-01
electricity_duty_percent = 0.0
prepaid_rebate_per_unit = 0.0

[version.category.HOME]
label = "Home"
domestic = true
slabs = [{ upto_units = 10, rate = 1.0 }, { rate = 2.0 }]
fixed_charge_inr = 31.0
fixed_charge_basis = "per_connection"

[version.category.SHOP]
label = "Shop"
domestic = false
slabs = [{ upto_units = 10, rate = 1.0 }, { rate = 2.0 }]
fixed_charge_inr = 31.0
fixed_charge_basis = "per_kw"

[[version]]
name = "new"
effective_from = 2026-01-16
electricity_duty_percent = 10.0
prepaid_rebate_per_unit = 0.5

[version.category.HOME]
label = "Home"
domestic = true
slabs = [{ upto_units = 10, rate = 3.0 }, { rate = 4.0 }]
fixed_charge_inr = 62.0
fixed_charge_basis = "per_connection"

[version.category.SHOP]
label = "Shop"
domestic = false
slabs = [{ upto_units = 10, rate = 3.0 }, { rate = 4.0 }]
fixed_charge_inr = 62.0
fixed_charge_basis = "per_kw"

[[free_units]]
name = "free"
effective_from = 2026-02-01
units_per_month = 20
categories = ["HOME"]
waive_fixed_charge = true
"""


@pytest.fixture
def book(tmp_path: Path) -> tariff.TariffBook:
    path = tmp_path / "tariff.toml"
    path.write_text(HAND_TARIFF, encoding="utf-8")
    return tariff.load_tariffs(path)


def parts_paise(c: tariff.DayCharges) -> int:
    return (
        round(c.energy_charge * 100)
        + round(c.fixed_charge * 100)
        + round(c.duty * 100)
        - round(c.rebate * 100)
    )


# --- slabs ------------------------------------------------------------------------------------------


def test_slab_boundary_inside_a_day(book: tariff.TariffBook) -> None:
    # 8 units already this month; today's 5 are units 9–13: 2 at ₹1 and 3 at ₹2 = 8.00.
    c = tariff.day_charges("SHOP", D(2026, 1, 10), 5, units_before=8, sanctioned_load_kw=2, book=book)
    assert c.energy_charge == 8.0
    # ₹31/kW × 2 kW = ₹62 a month over 31 days: exactly ₹2.00 a day.
    assert c.fixed_charge == 2.0
    assert (c.duty, c.rebate, c.total, c.version) == (0.0, 0.0, 10.0, "old")


def test_slab_boundary_across_days_of_a_month(book: tariff.TariffBook) -> None:
    # 6 units on each of 1–3 January: day 1 units 1–6 (₹6), day 2 units 7–12 (4×1 + 2×2 = ₹8),
    # day 3 units 13–18 (6×2 = ₹12).
    days = [(D(2026, 1, 1), 6), (D(2026, 1, 2), 6), (D(2026, 1, 3), 6)]
    charges = tariff.charges_for_days("SHOP", days, book=book)
    assert [c.energy_charge for c in charges] == [6.0, 8.0, 12.0]


def test_units_restart_on_the_first_of_the_month(book: tariff.TariffBook) -> None:
    # 12 units on 31 January (new tariff: 10 × 3 + 2 × 4 = ₹38) then 12 on 1 February: the count
    # restarts, so 1 February is inside the free allowance of 20 (HOME from February).
    days = [(D(2026, 1, 31), 12), (D(2026, 2, 1), 12)]
    jan, feb = tariff.charges_for_days("HOME", days, book=book)
    assert jan.energy_charge == 38.0
    assert (feb.free_units_used, feb.energy_charge, feb.total) == (12.0, 0.0, 0.0)


def test_the_real_ds2_upper_slab_by_hand() -> None:
    # FY2025-26 DS-II before the free units: 95 units before, 10 today: 5 × 4.12 + 5 × 5.52 = 48.20.
    c = tariff.day_charges("DS-II", D(2025, 6, 10), 10, units_before=95, sanctioned_load_kw=2)
    assert c.energy_charge == 48.2
    # From 1 April 2026 the slabs are merged at the lower rate: 10 × 4.12 = 41.20 however many before.
    merged = tariff.day_charges("DS-II", D(2026, 4, 10), 10, units_before=195, sanctioned_load_kw=2)
    assert merged.energy_charge == 41.2


# --- a tariff change in the middle of a month -------------------------------------------------------


def test_mid_month_change_splits_and_carries_the_month_count(book: tariff.TariffBook) -> None:
    days = [(D(2026, 1, 15), 6), (D(2026, 1, 16), 6)]
    before, after = tariff.charges_for_days("SHOP", days, sanctioned_load_kw=1, book=book)
    # 15 January, old: 6 × 1.00; fixed ₹31 over 31 days = 1.00; no duty, no rebate.
    assert (before.version, before.energy_charge, before.fixed_charge, before.total) == ("old", 6.0, 1.0, 7.0)
    # 16 January, new, units 7–12 of the month: 4 × 3.00 + 2 × 4.00 = 20.00; fixed ₹62 a month accrued
    # 32.00 by the 16th, 30.00 by the 15th = 2.00; duty 10 % of 22.00 = 2.20; rebate 6 × 0.50 = 3.00.
    assert after.version == "new"
    assert (after.energy_charge, after.fixed_charge, after.duty, after.rebate) == (20.0, 2.0, 2.2, 3.0)
    assert after.total == 21.2


def test_a_day_uses_the_version_in_force_that_day(book: tariff.TariffBook) -> None:
    assert tariff.tariff_for("SHOP", D(2026, 1, 15), book=book).version == "old"
    assert tariff.tariff_for("SHOP", "2026-01-16", book=book).version == "new"
    # An aware datetime is taken as the IST day: 31 Mar 2026 20:00 UTC is 1 April 01:30 IST.
    late = dt.datetime(2026, 3, 31, 20, 0, tzinfo=dt.UTC)
    assert tariff.tariff_for("DS-II", late).version == "FY2026-27"


def test_no_tariff_before_the_first_version_or_for_an_unknown_category(book: tariff.TariffBook) -> None:
    with pytest.raises(TariffError, match="no tariff in force on 2025-12-31"):
        tariff.tariff_for("SHOP", D(2025, 12, 31), book=book)
    with pytest.raises(TariffError, match="no category 'LT-IS'"):
        tariff.tariff_for("LT-IS", D(2026, 1, 20), book=book)


# --- free units -------------------------------------------------------------------------------------


def test_free_unit_boundary(book: tariff.TariffBook) -> None:
    feb = D(2026, 2, 10)  # February: 28 days, ₹62 a month accrues 22.14 by the 10th, 19.93 by the 9th
    # Exactly up to the allowance: nothing at all (energy, fixed charge and duty waived).
    at_limit = tariff.day_charges("HOME", feb, 5, units_before=15, book=book)
    assert (at_limit.free_units_used, at_limit.total) == (5.0, 0.0)
    # Crossing it: 5 free, 3 charged (units 21–23 at ₹4 = 12.00); fixed 2.21 × 3/8 = 0.83;
    # duty 10 % of 12.83 = 1.28; rebate 3 × 0.5 = 1.50; total 12 + 0.83 + 1.28 − 1.50 = 12.61.
    crossing = tariff.day_charges("HOME", feb, 8, units_before=15, book=book)
    assert crossing.free_units_used == 5.0
    assert (crossing.energy_charge, crossing.fixed_charge, crossing.duty, crossing.rebate) == (
        12.0,
        0.83,
        1.28,
        1.5,
    )
    assert crossing.total == 12.61
    # After it: the full fixed charge, even on a day without consumption.
    idle = tariff.day_charges("HOME", feb, 0, units_before=30, book=book)
    assert (idle.free_units_used, idle.energy_charge, idle.fixed_charge) == (0.0, 0.0, 2.21)
    # Within it, a day without consumption costs nothing.
    assert tariff.day_charges("HOME", feb, 0, units_before=3, book=book).total == 0.0


def test_a_shop_gets_no_free_units(book: tariff.TariffBook) -> None:
    shop = tariff.day_charges("SHOP", D(2026, 2, 10), 5, units_before=0, book=book)
    assert shop.free_units_used == 0.0
    assert shop.energy_charge == 15.0  # 5 × 3.00
    real_shop = tariff.day_charges("NDS-II", D(2026, 11, 3), 6, units_before=0, sanctioned_load_kw=2)
    assert real_shop.free_units_used == 0.0 and real_shop.energy_charge == 46.74  # 6 × 7.79
    assert tariff.free_units_left("NDS-II", "2026-11-03", 0) == 0.0


def test_the_real_free_units_start_in_august_2025() -> None:
    july = tariff.day_charges("DS-I", D(2025, 7, 31), 4, units_before=0)
    august = tariff.day_charges("DS-I", D(2025, 8, 1), 4, units_before=0)
    assert july.free_units_used == 0.0 and july.energy_charge == 9.8  # 4 × 2.45
    assert august.free_units_used == 4.0 and august.total == 0.0
    assert tariff.free_units_left("DS-II", "2026-11-25", 100.25) == 24.75


def test_a_month_within_the_allowance_costs_nothing() -> None:
    assert tariff.month_cost("DS-II", 125, month=D(2026, 7, 1), sanctioned_load_kw=3).total == 0.0
    over = tariff.month_cost("DS-II", 126, month=D(2026, 7, 1), sanctioned_load_kw=3)
    assert over.free_units_used == 125.0 and over.total > 0


# --- fixed charge and rounding ----------------------------------------------------------------------


def test_a_month_of_fixed_charges_adds_up_to_the_monthly_charge() -> None:
    # NDS-II ₹200/kW × 1.5 kW = ₹300 a month; 30 days that do not divide it evenly to the paisa.
    days = [(D(2026, 11, 1) + dt.timedelta(days=i), 0.0) for i in range(30)]
    charges = tariff.charges_for_days("NDS-II", days, sanctioned_load_kw=1.5)
    assert sum(round(c.fixed_charge * 100) for c in charges) == 300_00
    assert {c.fixed_charge for c in charges} == {10.0}
    nds1 = tariff.charges_for_days("NDS-I", days, sanctioned_load_kw=0.7)  # ₹42 a month: 1.40 a day
    assert sum(round(c.fixed_charge * 100) for c in nds1) == 42_00


def test_parts_always_add_up_to_the_total_to_the_paisa() -> None:
    rng = random.Random(7)
    for _ in range(400):
        category = rng.choice(["KJ", "DS-I", "DS-II", "NDS-I", "NDS-II"])
        day = D(2025, 4, 1) + dt.timedelta(days=rng.randrange(600))
        units = round(rng.uniform(0, 40), 3)
        before = round(rng.uniform(0, 300), 3)
        load = rng.choice([0.5, 1.0, 2.0, 3.5])
        c = tariff.day_charges(category, day, units, units_before=before, sanctioned_load_kw=load)
        assert parts_paise(c) == c.total_paise, c
        assert c.total >= 0
        for part in (c.energy_charge, c.fixed_charge, c.duty, c.rebate, c.total):
            assert Decimal(str(part)) == Decimal(str(part)).quantize(Decimal("0.01"))


def test_month_cost_is_the_sum_of_its_days() -> None:
    m = tariff.month_cost("NDS-II", 150, month=D(2026, 11, 1))
    # By hand: 150 × 7.79 = 1168.50; fixed ₹200 = 200.00; duty 30 × 2.74 = 82.20; rebate 37.50.
    assert (m.energy_charge, m.fixed_charge, m.duty, m.rebate, m.total) == (1168.5, 200.0, 82.2, 37.5, 1413.2)
    assert len(m.days) == 30 and sum(d.units for d in m.days) == pytest.approx(150)
    assert round(sum(d.total for d in m.days), 2) == m.total


def test_the_rebate_never_exceeds_the_energy_charge(tmp_path: Path) -> None:
    # A lifeline slab priced at ₹0 (first 10 units), then ₹1.00; rebate 0.50 a unit.
    path = tmp_path / "tariff.toml"
    path.write_text(HAND_TARIFF.replace("rate = 3.0 }", "rate = 0.0 }"), encoding="utf-8")
    book = tariff.load_tariffs(path)
    # Units 9–12 on 16 January (new): 2 at ₹0 and 2 at ₹4 = 8.00; rebate 4 × 0.50 = 2.00.
    assert tariff.day_charges("SHOP", D(2026, 1, 16), 4, units_before=8, book=book).rebate == 2.0
    # Units 1–4, all at ₹0: no energy charge, so no rebate (not −2.00 off the fixed charge).
    lifeline = tariff.day_charges("SHOP", D(2026, 1, 16), 4, units_before=0, book=book)
    assert (lifeline.energy_charge, lifeline.rebate) == (0.0, 0.0)
    assert lifeline.total == lifeline.fixed_charge + lifeline.duty


def test_units_are_counted_to_the_watt_hour_and_must_not_be_negative() -> None:
    exact = tariff.day_charges("NDS-II", D(2026, 11, 3), 5.0004)
    assert exact.units == 5.0 and exact.energy_charge == 38.95
    with pytest.raises(ValueError, match="units must be"):
        tariff.day_charges("NDS-II", D(2026, 11, 3), -1)
    with pytest.raises(ValueError, match="units_before must be"):
        tariff.day_charges("NDS-II", D(2026, 11, 3), 1, units_before=float("nan"))
    with pytest.raises(ValueError, match="days must increase"):
        tariff.charges_for_days("NDS-II", [(D(2026, 11, 3), 1), (D(2026, 11, 3), 1)])


# --- the file -----------------------------------------------------------------------------------------


def test_the_shipped_file_covers_every_category_in_every_version() -> None:
    book = tariff.load_tariffs()
    assert [v.effective_from for v in book.versions] == [D(2025, 4, 1), D(2026, 4, 1)]
    for version in book.versions:
        assert sorted(version.categories) == ["DS-I", "DS-II", "KJ", "NDS-I", "NDS-II"]
    for category in ("KJ", "DS-I", "DS-II"):
        assert tariff.tariff_for(category, D(2025, 8, 1)).free_units_per_month == 125
        assert tariff.tariff_for(category, D(2025, 7, 31)).free_units_per_month == 0
    for category in ("NDS-I", "NDS-II"):
        assert tariff.tariff_for(category, D(2026, 8, 1)).free_units_per_month == 0
    # The merge of 1 April 2026 left one slab in DS-II, NDS-I and NDS-II, at the former lower rate.
    for category in ("DS-II", "NDS-I", "NDS-II"):
        old = tariff.tariff_for(category, D(2026, 3, 31)).slabs
        new = tariff.tariff_for(category, D(2026, 4, 1)).slabs
        assert len(old) == 2 and len(new) == 1 and new[0].rate == old[0].rate


def _replace(old: str, new: str) -> str:
    assert old in HAND_TARIFF
    return HAND_TARIFF.replace(old, new, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("schema_version = 1\n[[version]\n", "not valid TOML"),
        ("schema_version = 2\n", "'schema_version' must be 1"),
        ("schema_version = 1\n", "no \\[\\[version\\]\\] tables"),
        (
            _replace("effective_from = 2026-01-16", 'effective_from = "16 Jan"'),
            "'effective_from' must be a date",
        ),
        (
            _replace("effective_from = 2026-01-16", "effective_from = 2025-12-01"),
            "in order of 'effective_from'",
        ),
        (
            _replace("rate = 2.0 }]", 'rate = "two" }]'),
            "version 'old', category 'HOME', slab 2: 'rate' must be a number",
        ),
        (_replace("rate = 2.0 }]", "rate = -2.0 }]"), "slab 2: 'rate' must be a number >= 0"),
        (_replace("{ rate = 2.0 }]", "{ upto_units = 5, rate = 2.0 }]"), "the last slab has no 'upto_units'"),
        (
            _replace(
                "slabs = [{ upto_units = 10, rate = 1.0 }, { rate = 2.0 }]",
                "slabs = [{ upto_units = 10, rate = 1.0 }, { upto_units = 10, rate = 1.5 }, { rate = 2.0 }]",
            ),
            "slab 2: 'upto_units' must be above",
        ),
        (
            _replace('fixed_charge_basis = "per_connection"', 'fixed_charge_basis = "per_house"'),
            "'fixed_charge_basis' must be one of",
        ),
        (_replace("fixed_charge_inr = 31.0\n", ""), "category 'HOME': 'fixed_charge_inr' is missing"),
        (
            _replace("electricity_duty_percent = 0.0", "electricity_duty_percent = 600.0"),
            "'electricity_duty_percent' must be a number >= 0 and <= 100",
        ),
        (_replace('label = "Home"', 'label = "Home"\nfixed_charge = 3'), "unknown field 'fixed_charge'"),
        (
            _replace('categories = ["HOME"]', 'categories = ["HOME", "DS-IX"]'),
            "category 'DS-IX' is in no \\[\\[version\\]\\]",
        ),
        (_replace("domestic = true", "domestic = 1"), "'domestic' must be true or false"),
    ],
)
def test_a_malformed_file_names_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "tariff.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TariffError, match=message) as caught:
        tariff.load_tariffs(path)
    assert str(path) in str(caught.value)


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TariffError, match="cannot read the tariff file"):
        tariff.load_tariffs(tmp_path / "nowhere.toml")


def test_an_edited_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "tariff.toml"
    path.write_text(HAND_TARIFF, encoding="utf-8")
    assert tariff.load_tariffs(path).versions[0].name == "old"
    path.write_text(HAND_TARIFF.replace('name = "old"', 'name = "older"'), encoding="utf-8")
    assert tariff.load_tariffs(path).versions[0].name == "older"


# --- net metering (rooftop solar; issue 11 section 1, bihar-tariff-notes.md) ----------------------------------


def test_net_metering_is_in_the_file_and_marked_to_verify():
    rule = tariff.load_tariffs().net_metering
    assert rule is not None and rule.to_verify and rule.settlement_starts_month == 4
    assert (
        "to verify"
        in tariff.DEFAULT_TARIFF_FILE.read_text(encoding="utf-8").split("[net_metering]")[0][-900:].lower()
    )


def test_net_metering_sets_import_against_export_and_carries_the_surplus_forward():
    d = dt.date
    days = [
        (d(2026, 11, 29), 10.871, 4.427),  # the net-metering case's 24 Nov: import 10.871, export 4.427
        (d(2026, 11, 30), 2.0, 9.0),  # a sunny day: 7 kWh ahead
        (d(2026, 12, 1), 3.0, 0.0),  # December starts with November's 7 kWh credit
        (d(2026, 12, 2), 5.5, 0.0),
    ]
    net = tariff.net_billed_units(days)
    assert [n.billed_kwh for n in net] == [6.444, 0.0, 0.0, 1.5]
    assert [n.credit_kwh for n in net] == [0.0, 7.0, 4.0, 0.0]
    assert sum(n.billed_kwh for n in net) == pytest.approx(sum(i - e for _, i, e in days))


def test_net_metering_credit_lapses_when_the_settlement_period_ends():
    d = dt.date
    net = tariff.net_billed_units([(d(2027, 3, 31), 1.0, 6.0), (d(2027, 4, 1), 2.0, 0.0)])
    assert [(n.billed_kwh, n.credit_kwh, n.lapsed_kwh) for n in net] == [(0.0, 5.0, 0.0), (2.0, 0.0, 5.0)]


def test_without_a_net_metering_table_export_is_not_netted():
    text = tariff.DEFAULT_TARIFF_FILE.read_text(encoding="utf-8").split("[net_metering]")[0]
    book = tariff.parse_tariffs(text, name="no-net.toml")
    assert book.net_metering is None
    assert tariff.net_billed_units([(dt.date(2026, 11, 1), 4.0, 3.0)], book=book)[0].billed_kwh == 4.0


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ('netting = "daily"\nsettlement_starts_month = 4', "'netting' must be"),
        ('netting = "kwh_monthly_carry_forward"\nsettlement_starts_month = 13', "'settlement_starts_month'"),
        (
            'netting = "kwh_monthly_carry_forward"\nsettlement_starts_month = 4\nrate = 3',
            "unknown field 'rate'",
        ),
    ],
)
def test_a_bad_net_metering_table_names_the_problem(table, problem):
    text = tariff.DEFAULT_TARIFF_FILE.read_text(encoding="utf-8").split("[net_metering]")[0]
    with pytest.raises(tariff.TariffError, match=problem):
        tariff.parse_tariffs(text + "[net_metering]\n" + table, name="t.toml")
