"""Storage of accounts, links, the consumer master, ledger inputs, anchors, meter events and the operator's reads,
on both engines (``any_conn``: SQLite, then PostgreSQL; issue 12). Rows go in through the modules themselves or
with plain SQL and named binds, never through readings or the demo, so these run wherever those stand."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from lib import storage
from lib.storage.engine import transaction

OWNER = "+919876500000"
STRANGER = "+919876599999"
LINKED_AT = "2026-01-01T00:00:00Z"
NOW = "2026-11-25T06:30:00Z"


def _consumer(conn, consumer_id: str, mobile: str = OWNER, **extra) -> None:
    storage.consumers.upsert_consumers(
        conn,
        [
            {
                "consumer_id": consumer_id,
                "name": f"Consumer {consumer_id}",
                "registered_mobile": mobile,
                **extra,
            }
        ],
    )


def _household(conn) -> tuple[int, int]:
    """Owner links 111 (Home) and 333 (Shop); the stranger links 222; 444 is nobody's."""
    _consumer(conn, "111", meter_serial="SM-1")
    _consumer(conn, "222", mobile=STRANGER, meter_serial="SM-2")
    _consumer(conn, "333", tariff_category="NDS-II", sanctioned_load_kw=2.0, division="Patna East")
    _consumer(conn, "444", mobile=STRANGER)
    owner = storage.accounts.create_account(conn, OWNER, now=LINKED_AT)
    stranger = storage.accounts.create_account(conn, STRANGER, now=LINKED_AT)
    with transaction(conn):
        storage.accounts.insert_link(conn, owner, "111", "Home", now=LINKED_AT)
        storage.accounts.insert_link(conn, owner, "333", "Shop", now="2026-01-02T00:00:00Z")
        storage.accounts.insert_link(conn, stranger, "222", "Theirs", now=LINKED_AT)
    return owner, stranger


# --- consumers --------------------------------------------------------------------------------------------


def test_upsert_consumers_counts_rows_and_stamps_a_changed_mobile(any_conn):
    conn = any_conn
    assert not storage.consumers.has_consumers(conn)
    assert storage.consumers.upsert_consumers(conn, []) == 0
    rows = [
        {"consumer_id": "111", "name": "A", "registered_mobile": OWNER},
        {"consumer_id": "222", "name": "B", "registered_mobile": STRANGER, "is_demo": 1},
    ]
    assert storage.consumers.upsert_consumers(conn, iter(rows)) == 2
    assert storage.consumers.has_consumers(conn) and storage.consumers.holds_real_data(conn)
    record = storage.consumers.consumer_record(conn, "111")
    assert record is not None
    assert (record["tariff_category"], record["sanctioned_load_kw"], record["is_demo"]) == ("DS-II", 1.0, 0)
    assert record["mobile_changed_at"] is None
    assert storage.consumers.consumer_record(conn, "999") is None
    # Same mobile: no stamp; a new mobile: stamped with now (the suite's fixed clock).
    storage.consumers.upsert_consumers(
        conn, [{"consumer_id": "111", "name": "A2", "registered_mobile": OWNER}]
    )
    assert storage.consumers.consumer_record(conn, "111")["mobile_changed_at"] is None
    storage.consumers.upsert_consumers(
        conn, [{"consumer_id": "111", "name": "A2", "registered_mobile": STRANGER}]
    )
    changed = storage.consumers.consumer_record(conn, "111")
    assert (changed["name"], changed["registered_mobile"], changed["mobile_changed_at"]) == (
        "A2",
        STRANGER,
        NOW,
    )


def test_consumer_lookups_by_id_and_serial(any_conn):
    conn = any_conn
    _consumer(conn, "111", meter_serial="SM-1", is_demo=1)
    _consumer(conn, "222", meter_serial="SM-2", is_demo=1)
    _consumer(conn, "333", meter_serial="SM-2", is_demo=1)  # two consumers, one serial: ambiguous
    assert not storage.consumers.holds_real_data(conn)
    wanted = ["111", "999", "111' OR '1'='1", "333"]
    assert storage.consumers.existing_consumer_ids(conn, wanted) == {"111", "333"}
    assert storage.consumers.existing_consumer_ids(conn, []) == set()
    rows = storage.consumers.consumer_rows(conn, ["333", "999", "111"])
    assert sorted(rows) == ["111", "333"]
    assert rows["333"] == {
        "consumer_id": "333",
        "name": "Consumer 333",
        "registered_mobile": OWNER,
        "tariff_category": "DS-II",
        "sanctioned_load_kw": 1.0,
        "division": None,
        "meter_serial": "SM-2",
        "is_demo": 1,
    }
    assert storage.consumers.consumer_rows(conn, []) == {}
    assert storage.consumers.consumer_ids_by_meter_serial(conn, ["SM-1", "SM-2", "SM-9"]) == {"SM-1": "111"}
    assert storage.consumers.consumer_ids_by_meter_serial(conn, []) == {}


# --- accounts and links -----------------------------------------------------------------------------------


def test_accounts_are_found_or_made_once_per_mobile(any_conn):
    conn = any_conn
    first = storage.accounts.create_account(conn, OWNER, language="en", display_name="Asha", now=LINKED_AT)
    again = storage.accounts.create_account(conn, OWNER, language="hi", now=NOW)
    other = storage.accounts.create_account(conn, STRANGER)
    assert first == again and other != first and isinstance(first, int)
    account = storage.accounts.account_by_mobile(conn, OWNER)
    assert account == {
        "account_id": first,
        "mobile": OWNER,
        "display_name": "Asha",
        "language": "en",
        "created_at": LINKED_AT,
    }
    storage.accounts.set_account_language(conn, first, "hi")
    assert storage.accounts.account_by_id(conn, first)["language"] == "hi"
    assert storage.accounts.account_by_id(conn, other)["created_at"] == NOW
    assert storage.accounts.account_by_mobile(conn, "+919800000000") is None
    assert storage.accounts.account_by_id(conn, 10**9) is None


def test_links_grant_reads_only_while_the_registered_mobile_is_unchanged(any_conn):
    conn = any_conn
    owner, stranger = _household(conn)
    assert storage.accounts.is_linked(conn, owner, "111")
    assert not storage.accounts.is_linked(conn, owner, "222")
    assert not storage.accounts.is_linked(conn, owner, "999")
    links = storage.accounts.linked_connections(conn, owner)
    assert [(link["consumer_id"], link["nickname"], link["active"]) for link in links] == [
        ("111", "Home", True),
        ("333", "Shop", True),
    ]
    assert links[1]["tariff_category"] == "NDS-II" and links[1]["sanctioned_load_kw"] == 2.0
    details = storage.accounts.connection_details(conn, owner)
    assert details.columns.tolist() == [
        "consumer_id",
        "nickname",
        "name",
        "tariff_category",
        "sanctioned_load_kw",
        "division",
        "meter_serial",
        "linked_at",
    ]
    assert details[["consumer_id", "nickname", "division"]].fillna("-").values.tolist() == [
        ["111", "Home", "-"],
        ["333", "Shop", "Patna East"],
    ]
    active = storage.accounts.accounts_with_active_links(conn)
    assert [(a["account_id"], a["mobile"], a["language"]) for a in active] == [
        (owner, OWNER, "hi"),
        (stranger, STRANGER, "hi"),
    ]

    # The registered mobile of 111 changes: the link is listed as stale and reads nothing.
    _consumer(conn, "111", mobile="+919800000001")
    assert not storage.accounts.is_linked(conn, owner, "111")
    assert [link["active"] for link in storage.accounts.linked_connections(conn, owner)] == [False, True]
    assert storage.accounts.connection_details(conn, owner)["consumer_id"].tolist() == ["333"]
    # Verified again (a new link with the new mobile): active again, with the nickname given now.
    storage.accounts.insert_link(conn, owner, "111", "Ghar", now=NOW)
    assert [
        (link["nickname"], link["active"]) for link in storage.accounts.linked_connections(conn, owner)
    ] == [
        ("Shop", True),
        ("Ghar", True),
    ]
    # Linking an unknown consumer writes nothing.
    storage.accounts.insert_link(conn, owner, "999", "Ghost", now=NOW)
    assert len(storage.accounts.linked_connections(conn, owner)) == 2


def test_rename_and_delete_touch_only_the_accounts_own_links(any_conn):
    conn = any_conn
    owner, stranger = _household(conn)
    version = storage.meta.consumer_versions(conn, ["111", "222"])
    assert not storage.accounts.rename_link(conn, owner, "222", "Mine now")
    assert storage.accounts.rename_link(conn, owner, "111", "Ghar")
    assert storage.accounts.linked_connections(conn, stranger)[0]["nickname"] == "Theirs"
    assert storage.accounts.linked_connections(conn, owner)[0]["nickname"] == "Ghar"
    after = storage.meta.consumer_versions(conn, ["111", "222"])
    assert after["111"] > version["111"] and after["222"] == version["222"]
    with transaction(conn):
        assert not storage.accounts.delete_link(conn, owner, "222")
        assert storage.accounts.delete_link(conn, owner, "111")
    assert not storage.accounts.delete_link(conn, owner, "111")
    assert [link["consumer_id"] for link in storage.accounts.linked_connections(conn, owner)] == ["333"]
    assert storage.accounts.is_linked(conn, stranger, "222")


# --- ledger inputs: arrears and adjustments ---------------------------------------------------------------


def test_arrears_are_written_read_and_deleted_through_the_link(any_conn):
    conn = any_conn
    owner, stranger = _household(conn)
    arrear = {
        "amount_inr": 300.0,
        "start_day": "2026-11-20",
        "method": "recharge_share",
        "share": 0.2,
        "daily_inr": None,
        "note": "bill",
        "now": NOW,
    }
    assert storage.ledger.insert_arrear(conn, owner, "222", **arrear) is None
    first = storage.ledger.insert_arrear(conn, owner, "111", **arrear)
    second = storage.ledger.insert_arrear(
        conn, owner, "333", **{**arrear, "method": "daily", "share": None, "daily_inr": 40.0, "note": None}
    )
    assert isinstance(first, int) and isinstance(second, int) and second > first
    frame = storage.ledger.arrears_frame(conn, owner)
    assert frame.columns.tolist() == [
        "arrear_id",
        "consumer_id",
        "amount_inr",
        "start_day",
        "method",
        "share",
        "daily_inr",
        "note",
        "created_at",
        "created_by",
        "author_mobile",
        "author_follows",
    ]
    assert frame[["arrear_id", "consumer_id", "method", "note"]].fillna("-").values.tolist() == [
        [first, "111", "recharge_share", "bill"],
        [second, "333", "daily", "-"],
    ]
    assert frame["share"].fillna(0).tolist() == [0.2, 0] and frame["daily_inr"].fillna(0).tolist() == [
        0,
        40.0,
    ]
    assert storage.ledger.arrears_frame(conn, owner, ["333"])["arrear_id"].tolist() == [second]
    assert storage.ledger.arrears_frame(conn, stranger).empty
    assert not storage.ledger.delete_arrear(conn, stranger, first)
    assert not storage.ledger.delete_arrear(conn, owner, 10**9)
    assert storage.ledger.delete_arrear(conn, owner, first)
    assert not storage.ledger.delete_arrear(conn, owner, first)
    assert storage.ledger.arrears_frame(conn, owner)["arrear_id"].tolist() == [second]


def test_adjustments_are_written_and_read_through_the_link(any_conn):
    conn = any_conn
    owner, stranger = _household(conn)
    before = storage.meta.consumer_versions(conn, ["111", "333"])
    assert (
        storage.ledger.insert_adjustment(conn, owner, "222", day="2026-11-20", amount_inr=5, reason="x")
        is None
    )
    debit = storage.ledger.insert_adjustment(
        conn, owner, "111", day="2026-11-21", amount_inr=-25.5, reason="meter test fee", now=NOW
    )
    credit = storage.ledger.insert_adjustment(
        conn, owner, "111", day="2026-11-20", amount_inr=10, reason="refund"
    )
    frame = storage.ledger.adjustments_frame(conn, owner)
    assert frame[["adjustment_id", "consumer_id", "day", "amount_inr", "reason"]].values.tolist() == [
        [credit, "111", "2026-11-20", 10.0, "refund"],
        [debit, "111", "2026-11-21", -25.5, "meter test fee"],
    ]
    assert frame["author_follows"].tolist() == [1, 1]  # 1/0 on both engines (EXISTS cast to an integer)
    assert storage.ledger.adjustments_frame(conn, owner, ["333"]).empty
    assert storage.ledger.adjustments_frame(conn, stranger).empty
    after = storage.meta.consumer_versions(conn, ["111", "333"])
    assert after["111"] > before["111"] and after["333"] == before["333"]


# --- balance anchors --------------------------------------------------------------------------------------


def test_anchors_need_an_active_link_to_be_written_read_or_deleted(any_conn):
    conn = any_conn
    owner, stranger = _household(conn)
    version = storage.meta.data_version(conn)
    assert storage.anchors.insert_anchor(conn, owner, "222", "2026-11-20", 10.0, now=NOW) is None
    assert storage.anchors.insert_anchor(conn, owner, "999", "2026-11-20", 10.0, now=NOW) is None
    assert storage.meta.data_version(conn) == version  # nothing written, nothing bumped
    first = storage.anchors.insert_anchor(conn, owner, "111", "2026-11-20", 412.5, now=NOW)
    second = storage.anchors.insert_anchor(conn, owner, "111", "2026-11-18", -12.4, now=NOW)
    assert isinstance(first, int) and isinstance(second, int) and second > first
    assert storage.meta.data_version(conn) != version
    frame = storage.anchors.anchors_frame(conn, owner)
    assert frame.columns.tolist() == ["anchor_id", "consumer_id", "day", "balance_inr", "created_at"]
    assert frame[["anchor_id", "day", "balance_inr"]].values.tolist() == [
        [second, "2026-11-18", -12.4],
        [first, "2026-11-20", 412.5],
    ]
    assert storage.anchors.anchors_frame(conn, owner, ["333"]).empty
    assert storage.anchors.anchors_frame(conn, stranger).empty
    assert storage.anchors.consumer_anchors_frame(conn, "111")["anchor_id"].tolist() == [second, first]
    assert not storage.anchors.delete_anchor(conn, stranger, first)
    assert storage.anchors.delete_anchor(conn, owner, first)
    assert not storage.anchors.delete_anchor(conn, owner, first)
    assert storage.anchors.anchors_frame(conn, owner)["anchor_id"].tolist() == [second]
    # A stale link (registered mobile changed) can neither add nor remove.
    _consumer(conn, "111", mobile="+919800000001")
    assert storage.anchors.insert_anchor(conn, owner, "111", "2026-11-21", 1.0) is None
    assert not storage.anchors.delete_anchor(conn, owner, second)
    assert storage.anchors.consumer_anchors_frame(conn, "111")["anchor_id"].tolist() == [second]


def test_an_anchor_beyond_ten_lakh_is_refused_by_the_table(any_conn):
    conn = any_conn
    owner, _ = _household(conn)
    with pytest.raises(storage.StorageError):
        conn.anchors.insert_anchor(owner, "111", "2026-11-20", 2_000_000.0)
    assert storage.anchors.anchors_frame(conn, owner).empty


# --- meter events -----------------------------------------------------------------------------------------


def _event(consumer_id: str, ts: str, kind: str, line: int | None = None, detail: str | None = None) -> dict:
    return {"consumer_id": consumer_id, "ts": ts, "kind": kind, "line": line, "detail": detail}


def test_meter_events_are_stored_once_and_read_by_ist_day_or_link(any_conn):
    conn = any_conn
    owner, _ = _household(conn)
    events = [
        _event("111", "2026-11-20T06:30:00Z", "replacement", 26, "4326.3 -> 8715"),
        _event("111", "2026-11-20T06:30:00Z", "glitch", 27),
        _event("111", "2026-11-21T18:30:00Z", "rollover"),  # 00:00 IST on the 22nd
        _event("222", "2026-11-20T06:30:00Z", "glitch"),
    ]
    with transaction(conn):
        assert storage.meter_events.insert_meter_events(conn, events + events[:1]) == 4
    assert storage.meter_events.insert_meter_events(conn, events) == 0
    assert (
        storage.meter_events.insert_meter_events(conn, [{"consumer_id": "333", "ts": NOW, "kind": "glitch"}])
        == 1
    )
    assert storage.meter_events.insert_meter_events(conn, []) == 0

    every = storage.meter_events.consumer_meter_events(conn, "111")
    assert every.columns.tolist() == ["consumer_id", "ts", "kind", "line", "detail"]
    assert every["kind"].tolist() == ["glitch", "replacement", "rollover"]
    assert str(every["ts"].dt.tz) == "UTC"
    assert every["detail"].tolist()[1] == "4326.3 -> 8715"
    day_21 = storage.meter_events.consumer_meter_events(
        conn, "111", dt.date(2026, 11, 21), dt.date(2026, 11, 21)
    )
    assert day_21.empty
    day_22 = storage.meter_events.consumer_meter_events(conn, "111", dt.date(2026, 11, 22))
    assert day_22["kind"].tolist() == ["rollover"]
    up_to_20 = storage.meter_events.consumer_meter_events(conn, "111", last_day=dt.date(2026, 11, 20))
    assert up_to_20["kind"].tolist() == ["glitch", "replacement"]

    mine = storage.meter_events.meter_events_frame(conn, owner)
    assert mine[["consumer_id", "kind"]].values.tolist() == [
        ["111", "glitch"],
        ["111", "replacement"],
        ["111", "rollover"],
        ["333", "glitch"],
    ]
    assert str(mine["ts"].dt.tz) == "UTC"
    assert storage.meter_events.meter_events_frame(conn, owner, ["222", "333"])["consumer_id"].tolist() == [
        "333"
    ]


# --- operator reads (check-connection) --------------------------------------------------------------------


def _daily_row(day: str, kwh: float, **extra) -> dict:
    return {
        "cid": "111",
        "day": day,
        "kwh": kwh,
        "intervals": 48,
        "peak_kwh": 0.5,
        "closing": 100.0 - kwh,
        "recharge": 0.0,
        "minutes": extra.get("minutes", 1440.0),
        "export_kwh": extra.get("export_kwh"),
    }


def test_operator_reads_one_connection_without_an_account(any_conn):
    conn = any_conn
    _household(conn)
    details = storage.operator.consumer_details(conn, "333")
    assert details.values.tolist() == [
        ["333", "Consumer 333", "Consumer 333", "NDS-II", 2.0, "Patna East", None],
    ]
    assert storage.operator.consumer_details(conn, "999").empty

    conn.executemany(
        "INSERT INTO daily (consumer_id, day, kwh, intervals, peak_kwh, closing_balance_inr, recharge_inr, "
        "minutes, export_kwh) VALUES (:cid, :day, :kwh, :intervals, :peak_kwh, :closing, :recharge, :minutes, "
        ":export_kwh)",
        [
            _daily_row("2026-11-20", 4.0),
            _daily_row("2026-11-21", 5.0, export_kwh=1.5),
            _daily_row("2026-11-22", 6.0),
        ],
    )
    daily = storage.operator.consumer_daily_frame(conn, "111", dt.date(2026, 11, 21))
    assert daily.columns.tolist() == [
        "consumer_id",
        "nickname",
        "day",
        "kwh",
        "intervals",
        "peak_kwh",
        "closing_balance_inr",
        "recharge_inr",
        "minutes",
        "export_kwh",
    ]
    assert daily["day"].dt.strftime("%Y-%m-%d").tolist() == ["2026-11-21", "2026-11-22"]
    assert daily["kwh"].tolist() == [5.0, 6.0] and daily["nickname"].tolist() == ["Consumer 111"] * 2
    whole = storage.operator.consumer_daily_frame(conn, "111", last_day=dt.date(2026, 11, 20))
    assert whole["kwh"].tolist() == [4.0]

    conn.executemany(
        "INSERT INTO readings (consumer_id, ts, kwh, balance_inr) VALUES (:cid, :ts, :kwh, :balance)",
        [
            {
                "cid": "111",
                "ts": "2026-11-20T18:00:00Z",
                "kwh": 0.5,
                "balance": 10.0,
            },  # 23:30 IST on the 20th
            {
                "cid": "111",
                "ts": "2026-11-20T18:30:00Z",
                "kwh": 0.25,
                "balance": None,
            },  # 00:00 IST on the 21st
            {"cid": "222", "ts": "2026-11-20T18:30:00Z", "kwh": 9.0, "balance": 1.0},
        ],
    )
    readings = storage.operator.consumer_readings_frame(
        conn, "111", dt.date(2026, 11, 21), dt.date(2026, 11, 21)
    )
    assert readings.columns.tolist()[:4] == ["consumer_id", "ts", "kwh", "balance_inr"]
    assert readings["ts"].tolist() == [pd.Timestamp("2026-11-20T18:30:00Z")]
    assert storage.operator.consumer_readings_frame(conn, "111")["kwh"].tolist() == [0.5, 0.25]

    conn.executemany(
        "INSERT INTO recharges (consumer_id, ts, amount_inr, mode, reference, kind) "
        "VALUES (:cid, :ts, :amount, 'UPI', :reference, :kind)",
        [
            {
                "cid": "111",
                "ts": "2026-11-21T05:00:00Z",
                "amount": -50.0,
                "reference": "R1",
                "kind": "reversal",
            },
            {
                "cid": "111",
                "ts": "2026-11-20T05:00:00Z",
                "amount": 50.0,
                "reference": "R1",
                "kind": "recharge",
            },
            {
                "cid": "222",
                "ts": "2026-11-20T05:00:00Z",
                "amount": 70.0,
                "reference": None,
                "kind": "recharge",
            },
        ],
    )
    paid = storage.operator.consumer_recharges_frame(conn, "111")
    assert paid.columns.tolist() == ["consumer_id", "ts", "amount_inr", "mode", "reference", "kind", "status"]
    assert paid[["amount_inr", "kind"]].values.tolist() == [[50.0, "recharge"], [-50.0, "reversal"]]
    assert str(paid["ts"].dt.tz) == "UTC"
