"""A throwaway PostgreSQL cluster for the tests and benchmarks (issue 12).

``initdb`` + ``pg_ctl`` into a temporary folder, listening only on a Unix socket there; as root the
server runs as the ``postgres`` user (``initdb`` refuses root; pytest-postgresql's process fixture does
too, which is why this is a dozen lines of our own). Durability is off (``fsync=off``): the cluster dies
with the test run. Each test gets its own schema, so tests never see each other's rows.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path


def binaries() -> Path | None:
    """The folder with ``initdb`` and ``pg_ctl`` (Debian puts them under /usr/lib/postgresql/N/bin)."""
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    found = shutil.which("pg_ctl")
    return Path(found).parent if found else None


def missing_reason() -> str | None:
    """Why no throwaway PostgreSQL can run here (one line), or None when it can."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install -r requirements.txt)"
    if binaries() is None:
        return "no PostgreSQL server binaries (apt-get install -y postgresql)"
    return None


@dataclass
class Cluster:
    folder: Path
    port: int
    bin: Path

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@/postgres?host={self.folder}&port={self.port}"

    def url(self, database: str = "metermitra", schema: str | None = None) -> str:
        url = f"postgresql://postgres@/{database}?host={self.folder}&port={self.port}"
        if schema:
            url += f"&options=-csearch_path%3D{schema}"
        return url

    def fresh_schema(self, database: str = "metermitra") -> str:
        """A new, empty schema in ``database``; returns its URL (``search_path`` set to it)."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')
        return self.url(database, name)

    def copy_database(self, template: str) -> str:
        """A new database copied from ``template`` (which nobody may be connected to); returns its URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop the database ``url`` names (one made by ``copy_database``), its connections ended."""
        import psycopg

        name = url.split("?", 1)[0].rsplit("/", 1)[1]
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        _run_as_postgres(
            [str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "stop"]
        )
        shutil.rmtree(self.folder, ignore_errors=True)


def _run_as_postgres(command: list[str]) -> subprocess.CompletedProcess[str]:
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    return subprocess.run(command, check=True, capture_output=True, text=True, stdin=subprocess.DEVNULL)


def start(
    port: int | None = None, databases: tuple[str, ...] = ("metermitra",), *, durable: bool = False
) -> Cluster:
    """Start a throwaway cluster (about a second) with ``databases`` created; stop it with ``Cluster.stop``.

    ``durable=True`` keeps PostgreSQL's own defaults (``fsync``, ``synchronous_commit``, ``full_page_writes``
    on), as a deployment runs it: for benchmarks that compare commit costs with SQLite's ``synchronous=FULL``.
    """
    import psycopg

    bindir = binaries()
    if bindir is None:
        raise RuntimeError(missing_reason())
    folder = Path(tempfile.mkdtemp(prefix="mm-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    port = port or 20000 + os.getpid() % 20000
    _run_as_postgres(
        [
            str(bindir / "initdb"),
            "-D",
            str(folder / "data"),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ]
    )
    options = f"-k {folder} -p {port} -c listen_addresses='' -c max_connections=200"
    if not durable:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    _run_as_postgres(
        [
            str(bindir / "pg_ctl"),
            "-D",
            str(folder / "data"),
            "-o",
            options,
            "-l",
            str(folder / "log"),
            "-w",
            "start",
        ]
    )
    cluster = Cluster(folder=folder, port=port, bin=bindir)
    with psycopg.connect(cluster.admin_url, autocommit=True) as conn:
        for name in databases:
            conn.execute(f'CREATE DATABASE "{name}"')
    return cluster
