"""Register files (``kwh_kind="register"``): cumulative register values (kWh) turned into interval energy,
consumer by consumer in time order.

Rules (each step is ``rules.register_step``: the energy between two register values, a rollover past the
register's width, or None for a value off the series):

- a consumer's first reading is a **baseline** (no energy); when an earlier import stored a register
  reading before it (``readings.register_state``), that one is the baseline, so no interval is lost between
  two files of one series, and the import checks it unchanged inside its transaction;
- a reading **earlier** than the consumer's last is a bad row (``register_order``);
- a reading **off the series** (a drop, or a jump beyond ``max_kwh``) is held until the next one: if the
  series goes on from before it, it was a **glitch** (a bad row, meter event ``glitch``; the step across
  it is split by time over its two intervals), else the meter was **replaced** (a new baseline, meter
  event ``replacement``, ``MeterReset``); a last reading off the series is a replacement when it drops,
  else a bad row (``absurd_kwh``);
- each energy is stored at the later reading's time with its balance (the register-glitch case's right
  values, ``../shared/cases/README.md``, count the step that ends at 00:00 on the day it ends).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lib.importing.report import ImportFailed, ImportReport, MeterEvent, MeterReset, RowProblem
from lib.importing.rules import Seen, register_step, register_width

if TYPE_CHECKING:
    from lib.storage import Database

Bad = Callable[[int, "int | None", str, RowProblem, list[str]], None]
"""Report a bad row: ``bad(line, column index, value as written, problem, row)``."""


@dataclass
class _Suspect:
    """A register reading off its consumer's series (a drop, or a jump beyond ``max_kwh``), held until the
    next reading tells a glitch (the series goes on from before it) from a replaced meter (it stays)."""

    ts: str
    kwh: float
    line: int
    row: list[str]
    raw: str
    state: Seen


class RegisterSeries:
    """The register readings of one import, turned into interval energy (the module's rules).

    ``last``: consumer -> its latest register reading ``(ts, register kWh, line, balance_inr)`` (line 0: the
    stored baseline); ``carried``: consumer -> ts of the stored reading used as its baseline (its daily
    roll-ups start there); ``baselines``: consumer -> the stored reading ``(ts, kWh)`` read, or None.
    Resets, meter events, baselines, rollovers and the register width go to ``report``; bad rows to ``bad``
    (at ``ts_at`` for an order problem, ``kwh_at`` for a value).
    """

    def __init__(
        self,
        conn: Database,
        report: ImportReport,
        bad: Bad,
        ts_at: int,
        kwh_at: int,
        max_kwh: float,
        register_max: float | None = None,
    ) -> None:
        self.conn, self.report, self.bad = conn, report, bad
        self.ts_at, self.kwh_at, self.max_kwh, self.register_max = ts_at, kwh_at, max_kwh, register_max
        self.last: dict[str, tuple[str, float, int, float | None]] = {}
        self.suspects: dict[str, _Suspect] = {}
        self.carried: dict[str, str] = {}
        self.looked_up: set[str] = set()
        self.baselines: dict[str, tuple[str, float] | None] = {}

    def step(
        self,
        state: Seen,
        ts: str,
        raw_ts: str,
        kwh: float,
        raw_kwh: str,
        line: int,
        row: list[str],
        balance: float | None,
    ) -> tuple[float, tuple[str, float] | None] | None:
        """One register reading (``kwh``: its value in kWh, ``ts`` stored UTC text, ``state`` its consumer's
        ``Seen`` with ``ts`` recorded): None when it gives no energy now (a baseline, a reading held as off
        the series, or a bad row reported), else ``(kWh at ts, glitch part)``, the glitch part
        ``(ts of the removed reading, kWh)`` when the step spans a glitch (split by time), else None.
        """
        cid = state.consumer_id
        previous = self.last.get(cid)
        if previous is None and cid not in self.looked_up:
            # the last register reading of an earlier import, just before this one's first: the baseline
            self.looked_up.add(cid)
            stored = self.baselines[cid] = self.conn.readings.register_state(cid)
            if stored is not None and stored[0] < ts:
                previous = self.last[cid] = (stored[0], stored[1], 0, None)
                self.carried[cid] = stored[0]
        if previous is not None and ts < previous[0]:
            state.forget(ts)
            self.bad(line, self.ts_at, raw_ts, RowProblem("register_order", line=previous[2]), row)
            return None
        suspect = self.suspects.pop(cid, None)
        skipped: str | None = None  # a glitch's ts: the step spans its two intervals
        if suspect is not None and previous is not None:
            if self._replaced(previous[1], suspect.kwh, kwh):
                self._replacement(cid, suspect, previous[1])
                previous = self.last[cid]
            else:  # the series goes on from before it: one spurious reading
                skipped = suspect.ts
                self._glitch(cid, suspect, previous[1], kwh)
        if previous is None:
            self.last[cid] = (ts, kwh, line, balance)
            self.report.baselines += 1
            return None
        step = register_step(previous[1], kwh, self.max_kwh, self.register_max)
        if step is None:  # off the series: decided by the next reading
            self.suspects[cid] = _Suspect(ts, kwh, line, row, raw_kwh, state)
            return None
        energy, rolled = step
        self.report.rollovers += rolled
        if rolled:
            self.report.register_width = register_width(previous[1], self.register_max)
            self.report.meter_events.append(
                MeterEvent(cid, ts, "rollover", line, f"{previous[1]:g} -> {kwh:g}")
            )
        self.last[cid] = (ts, kwh, line, balance)
        if skipped is None:
            return energy, None
        # across a glitch the step is split by time over its two intervals, so no stored interval is twice
        # as long (peak kW and minutes covered stay right)
        share = _share(previous[0], skipped, ts)
        return energy * (1.0 - share), (skipped, energy * share)

    def _replaced(self, before: float, suspect: float, kwh: float) -> bool:
        """Whether a held reading starts a new series: ``kwh`` does not follow ``before`` but follows it."""
        return register_step(before, kwh, self.max_kwh, self.register_max) is None and (
            register_step(suspect, kwh, self.max_kwh, self.register_max) is not None
        )

    def _replacement(self, cid: str, suspect: _Suspect, before: float) -> None:
        """A replaced (or reset) meter: the held reading is the new baseline."""
        self.report.resets.append(MeterReset(cid, suspect.line, suspect.ts, before, suspect.kwh))
        self.report.meter_events.append(
            MeterEvent(cid, suspect.ts, "replacement", suspect.line, f"{before:g} -> {suspect.kwh:g}")
        )
        self.report.baselines += 1
        self.last[cid] = (suspect.ts, suspect.kwh, suspect.line, None)

    def _glitch(self, cid: str, suspect: _Suspect, before: float, following: float) -> None:
        """The held reading was one spurious value: a bad row and a ``glitch`` meter event."""
        suspect.state.forget(suspect.ts)
        problem = RowProblem(
            "register_glitch", previous=f"{before:g}", reading=f"{suspect.kwh:g}", following=f"{following:g}"
        )
        self.bad(suspect.line, self.kwh_at, suspect.raw, problem, suspect.row)
        self.report.meter_events.append(
            MeterEvent(
                cid, suspect.ts, "glitch", suspect.line, f"{before:g} -> {suspect.kwh:g} -> {following:g}"
            )
        )

    def close(self) -> None:
        """At the end of the file: a last reading off the series is a replacement when it drops (the next
        file's baseline), else a bad row (``absurd_kwh``)."""
        for cid, suspect in self.suspects.items():
            before = self.last[cid][1]
            if suspect.kwh < before:
                self._replacement(cid, suspect, before)
            else:
                suspect.state.forget(suspect.ts)
                problem = RowProblem("absurd_kwh", limit=f"{self.max_kwh:g}")
                self.bad(suspect.line, self.kwh_at, suspect.raw, problem, suspect.row)

    def check_unchanged(self) -> None:
        """Inside the import's transaction: the stored baselines read (outside the lock when staged) are still
        the stored ones; raises ``ImportFailed("register_changed")`` when another import moved one."""
        for cid, baseline in sorted(self.baselines.items()):
            if self.conn.readings.register_state(cid) != baseline:
                raise ImportFailed("register_changed", path=self.report.path, consumer_id=cid)

    def save(self) -> None:
        """Store the last register reading per consumer: the next register import's baseline."""
        if self.last:
            self.conn.readings.save_register_states(
                [(cid, ts, kwh) for cid, (ts, kwh, _, _) in self.last.items()]
            )


def _share(first: str, middle: str, last: str) -> float:
    """The part of ``[first, last]`` (stored UTC texts) before ``middle``: how a register step across one
    removed reading is split over its two intervals.

    >>> _share("2026-11-20T08:00:00Z", "2026-11-20T08:30:00Z", "2026-11-20T09:00:00Z")
    0.5
    """
    parse = dt.datetime.fromisoformat
    whole = (parse(last) - parse(first)).total_seconds()
    return (parse(middle) - parse(first)).total_seconds() / whole if whole > 0 else 1.0
