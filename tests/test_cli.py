"""lib.cli: every command's happy path and refusals, exit codes, the real London file, a killed import."""

from __future__ import annotations

import csv
import io
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lib import cli, importing, storage

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
LONDON = "lcl_london_halfhourly_2013_5households.csv"
LONDON_FLAGS = ["--id-col", "LCLid", "--time-col", "tstp", "--kwh-col", "energy(kWh/hh)"]
pytestmark = pytest.mark.both_engines  # every db_path test on SQLite and on PostgreSQL (issue 12)


def run(*argv: str | Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main([str(a) for a in argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def count(path: Path, table: str) -> int:
    with storage.open_db(path) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def dump(path: Path) -> dict[str, list[tuple]]:
    with storage.open_db(path) as conn:
        return {
            table: [tuple(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2")]
            for table in ("consumers", "readings", "recharges", "daily", "meta")
        }


@pytest.fixture
def master(db_path: Path) -> Path:
    code, out, _ = run("import-consumers", DATA / "consumers.csv")
    assert code == 0, out
    return db_path


# --- help and the entry point ---------------------------------------------------------------------


def test_module_entry_point_lists_every_command():
    result = subprocess.run(
        [sys.executable, "-m", "lib.cli", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    for name in cli.COMMANDS:
        assert name in result.stdout
    assert {"import-consumers", "import-readings", "import-recharges", "seed-demo", "export-daily"} <= set(
        cli.COMMANDS
    )


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_every_command_has_help(name, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main([name, "--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: python -m lib.cli {name}")
    assert cli.COMMANDS[name].define.__doc__.split()[0] in text  # the command's own description


def test_wrong_usage_exits_2(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["import-readings"])
    assert stop.value.code == 2
    assert "the following arguments are required: file" in capsys.readouterr().err


def test_database_comes_from_settings_unless_db_is_given(db_path, tmp_path):
    other = tmp_path / "other.db"
    assert run("--db", other, "import-consumers", DATA / "consumers.csv")[0] == 0
    assert count(other, "consumers") == 3 and count(db_path, "consumers") == 0
    assert run("import-consumers", DATA / "consumers.csv")[0] == 0  # METERMITRA_DB (conftest)
    assert count(db_path, "consumers") == 3


# --- imports --------------------------------------------------------------------------------------


def test_import_consumers_happy_path(db_path):
    code, out, err = run("import-consumers", DATA / "consumers.csv")
    assert (code, err) == (0, "")
    assert out.strip() == f"{DATA / 'consumers.csv'}: 3 rows read, 3 new, 0 updated, 0 unchanged."
    code, out, _ = run("import-consumers", DATA / "consumers.csv")
    assert out.strip().endswith("0 new, 0 updated, 3 unchanged.")


def test_import_readings_and_recharges_happy_path_then_reimport(master):
    code, out, err = run("import-readings", DATA / "readings.csv")
    assert (code, err) == (0, "")
    assert out.strip() == f"{DATA / 'readings.csv'}: 6 rows read, 6 added, 0 already stored."
    assert run("import-recharges", DATA / "recharges.csv")[0] == 0
    before = dump(master)
    assert run("import-readings", DATA / "readings.csv")[1].strip().endswith("0 added, 6 already stored.")
    assert run("import-recharges", DATA / "recharges.csv")[0] == 0
    assert dump(master) == before


def test_strict_import_with_bad_rows_exits_1_and_imports_nothing(master, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(
        "consumer_id,timestamp,kwh\n101234567,2026-11-24 10:00,0.2\n777,2026-11-24 10:00,0.2\n"
        "101234567,2026-11-24 10:30,-3\n",
        encoding="utf-8",
    )
    code, out, err = run("import-readings", path)
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"{path}: 2 bad rows: nothing imported. First 2:",
        "  line 3, column 'consumer_id', value '777': unknown consumer ID (not in the consumer master)",
        "  line 4, column 'kwh', value '-3': negative energy (energy sent to the grid? use --kwh-kind net)",
    ]
    assert count(master, "readings") == 0
    assert not (tmp_path / "r.csv.rejects.csv").exists()


def test_skip_invalid_prints_where_the_rejects_are(master, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(
        "consumer_id,timestamp,kwh\n101234567,2026-11-24 10:00,0.2\n101234567,2026-11-24 10:30,x\n",
        encoding="utf-8",
    )
    code, out, _ = run("import-readings", path, "--skip-invalid")
    rejects = tmp_path / "r.csv.rejects.csv"
    assert code == 0
    assert f"1 bad rows skipped; every one, with its reason, is in {rejects}" in out
    assert (
        rejects.read_text(encoding="utf-8").splitlines()[1]
        == "3,kwh,x,not_a_number,not a number,101234567,2026-11-24 10:30,x"
    )
    custom = tmp_path / "mine.csv"
    path.write_text(path.read_text(encoding="utf-8") + "101234567,2026-11-24 11:00,y\n", encoding="utf-8")
    code, out, _ = run("import-readings", path, "--skip-invalid", "--rejects", custom)
    assert code == 0 and f"is in {custom}" in out
    assert len(custom.read_text(encoding="utf-8").splitlines()) == 3
    assert count(master, "readings") == 1


def test_strict_import_can_still_write_the_rejects_file(master, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(
        "consumer_id,timestamp,kwh\n101234567,2026-11-24 10:00,0.2\n101234567,soon,0.2\n", encoding="utf-8"
    )
    rejects = tmp_path / "why.csv"
    code, _, err = run("import-readings", path, "--rejects", rejects)
    assert code == 1 and err.splitlines()[-1] == f"every bad row, with its reason, is in {rejects}"
    assert (
        rejects.read_text(encoding="utf-8")
        .splitlines()[1]
        .startswith("3,timestamp,soon,time_format,not a date and time")
    )
    assert count(master, "readings") == 0


# Where an import is interrupted, per engine: while reading the file (SQLite stages each chunk outside the
# write lock, PostgreSQL COPYs it into readings inside the import's transaction), or after the file (SQLite
# moves the staged rows in; PostgreSQL rolls up the days) before COMMIT.
INTERRUPTED_AT = {
    ("sqlite", "reading"): ("staging", "stage_readings"),
    ("sqlite", "finishing"): ("staging", "move_readings"),
    ("postgresql", "reading"): ("readings", "insert_readings"),
    ("postgresql", "finishing"): ("readings", "refresh_daily"),
}


@pytest.mark.parametrize("where", ["reading", "finishing"])
def test_interrupted_import_exits_130_and_writes_nothing(master, monkeypatch, engine, where):
    def interrupted(*args, **options):
        raise KeyboardInterrupt

    group, name = INTERRUPTED_AT[engine, where]
    monkeypatch.setattr(getattr(storage, group), name, interrupted)
    code, out, err = run("import-readings", DATA / "readings.csv")
    assert (code, out, err.strip()) == (130, "", "interrupted: nothing was written")
    assert count(master, "readings") == 0


def test_column_flags_and_register_kind(master):
    code, out, _ = run(
        "import-readings",
        DATA / "register.csv",
        "--consumer-id",
        "101234567",
        "--time-col",
        "meter_time",
        "--kwh-col",
        "reading_kwh",
        "--kwh-kind",
        "register",
    )
    assert code == 0
    assert "6 rows read, 4 added, 0 already stored, 2 baselines." in out
    assert "1 meter resets or replacements detected" in out
    with storage.open_db(master) as conn:
        assert round(conn.execute("SELECT sum(kwh) FROM readings").fetchone()[0], 6) == 2.25


def test_file_level_problems_are_one_clear_line(master, tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "header.csv").write_text("consumer_id,timestamp,amount_inr\r\n", encoding="utf-8")
    cases = [
        (["import-readings", tmp_path / "missing.csv"], "cannot read"),
        (["import-readings", tmp_path / "empty.csv"], "is empty: expected a header row"),
        (["import-recharges", tmp_path / "header.csv"], "has a header but no data rows"),
        (
            ["import-readings", DATA / "readings.csv", "--kwh-col", "energy"],
            "missing required column 'energy'",
        ),
        (["import-readings", DATA / "readings.csv", "--tz", "IST"], "unknown time zone 'IST'"),
    ]
    for argv, expected in cases:
        code, out, err = run(*argv)
        assert code == 1 and out == ""
        assert expected in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_unexpected_errors_show_no_traceback_unless_debug(master, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("boom")

    monkeypatch.setattr(importing, "import_readings", broken)
    code, out, err = run("import-readings", DATA / "readings.csv")
    assert code == 1
    assert err.strip() == "unexpected error: KeyError: 'boom' (run with --debug for details)"
    with pytest.raises(KeyError):
        run("--debug", "import-readings", DATA / "readings.csv")


def test_a_file_that_is_not_a_database_is_one_clear_line(tmp_path):
    not_db = tmp_path / "notes.db"
    not_db.write_text("these are my notes, not a database\n" * 100, encoding="utf-8")
    code, out, err = run("--db", not_db, "import-consumers", DATA / "consumers.csv")
    assert (code, out) == (1, "")
    assert err.strip() == f"database error ({not_db}): file is not a database"
    assert not_db.read_text(encoding="utf-8").startswith("these are my notes")


def test_progress_bar_only_on_a_terminal(master, tmp_path, monkeypatch):
    monkeypatch.setattr(importing.sources, "CHUNK_ROWS", 100)
    path = tmp_path / "many.csv"
    path.write_text(
        "consumer_id,timestamp,kwh\n"
        + "".join(
            f"101234567,2026-10-{1 + i // 48:02d} {i % 48 // 2:02d}:{30 * (i % 2):02d},0.1\n"
            for i in range(1200)
        ),
        encoding="utf-8",
    )

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    assert cli.main(["import-readings", str(path)], out=io.StringIO(), err=terminal) == 0
    frames = terminal.getvalue().split("\r")[1:]
    assert len(frames) >= 3  # redrawn while the file is read, not only at the end
    assert frames[0].startswith("[") and "100%" not in frames[0]
    assert frames[-1].startswith("[" + "#" * 30 + "] 100%") and frames[-1].endswith("MB\n")
    plain = io.StringIO()
    cli.main(["import-readings", str(path)], out=io.StringIO(), err=plain)
    assert plain.getvalue() == ""


# --- export ---------------------------------------------------------------------------------------


def test_export_daily_to_stdout_and_to_a_file(master, tmp_path):
    run("import-readings", DATA / "readings.csv")
    run("import-recharges", DATA / "recharges.csv")
    code, out, err = run("export-daily", "--consumer", "101234567")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "date,consumer_id,kwh,closing_balance_inr,recharge_inr,export_kwh",
        "2026-11-24,101234567,0.740,498.10,1500.00,",  # 23:45 IST stays on the 24th
        "2026-11-25,101234567,0.300,497.20,0.00,",
    ]
    target = tmp_path / "daily.csv"
    code, out, err = run("export-daily", "--consumer", "101234568", "--from", "2026-11-23", "--out", target)
    assert (code, out) == (0, "")
    assert err.strip() == f"2 days of consumer 101234568 written to {target}"
    with target.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0] == {
        "date": "2026-11-23",
        "consumer_id": "101234568",
        "kwh": "",  # a recharge day without readings: empty, never 0
        "closing_balance_inr": "",
        "recharge_inr": "2000.00",
        "export_kwh": "",  # no export channel: empty
    }
    assert [p.name for p in tmp_path.glob("*daily.csv*")] == ["daily.csv"]  # no temporary file left


def test_export_daily_guards_an_id_a_spreadsheet_would_run(db_path, tmp_path):
    """Issue 13 item 13: a consumer ID is imported text; one starting with = + - @ is written guarded."""
    consumers = tmp_path / "c.csv"
    consumers.write_text(
        'consumer_id,name,registered_mobile\n"=1+2",Asha,9876543210\n@SUM(A1),Ravi,9876543211\n'
    )
    readings = tmp_path / "r.csv"
    readings.write_text(
        'consumer_id,timestamp,kwh\n"=1+2",2026-11-24T10:00:00,0.5\n@SUM(A1),2026-11-24T10:00:00,0.25\n'
    )
    assert run("import-consumers", consumers)[0] == 0
    assert run("import-readings", readings)[0] == 0
    for consumer_id in ("=1+2", "@SUM(A1)"):
        code, out, err = run("export-daily", "--consumer", consumer_id)
        assert (code, err) == (0, "")
        (row,) = list(csv.DictReader(io.StringIO(out)))
        assert row["consumer_id"] == "'" + consumer_id and row["date"] == "2026-11-24"


def test_export_daily_refusals(master, tmp_path, capsys):
    code, _, err = run("export-daily", "--consumer", "404", "--out", tmp_path / "x.csv")
    assert code == 1 and "'404' is not in the consumer master" in err
    assert not (tmp_path / "x.csv").exists()
    with pytest.raises(SystemExit) as stop:
        cli.main(["export-daily", "--consumer", "101234567", "--from", "2026-13-01"])
    assert stop.value.code == 2
    assert "not a date (YYYY-MM-DD): '2026-13-01'" in capsys.readouterr().err


# --- seed-demo ------------------------------------------------------------------------------------


def test_seed_demo_fills_an_empty_database_and_refuses_real_data(db_path, tmp_path):
    code, out, _ = run("seed-demo")
    assert code == 0 and out.startswith(f"demo data written to {storage.engine.display_target(db_path)}:")
    with storage.open_db(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM consumers WHERE is_demo = 0").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM readings").fetchone()[0] > 17_000
    real = tmp_path / "real.db"
    run("--db", real, "import-consumers", DATA / "consumers.csv")
    before = dump(real)
    code, out, err = run("--db", real, "seed-demo")
    assert code == 1 and "holds real consumers" in err
    assert dump(real) == before
    assert run("--db", real, "seed-demo", "--force")[0] == 0
    assert count(real, "readings") > 17_000


def test_seed_demo_refuses_a_database_configured_for_production_even_forced(db_path, monkeypatch):
    """Issue 13 item 12: demo data (and its mobiles) never go where the production SMS gateway sends."""
    monkeypatch.setenv("METERMITRA_SMS_GATEWAY", "http")
    for extra in ((), ("--force",)):
        code, out, err = run("seed-demo", *extra)
        assert code == 1 and out == ""
        assert "SMS gateway is 'http'" in err and "METERMITRA_SMS_GATEWAY=outbox" in err
        assert "Traceback" not in err
        assert count(db_path, "consumers") == 0
    monkeypatch.setenv("METERMITRA_SMS_GATEWAY", "outbox")
    assert run("seed-demo")[0] == 0


# --- the real file, and a killed import -----------------------------------------------------------


@pytest.fixture
def london(shared_data: Path, db_path: Path, tmp_path: Path) -> Path:
    """The five LCL households imported as consumers (real IDs, made-up mobiles)."""
    path = tmp_path / "lcl_consumers.csv"
    ids = ["MAC000007", "MAC000009", "MAC000010", "MAC000011", "MAC000013"]
    path.write_text(
        "consumer_id,name,registered_mobile\n"
        + "".join(f"{cid},London household {cid},98765432{i:02d}\n" for i, cid in enumerate(ids)),
        encoding="utf-8",
    )
    assert run("import-consumers", path)[0] == 0
    return shared_data / LONDON


def _file_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _file_totals(path: Path) -> dict[str, float]:
    totals: dict[str, float] = {}
    for row in _file_rows(path):
        totals[row["LCLid"]] = totals.get(row["LCLid"], 0.0) + float(row["energy(kWh/hh)"])
    return {k: round(v, 3) for k, v in totals.items()}


def test_real_london_file_with_column_flags_and_its_dst_hours(london, db_path, tmp_path):
    """The LCL file has 48 half hours on every day of 2013, including 01:00 and 01:30 on 31 March
    (which do not exist in UK local time) and a single 01:00 and 01:30 on 27 October: the trial's
    clock stayed on GMT. Read as Europe/London, those 20 rows are bad (10 missing-hour, 10 ambiguous);
    strict mode imports nothing, --skip-invalid imports the rest. Read as UTC, every row fits."""
    strict = run("import-readings", london, *LONDON_FLAGS, "--tz", "Europe/London")
    assert strict[0] == 1 and "20 bad rows: nothing imported" in strict[2]
    assert count(db_path, "readings") == 0

    rejects = tmp_path / "lcl.rejects.csv"
    code, out, _ = run(
        "import-readings",
        london,
        *LONDON_FLAGS,
        "--tz",
        "Europe/London",
        "--skip-invalid",
        "--rejects",
        rejects,
    )
    assert code == 0
    rows = len(_file_rows(london))
    assert f"{rows} rows read, {rows - 20} added, 0 already stored." in out
    with rejects.open(encoding="utf-8", newline="") as handle:
        rejected = list(csv.DictReader(handle))
    assert len(rejected) == 20
    assert {r["tstp"] for r in rejected} == {
        "2013-03-31 01:00:00",
        "2013-03-31 01:30:00",
        "2013-10-27 01:00:00",
        "2013-10-27 01:30:00",
    }
    assert sum("does not exist" in r["reason"] for r in rejected) == 10
    assert sum("ambiguous" in r["reason"] for r in rejected) == 10
    # the summer readings are an hour earlier in UTC: 2013-07-01 00:00 BST = 2013-06-30T23:00:00Z
    with storage.open_db(db_path) as conn:
        assert conn.execute(
            "SELECT kwh FROM readings WHERE consumer_id = 'MAC000007' AND ts = '2013-06-30T23:00:00Z'"
        ).fetchone()


def test_real_london_file_read_as_utc_imports_every_row(london, db_path):
    code, out, _ = run("import-readings", london, *LONDON_FLAGS, "--tz", "UTC")
    rows = len(_file_rows(london))
    assert code == 0 and f"{rows} rows read, {rows} added, 0 already stored." in out
    with storage.open_db(db_path) as conn:
        stored = {
            cid: round(total, 3)
            for cid, total in conn.execute("SELECT consumer_id, sum(kwh) FROM daily GROUP BY consumer_id")
        }
        days = conn.execute("SELECT count(*) FROM daily WHERE consumer_id = 'MAC000010'").fetchone()[0]
    assert stored == _file_totals(london)  # the daily roll-ups hold every kWh of the file
    assert days == 366  # 2013 in UTC spans 366 IST days (the last 5.5 hours fall on 1 Jan 2014)


KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from lib import cli, importing, storage
    importing.sources.CHUNK_ROWS = 100
    group, name = sys.argv[3].split(".")  # staging.stage_readings (a chunk), readings.refresh_daily (moved)
    real = getattr(getattr(storage, group), name)
    calls = []
    def write_then_die(*args, **options):
        calls.append(1)
        done = real(*args, **options)
        if len(calls) == int(sys.argv[2]):
            os.kill(os.getpid(), signal.SIGKILL)
        return done
    setattr(getattr(storage, group), name, write_then_die)
    sys.exit(cli.main(["import-readings", sys.argv[1]]))
    """
)


@pytest.mark.sqlite_only("kills the import inside SQLite's staging file, then checks the file's integrity")
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
@pytest.mark.parametrize(
    "where",
    ["staging.stage_readings", "readings.refresh_daily"],  # reading the file; after the move, before COMMIT
)
def test_an_import_killed_midway_leaves_the_database_as_it_was(master, tmp_path, where):
    path = tmp_path / "big.csv"
    path.write_text(
        "consumer_id,timestamp,kwh\n"
        + "".join(
            f"101234567,2026-10-{1 + i // 48:02d} {i % 48 // 2:02d}:{30 * (i % 2):02d},0.1\n"
            for i in range(1000)
        ),
        encoding="utf-8",
    )
    before = dump(master)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    killed = subprocess.run(
        [sys.executable, "-c", KILLER, str(path), "5" if where.startswith("staging") else "1", where],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert dump(master) == before
    with sqlite3.connect(master) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # the same script without the kill (it never reaches call 99) imports everything
    done = subprocess.run(
        [sys.executable, "-c", KILLER, str(path), "99", where],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert count(master, "readings") == 1000


# --- check-connection (issue 11 section 4) ---------------------------------------------------------------


def _shared_case(name: str) -> Path:
    folder = Path(__file__).resolve().parent.parent.parent / "shared" / "cases" / name
    if not folder.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the shared case is missing: {folder}")
        pytest.skip(f"shared case not found at {folder}")
    return folder


def test_check_connection_json_on_the_late_credit_case(tmp_path, monkeypatch):
    import json

    monkeypatch.setenv("METERMITRA_NOW", "2026-11-28T10:00:00+05:30")
    folder = _shared_case("late-recharge-credit")
    db = str(tmp_path / "c.db")
    for command, name in [
        ("import-consumers", "consumers"),
        ("import-readings", "readings"),
        ("import-recharges", "recharges"),
    ]:
        assert cli.main(["--db", db, command, str(folder / f"{name}.csv")], out=io.StringIO()) == 0
    out = io.StringIO()
    assert cli.main(["--db", db, "check-connection", "--consumer", "201000001", "--json"], out=out) == 0
    facts = json.loads(out.getvalue())
    assert facts["unexplained"] == [] and facts["unexplained_net_inr"] == 0
    assert facts["late_credits"] == [
        {
            "paid_at": "2026-11-24T21:10:00+05:30",
            "credited_at": "2026-11-25T01:00:00+05:30",
            "amount_inr": 500.0,
        }
    ]
    assert facts["interval_minutes"] == 60 and facts["days"] == 27 and facts["days_with_gaps"] == []
    for key in (
        "consumer_id",
        "peak_kw",
        "peak_at",
        "sanctioned_load_kw",
        "over_sanctioned_load",
        "import_kwh",
        "export_kwh",
        "meter_replacements",
        "glitches",
        "interval_changes",
    ):
        assert key in facts
    # --from/--to narrow it; the text form says the same in a few lines.
    out = io.StringIO()
    assert (
        cli.main(
            [
                "--db",
                db,
                "check-connection",
                "--consumer",
                "201000001",
                "--from",
                "2026-11-20",
                "--to",
                "2026-11-26",
            ],
            out=out,
        )
        == 0
    )
    text = out.getvalue()
    assert (
        "7 days" in text
        and "late credit: Rs 500.00 paid 2026-11-24T21:10" in text
        and "unexplained: none" in text
    )


def test_check_connection_flags_the_period_change_25_rupees(tmp_path, monkeypatch):
    import json

    monkeypatch.setenv("METERMITRA_NOW", "2026-11-28T10:00:00+05:30")
    folder = _shared_case("interval-length")
    db = str(tmp_path / "c.db")
    assert cli.main(["--db", db, "import-consumers", str(folder / "consumers.csv")], out=io.StringIO()) == 0
    assert (
        cli.main(["--db", db, "import-readings", str(folder / "period_change.csv")], out=io.StringIO()) == 0
    )
    out = io.StringIO()
    assert cli.main(["--db", db, "check-connection", "--consumer", "201000013", "--json"], out=out) == 0
    facts = json.loads(out.getvalue())
    assert (
        facts["unexplained"] == [{"date": "2026-11-17", "amount_inr": 25.0}]
        and facts["unexplained_net_inr"] == 25.0
    )
    assert facts["interval_changes"] == [{"date": "2026-11-20", "from": 30, "to": 15}]


def test_check_connection_of_an_unknown_consumer_fails_in_one_line(tmp_path):
    err = io.StringIO()
    assert (
        cli.main(["--db", str(tmp_path / "c.db"), "check-connection", "--consumer", "nobody"], err=err) == 1
    )
    assert err.getvalue().strip() == "consumer ID 'nobody' is not in the consumer master"


# --- import-recharges: identity, status, money going back (issue 11 section 2) ------------------


@pytest.fixture
def recharge_case(monkeypatch: pytest.MonkeyPatch, db_path: Path) -> Path:
    """../shared/cases/recharge-identity with its consumer imported, on the cases' clock (28 Nov)."""
    monkeypatch.setenv("METERMITRA_NOW", "2026-11-28T10:00:00+05:30")
    folder = _shared_case("recharge-identity")
    assert run("import-consumers", folder / "consumers.csv")[0] == 0
    return folder


def recharges_by_day(db: Path) -> dict[str, float]:
    with storage.open_db(db) as conn:
        return dict(
            conn.execute("SELECT day, recharge_inr FROM daily WHERE consumer_id = '201000001'").fetchall()
        )


def stored_recharges(db: Path) -> list[tuple]:
    with storage.open_db(db) as conn:
        return [
            tuple(r)
            for r in conn.execute(
                "SELECT reference, kind, amount_inr, status FROM recharges ORDER BY reference, kind"
            )
        ]


@pytest.mark.parametrize("gateway_first", [True, False])
def test_case_recharge_identity_both_files_in_either_order(recharge_case, db_path, gateway_first):
    gateway = ["import-recharges", recharge_case / "payments_export.csv", "--reference-col", "reference"]
    gateway += ["--status-col", "status"]
    discom = ["import-recharges", recharge_case / "discom_recharge_history.csv"]
    outputs = []
    for argv in (gateway, discom) if gateway_first else (discom, gateway):
        code, out, err = run(*argv)
        assert (code, err) == (0, ""), err
        outputs.append(out)
    paid = recharges_by_day(db_path)
    assert paid["2026-11-24"] == 1000.0
    assert [paid.get(day, 0.0) for day in ("2026-11-25", "2026-11-26", "2026-11-27")] == [0.0, 0.0, 0.0]
    assert stored_recharges(db_path) == [
        ("UPI-TEST-884101", "recharge", 500.0, "SUCCESS" if gateway_first else None),
        ("UPI-TEST-884102", "recharge", 500.0, "SUCCESS" if gateway_first else None),
        ("UPI-TEST-884250", "refund", -300.0, "REFUND"),
    ]
    report = outputs[0] if gateway_first else outputs[1]
    assert "1 skipped (not paid)" in report
    assert "line 4, consumer 201000001, 2026-11-25 08:10 IST, ₹300.00, status 'FAILED'" in report
    assert "0 reversals" in report and "1 refunds" in report
    # Again, both: nothing changes.
    before = dump(db_path)
    assert run(*gateway)[0] == 0 and run(*discom)[0] == 0
    assert dump(db_path) == before


def test_reversal_of_a_recharge_anywhere_in_the_file_leaves_the_balance(master, tmp_path):
    path = tmp_path / "gateway.csv"
    path.write_text(
        "consumer_id,timestamp,amount_inr,txn,state\n"
        "101234567,2026-11-24 10:00,-200,T-2,REVERSED\n"  # before its recharge in the file
        "101234567,2026-11-24 09:00,200,T-2,Success\n"
        "101234567,2026-11-24 09:30,150,T-3,\n"
        "101234567,2026-11-24 11:00,-150,T-3,success\n"  # a negative amount with a success word
        "101234567,2026-11-24 11:30,90,T-4,pending\n"
        "101234567,2026-11-24 12:00,-40,T-9,refund\n",  # no recharge T-9: a refund to the payer
        encoding="utf-8",
    )
    flags = ["--reference-col", "txn", "--status-col", "state"]
    code, out, err = run("import-recharges", path, *flags)
    assert (code, err) == (0, ""), err
    assert "2 reversals" in out and "1 refunds" in out and "line 6," in out and "status 'pending'" in out
    with storage.open_db(master) as conn:
        kinds = [tuple(r) for r in conn.execute("SELECT reference, kind, amount_inr FROM recharges")]
        paid = conn.execute("SELECT recharge_inr FROM daily WHERE consumer_id = '101234567'").fetchone()[0]
    assert sorted(kinds) == [
        ("T-2", "recharge", 200.0),
        ("T-2", "reversal", -200.0),
        ("T-3", "recharge", 150.0),
        ("T-3", "reversal", -150.0),
        ("T-9", "refund", -40.0),
    ]
    assert paid == 0.0  # 200 + 150 recharged, both taken back; the refund was never on the balance


def test_recharge_status_and_reference_refusals(master, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(
        "consumer_id,timestamp,amount_inr,reference,status\n"
        "101234567,2026-11-24 09:00,500,R-1,SUCCESS\n"
        "101234567,2026-11-24 09:00,500,R-2,SUCCESS\n"  # same minute and amount, another reference: kept
        "101234567,2026-11-24 09:05,500,R-1,SUCCESS\n"  # the same reference twice in one file
        "101234567,2026-11-24 09:10,100,R-3,ON HOLD\n",  # a status word that is no known one
        encoding="utf-8",
    )
    code, out, err = run("import-recharges", path)
    assert (code, out) == (1, "")
    assert err.splitlines()[1:] == [
        "  line 4, column 'reference', value 'R-1': same consumer and payment reference as line 2",
        "  line 5, column 'status', value 'ON HOLD': unknown payment status 'ON HOLD': expected success, "
        "failed, pending, refund or reversal",
    ]
    code, out, _ = run("import-recharges", path, "--skip-invalid")
    assert code == 0 and count(master, "recharges") == 2
    code, _, err = run("import-recharges", path, "--status-col", "payment_state")
    assert code == 1 and "missing required column 'payment_state'" in err


def test_import_recharges_help_names_the_new_flags(capsys):
    with pytest.raises(SystemExit):
        cli.main(["import-recharges", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--reference-col NAME" in text and "--status-col NAME" in text
    assert "FAILED/PENDING = skipped and reported" in text


# --- meter events of a register import (issue 11 sections 3 and 4) --------------------------------

REGISTER_FLAGS = ["--consumer-id", "201000001", "--time-col", "meter_time", "--kwh-col", "reading_kwh"]
REGISTER_FLAGS += ["--kwh-kind", "register"]


def _check_json(db: str) -> dict:
    import json

    out = io.StringIO()
    assert cli.main(["--db", db, "check-connection", "--consumer", "201000001", "--json"], out=out) == 0
    return json.loads(out.getvalue())


def _events(db: str) -> list[tuple]:
    with storage.open_db(db) as conn:
        return [tuple(r) for r in conn.execute("SELECT kind, ts, line, detail FROM meter_events ORDER BY ts")]


@pytest.mark.parametrize(
    ("name", "replacements", "glitches"),
    [
        ("swap_up.csv", ["2026-11-20T12:00:00+05:30"], []),
        ("zero_glitch.csv", [], ["2026-11-20T14:00:00+05:30"]),
    ],
)
def test_register_import_stores_replacements_and_glitches_for_check_connection(
    tmp_path, name, replacements, glitches
):
    folder = _shared_case("register-glitch")
    db = str(tmp_path / "c.db")
    assert cli.main(["--db", db, "import-consumers", str(folder / "consumers.csv")], out=io.StringIO()) == 0
    argv = ["--db", db, "import-readings", str(folder / name), *REGISTER_FLAGS]
    strict = cli.main(argv, out=io.StringIO(), err=io.StringIO())
    if glitches:  # strict: the glitch is a bad row, nothing is imported, nothing is stored
        assert strict == 1 and _events(db) == []
        argv += ["--skip-invalid", "--rejects", str(tmp_path / "rejects.csv")]
        assert cli.main(argv, out=io.StringIO()) == 0
    else:
        assert strict == 0
    stored = _events(db)
    assert [kind for kind, *_ in stored] == ["replacement"] * len(replacements) + ["glitch"] * len(glitches)
    if replacements:
        assert stored[0][1:] == ("2026-11-20T06:30:00Z", 26, "4326.3 -> 8715")
    facts = _check_json(db)
    assert (facts["meter_replacements"], facts["glitches"]) == (replacements, glitches)
    # Re-importing the file stores nothing twice.
    assert cli.main(argv, out=io.StringIO()) == 0
    assert _events(db) == stored
    text = io.StringIO()
    assert cli.main(["--db", db, "check-connection", "--consumer", "201000001"], out=text) == 0
    assert f"meter replacements: {len(replacements)}, glitches: {len(glitches)}" in text.getvalue()


def test_register_rollover_is_stored_as_a_meter_event(master, tmp_path):
    path = tmp_path / "register.csv"
    path.write_text(
        "consumer_id,timestamp,kwh\n101234567,2026-11-24 10:00,99999.5\n"
        "101234567,2026-11-24 10:30,99999.9\n101234567,2026-11-24 11:00,0.2\n",
        encoding="utf-8",
    )
    code, out, _ = run("import-readings", path, "--kwh-kind", "register")
    assert code == 0 and "1 register rollovers" in out
    with storage.open_db(master) as conn:
        rows = [
            tuple(r) for r in conn.execute("SELECT consumer_id, ts, kind, line, detail FROM meter_events")
        ]
    assert rows == [("101234567", "2026-11-24T05:30:00Z", "rollover", 4, "99999.9 -> 0.2")]


def test_import_readings_net_metering_by_meter_serial_and_export_daily(tmp_path):
    cases = Path(__file__).resolve().parents[1].parent / "shared" / "cases" / "net-metering"
    if not cases.is_dir():
        pytest.skip(f"shared cases not found at {cases}")
    db = tmp_path / "mm.db"
    assert run("--db", db, "import-consumers", cases / "consumers.csv")[0] == 0
    code, out, err = run(
        "--db", db, "import-readings", cases / "net_metered_hourly.csv",
        "--id-col", "meter_number", "--id-kind", "meter-serial", "--kwh-col", "net_kwh", "--kwh-kind", "net",
    )  # fmt: skip
    assert (code, err) == (0, ""), err
    code, out, _ = run("--db", db, "export-daily", "--consumer", "201000001", "--from", "2026-11-24")
    rows = {r["date"]: r for r in csv.DictReader(io.StringIO(out))}
    assert (rows["2026-11-24"]["kwh"], rows["2026-11-24"]["export_kwh"]) == ("10.871", "4.427")
    assert (rows["2026-11-25"]["kwh"], rows["2026-11-25"]["export_kwh"]) == ("11.115", "4.525")


def test_import_readings_help_lists_the_real_file_flags(capsys):
    with pytest.raises(SystemExit):
        run("import-readings", "--help")
    out = " ".join(capsys.readouterr().out.split())
    for flag in ("--id-kind", "--date-col", "--stamp", "--export-kwh-col", "net", "ESPI"):
        assert flag in out


# --- import-readings options checked before anything is read (issue 11, findings E and G) ------------


@pytest.mark.parametrize(
    "argv",
    [
        ["--max-kwh", "0"],
        ["--max-kwh", "-5"],
        ["--max-kwh", "inf"],
        ["--max-kwh", "nan"],
        ["--register-max", "0"],
        ["--register-max", "-1"],
        ["--delimiter", "colon"],
    ],
)
def test_import_readings_refuses_nonsense_limits_with_exit_2(argv, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["import-readings", str(tmp_path / "r.csv"), *argv])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert argv[0] in err and ("above 0" in err or "not a separator" in err)


@pytest.mark.parametrize("given", ["semicolon", ";"])
def test_delimiter_by_name_or_character(master, tmp_path, given):
    path = tmp_path / "r.csv"
    path.write_text("consumer_id;timestamp;kwh\n101234567;2026-11-24 10:00;0.5\n", encoding="utf-8")
    code, out, err = run("import-readings", path, "--delimiter", given)
    assert (code, err) == (0, ""), out + err
    assert count(master, "readings") == 1


def test_skip_rows_past_the_end_says_so(master, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("consumer_id,timestamp,kwh\n101234567,2026-11-24 10:00,0.5\n", encoding="utf-8")
    code, out, err = run("import-readings", path, "--skip-rows", "5")
    assert code != 0
    assert "--skip-rows 5 skips past the end of the file (2 lines)" in out + err


def test_import_readings_help_names_green_button_and_the_delimiter_names(capsys):
    with pytest.raises(SystemExit):
        run("import-readings", "--help")
    out = " ".join(capsys.readouterr().out.split())
    assert "the CSV or Green Button XML file" in out
    assert "--delimiter {comma,semicolon,tab,pipe}" in out
