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
