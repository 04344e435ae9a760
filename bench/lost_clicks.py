"""Lost clicks (issue 15, stop 20's open finding): does a click made as soon as the app is idle start a script run?

    .venv/bin/python bench/lost_clicks.py --app product bare --target radio link --tries 20
    .venv/bin/python bench/lost_clicks.py --app product --target radio --tries 30 --busy 4   # under load
    .venv/bin/python bench/lost_clicks.py --app product --target radio --delay-ms 300          # a human's pace

Each try is a new browser context and tab (a new Streamlit session, as ``Journey.open`` makes one): load the
app, wait until it is idle exactly as the harness waits after loading a page (a run seen, notRunning,
CONNECTED, quiet for ``FIRST_LOAD_QUIET_MS``), optionally ``--delay-ms`` more, then click the sidebar's language radio
(``radio``) or its Compare link (``link``). The page is instrumented from its first script (an init script):
every websocket frame sent and received is kept with its time, and afterwards decoded here with Streamlit's own
protobuf classes (``BackMsg`` / ``ForwardMsg``), so each try says:

- ``sent``: the frontend sent a ``rerun_script`` BackMsg after the click;
- ``ran``: a ``new_session`` ForwardMsg (a script run started) came back after it;
- ``seen old/new``: the old run watch (``data-test-script-state`` changes only, the harness until stop 20)
  saw a run; the harness's run watch now (the websocket's run messages too) saw one within ``SEEN_MS``;
- ``changed``: the page shows the click's result (the other language, the Compare page's address);
- the frames received in the 2 s before the click (what the frontend was still busy with).

A try is *lost* (counted as ``lost``) when the old watch saw no run: the counts split it by what really
happened (``not sent``, ``sent, no run``, ``ran, unseen``); ``lost (new watch)``: the harness's watch now
saw none. The servers are the journeys' camp-mode product (``AppServer`` on a freshly reset demo, signed
out: the sign-in page) and bench_browser's bare app.
``--busy N`` starts N busy-loop processes for the duration (killed at the end) to load the 2 cores as CI does.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import multiprocessing
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402

# Every websocket frame of the page, kept as sent/received (the raw bytes, copied only when read back), and
# every change of the app's script state with its time: installed before Streamlit's own scripts run.
_WS_TRACE = """
(() => {
  const frames = (window.__mmFrames = []);
  const states = (window.__mmStates = []);
  const bytes = (data) => data instanceof ArrayBuffer ? new Uint8Array(data)
    : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    const view = bytes(data);
    frames.push({dir: "out", t: performance.now(), data: view ? view.slice() : null, text: view ? null : String(data)});
    return send.call(this, data);
  };
  const Native = window.WebSocket;
  class Traced extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (event) => {
        const view = bytes(event.data);
        frames.push({dir: "in", t: performance.now(), data: view, text: view ? null : String(event.data)});
      });
    }
  }
  window.WebSocket = Traced;
  new MutationObserver((records) => {
    for (const r of records) states.push([performance.now(), r.target.getAttribute("data-test-script-state")]);
  }).observe(document, {subtree: true, attributes: true, attributeFilter: ["data-test-script-state"]});
  document.addEventListener("pointerdown", () => { window.__mmPointerDown = performance.now(); }, true);
  document.addEventListener("click", () => { window.__mmClickAt = performance.now(); }, true);
})();
"""
_FRAMES_SINCE = """(since) => {
  const b64 = (u) => { let s = ""; for (let i = 0; i < u.length; i += 0x8000)
    s += String.fromCharCode.apply(null, u.subarray(i, i + 0x8000)); return btoa(s); };
  return window.__mmFrames.filter((f) => f.t >= since).map((f) => ({dir: f.dir, t: f.t,
    n: f.data ? f.data.length : (f.text || "").length, b64: f.data ? b64(f.data) : null}));
}"""
SEEN_MS = 10_000
BEFORE_MS = 2_000


@dataclass
class Try:
    app: str
    target: str
    index: int
    seen: bool = False  # the old run watch (data-test-script-state changes only) saw a run
    seen_new: bool = False  # the harness's run watch (websocket messages too) saw a run within SEEN_MS
    sent: bool = False
    ran: bool = False
    finished: bool = False
    sent_after_ms: float | None = None
    changed: bool = False  # the page shows the click's result (the other language, the Compare page)
    sent_kinds: list[str] = field(default_factory=list)
    received_before: list[str] = field(default_factory=list)
    received_after: list[str] = field(default_factory=list)
    states_before: list[str] = field(default_factory=list)
    states_after: list[str] = field(default_factory=list)
    idle_to_click_ms: float = 0.0
    wait_error: str = ""  # why the wait for a run ended without one (a timeout, its message)
    watch: dict[str, Any] = field(default_factory=dict)  # the harness's counters at the end
    last_frame_to_click_ms: float | None = None

    @property
    def lost(self) -> bool:
        return not self.seen

    def line(self) -> str:
        verdict = "LOST" if not self.seen_new else "old-lost" if self.lost else "ok  "
        return (
            f"{verdict} {self.app:7s} {self.target:5s} #{self.index:<3d} sent={int(self.sent)} ran={int(self.ran)}"
            f" finished={int(self.finished)} seen old/new={int(self.seen)}/{int(self.seen_new)} changed={int(self.changed)}"
            f" idle->click {self.idle_to_click_ms:6.1f} ms, last frame->click {_ms(self.last_frame_to_click_ms)}"
            f" sent after {_ms(self.sent_after_ms)}; out {self.sent_kinds}; in before {self.received_before[-6:]};"
            f" in after {self.received_after[:8]}; states before {self.states_before[-4:]} after {self.states_after[:6]}"
            + (f"; wait: {self.wait_error}; watch {self.watch}" if self.wait_error else "")
        )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


def forward_kind(raw: bytes) -> str:
    msg = ForwardMsg.FromString(raw)
    kind = msg.WhichOneof("type") or "?"
    if kind == "delta":
        return "delta"
    if kind == "script_finished":
        return f"script_finished({ForwardMsg.ScriptFinishedStatus.Name(msg.script_finished)})"
    if kind == "session_status_changed":
        return f"status(running={int(msg.session_status_changed.script_is_running)})"
    return kind


def back_kind(raw: bytes) -> str:
    msg = BackMsg.FromString(raw)
    kind = msg.WhichOneof("type") or "?"
    if kind == "rerun_script":
        rerun = msg.rerun_script
        page = rerun.page_script_hash[:8]
        return f"rerun_script(page={page},fragment={rerun.fragment_id or '-'},widgets={len(rerun.widget_states.widgets)})"
    return kind


def _squash(kinds: list[str]) -> list[str]:
    """Runs of one kind (``kind@time``) as ``kind×n@first time``."""
    out: list[str] = []
    last = None
    for item in kinds:
        kind, _, at = item.partition("@")
        if out and last == kind:
            head, _, first_at = out[-1].partition("@")
            name, _, count = head.partition("×")
            out[-1] = f"{name}×{int(count or 1) + 1}@{first_at}"
        else:
            out.append(item)
        last = kind
    return out


@contextlib.contextmanager
def busy(n: int) -> Iterator[None]:
    """``n`` processes spinning on a core each (the load of CI's other jobs), stopped at the end."""
    procs = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(n)]
    for proc in procs:
        proc.start()
    try:
        yield
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.join(timeout=10)


def _spin() -> None:
    while True:
        pass


@dataclass
class Target:
    app: str
    url: str
    radio_label: str  # the language option to click (not the one checked)
    link_label: str
    radio_changed_js: str  # true once the radio click's result shows
    link_changed_js: str  # true once the link click's result shows


def one_try(browser: Any, target: Target, what: str, index: int, args: argparse.Namespace) -> Try:
    from tests.browser import harness

    result = Try(target.app, what, index)
    context = browser.new_context(**harness.DEVICES[args.device], locale="hi-IN")
    context.add_init_script(harness._RUN_WATCH + _WS_TRACE)
    page = context.new_page()
    try:
        page.goto(target.url)
        page.wait_for_function(harness._IDLE_AFTER, arg=[0, harness.FIRST_LOAD_QUIET_MS], polling="raf")
        if args.device == "phone":
            expand = page.get_by_test_id("stExpandSidebarButton")
            expand.first.click()
            page.get_by_test_id("stSidebarContent").wait_for(state="visible")
            page.wait_for_timeout(400)  # the slide; this script studies the click, not the sidebar
        if args.delay_ms:
            page.wait_for_timeout(args.delay_ms)  # a person's pace after the page settled (deliberate)
        sidebar = page.get_by_test_id("stSidebar")
        if what == "radio":
            locator = sidebar.get_by_text(target.radio_label, exact=True)
        else:
            locator = sidebar.get_by_role("link", name=target.link_label, exact=True)
        locator.wait_for(state="visible")
        mark = page.evaluate(
            "() => ({now: performance.now(), idle: window.__mmLastChange, changes: window.__mmStateChanges})"
        )
        locator.click()
        try:
            page.wait_for_function(
                "(before) => window.__mmStateChanges > before", arg=mark["changes"], timeout=SEEN_MS
            )
            page.wait_for_function(
                harness._IDLE_AFTER, arg=[mark["changes"], harness.QUIET_MS], polling="raf"
            )
        except Exception as error:  # noqa: BLE001 (a lost click: look at what the page got anyway)
            result.wait_error = str(error).splitlines()[0]
            page.wait_for_timeout(500)
        result.watch = page.evaluate(
            "() => ({changes: window.__mmStateChanges, running: window.__mmRunning, reruns: window.__mmReruns})"
        )
        result.watch["changes_before"] = mark["changes"]
        # Seen by the harness's watch: its counter moved (the wait above only polls it on animation frames).
        result.seen_new = result.watch["changes"] > mark["changes"]
        result.changed = bool(
            page.evaluate(target.radio_changed_js if what == "radio" else target.link_changed_js)
        )
        click_at = page.evaluate("() => window.__mmPointerDown") or mark["now"]
        result.idle_to_click_ms = click_at - mark["idle"]
        frames = page.evaluate(_FRAMES_SINCE, mark["now"] - BEFORE_MS)
        states = page.evaluate("() => window.__mmStates")
        result.states_before = [f"{s}@{t - click_at:+.0f}" for t, s in states if t < click_at]
        result.states_after = [f"{s}@{t - click_at:+.0f}" for t, s in states if t >= click_at]
        result.seen = bool(result.states_after)
        before_in = [f for f in frames if f["dir"] == "in" and f["t"] < click_at]
        if before_in:
            result.last_frame_to_click_ms = click_at - before_in[-1]["t"]
        result.received_before = _squash(
            [f"{forward_kind(base64.b64decode(f['b64']))}@{f['t'] - click_at:+.0f}" for f in before_in]
        )
        after = [f for f in frames if f["t"] >= click_at]
        for frame in after:
            raw = base64.b64decode(frame["b64"]) if frame["b64"] else b""
            if frame["dir"] == "out":
                kind = back_kind(raw)
                result.sent_kinds.append(f"{kind}@{frame['t'] - click_at:+.0f}")
                if kind.startswith("rerun_script") and not result.sent:
                    result.sent = True
                    result.sent_after_ms = frame["t"] - click_at
            else:
                kind = forward_kind(raw)
                result.received_after.append(f"{kind}@{frame['t'] - click_at:+.0f}")
                if kind == "new_session" and result.sent:
                    result.ran = True
                if kind.startswith("script_finished") and result.ran:  # noqa: SIM102
                    result.finished = True
        result.received_after = _squash(result.received_after)
    finally:
        context.close()
    return result


@contextlib.contextmanager
def servers(apps: list[str], work: Path, server_env: dict[str, str]) -> Iterator[dict[str, Target]]:
    from bench.bench_browser import bare_server
    from lib import i18n
    from tests.browser.harness import AppServer, reset_demo

    with contextlib.ExitStack() as stack:
        targets: dict[str, Target] = {}
        if "product" in apps:
            reset_demo(work / "product" / "camp.db")
            app = stack.enter_context(AppServer.start(work / "product", env=server_env))
            print(f"product server log: {app.log_path}")
            targets["product"] = Target(
                "product",
                app.url,
                "English",
                i18n.t("nav_compare", "hi"),
                # English chosen: the sidebar's tagline in English; the Compare link: the address.
                f"() => document.body.innerText.includes({json.dumps(i18n.t('app_tagline', 'en'))})",
                "() => location.pathname.endsWith('/compare')",
            )
        if "bare" in apps:
            srv = stack.enter_context(
                bare_server(work / "bare", {"30d": [30, 30, 30], "1y": [365, 365, 365]})
            )
            print(f"bare server log: {srv.log_path}")
            targets["bare"] = Target(
                "bare",
                srv.url,
                "हिन्दी",
                "Compare",
                "() => !!document.querySelectorAll('[data-testid=stSidebar] input[type=radio]')[0]?.checked",
                "() => location.pathname.endsWith('/compare')",
            )
        yield targets


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--app", nargs="+", choices=["product", "bare"], default=["product", "bare"])
    parser.add_argument("--target", nargs="+", choices=["radio", "link"], default=["radio", "link"])
    parser.add_argument("--tries", type=int, default=20, help="tries per app and target")
    parser.add_argument("--delay-ms", type=int, default=0, help="wait this long after idle before clicking")
    parser.add_argument("--device", choices=["desktop", "phone"], default="desktop")
    parser.add_argument("--busy", type=int, default=0, help="busy-loop processes during the tries")
    parser.add_argument("--debug-log", action="store_true", help="the servers log at debug level")
    parser.add_argument("--verbose", action="store_true", help="print every try, not only lost ones")
    args = parser.parse_args(argv)
    from tests.browser.harness import launch_chromium

    env = {"STREAMLIT_LOGGER_LEVEL": "debug"} if args.debug_log else {}
    work = Path(tempfile.mkdtemp(prefix="mm-lost-clicks-"))
    counts: Counter[tuple[str, str, str]] = Counter()
    print(f"lost_clicks: {' '.join(sys.argv[1:]) or '(defaults)'}  load {os.getloadavg()[0]:.1f}")
    with servers(args.app, work, env) as targets, launch_chromium() as pool, busy(args.busy):
        started = time.monotonic()
        for index in range(args.tries):
            for name in args.app:  # interleaved
                for what in args.target:
                    result = one_try(pool.browser, targets[name], what, index, args)
                    counts[(name, what, "tries")] += 1
                    counts[(name, what, "lost")] += result.lost
                    counts[(name, what, "not sent")] += result.lost and not result.sent
                    counts[(name, what, "sent, no run")] += result.lost and result.sent and not result.ran
                    counts[(name, what, "ran, unseen")] += result.lost and result.ran
                    counts[(name, what, "lost (new watch)")] += not result.seen_new
                    counts[(name, what, "page changed")] += result.changed
                    if result.lost or not result.seen_new or args.verbose:
                        print(result.line(), flush=True)
        elapsed = time.monotonic() - started
    print(
        f"\n{args.tries} tries each in {elapsed:.0f} s, load {os.getloadavg()[0]:.1f} at the end;"
        f" delay={args.delay_ms} ms busy={args.busy} device={args.device}"
    )
    for name in args.app:
        for what in args.target:
            c = {
                k: counts[(name, what, k)]
                for k in (
                    "tries",
                    "lost",
                    "not sent",
                    "sent, no run",
                    "ran, unseen",
                    "lost (new watch)",
                    "page changed",
                )
            }
            print(f"  {name:7s} {what:5s}: " + ", ".join(f"{k} {v}" for k, v in c.items()))


if __name__ == "__main__":
    main()
