"""Sign-ins per second on PostgreSQL with and without psycopg's server-side prepared statements (issue 12).

MeterMitra turns them off by default (``lib.storage.engine.prepare_threshold``) so that PgBouncer in
transaction pooling works at any version; ``?prepare_threshold=5`` in the URL turns them on. This measures
what that costs: one client signing in new mobiles (send, read the SMS, verify: ``bench_postgresql.sign_ins``)
against one throwaway durable cluster, the two settings interleaved round by round (order reversed every
other round), medians printed with the load average.

    .venv/bin/python bench/bench_prepared.py --rounds 8 --signins 150
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
os.environ.setdefault("METERMITRA_NOW", "2026-11-25T06:30:00Z")

import bench_postgresql  # noqa: E402

from lib import storage  # noqa: E402
from tests import postgres  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--signins", type=int, default=150, help="sign-ins per round and setting")
    args = parser.parse_args()
    cluster = postgres.start(databases=("metermitra",), durable=True)
    base = cluster.url()
    try:
        with storage.open_db(base):
            pass
        urls = {"prepared": base + "&prepare_threshold=5", "unprepared": base}
        rates: dict[str, list[float]] = {name: [] for name in urls}
        for round_ in range(args.rounds):
            order = list(urls) if round_ % 2 == 0 else list(urls)[::-1]
            for name in order:
                series = 10 + 2 * round_ + order.index(name)
                rates[name].append(bench_postgresql.sign_ins(urls[name], 1, args.signins, series))
            print(
                f"round {round_ + 1}: "
                + ", ".join(f"{name} {values[-1]:.1f}/s" for name, values in rates.items())
                + f" (load {os.getloadavg()[0]:.1f})",
                flush=True,
            )
        prepared, unprepared = (statistics.median(rates[name]) for name in ("prepared", "unprepared"))
        print(
            f"sign-ins per second, 1 client, medians of {args.rounds}: prepared {prepared:.1f}, "
            f"unprepared {unprepared:.1f} (the default), unprepared/prepared {unprepared / prepared:.2f}x"
        )
    finally:
        storage.engine.dispose_all()
        cluster.stop()


if __name__ == "__main__":
    main()
