"""What the Compare chart's styling costs plotly.js when the period changes (issue 15), in /usr/bin/chromium.

    .venv/bin/python bench/bench_chart_redraw.py                          # this checkout, 15 rounds
    .venv/bin/python bench/bench_chart_redraw.py --before /tmp/main_tree --rounds 25

The figures are the product's own: the Compare page (AppTest of ``dashboard.py``, fixed clock) of the bench
household (``bench_browser.build``: 3 connections of 365 days, the first account of the bench database, a
small copy in ``bench/results/redraw_3x365.db``), its ``st.plotly_chart`` spec for 30 days and for a year, in
English and Hindi, desktop. With ``--before DIR`` (a ``git archive`` of the older code) the same page of that
tree gives the ``before`` figures.

In one headless chromium, a page with plotly.js (the one plotly's Python package bundles, the version
Streamlit's frontend bundles) draws each variant's 30-day figure, then, timed, parses the year's spec
(``JSON.parse``, as Streamlit's element does) and calls ``Plotly.react`` from the 30-day figure to the year's:
what Streamlit's plotly element does on a rerun with a new spec (react-plotly.js's ``Plot`` component calls
``Plotly.react`` on every update of ``data``/``layout``). Times: the script (react's promise resolved) and to
the next frame (style, layout and paint included). Variants take away one feature of the real figure at a
time (:data:`VARIANTS`); each round draws every variant once, in a shuffled order; medians and ratios to
``full`` (or ``before``) within the run. ``performance.now`` in a headless renderer: other engineers load the
2 cores, the load average is printed.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_browser as bb  # noqa: E402

DB = bb.RESULTS / "redraw_3x365.db"
CHROMIUM = "/usr/bin/chromium"

CAPTURE = r"""
import json, sys
from streamlit.testing.v1 import AppTest
from lib import storage
db, mobile, lang = sys.argv[1], sys.argv[2], sys.argv[3]
with storage.open_db(db, run_migrations=False) as conn:
    account_id = int(storage.accounts.account_by_mobile(conn, mobile)["account_id"])
at = AppTest.from_file("dashboard.py", default_timeout=120)
at.session_state["account_id"] = account_id
at.session_state["lang"] = lang
at.run()
at.switch_page("pages/compare.py").run()
def spec():
    charts = [c for c in at.get("plotly_chart") if "compare_chart" in c.proto.id]
    return {"spec": json.loads(charts[0].proto.spec), "config": json.loads(charts[0].proto.config or "{}")}
out = {"30d": spec()}
at.radio(key="compare_range").set_value("1y").run()
out["1y"] = spec()
print(json.dumps(out))
"""


def capture(root: Path, lang: str) -> dict[str, Any]:
    """The Compare chart's spec (and config) for 30 days and a year, from the checkout at ``root``."""
    from tests.browser.harness import server_env

    env = server_env(DB, camp=False)
    env["PYTHONPATH"] = str(root)
    done = subprocess.run(
        [sys.executable, "-c", CAPTURE, str(DB), bb.account_mobile(0), lang],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- variants: the real figure with one feature taken away -------------------------------------------


def _kind(trace: dict) -> str:
    return str((trace.get("meta") or {}).get("kind", ""))


def no_shapes(fig: dict) -> None:
    fig["layout"].pop("shapes", None)


def no_forecast(fig: dict) -> None:
    fig["data"] = [t for t in fig["data"] if _kind(t) not in ("run_out", "lasts")]


def no_markers(fig: dict) -> None:
    fig["data"] = [t for t in fig["data"] if _kind(t) != "recharge"]


def no_text(fig: dict) -> None:
    """No per-point ``text``/``customdata``: the template writes plotly's own date (``%{x}``)."""
    for trace in fig["data"]:
        trace.pop("text", None)
        trace.pop("customdata", None)
        if "hovertemplate" in trace:
            trace["hovertemplate"] = "%{x}<br>%{y}<extra></extra>"


def no_hover(fig: dict) -> None:
    """Plotly's default hover (no templates, no texts)."""
    for trace in fig["data"]:
        for key in ("text", "customdata", "hovertemplate"):
            trace.pop(key, None)


def auto_x_ticks(fig: dict) -> None:
    """Plotly's own date ticks instead of ``tickvals``/``ticktext`` on every panel's x-axis."""
    for name, axis in fig["layout"].items():
        if name.startswith("xaxis"):
            for key in ("tickmode", "tickvals", "ticktext"):
                axis.pop(key, None)


def flat_labels(fig: dict) -> None:
    """The x tick labels never turned (``tickangle: 0``): plotly measures them once, not again at 30°/90°."""
    for name, axis in fig["layout"].items():
        if name.startswith("xaxis"):
            axis["tickangle"] = 0


def x0_dx(fig: dict) -> None:
    """Evenly spaced value traces as ``x0``/``dx`` (ms) instead of date arrays."""
    import datetime as dt

    for trace in fig["data"]:
        xs = trace.get("x")
        if _kind(trace) != "value" or not xs or len(xs) < 2:
            continue
        days = [dt.date.fromisoformat(x[:10]) for x in xs]
        steps = {(b - a).days for a, b in zip(days, days[1:], strict=False)}
        if len(steps) == 1:
            trace.pop("x")
            trace["x0"], trace["dx"] = xs[0], steps.pop() * 86_400_000


def one_panel(fig: dict) -> None:
    """Every trace on one axis (no subplots, no panel titles)."""
    layout = fig["layout"]
    for name in [n for n in layout if n.startswith(("xaxis", "yaxis")) and n not in ("xaxis", "yaxis")]:
        layout.pop(name)
    for axis in ("xaxis", "yaxis"):
        if axis in layout:
            layout[axis].pop("domain", None)
            layout[axis].pop("anchor", None)
            layout[axis].pop("matches", None)
            layout[axis]["showticklabels"] = True
    layout.pop("annotations", None)
    for shape in layout.get("shapes", []):
        shape["xref"], shape["yref"] = "x", "y domain"
    for trace in fig["data"]:
        trace.pop("xaxis", None)
        trace.pop("yaxis", None)


def plain(fig: dict) -> None:
    """profile_browser's ``plain_chart_config``: the same points as plain lines in plotly's defaults."""
    fig["data"] = [
        {"type": "scatter", "mode": "lines", "x": t.get("x"), "y": t.get("y")}
        for t in fig["data"]
        if _kind(t) == "value"
    ]
    fig["layout"] = {}


VARIANTS: dict[str, Callable[[dict], None] | None] = {
    "full": None,
    "no_shapes": no_shapes,
    "no_forecast": no_forecast,
    "no_markers": no_markers,
    "no_text": no_text,
    "no_hover": no_hover,
    "auto_x_ticks": auto_x_ticks,
    "flat_labels": flat_labels,
    "x0_dx": x0_dx,
    "one_panel": one_panel,
    "plain": plain,
}


PAGE = """<!doctype html><html><head><meta charset="utf-8"></head>
<body style="margin:0;width:1000px"><div id="chart" style="width:1000px"></div></body></html>"""

DRAW = """
async ([first, second, config]) => {
  const div = document.getElementById("chart");
  Plotly.purge(div);
  const a = JSON.parse(first);
  await Plotly.newPlot(div, a.data, a.layout, config);
  await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  const t0 = performance.now();
  const b = JSON.parse(second);
  await Plotly.react(div, b.data, b.layout, config);
  const t1 = performance.now();
  await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  const t2 = performance.now();
  return [t1 - t0, t2 - t0, div.querySelectorAll("*").length];
}
"""


def specs_for(figures: dict[str, Any], transform: Callable[[dict], None] | None) -> tuple[str, str, dict]:
    out = []
    for period in ("30d", "1y"):
        fig = copy.deepcopy(figures[period]["spec"])
        fig["layout"]["width"] = 1000  # Streamlit sets the container's width
        if transform is not None:
            transform(fig)
        out.append(json.dumps(fig))
    return out[0], out[1], figures["1y"]["config"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--before", type=Path, help="a git archive of the older code: rows 'before'/'after'")
    parser.add_argument("--langs", nargs="+", default=["en", "hi"])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS))
    args = parser.parse_args(argv)
    if not DB.exists():
        bb.build(DB, 3, 365)
    from playwright.sync_api import sync_playwright

    rows: dict[str, tuple[str, str, dict]] = {}
    for lang in args.langs:
        figures = capture(ROOT, lang)
        if args.before:
            old = capture(args.before.resolve(), lang)
            rows[f"{lang} before"] = specs_for(old, None)
            rows[f"{lang} after"] = specs_for(figures, None)
        else:
            for name in args.variants:
                rows[f"{lang} {name}"] = specs_for(figures, VARIANTS[name])
    for name, (first, second, _) in rows.items():
        print(
            f"  {name}: {len(first.encode()) / 1000:.1f} / {len(second.encode()) / 1000:.1f} kB (30 d / 1 y)"
        )
    plotly_js = Path(__import__("plotly").__file__).parent / "package_data" / "plotly.min.js"
    times: dict[str, list[tuple[float, float, int]]] = {name: [] for name in rows}
    loads = [os.getloadavg()[0]]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.set_content(PAGE)
        page.add_script_tag(path=str(plotly_js))
        for name in rows:  # warm-up: plotly's code compiled for every kind of figure
            page.evaluate(DRAW, list(rows[name]))
        rng = random.Random(15)
        for _ in range(args.rounds):
            order = list(rows)
            rng.shuffle(order)
            for name in order:
                times[name].append(tuple(page.evaluate(DRAW, list(rows[name]))))
            loads.append(os.getloadavg()[0])
        browser.close()
    print(
        f"\n{args.rounds} rounds, load {min(loads):.1f}–{max(loads):.1f}; medians, ms (ratio to the row's base)"
    )
    print("| row | Plotly.react ms | to next frame ms | ratio (frame) | DOM nodes |")
    print("|---|---|---|---|---|")
    for name, seen in times.items():
        lang = name.split()[0]
        base_name = f"{lang} before" if args.before else f"{lang} full"
        react = statistics.median(t[0] for t in seen)
        frame = statistics.median(t[1] for t in seen)
        base = statistics.median(t[1] for t in times[base_name])
        print(f"| {name} | {react:.1f} | {frame:.1f} | {frame / base:.2f} | {seen[-1][2]} |")


if __name__ == "__main__":
    main()
