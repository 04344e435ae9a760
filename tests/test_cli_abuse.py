"""lib.cli under abuse (issue 13 items 8-10): output paths never destroy data, inputs that are not regular
files or are huge are refused, every bad value is a bad row with its line."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from lib import cli, storage

DATA = Path(__file__).resolve().parent / "data"
pytestmark = pytest.mark.both_engines  # every db_path test on SQLite and on PostgreSQL (issue 12)


def run(*argv: str | Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main([str(a) for a in argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def master(db_path: Path) -> Path:
    code, out, err = run("import-consumers", DATA / "consumers.csv")
    assert code == 0, out + err
    return db_path


@pytest.fixture
def bad_readings(tmp_path: Path) -> Path:
    text = (DATA / "readings.csv").read_text().splitlines()
    path = tmp_path / "readings.csv"
    path.write_text("\n".join([*text, text[1].split(",")[0] + ",not-a-time,1.0"]) + "\n")
    return path


def test_rejects_at_the_input_file_is_refused(master, bad_readings):
    before = digest(bad_readings)
    code, _, err = run("import-readings", bad_readings, "--skip-invalid", "--rejects", bad_readings)
    assert code == 2 and "input file" in err
    assert digest(bad_readings) == before


@pytest.mark.sqlite_only("the output path is the SQLite database file (or its -wal) itself")
@pytest.mark.parametrize("suffix", ["", "-wal"])
def test_rejects_or_out_at_the_database_is_refused(master, bad_readings, suffix):
    db_size = master.stat().st_size
    code, _, err = run("import-readings", bad_readings, "--skip-invalid", "--rejects", f"{master}{suffix}")
    assert code == 2 and "database" in err
    code, _, err = run("export-daily", "--consumer", "101", "--out", master)
    assert code == 2 and "database" in err
    assert master.stat().st_size == db_size
    with storage.open_db(master) as conn:
        assert (
            conn.consumers.holds_real_data()
            or conn.execute("SELECT count(*) FROM consumers").fetchone()[0] > 0
        )


def test_a_planted_symlink_is_not_followed(master, bad_readings, tmp_path):
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me")
    link = tmp_path / "rejects.csv"
    link.symlink_to(victim)
    code, _, err = run("import-readings", bad_readings, "--skip-invalid", "--rejects", link)
    assert code == 2 and "symbolic link" in err
    assert victim.read_text() == "keep me"
    # The default rejects path planted as a link is refused the same way.
    Path(f"{bad_readings}.rejects.csv").symlink_to(victim)
    code, _, err = run("import-readings", bad_readings, "--skip-invalid")
    assert code == 2 and victim.read_text() == "keep me"


def test_rejects_are_written_whole_under_their_name(master, bad_readings, tmp_path):
    rejects = tmp_path / "out" / "r.csv"
    rejects.parent.mkdir()
    code, out, err = run("import-readings", bad_readings, "--skip-invalid", "--rejects", rejects)
    assert code == 0, out + err
    assert rejects.read_text().startswith("line,column,value,code,reason")
    assert str(rejects) in out
    assert sorted(p.name for p in rejects.parent.iterdir()) == ["r.csv"]  # no temporary file left


def test_a_directory_as_output_is_refused(master, bad_readings, tmp_path):
    code, _, err = run("import-readings", bad_readings, "--skip-invalid", "--rejects", tmp_path)
    assert code == 2 and "regular file" in err
    assert os.path.isdir(tmp_path)


# --- every bad value is a bad row with its line (item 10) --------------------------------------------


def test_a_no_date_timestamp_is_a_bad_row_with_its_line(master, tmp_path):
    lines = (DATA / "readings.csv").read_text().splitlines()
    consumer = lines[1].split(",")[0]
    path = tmp_path / "r.csv"
    path.write_text("\n".join([*lines, f"{consumer},0001-01-01T00:00:00,1.0"]) + "\n")
    code, out, err = run("import-readings", path, "--skip-invalid")
    assert code == 0, out + err
    assert "unexpected" not in (out + err)
    assert f"line {len(lines) + 1}" in out or f"{len(lines) + 1}" in Path(f"{path}.rejects.csv").read_text()
    code, out, err = run("import-readings", path)  # strict: refused with the line, not a crash
    assert code == 1 and "unexpected" not in (out + err) and str(len(lines) + 1) in (out + err)


@pytest.mark.parametrize("value", ["1e309", "inf", "nan", "-5", "0"])
def test_max_kwh_must_be_finite_and_positive(master, value):
    with pytest.raises(SystemExit) as stopped:
        run("import-readings", DATA / "readings.csv", "--max-kwh", value)
    assert stopped.value.code == 2


# --- fuzz: any bytes give a clean import or a report with lines, never an unexpected error -----------

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from lib import importing  # noqa: E402

_HEADERS = {
    "consumers": b"consumer_id,name,registered_mobile\n",
    "readings": b"consumer_id,timestamp,kwh\n",
    "recharges": b"consumer_id,timestamp,amount_inr\n",
}
_CELLS = st.sampled_from(
    [
        b"101",
        b"0001-01-01T00:00:00",
        b"2026-11-24 23:45",
        b"1e309",
        b"nan",
        b"-0",
        b"\x00",
        b"\xff\xfe",
        b"=cmd|' /C calc'!A0",
        b"\xe2\x80\xae",
        b"+919876543210",
        b"",
        b'"',
        b"9" * 40,
        b"24:00",
        b"1,5",
    ]
)
_LINES = st.lists(st.lists(_CELLS, min_size=0, max_size=5).map(lambda c: b",".join(c)), max_size=8)
_BODIES = st.one_of(st.binary(max_size=300), _LINES.map(lambda lines: b"\n".join(lines)))


@pytest.mark.parametrize("kind", sorted(_HEADERS))
@settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(body=_BODIES, header=st.booleans())
def test_any_bytes_give_a_report_never_an_unexpected_error(tmp_path, kind, body, header):
    path = tmp_path / f"{kind}.csv"
    path.write_bytes((_HEADERS[kind] if header else b"") + body)
    reader = getattr(importing, f"import_{kind}")
    with storage.open_db(":memory:") as conn:
        if kind != "consumers":
            storage.consumers.upsert_consumers(
                conn, [{"consumer_id": "101", "name": "A", "registered_mobile": "+919876543210"}]
            )
        try:
            report = reader(conn, path, skip_invalid=True)
        except importing.ImportFailed as refused:
            assert str(refused) and len(str(refused)) < 2000
            return
    assert report.rejected == 0 or all(error.line >= 1 for error in report.errors)


# --- inputs that are not regular files, or are huge (item 9) ------------------------------------------


def test_a_fifo_is_refused_without_waiting(master, tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    code, out, err = run("import-readings", fifo)  # would block forever in open() before the fix
    assert code == 1 and "not a regular file" in err


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_a_device_is_refused(master, device):
    code, out, err = run("import-consumers", device)
    assert code == 1 and "not a regular file" in err


def test_one_huge_line_is_refused_with_a_short_message(master, tmp_path):
    path = tmp_path / "huge.csv"
    with path.open("wb") as handle:
        handle.write(b"consumer_id,timestamp,kwh\n101,2026-11-24 23:45,")
        handle.write(b"9" * (3 * 1024 * 1024))
        handle.write(b"\n")
    code, out, err = run("import-readings", path, "--skip-invalid")
    assert code == 1 and "longer than" in err
    assert len(out) + len(err) < 10_000


def test_a_header_of_ten_thousand_columns_is_refused(master, tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text(
        ",".join(f"c{i}" for i in range(10_000)) + "\n" + ",".join("1" for _ in range(10_000)) + "\n"
    )
    code, out, err = run("import-readings", path, "--id-col", "c0", "--time-col", "c1", "--kwh-col", "c2")
    assert code == 1 and "columns" in err and len(out) + len(err) < 10_000
