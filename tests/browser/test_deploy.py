"""The deployment examples of ``docs/deploy`` run for real (issue 12): nginx in front of two app servers,
PgBouncer in transaction mode between them and PostgreSQL.

``docs/deploy/nginx.conf`` and ``docs/deploy/pgbouncer.ini`` are read as written; the test replaces only
what names the deployment's own machines (addresses and ports, the TLS listener and certificate, the
password file), and fails if one of those lines is not there any more, so the files cannot drift from what
this test runs. A browser signs in through nginx (sign-in, OTP send and verify: transactions and advisory
locks through PgBouncer), stays on one app server while it reloads (the ``mm_route`` cookie), and, when that
server is stopped, lands on the other one still signed in — what docs/DEPLOY.md says a user sees when an app
server dies.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from lib import demo, storage
from tests import postgres
from tests.browser.harness import (
    AppServer,
    Journey,
    deploy_env,
    free_port,
    latest_otp,
)

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
NGINX_CONF = ROOT / "docs" / "deploy" / "nginx.conf"
PGBOUNCER_INI = ROOT / "docs" / "deploy" / "pgbouncer.ini"


def _replace(text: str, pattern: str, replacement: str, *, what: str) -> str:
    """``text`` with every match of ``pattern`` (a multiline regex) replaced; the pattern must match."""
    new, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    assert count, f"{what}: the deploy example no longer has a line matching {pattern!r}"
    return new


def _tool(name: str) -> str:
    found = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None)
    if found is None:
        reason = f"no {name} (apt-get install -y nginx-light pgbouncer; scripts/test.sh does)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the deployment test cannot run: {reason}")
        pytest.skip(f"deployment test skipped: {reason}")
    return found


def _wait_port(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 20.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port} after {timeout} s:\n{log.read_text(errors='replace')}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _as_postgres(command: list[str]) -> list[str]:
    """PgBouncer refuses to run as root, as initdb does: drop to the ``postgres`` user (tests/postgres.py)."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@dataclass
class PgBouncer:
    port: int
    folder: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        """The app servers' database URL: PgBouncer's database ``metermitra`` over TCP, as in metermitra.env."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/metermitra"

    def show(self, what: str) -> list[dict[str, str]]:
        """Rows of PgBouncer's admin console (``SHOW STATS`` …) through psql (the console speaks only the simple
        query protocol)."""
        binaries = postgres.binaries()
        assert binaries is not None
        out = subprocess.run(  # noqa: S603  (fixed argv)
            [
                str(binaries / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-A",
                "-F",
                "\t",
            ]
            + ["-d", "pgbouncer", "-c", f"SHOW {what}"],
            capture_output=True,
            text=True,
            check=True,
            stdin=subprocess.DEVNULL,
        ).stdout.splitlines()
        header = out[0].split("\t")
        return [dict(zip(header, line.split("\t"), strict=False)) for line in out[1:] if "\t" in line]


@pytest.fixture
def pgbouncer(postgresql_cluster: postgres.Cluster, shared_database: str) -> Iterator[PgBouncer]:
    """docs/deploy/pgbouncer.ini in front of the test's database (transaction pooling, as written)."""
    binary = _tool("pgbouncer")
    cluster, url = postgresql_cluster, shared_database
    dbname = urlsplit(url).path.lstrip("/")
    folder = Path(tempfile.mkdtemp(prefix="mm-pgbouncer-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    port = free_port()
    ini = PGBOUNCER_INI.read_text(encoding="utf-8")
    ini = _replace(
        ini,
        r"^metermitra = host=\S+ port=\d+ dbname=metermitra$",
        f"metermitra = host={cluster.folder} port={cluster.port} dbname={dbname}",
        what="pgbouncer [databases]",
    )
    ini = _replace(ini, r"^listen_port = \d+$", f"listen_port = {port}", what="pgbouncer listen_port")
    # The throwaway cluster trusts local connections and has no passwords: PgBouncer only checks the name.
    ini = _replace(ini, r"^auth_type = .*$", "auth_type = trust", what="pgbouncer auth_type")
    ini = _replace(
        ini, r"^auth_file = .*$", f"auth_file = {folder / 'userlist.txt'}", what="pgbouncer auth_file"
    )
    ini += (
        f"\nlogfile = {folder / 'pgbouncer.log'}\npidfile = {folder / 'pgbouncer.pid'}\n"
        f"unix_socket_dir = {folder}\nadmin_users = postgres\n"
    )
    (folder / "userlist.txt").write_text('"postgres" ""\n', encoding="utf-8")
    (folder / "pgbouncer.ini").write_text(ini, encoding="utf-8")
    if os.geteuid() == 0:
        for name in ("userlist.txt", "pgbouncer.ini"):
            shutil.chown(folder / name, "postgres", "postgres")
    log = folder / "pgbouncer.out"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603  (fixed argv)
            _as_postgres([binary, str(folder / "pgbouncer.ini")]),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        _wait_port(port, process, log)
        yield PgBouncer(port=port, folder=folder, process=process)
    finally:
        storage.engine.dispose(f"postgresql://postgres@127.0.0.1:{port}/metermitra")
        _stop(process)
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Nginx:
    """nginx with docs/deploy/nginx.conf, its upstream the two test servers; quacks like an AppServer for
    :class:`Journey` (``url``, ``log_tail``)."""

    url: str
    folder: Path
    process: subprocess.Popen[bytes]
    servers: dict[str, AppServer] = field(default_factory=dict)  # "127.0.0.1:port" -> server

    def log_tail(self, lines: int = 40) -> str:
        parts = [(self.folder / "error.log").read_text(errors="replace")]
        parts += [server.log_tail(lines) for server in self.servers.values()]
        return "\n".join("\n".join(part.splitlines()[-lines:]) for part in parts)

    def upstreams(self, route: str) -> list[str]:
        """The app servers (``host:port``) that answered the requests carrying ``mm_route=route``, in order;
        a request that was retried on another server lists each it tried (nginx's ``$upstream_addr``)."""
        lines = (self.folder / "access.log").read_text(errors="replace").splitlines()
        found: list[str] = []
        for line in lines:
            cookie, _, addresses = line.partition(" ")
            if cookie == route:
                found += [address.strip() for address in re.split(r"[,:]\s", addresses) if address.strip()]
        return [address for address in found if address in self.servers]


@pytest.fixture
def two_servers_behind_nginx(
    pgbouncer: PgBouncer, tmp_path: Path
) -> Iterator[tuple[Nginx, dict[str, AppServer], PgBouncer]]:
    binary = _tool("nginx")
    env = deploy_env()
    env.update(METERMITRA_DB=pgbouncer.url, METERMITRA_SMS_GATEWAY="outbox")
    env.pop("METERMITRA_OTP_KEY")  # the harness's own test key, the same on both servers
    assert (
        deploy_env()["METERMITRA_DB"].startswith("postgresql://")
        and ":6432/" in deploy_env()["METERMITRA_DB"]
    )
    with (
        AppServer.start(tmp_path / "a", database=pgbouncer.url, env=env) as server_a,
        AppServer.start(tmp_path / "b", database=pgbouncer.url, env=env) as server_b,
    ):
        servers = {server.url.removeprefix("http://").rstrip("/"): server for server in (server_a, server_b)}
        address_a, address_b = servers
        folder = tmp_path / "nginx"
        folder.mkdir()
        port = free_port()
        site = NGINX_CONF.read_text(encoding="utf-8")
        site = _replace(site, r"10\.0\.0\.11:8501", address_a, what="nginx upstream server 1")
        site = _replace(site, r"10\.0\.0\.12:8501", address_b, what="nginx upstream server 2")
        site = _replace(
            site, r"^(\s*)listen 443 ssl http2;$", rf"\1listen 127.0.0.1:{port};", what="nginx listen"
        )
        site = _replace(site, r"^\s*ssl_certificate(_key)? .*\n", "", what="nginx certificates")
        (folder / "metermitra.conf").write_text(site, encoding="utf-8")
        temp_paths = "".join(
            f"    {kind}_temp_path {folder / kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        (folder / "nginx.conf").write_text(
            ("user root;\n" if os.geteuid() == 0 else "")
            + f"worker_processes 1;\ndaemon off;\npid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'} info;\n"
            "events { worker_connections 512; }\nhttp {\n"
            "    log_format route '$cookie_mm_route $upstream_addr';\n"
            f"    access_log {folder / 'access.log'} route;\n{temp_paths}"
            f"    include {folder / 'metermitra.conf'};\n}}\n",
            encoding="utf-8",
        )
        log = folder / "error.log"
        log.touch()
        process = subprocess.Popen(  # noqa: S603  (fixed argv)
            [binary, "-p", str(folder), "-c", str(folder / "nginx.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            _wait_port(port, process, log)
            yield (
                Nginx(url=f"http://127.0.0.1:{port}/", folder=folder, process=process, servers=servers),
                servers,
                pgbouncer,
            )
        finally:
            _stop(process)


def _route(journey: Journey) -> str:
    cookies = {cookie["name"]: cookie["value"] for cookie in journey.context.cookies()}
    assert cookies.get("mm_route"), f"nginx set no mm_route cookie: {sorted(cookies)}"
    return str(cookies["mm_route"])


def _signed_in(journey: Journey) -> None:
    journey.main.get_by_text(demo.DEMO_LINKED[0][1]).first.wait_for(state="visible")
    assert journey.main.get_by_label(journey.t("auth_mobile_label"), exact=True).count() == 0


def test_behind_nginx_and_pgbouncer_a_browser_stays_on_one_server_and_survives_its_death(
    two_servers_behind_nginx: tuple[Nginx, dict[str, AppServer], PgBouncer], chromium: Any
) -> None:
    """``chromium``: the package's one browser (a second sync Playwright cannot start beside it)."""
    front, servers, pgbouncer = two_servers_behind_nginx
    journey = Journey.open(chromium, front, lang="en", device="desktop", name="deploy_nginx")
    journey.send_sign_in_otp(demo.DEMO_ACCOUNT_MOBILE)
    journey.submit_otp(latest_otp(pgbouncer.url, demo.DEMO_ACCOUNT_MOBILE))
    _signed_in(journey)

    # Everything of this browser went to one app server, reloads included.
    route = _route(journey)
    for _ in range(2):
        journey.goto("")
        _signed_in(journey)
    served = set(front.upstreams(route))
    assert len(served) == 1, f"one browser was served by {served}"
    (home,) = served
    other = next(address for address in servers if address != home)

    # The sign-in went through PgBouncer in transaction mode (transactions, advisory locks, FOR UPDATE).
    stats = {row["database"]: row for row in pgbouncer.show("STATS")}
    assert int(stats["metermitra"]["total_xact_count"]) > 0
    assert any(
        row["pool_mode"] == "transaction"
        for row in pgbouncer.show("POOLS")
        if row["database"] == "metermitra"
    )

    # Its server dies: the next load lands on the other server, still signed in (the session is in PostgreSQL).
    servers[home].stop()
    journey.goto("")
    _signed_in(journey)
    assert _route(journey) == route
    after = front.upstreams(route)
    assert after[-1] == other, f"after {home} stopped the browser was served by {after[-3:]}"
    assert journey.console_errors == [] and journey.outside_requests == []
    journey.close()
