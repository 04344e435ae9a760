"""Server configuration: from the environment first, then ``.streamlit/secrets.toml``; never from the repo,
a URL or a widget.

>>> s = load_settings(env={"METERMITRA_CAMP": "1", "METERMITRA_DB": "/tmp/camp.db"}, secrets_path=None)
>>> s.camp_mode, s.sms_gateway, str(s.db_path)
(True, 'outbox', '/tmp/camp.db')

Environment variables (each also readable from ``secrets.toml``, section in brackets):

=========================== ===================== ==============================================
``METERMITRA_DB``            ``[store] db``        SQLite file (default ``data/metermitra.db``;
                                                   ``data/camp.db`` in camp mode) or a
                                                   ``postgresql://`` URL (docs/DEPLOY.md)
``METERMITRA_CAMP``          ``[camp] enabled``    camp mode: demo database, on-screen phone
``METERMITRA_SMS_GATEWAY``   ``[sms] gateway``     ``outbox`` (default) or ``http``
``METERMITRA_SMS_DAILY_BUDGET`` ``[sms] daily_budget`` global SMS cap per day (default 1000)
``METERMITRA_OTP_KEY``       ``[otp] key``         HMAC key for OTPs (64 hex characters, or >= 32
                                                   random bytes of text; low-entropy keys refused)
``METERMITRA_OTP_PREVIOUS_KEYS`` ``[otp] previous_keys`` retired keys (comma-separated / a list): live
                                                   challenges made with them still verify
=========================== ===================== ==============================================
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = ROOT / "data" / "metermitra.db"


SECRETS_PATH = ROOT / ".streamlit" / "secrets.toml"
CAMP_DB = ROOT / "data" / "camp.db"
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    db_path: Path | str  # an SQLite file, or a postgresql:// URL (kept as text: a Path would fold its '//')
    camp_mode: bool = False
    sms_gateway: str = "outbox"
    sms_daily_budget: int = 1000
    otp_key: str | None = None
    otp_previous_keys: tuple[str, ...] = ()
    sms_http: Mapping[str, Any] = field(default_factory=dict)  # url, api_key, entity_id, sender_id, templates


def _database(value: str) -> Path | str:
    """A database setting: a server URL stays text, anything else is an SQLite file path.

    >>> _database("postgresql://mm@db.internal/metermitra"), _database("data/x.db")
    ('postgresql://mm@db.internal/metermitra', PosixPath('data/x.db'))
    """
    return value.strip() if "://" in value else Path(value)


def read_secrets(path: Path | None = SECRETS_PATH) -> dict[str, Any]:
    """The parsed ``secrets.toml`` (empty when absent)."""
    if path is None or not path.exists():
        return {}
    with path.open("rb") as handle:
        return tomllib.load(handle)


def load_settings(env: Mapping[str, str] | None = None, secrets_path: Path | None = SECRETS_PATH) -> Settings:
    """Resolve the settings; the environment wins over ``secrets.toml``."""
    env = os.environ if env is None else env
    secrets = read_secrets(secrets_path)

    def pick(var: str, section: str, key: str, default: Any = None) -> Any:
        if env.get(var) not in (None, ""):
            return env[var]
        return secrets.get(section, {}).get(key, default)

    camp = str(pick("METERMITRA_CAMP", "camp", "enabled", "0")).strip().lower() in _TRUE
    # Camp mode has its own demo database unless one is named explicitly.
    default_db = CAMP_DB if camp else DEFAULT_DB
    return Settings(
        db_path=_database(str(pick("METERMITRA_DB", "store", "db", str(default_db)))),
        camp_mode=camp,
        sms_gateway=str(pick("METERMITRA_SMS_GATEWAY", "sms", "gateway", "outbox")).strip().lower(),
        sms_daily_budget=int(pick("METERMITRA_SMS_DAILY_BUDGET", "sms", "daily_budget", 1000)),
        otp_key=pick("METERMITRA_OTP_KEY", "otp", "key"),
        otp_previous_keys=_key_list(pick("METERMITRA_OTP_PREVIOUS_KEYS", "otp", "previous_keys", ())),
        sms_http=dict(secrets.get("sms", {}).get("http", {})),
    )


def _key_list(value: Any) -> tuple[str, ...]:
    """``"a,b"`` or ``["a", "b"]`` as a tuple of non-empty keys.

    >>> _key_list("ab, cd"), _key_list(["ef"]), _key_list(())
    (('ab', 'cd'), ('ef',), ())
    """
    items = value.split(",") if isinstance(value, str) else list(value or ())
    return tuple(str(item).strip() for item in items if str(item).strip())
