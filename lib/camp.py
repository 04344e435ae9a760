"""Camp mode: a field officer's offline demonstration on one laptop.

Switched on by server configuration only (``METERMITRA_CAMP=1`` or ``[camp] enabled = true`` in
``.streamlit/secrets.toml``); never by a URL or a widget. In camp mode:

- the app runs on its own demo database (``data/camp.db`` unless ``METERMITRA_DB`` names another),
  and refuses to start on the default production path or on a database that holds real data;
- SMS go to the outbox only (shown on screen as the visitor's phone), never to a real gateway;
- one button resets everything to the seeded demo between visitors, in well under 2 seconds,
  by copying a pristine snapshot (:func:`lib.storage.demo.restore_snapshot`).

>>> from lib.config import Settings
>>> from pathlib import Path
>>> check_camp_settings(Settings(db_path=Path("/tmp/camp.db"), camp_mode=True))
>>> check_camp_settings(Settings(db_path=Path("/tmp/camp.db"), camp_mode=True, sms_gateway="http"))
Traceback (most recent call last):
...
lib.camp.CampModeError: camp_error_real_gateway
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from lib import storage
from lib.clock import now_utc, today_ist
from lib.config import Settings


class CampModeError(RuntimeError):
    """Camp mode cannot start; ``str(error)`` is a catalog key the page shows in the user's language."""


def check_camp_settings(settings: Settings) -> None:
    """Refuse configurations that could touch real people: a real SMS gateway or the production DB path."""
    if not settings.camp_mode:
        return
    if settings.sms_gateway != "outbox":
        raise CampModeError("camp_error_real_gateway")
    if storage.engine.is_url(settings.db_path):
        # A camp is one offline laptop with file snapshots (reset = copy a file): never a shared server.
        raise CampModeError("camp_error_postgresql")
    if Path(settings.db_path).resolve() == storage.DEFAULT_DB.resolve():
        raise CampModeError("camp_error_production_path")


def check_camp_database(conn: storage.Database) -> None:
    """Refuse a database that holds any non-demo consumer."""
    if conn.consumers.holds_real_data():
        raise CampModeError("camp_error_real_data")


def snapshot_path(db_path: Path, day: dt.date) -> Path:
    """Where the pristine seed of ``day`` is kept, beside the camp database."""
    return Path(db_path).with_name(f"{Path(db_path).stem}.seed-{day.isoformat()}.db")


def ensure_snapshot(db_path: Path, *, now: dt.datetime | None = None) -> Path:
    """Build today's pristine demo snapshot once (the demo's readings end "today")."""
    from lib import demo

    now = now or now_utc()
    path = snapshot_path(db_path, today_ist(now))
    if path.exists():
        return path
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    conn = storage.connect(partial)
    try:
        storage.migrate(conn)
        demo.seed_demo(conn, now=now, lang="hi")  # camp mode is Hindi first (घर, दुकान, …)
        conn.demo.checkpoint()
    finally:
        conn.close()
    for stale in Path(db_path).parent.glob(f"{Path(db_path).stem}.seed-*.db"):
        stale.unlink(missing_ok=True)
    os.replace(partial, path)
    for suffix in ("-wal", "-shm"):
        Path(str(partial) + suffix).unlink(missing_ok=True)
    return path


def reset_demo(db_path: Path, *, now: dt.datetime | None = None) -> None:
    """Restore the camp database to the seeded demo: accounts, links, OTPs, outbox and all.

    Refuses (CampModeError) when the database holds real data. Bumps the ``camp_generation`` so that
    every open browser session signs out.
    """
    snapshot = ensure_snapshot(db_path, now=now)
    conn = storage.connect(db_path)
    try:
        storage.migrate(conn)
        check_camp_database(conn)
        generation = int(conn.meta.get_meta("camp_generation") or 0) + 1
        storage.demo.restore_snapshot(snapshot, conn)
        with conn.transaction():
            conn.meta.set_meta("camp_generation", str(generation))
            conn.meta.bump_data_version()
    finally:
        conn.close()


def camp_generation(conn: storage.Database) -> str:
    """Changes at every reset; a session that saw another generation is signed out."""
    return conn.meta.get_meta("camp_generation") or "0"


def prepare_camp_database(settings: Settings, *, now: dt.datetime | None = None) -> None:
    """Startup check for camp mode: settings and database are safe; an empty database gets the demo."""
    check_camp_settings(settings)
    conn = storage.connect(settings.db_path)
    try:
        storage.migrate(conn)
        check_camp_database(conn)
        empty = not conn.consumers.has_consumers()
    finally:
        conn.close()
    if empty:
        reset_demo(Path(settings.db_path), now=now)  # a file: check_camp_settings refused a server URL
