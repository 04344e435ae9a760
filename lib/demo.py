"""The demo data set: one Bihar household with three prepaid meters, and three more meters to link.

``seed_demo`` replaces the whole database with it (camp mode, ``python -m lib.cli seed-demo``,
tests); ``ensure_demo_data`` seeds only an empty database (the dashboard's first start).

>>> from lib import storage
>>> conn = storage.connect(":memory:"); _ = storage.migrate(conn)
>>> summary = seed_demo(conn, now=dt.datetime(2026, 11, 25, 6, 30, tzinfo=dt.UTC), days=40)
>>> summary["linked"], summary["unlinked"], summary["first_day"], summary["last_reading_ts"]
(3, 3, '2026-10-01', '2026-11-25T06:00:00Z')
>>> [c["nickname"] for c in conn.accounts.linked_connections(summary["account_id"])]
['Home', 'Shop', 'Village home']
>>> from lib.config import Settings
>>> ensure_demo_data(conn, Settings(db_path=storage.DEFAULT_DB))   # not empty any more: nothing to do
False

What is in it (deterministic: a fixed seed, and the same ``now`` gives the same database):

- ``DEMO_ACCOUNT_MOBILE``'s account follows DEMO-1001 "Home" (urban domestic DS-II, Patna),
  DEMO-1002 "Shop" (urban non-domestic NDS-II: open 8:00–21:00, closed on Sundays) and DEMO-1003
  "Village home" (rural domestic DS-I, little use). ``DEMO_UNLINKED`` lists three more consumers
  (DS-II, Kutir Jyoti, NDS-I), each with its own registered mobile, for "Add Another Meter".
- 30-minute readings from the 1st of the month ``days`` before "now" up to the last complete half
  hour: summer peaks April–June (fans, coolers, an AC at Home), a humid monsoon with rainy days,
  low winter use, evening peaks, heat waves, a Sunday-closed shop.
- The prepaid balance (``balance_inr`` on each reading) follows the tariff file (``lib.tariff``):
  **each IST day's charges are deducted once, on that day's last reading (23:30 IST)**, so the
  balance on every other reading is the balance when that interval starts and a day's closing
  balance is after its own deduction. Today's charges are not deducted yet (the day is not over).
  For every IST day and connection: opening + recharges − ``day_charges(...).total`` = closing,
  to the paisa (the first day's opening is its first reading's balance).
- Recharges come in round amounts when the balance runs low, at the hours people pay (UPI in the
  evening, the cash counter in the morning). From about seven weeks before "now" the Shop ignores
  its low balance until it runs out (about three weeks before "now"): the balance goes below zero
  with a day's deduction, the meter cuts supply (kWh 0 while the balance is ≤ 0, fixed charges still
  accrue), and the next day but one the owner pays at the cash counter; supply comes back on the
  next reading.
- The series starts on the 1st of a month, and never before the tariff file's first version.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from lib import tariff
from lib.clock import IST, UTC, now_utc, to_ts
from lib.config import Settings
from lib.phone import demo_mobile

if TYPE_CHECKING:
    from lib.storage import Database

DEMO_SEED = 20_250_801
DEMO_DAYS = 365
# Demo mobiles come from lib.phone's demo range (+91 00000 NNNNN): numbers no phone can have.
DEMO_ACCOUNT_MOBILE = demo_mobile(1)
DEMO_ACCOUNT_NAME = "Rakesh Kumar Sinha"
DATASET_META_KEY = "dataset"
SEEDED_AT_META_KEY = "demo_seeded_at"
SLOTS_PER_DAY = 48
SLOT_MINUTES = 30

# Which half of the year looks like summer (0 = winter shape, 1 = summer shape), by month Jan..Dec.
_SUMMERNESS = (0.0, 0.05, 0.3, 0.7, 1.0, 1.0, 0.9, 0.85, 0.8, 0.5, 0.1, 0.0)
_MONSOON_MONTHS = (7, 8, 9)

# Relative use per IST hour 0..23 (winter, summer). Evening peaks; summer nights run coolers/fans.
_SHAPES: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "home": (
        (0.25, 0.22, 0.2, 0.2, 0.22, 0.45, 0.9, 1.1, 0.9, 0.6, 0.5, 0.45,
         0.5, 0.5, 0.45, 0.45, 0.55, 0.9, 1.5, 1.8, 1.9, 1.6, 0.9, 0.45),
        (1.0, 0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.6, 0.55, 0.6, 0.7, 0.8,
         0.95, 1.05, 1.1, 1.1, 1.0, 1.0, 1.2, 1.45, 1.6, 1.65, 1.4, 1.15),
    ),
    "shop": (
        (0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.5, 0.9, 1.0, 1.0, 1.0,
         1.0, 0.9, 0.9, 0.95, 1.0, 1.2, 1.6, 1.8, 1.7, 0.8, 0.35, 0.3),
        (0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.6, 1.0, 1.2, 1.3, 1.35,
         1.4, 1.4, 1.4, 1.35, 1.3, 1.4, 1.7, 1.85, 1.75, 0.9, 0.45, 0.4),
    ),
    "shop_closed": (  # the refrigerator and a night light
        (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
         1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.2, 1.2, 1.2, 1.0, 1.0, 1.0),
        (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.1, 1.1, 1.2,
         1.2, 1.2, 1.2, 1.2, 1.1, 1.1, 1.2, 1.2, 1.2, 1.0, 1.0, 1.0),
    ),
    "village": (
        (0.2, 0.2, 0.2, 0.2, 0.2, 0.6, 0.8, 0.6, 0.35, 0.35, 0.35, 0.35,
         0.35, 0.35, 0.35, 0.35, 0.35, 0.7, 1.5, 1.8, 1.6, 1.0, 0.4, 0.25),
        (0.7, 0.7, 0.7, 0.7, 0.7, 1.2, 1.0, 0.6, 0.5, 0.5, 0.5, 0.5,
         0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 1.2, 1.5, 1.55, 1.3, 1.0, 0.8),
    ),
}  # fmt: skip


@dataclass(frozen=True)
class _Habit:
    """How a household pays: below ``threshold_inr`` it recharges one of ``amounts``."""

    threshold_inr: int
    amounts: tuple[int, ...]
    modes: tuple[str, ...]  # repeated to weight them
    minutes: tuple[int, int]  # IST minutes of the day within which it pays


@dataclass(frozen=True)
class DemoMeter:
    """One demo connection: master data, how it uses power and how its household pays."""

    consumer_id: str
    name: str
    registered_mobile: str
    tariff_category: str
    sanctioned_load_kw: float
    division: str
    nickname: str | None  # None: not linked to the demo account
    shape: str
    kwh_per_day: tuple[float, ...]  # average by month, Jan..Dec
    weekly: tuple[float, ...]  # factor by weekday, Mon..Sun
    closed_weekday: int | None  # a weekday the shop stays shut (uses the "shop_closed" shape)
    opening_balance_inr: float
    habit: _Habit
    lets_balance_run_out: bool = False

    @property
    def meter_serial(self) -> str:
        return "SM" + self.consumer_id.removeprefix("DEMO-").rjust(8, "0")


_UPI_EVENING = _Habit(250, (500, 1000, 1000), ("UPI", "UPI", "UPI", "Bharat BillPay"), (19 * 60, 22 * 60))

DEMO_METERS: tuple[DemoMeter, ...] = (
    DemoMeter(
        consumer_id="DEMO-1001",
        name=DEMO_ACCOUNT_NAME,
        registered_mobile=DEMO_ACCOUNT_MOBILE,
        tariff_category="DS-II",
        sanctioned_load_kw=2.0,
        division="Kankarbagh (Patna)",
        nickname="Home",
        shape="home",
        kwh_per_day=(4.2, 4.4, 5.8, 9.0, 12.5, 12.8, 10.5, 10.0, 9.6, 7.2, 5.0, 4.3),
        weekly=(1.0, 1.0, 1.0, 1.0, 1.0, 1.06, 1.12),
        closed_weekday=None,
        opening_balance_inr=640.0,
        habit=_UPI_EVENING,
    ),
    DemoMeter(
        consumer_id="DEMO-1002",
        name="Sinha General Store (Rakesh Kumar Sinha)",
        registered_mobile=demo_mobile(2),
        tariff_category="NDS-II",
        sanctioned_load_kw=2.0,
        division="Rajendra Nagar (Patna)",
        nickname="Shop",
        shape="shop",
        kwh_per_day=(5.0, 5.2, 6.5, 8.5, 10.5, 10.8, 9.5, 9.2, 9.0, 7.5, 5.8, 5.0),
        weekly=(1.0, 1.0, 1.0, 1.0, 1.0, 1.08, 0.3),
        closed_weekday=6,
        opening_balance_inr=1450.0,
        habit=_Habit(500, (1000, 2000, 2000), ("UPI", "UPI", "Cash counter"), (9 * 60, 11 * 60)),
        lets_balance_run_out=True,
    ),
    DemoMeter(
        consumer_id="DEMO-1003",
        name="Ramesh Prasad Sinha",
        registered_mobile=demo_mobile(3),
        tariff_category="DS-I",
        sanctioned_load_kw=1.0,
        division="Masaurhi (rural)",
        nickname="Village home",
        shape="village",
        kwh_per_day=(1.7, 1.8, 2.3, 3.2, 4.0, 4.3, 3.6, 3.5, 3.3, 2.6, 2.0, 1.8),
        weekly=(1.0,) * 7,
        closed_weekday=None,
        opening_balance_inr=180.0,
        habit=_Habit(60, (100, 200), ("Cash counter", "Cash counter", "UPI"), (8 * 60, 12 * 60)),
    ),
    DemoMeter(
        consumer_id="DEMO-2001",
        name="Sunita Devi",
        registered_mobile=demo_mobile(11),
        tariff_category="DS-II",
        sanctioned_load_kw=1.0,
        division="Kankarbagh (Patna)",
        nickname=None,
        shape="home",
        kwh_per_day=(3.0, 3.2, 4.2, 6.5, 8.5, 9.0, 7.5, 7.2, 6.8, 5.0, 3.6, 3.1),
        weekly=(1.0, 1.0, 1.0, 1.0, 1.0, 1.05, 1.1),
        closed_weekday=None,
        opening_balance_inr=420.0,
        habit=_Habit(200, (500,), ("UPI", "UPI", "Net banking"), (18 * 60, 21 * 60)),
    ),
    DemoMeter(
        consumer_id="DEMO-2002",
        name="Phulmati Devi",
        registered_mobile=demo_mobile(12),
        tariff_category="KJ",
        sanctioned_load_kw=0.5,
        division="Masaurhi (rural)",
        nickname=None,
        shape="village",
        kwh_per_day=(0.7, 0.75, 0.9, 1.2, 1.5, 1.6, 1.4, 1.35, 1.3, 1.0, 0.8, 0.7),
        weekly=(1.0,) * 7,
        closed_weekday=None,
        opening_balance_inr=75.0,
        habit=_Habit(30, (50, 100), ("Cash counter",), (9 * 60, 12 * 60)),
    ),
    DemoMeter(
        consumer_id="DEMO-2003",
        name="Mohd. Irfan Ansari",
        registered_mobile=demo_mobile(13),
        tariff_category="NDS-I",
        sanctioned_load_kw=1.0,
        division="Bihta (rural)",
        nickname=None,
        shape="shop",
        kwh_per_day=(2.5, 2.6, 3.0, 4.0, 4.8, 5.0, 4.4, 4.2, 4.0, 3.4, 2.8, 2.5),
        weekly=(1.0, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0),
        closed_weekday=None,
        opening_balance_inr=900.0,
        habit=_Habit(300, (500, 1000), ("UPI", "Cash counter"), (10 * 60, 13 * 60)),
    ),
)

DEMO_LINKED: list[tuple[str, str]] = [(m.consumer_id, m.nickname) for m in DEMO_METERS if m.nickname]
# The linked meters' nicknames in the language the demo is seeded for (a household names its own meters;
# camp mode is Hindi first, glossary-hi.md: घर, दुकान, गाँव का घर).
DEMO_NICKNAMES: dict[str, dict[str, str]] = {
    "en": dict(DEMO_LINKED),
    "hi": {"DEMO-1001": "घर", "DEMO-1002": "दुकान", "DEMO-1003": "गाँव का घर"},
}


def demo_nicknames(lang: str) -> list[tuple[str, str]]:
    """(consumer_id, nickname) of the demo account's linked meters, nicknamed in ``lang`` (en or hi).

    >>> demo_nicknames("hi")
    [('DEMO-1001', 'घर'), ('DEMO-1002', 'दुकान'), ('DEMO-1003', 'गाँव का घर')]
    """
    names = DEMO_NICKNAMES.get(lang, DEMO_NICKNAMES["en"])
    return [(consumer_id, names[consumer_id]) for consumer_id, _ in DEMO_LINKED]


DEMO_UNLINKED: list[tuple[str, str]] = [
    (m.consumer_id, m.registered_mobile) for m in DEMO_METERS if m.nickname is None
]


class RealDataError(RuntimeError):
    """The database holds non-demo consumers: seeding would destroy real data (pass ``force=True``)."""


class DemoRefused(RuntimeError):
    """The settings are a production's (:func:`is_demo_configuration`): no demo data goes into this
    database. ``str(error)`` is the operator's detail (log, command line), never shown to visitors."""


# --- public API -------------------------------------------------------------------------------------


def seed_demo(
    conn: Database,
    *,
    now: dt.datetime | None = None,
    force: bool = False,
    days: int = DEMO_DAYS,
    lang: str = "en",
) -> dict[str, Any]:
    """Replace the whole database content with the demo data set, in one transaction.

    ``lang``: the language the demo is seeded for ("hi" in camp mode): the linked meters' nicknames
    (:func:`demo_nicknames`); the demo account's saved language is Hindi either way.

    ``now`` (default ``lib.clock.now_utc()``): readings end at the last complete half hour before it.
    ``days``: at least this many days of history; the series starts on the 1st of that month so
    that every month's slabs and free units can be recomputed from the stored readings.
    Raises ``RealDataError`` when the database holds real (non-demo) consumers and not ``force``.
    Tables that are append-only (the audit trail) are kept; ``data_version`` keeps counting up.

    Returns counts: ``account_id, consumers, linked, unlinked, readings, recharges, first_day,
    last_reading_ts``.
    """
    plan = _build(now or now_utc(), days)
    _ensure_months(conn, plan)
    with conn.transaction():
        if not force and conn.consumers.holds_real_data():
            raise RealDataError(
                "the database holds real consumers (is_demo = 0); seed-demo would replace them: "
                "use another database file, or --force to replace everything"
            )
        return _write(conn, plan, lang)


def is_demo_configuration(settings: Settings) -> bool:
    """Whether ``settings`` describe a demo: SMS go to the outbox (the default, and camp mode's only
    gateway). A production SMS gateway (``http``), or any other, means real people: no demo data.

    >>> from lib.config import load_settings
    >>> is_demo_configuration(load_settings(env={}, secrets_path=None))
    True
    >>> is_demo_configuration(load_settings(env={"METERMITRA_SMS_GATEWAY": "http"}, secrets_path=None))
    False
    """
    return settings.sms_gateway == "outbox"


def check_demo_configuration(settings: Settings) -> None:
    """Raise :class:`DemoRefused` (the operator's detail) unless ``settings`` are a demo's; the dashboard's
    first start and ``python -m lib.cli seed-demo`` call it before writing any demo data."""
    if not is_demo_configuration(settings):
        raise DemoRefused(
            f"Not seeding demo data into {settings.db_path}: the SMS gateway is {settings.sms_gateway!r} "
            "(production); demo data goes only into a demo database (METERMITRA_SMS_GATEWAY=outbox). "
            "For production, import the consumers: python -m lib.cli import-consumers FILE."
        )


def ensure_demo_data(conn: Database, settings: Settings, *, now: dt.datetime | None = None) -> bool:
    """Seed the demo when the database has no consumers at all and ``settings`` are a demo's
    (:func:`is_demo_configuration`); return whether it seeded.

    Raises :class:`DemoRefused` (its text is for the operator's log) for an empty database configured
    for production (issue 13 item 12): it stays empty until consumers are imported. A database with
    consumers is left alone whatever the settings. The emptiness check is repeated under the write
    lock, so two sessions starting together seed once.
    """
    if conn.consumers.has_consumers():
        return False
    check_demo_configuration(settings)
    plan = _build(now or now_utc(), DEMO_DAYS)
    _ensure_months(conn, plan)
    with conn.transaction():
        if conn.consumers.has_consumers():
            return False
        _write(conn, plan)
    return True


# --- generation (pure: no database) -----------------------------------------------------------------


@dataclass
class _Series:
    meter: DemoMeter
    ts: list[str]
    kwh: list[float]
    balance: list[float]
    recharges: list[dict[str, Any]]


@dataclass
class _Plan:
    now: dt.datetime
    first_day: dt.date
    last_ts: str
    series: list[_Series]


def _ensure_months(conn: Database, plan: _Plan) -> None:
    """The readings partitions the seed fills (PostgreSQL), made before its transaction (storage.readings.ensure_months)."""
    conn.readings.ensure_months((plan.first_day - dt.timedelta(days=1)).isoformat(), plan.last_ts)


def _build(now: dt.datetime, days: int) -> _Plan:
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    now = now.astimezone(UTC)
    # The last complete half hour: its interval [start, start + 30 min) ends at or before now.
    floored = now.replace(minute=now.minute - now.minute % SLOT_MINUTES, second=0, microsecond=0)
    last_start = floored - dt.timedelta(minutes=SLOT_MINUTES)
    last_day = last_start.astimezone(IST).date()
    first_day = (last_day - dt.timedelta(days=days - 1)).replace(day=1)
    # Not before the tariff file's first version (a laptop with its clock far behind still seeds).
    first_tariff = tariff.load_tariffs().versions[0].effective_from
    if first_day < first_tariff <= last_day:
        first_day = first_tariff
    n_days = (last_day - first_day).days + 1
    day_list = [first_day + dt.timedelta(days=i) for i in range(n_days)]
    start_ist = dt.datetime.combine(first_day, dt.time(), tzinfo=IST)
    slot_starts = np.datetime64(to_ts(start_ist)[:-1]) + np.arange(n_days * SLOTS_PER_DAY) * np.timedelta64(
        SLOT_MINUTES, "m"
    )
    all_ts = [s + "Z" for s in np.datetime_as_string(slot_starts, unit="s")]
    # Slots of the last (partial) day up to and including last_start.
    last_day_start = dt.datetime.combine(last_day, dt.time(), tzinfo=IST)
    last_day_slots = int((last_start - last_day_start) / dt.timedelta(minutes=SLOT_MINUTES)) + 1
    n_slots = (n_days - 1) * SLOTS_PER_DAY + last_day_slots
    series = [
        _simulate(meter, index, day_list, all_ts[:n_slots], last_day_slots, now)
        for index, meter in enumerate(DEMO_METERS)
    ]
    return _Plan(now=now, first_day=first_day, last_ts=all_ts[n_slots - 1], series=series)


def _profile_wh(meter: DemoMeter, index: int, days: list[dt.date]) -> np.ndarray:
    """Watt-hours per half hour, shape (days, 48), before any disconnection."""
    rng = np.random.default_rng([DEMO_SEED, index, 1])
    n = len(days)
    day_of_year = np.array([d.timetuple().tm_yday for d in days], dtype=float)
    months = np.array([d.month for d in days])
    weekdays = np.array([d.weekday() for d in days])
    # Smooth seasonal curve through the monthly averages (knots mid-month, wrapping the year).
    knots = np.array([15.5 + 30.4 * m for m in range(-1, 13)])
    values = np.array((meter.kwh_per_day[-1], *meter.kwh_per_day, meter.kwh_per_day[0]))
    seasonal = np.interp(day_of_year, knots, values)
    summer = np.interp(day_of_year, knots, np.array((_SUMMERNESS[-1], *_SUMMERNESS, _SUMMERNESS[0])))
    # Heat waves and cold spells: a slowly wandering factor (AR(1) in log space).
    wander = np.empty(n)
    level = 0.0
    shocks = rng.normal(0.0, 0.07, n)
    for i in range(n):
        level = 0.8 * level + shocks[i]
        wander[i] = level
    rainy = np.isin(months, _MONSOON_MONTHS) & (rng.random(n) < 0.35)
    daily = seasonal * np.exp(wander) * np.where(rainy, 0.85, 1.0) * np.asarray(meter.weekly)[weekdays]
    daily *= rng.lognormal(0.0, 0.08, n)

    def half_hourly(kind: str) -> tuple[np.ndarray, np.ndarray]:
        winter, hot = (np.repeat(np.asarray(s), 2) for s in _SHAPES[kind])
        return winter / winter.sum(), hot / hot.sum()

    winter, hot = half_hourly(meter.shape)
    shape = (1 - summer)[:, None] * winter[None, :] + summer[:, None] * hot[None, :]
    if meter.closed_weekday is not None:
        c_winter, c_hot = half_hourly("shop_closed")
        closed_shape = (1 - summer)[:, None] * c_winter[None, :] + summer[:, None] * c_hot[None, :]
        shape = np.where((weekdays == meter.closed_weekday)[:, None], closed_shape, shape)
    noise = rng.lognormal(0.0, 0.25, (n, SLOTS_PER_DAY))
    return np.maximum(np.rint(daily[:, None] * shape * noise * 1000), 0).astype(np.int64)


def _simulate(
    meter: DemoMeter,
    index: int,
    days: list[dt.date],
    ts: list[str],
    last_day_slots: int,
    now: dt.datetime,
) -> _Series:
    """Run the prepaid meter day by day: supply, recharges and the daily deduction, in paise."""
    rng = np.random.default_rng([DEMO_SEED, index, 2])
    book = tariff.load_tariffs()
    wh = _profile_wh(meter, index, days)
    habit = meter.habit
    n_days = len(days)
    balance = round(meter.opening_balance_inr * 100)  # paise
    kwh_out: list[np.ndarray] = []
    balance_out: list[np.ndarray] = []
    recharges: list[dict[str, Any]] = []
    month_wh = 0
    # The Shop's lapse: from about seven weeks before the end it ignores its low balance.
    lapse_from = max(0, n_days - 50) if meter.lets_balance_run_out and n_days >= 30 else None
    lapsing = False
    cut_since: int | None = None  # day index after whose deduction the balance went <= 0
    for i, day in enumerate(days):
        if day.day == 1:
            month_wh = 0
        slots = last_day_slots if i == n_days - 1 else SLOTS_PER_DAY
        events: list[tuple[int, int, str]] = []  # (minute of day, paise, mode)
        if lapse_from is not None and i == lapse_from:
            lapsing = True
        if lapsing:
            if cut_since is not None and i == cut_since + 2:
                # Two days without power: the owner pays the debt and a round amount at the counter.
                owed = max(0, -balance)
                amount = math.ceil((owed + max(habit.amounts) * 100) / 50_000) * 50_000
                events.append((10 * 60 + 40, amount, "Cash counter"))
                lapsing = False
        elif balance < habit.threshold_inr * 100:
            amount = int(rng.choice(habit.amounts)) * 100
            if balance < 0:
                amount += math.ceil(-balance / 10_000) * 10_000
            minute = int(rng.integers(habit.minutes[0], habit.minutes[1]))
            events.append((minute, amount, str(rng.choice(habit.modes))))
        shown = np.full(SLOTS_PER_DAY, balance, dtype=np.int64)
        for minute, amount, mode in events:
            second = minute * 60 + int(rng.integers(0, 60))
            paid_at = dt.datetime.combine(day, dt.time(), tzinfo=IST) + dt.timedelta(seconds=second)
            first_slot = math.ceil(second / (SLOT_MINUTES * 60))  # the first reading at or after it
            if paid_at > now or first_slot >= slots:
                continue  # not happened yet (today), or no reading shows it yet
            shown[first_slot:] += amount
            recharges.append(
                {
                    "consumer_id": meter.consumer_id,
                    "ts": to_ts(paid_at),
                    "amount_inr": amount / 100,
                    "mode": mode,
                    "reference": _reference(rng, mode),
                }
            )
        day_wh = np.where(shown > 0, wh[i], 0)[:slots]
        shown = shown[:slots]
        units = int(day_wh.sum())
        if slots == SLOTS_PER_DAY:
            charge = tariff.day_charges(
                meter.tariff_category,
                day,
                units / 1000,
                units_before=month_wh / 1000,
                sanctioned_load_kw=meter.sanctioned_load_kw,
                book=book,
            )
            shown[-1] -= charge.total_paise
            if lapsing and cut_since is None and shown[-1] <= 0:
                cut_since = i  # the meter cuts supply from the next reading
        balance = int(shown[-1])
        month_wh += units
        kwh_out.append(day_wh)
        balance_out.append(shown)
    kwh_all = np.concatenate(kwh_out) / 1000
    balance_all = np.concatenate(balance_out) / 100
    return _Series(
        meter=meter,
        ts=ts,
        kwh=kwh_all.tolist(),
        balance=balance_all.tolist(),
        recharges=recharges,
    )


def _reference(rng: np.random.Generator, mode: str) -> str:
    """A payment reference of the kind each channel prints."""
    if mode == "UPI":
        return f"UPI/{int(rng.integers(10**11, 10**12))}"
    if mode == "Bharat BillPay":
        return f"BBPS/BD{int(rng.integers(10**9, 10**10))}"
    if mode == "Net banking":
        return f"NB/{int(rng.integers(10**9, 10**10))}"
    return f"CC/PTN-{int(rng.integers(1, 30)):02d}/{int(rng.integers(10**5, 10**6))}"


# --- writing -----------------------------------------------------------------------------------------


def _write(conn: Database, plan: _Plan, lang: str = "en") -> dict[str, Any]:
    conn.demo.clear_for_seed()
    conn.consumers.upsert_consumers(
        [
            {
                "consumer_id": s.meter.consumer_id,
                "name": s.meter.name,
                "registered_mobile": s.meter.registered_mobile,
                "tariff_category": s.meter.tariff_category,
                "sanctioned_load_kw": s.meter.sanctioned_load_kw,
                "division": s.meter.division,
                "meter_serial": s.meter.meter_serial,
                "is_demo": 1,
            }
            for s in plan.series
        ],
    )
    linked_at = plan.now - dt.timedelta(days=20)
    account_id = conn.accounts.create_account(
        DEMO_ACCOUNT_MOBILE, language="hi", display_name=DEMO_ACCOUNT_NAME, now=to_ts(linked_at)
    )
    for offset, (consumer_id, nickname) in enumerate(demo_nicknames(lang)):
        stamp = to_ts(linked_at + dt.timedelta(minutes=2 * offset))
        conn.accounts.insert_link(account_id, consumer_id, nickname, now=stamp)
    readings = 0
    recharges = 0
    for s in plan.series:
        cid = s.meter.consumer_id
        readings += conn.readings.insert_readings(zip([cid] * len(s.ts), s.ts, s.kwh, s.balance, strict=True))
        recharges += conn.readings.insert_recharges(s.recharges)
        conn.readings.refresh_daily(cid)
    conn.meta.set_meta(DATASET_META_KEY, "demo")
    conn.meta.set_meta(SEEDED_AT_META_KEY, to_ts(plan.now))
    conn.meta.bump_data_version()
    return {
        "account_id": account_id,
        "consumers": len(plan.series),
        "linked": len(DEMO_LINKED),
        "unlinked": len(DEMO_UNLINKED),
        "readings": readings,
        "recharges": recharges,
        "first_day": plan.first_day.isoformat(),
        "last_reading_ts": plan.last_ts,
    }
