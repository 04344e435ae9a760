"""Real-browser harness: a camp-mode MeterMitra server, Debian's chromium, and a ``Journey`` per browser tab.

Used by the browser journeys (``tests/browser/test_journeys.py``) and by ``scripts/screenshots.py``:

    with AppServer.start(tmp_dir) as server, launch_chromium() as browser:
        journey = Journey.open(browser, server, lang="en", device="phone", name="smoke")
        journey.sign_in()
        journey.shot("overview")
        journey.assert_clean()

Everything is waited for with Streamlit's own signals (the websocket's run messages and
``[data-testid='stApp']``'s ``data-test-script-state``: :func:`_run_watch`), never with fixed sleeps.
Every request the page makes is recorded, and any request to a host other than 127.0.0.1 is blocked and
reported by ``assert_clean``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import expect

from lib import storage

# Expectations wait as long as actions do (a 2-core CI machine runs the server and chromium together).
EXPECT_TIMEOUT_MS = 30_000
expect.set_options(timeout=EXPECT_TIMEOUT_MS)

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path(os.environ.get("METERMITRA_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
# The suite's clock (the same "now" as tests/conftest.py: 2026-11-25 12:00 IST).
FIXED_NOW = "2026-11-25T06:30:00Z"
OTP_KEY = "6f147fc0f49af9c7fa3a6a75ae11ebde8b6a51afd0f3b9bb6bd68e40709dd7ba"

DEVICES: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1366, "height": 768}},
    # A phone as the server sees it: touch, a narrow screen and a phone browser's User-Agent (the pages
    # pick one-column charts from it).
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "user_agent": (
            "Mozilla/5.0 (Linux; Android 14; SM-A155F) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/150.0.0.0 Mobile Safari/537.36"
        ),
    },
}
LOCAL_HOSTS = {"127.0.0.1"}
DEAD_PORT = 9  # the "discard" port: nothing listens there, so the blocking proxy refuses at once
# Schemes that never leave the machine (the page's own blobs and inline data).
LOCAL_SCHEMES = {"data", "blob", "about", "chrome-extension"}

APP = "[data-testid='stApp']"
IDLE = f"{APP}[data-test-script-state='notRunning'][data-test-connection-state='CONNECTED']"


def _field_number(message: Any, name: str) -> int:
    return int(message.DESCRIPTOR.fields_by_name[name].number)


def _run_watch() -> str:
    """The page's run watch (an init script, so it is in place before Streamlit's own scripts).

    It counts every sign of a script run from page load on and remembers when the last one happened, so
    that "the run this action caused has finished" can be told apart from "no run has started yet":

    - the websocket's own messages, read at their top level: a ``new_session`` ForwardMsg starts a run,
      a ``script_finished`` ends it (``window.__mmRunning`` in between), and every ``rerun_script``
      BackMsg the page sends is counted (``window.__mmReruns``: the frontend took the click);
    - every change of ``stApp``'s ``data-test-script-state`` attribute (running, notRunning, ...).

    The attribute alone is not enough (BENCHMARKS.md section 6, "Lost clicks"): when a run's
    ``running`` and ``notRunning`` status messages are both handled before React renders again (a short
    run, a busy renderer), React commits only the last state and the attribute never changes, although
    the click was sent and the server ran the script. That blind spot was stop 20's "lost clicks".

    A button that calls st.rerun() makes two runs with a short gap between them (measured 9-27 ms here),
    so "finished" also means "no new run started for QUIET_MS": a condition polled on every animation
    frame, not a sleep. Field numbers come from the installed Streamlit's protobuf classes.
    """
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    return (
        _RUN_WATCH_JS.replace("NEW_SESSION", str(_field_number(ForwardMsg, "new_session")))
        .replace("SCRIPT_FINISHED", str(_field_number(ForwardMsg, "script_finished")))
        .replace("RERUN_SCRIPT", str(_field_number(BackMsg, "rerun_script")))
    )


_RUN_WATCH_JS = """
(() => {
  window.__mmStateChanges = 0;
  window.__mmLastChange = performance.now();
  window.__mmRunning = false;
  window.__mmReruns = 0;
  const changed = () => { window.__mmStateChanges += 1; window.__mmLastChange = performance.now(); };
  new MutationObserver((records) => {
    window.__mmStateChanges += records.length;
    window.__mmLastChange = performance.now();
  }).observe(document, {subtree: true, attributes: true, attributeFilter: ["data-test-script-state"]});
  // The field numbers at the top level of one protobuf message (length-delimited fields skipped unread).
  const topFields = (data) => {
    const u = data instanceof ArrayBuffer ? new Uint8Array(data)
      : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
    const fields = [];
    if (!u) return fields;
    let i = 0;
    const varint = () => {
      let value = 0, scale = 1, byte;
      do { byte = u[i++]; value += (byte & 0x7f) * scale; scale *= 128; } while (byte & 0x80 && i < u.length);
      return value;
    };
    while (i < u.length) {
      const key = varint(), wire = key % 8;
      fields.push(Math.floor(key / 8));
      if (wire === 0) varint();
      else if (wire === 1) i += 8;
      else if (wire === 2) { const length = varint(); i += length; }  // not "i += varint()": i is read first
      else if (wire === 5) i += 4;
      else break;
    }
    return fields;
  };
  window.__mmTopFields = topFields;  // for tests/browser/test_harness.py
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    if (topFields(data).includes(RERUN_SCRIPT)) window.__mmReruns += 1;
    return send.call(this, data);
  };
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (event) => {
        const fields = topFields(event.data);
        if (fields.includes(NEW_SESSION)) { window.__mmRunning = true; changed(); }
        else if (fields.includes(SCRIPT_FINISHED)) { window.__mmRunning = false; changed(); }
      });
    }
  };
})();
"""
_RUN_WATCH = _run_watch()
QUIET_MS = 150
FIRST_LOAD_QUIET_MS = 500
LOST_CLICK_MS = 5_000  # bench_browser: a click that sent no rerun to the server in this time is lost
NAVIGATE_TRIAL_MS = 10_000  # a sidebar link that cannot be clicked this long: put the screen back once
_IDLE_AFTER = """([before, quietMs]) => {
  const app = document.querySelector("[data-testid='stApp']");
  return !!app && window.__mmStateChanges > before && !window.__mmRunning
    && app.getAttribute("data-test-script-state") === "notRunning"
    && app.getAttribute("data-test-connection-state") === "CONNECTED"
    && performance.now() - window.__mmLastChange >= quietMs;
}"""

MAX_SHOT_HEIGHT = 6000
# Resolves after the browser has laid out and painted twice (a resized page has re-flowed).
_TWO_FRAMES = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"

OTP_PATTERN = re.compile(r"(?<![0-9])([0-9]{3}) ?([0-9]{3})(?![0-9])")
_ASCII_DIGITS = str.maketrans("०१२३४५६७८९", "0123456789")


class BrowserMissing(RuntimeError):
    """Chromium or the playwright package is not installed."""


def browser_missing_reason() -> str | None:
    """Why the browser journeys cannot run here, in one line, or ``None`` when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -r requirements-dev.txt)"
    if not CHROMIUM.exists():
        return f"no chromium at {CHROMIUM} (apt-get install -y chromium fonts-lohit-deva)"
    if not devanagari_fonts():
        return "no Devanagari font: every Hindi letter would be a box (apt-get install -y fonts-lohit-deva)"
    return None


def devanagari_fonts() -> list[str]:
    """The installed fonts that cover Hindi (``fc-list :lang=hi``), as chromium on Linux finds them."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    out = subprocess.run([fc_list, ":lang=hi", "family"], capture_output=True, text=True, check=False)  # noqa: S603
    return [line.strip() for line in out.stdout.splitlines() if line.strip()]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(db_path: Path | str, *, now: str = FIXED_NOW, camp: bool = True) -> dict[str, str]:
    """The environment of the test server: camp mode on a fresh database (or, ``camp=False``, the local demo
    on ``db_path``, which may be a postgresql:// URL), a fixed clock, SMS to the outbox."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("METERMITRA_")}
    env.update(
        METERMITRA_DB=str(db_path),
        METERMITRA_NOW=now,
        METERMITRA_SMS_GATEWAY="outbox",
        METERMITRA_OTP_KEY=OTP_KEY,
        PYTHONUNBUFFERED="1",
    )
    if camp:
        env["METERMITRA_CAMP"] = "1"
    return env


def reset_demo(db_path: Path, *, now: str = FIXED_NOW) -> None:
    """Put the camp database back to the seeded demo (``lib.camp.reset_demo``), as the camp button does."""
    from lib import camp, clock

    previous = os.environ.get("METERMITRA_NOW")
    os.environ["METERMITRA_NOW"] = now
    try:
        camp.reset_demo(Path(db_path), now=clock.now_utc())
    finally:
        if previous is None:
            os.environ.pop("METERMITRA_NOW", None)
        else:
            os.environ["METERMITRA_NOW"] = previous


@dataclass
class AppServer:
    """``streamlit run serve.py`` (the dashboard with its cookie routes) on a free port of 127.0.0.1, in camp
    mode, on its own database."""

    url: str
    db_path: Any  # the camp file, or the database URL of a non-camp server
    log_path: Path
    process: subprocess.Popen[bytes]

    @classmethod
    @contextlib.contextmanager
    def start(
        cls,
        work_dir: Path,
        *,
        now: str = FIXED_NOW,
        timeout: float = 60.0,
        database: str | None = None,
        env: dict[str, str] | None = None,
    ) -> Iterator[AppServer]:
        """Start the server with its clock fixed at ``now``, wait for ``/_stcore/health``, yield it, and
        stop it at the end. ``database`` (e.g. a postgresql:// URL): not camp mode, the local demo on that
        database, with ``env`` added to the environment."""
        work_dir.mkdir(parents=True, exist_ok=True)
        db_path: Any = database or work_dir / "camp.db"
        log_path = work_dir / "streamlit.log"
        port = free_port()
        command = [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "serve.py",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--server.fileWatcherType",
            "none",
            "--browser.gatherUsageStats",
            "false",
        ]
        with log_path.open("wb") as log:
            process = subprocess.Popen(  # noqa: S603  (fixed argv, no shell)
                command,
                cwd=ROOT,
                env={**server_env(db_path, now=now, camp=database is None), **(env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        server = cls(url=f"http://127.0.0.1:{port}/", db_path=db_path, log_path=log_path, process=process)
        try:
            server._wait_healthy(timeout)
            yield server
        finally:
            server.stop()

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "_stcore/health", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            # Polling a socket that is not listening yet: a short back-off, not a wait for the app.
            time.sleep(0.1)
        raise TimeoutError(f"streamlit not healthy after {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the server's output (for failure messages)."""
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Terminate the server process (and only it), killing it if it does not exit in 10 s."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@dataclass
class Chromium:
    """One headless chromium and one browser context per (device, language), created when first needed.

    Each journey opens a new *page* (a new Streamlit session) in its context, so the journeys of one
    size and language share the HTTP cache (Streamlit's JavaScript is fetched once per context).
    """

    browser: Any
    contexts: dict[tuple[str, str], Any] = field(default_factory=dict)

    def context(self, device: str, lang: str) -> Any:
        key = (device, lang)
        if key not in self.contexts:
            context = self.browser.new_context(
                **DEVICES[device], locale="hi-IN" if lang == "hi" else "en-IN", accept_downloads=True
            )
            context.set_default_timeout(EXPECT_TIMEOUT_MS)
            context.add_init_script(_RUN_WATCH)
            self.contexts[key] = context
        return self.contexts[key]

    def close(self) -> None:
        for context in self.contexts.values():
            context.close()
        self.browser.close()


def launch_options() -> dict[str, Any]:
    """Keyword arguments of playwright's ``chromium.launch`` for Debian's chromium (:func:`launch_chromium`;
    the browser benchmark launches more browsers the same way)."""
    return {
        "executable_path": str(CHROMIUM),
        "args": CHROMIUM_ARGS,
        "proxy": {"server": f"http://127.0.0.1:{DEAD_PORT}", "bypass": ",".join(sorted(LOCAL_HOSTS))},
    }


@contextlib.contextmanager
def launch_chromium() -> Iterator[Chromium]:
    """Playwright's sync API driving Debian's chromium with the flags of docs/research/stack.md §3.

    Nothing can leave the machine: every request to a host other than 127.0.0.1 goes to a proxy that
    does not exist (so it fails), and ``Journey`` reports it.
    """
    reason = browser_missing_reason()
    if reason:
        raise BrowserMissing(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**launch_options())
        pool = Chromium(browser)
        try:
            yield pool
        finally:
            pool.close()


def t(key: str, lang: str, **values: Any) -> str:
    """Catalog text (``lib.i18n.t``): tests find elements by the words the user reads."""
    from lib import i18n

    return i18n.t(key, lang, **values)


@dataclass
class Journey:
    """One visitor: a fresh browser context (own Streamlit session) at one size and in one language."""

    page: Any
    context: Any
    server: AppServer
    lang: str
    device: str
    name: str
    console_errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)
    screenshots: list[Path] = field(default_factory=list)

    # -- opening -----------------------------------------------------------------------------------

    @classmethod
    def open(cls, chromium: Chromium, server: AppServer, *, lang: str, device: str, name: str) -> Journey:
        """A new tab (a new Streamlit session) at ``device`` size on the app's home page, in ``lang``."""
        context = chromium.context(device, lang)
        page = context.new_page()
        journey = cls(page=page, context=context, server=server, lang=lang, device=device, name=name)
        page.on("request", journey._on_request)
        page.on("websocket", lambda ws: journey._check_url(ws.url))
        page.on("console", journey._on_console)
        page.on("pageerror", lambda error: journey.console_errors.append(f"pageerror: {error}"))
        journey.goto("")
        journey.set_language(lang)
        return journey

    def close(self) -> None:
        self.page.close()

    # -- network and console watch -----------------------------------------------------------------

    def _check_url(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme in LOCAL_SCHEMES or parts.hostname in LOCAL_HOSTS:
            return True
        self.outside_requests.append(url)
        return False

    def _on_request(self, request: Any) -> None:
        self._check_url(request.url)

    def _on_console(self, message: Any) -> None:
        if message.type == "error":
            location = message.location or {}
            self.console_errors.append(f"console.error: {message.text} ({location.get('url', '')})")

    # -- waiting -----------------------------------------------------------------------------------

    def _changes(self) -> int:
        return int(self.page.evaluate("window.__mmStateChanges || 0"))

    def _watch_state(self) -> dict[str, Any]:
        return dict(
            self.page.evaluate(
                """() => { const app = document.querySelector("[data-testid='stApp']");
                  return {changes: window.__mmStateChanges, running: window.__mmRunning,
                          reruns_sent: window.__mmReruns, script: app?.getAttribute("data-test-script-state"),
                          connection: app?.getAttribute("data-test-connection-state")}; }"""
            )
        )

    def _reruns_sent(self) -> int:
        return int(self.page.evaluate("window.__mmReruns || 0"))

    def wait_idle(self, before: int, quiet_ms: int = QUIET_MS, *, reruns_before: int | None = None) -> None:
        """Wait until a script run that started after ``before`` state changes has finished (the run watch:
        :func:`_run_watch`). ``reruns_before``: the page's count of rerun BackMsgs sent before the action,
        so that a failure says whether the frontend sent one at all."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            self.page.wait_for_function(_IDLE_AFTER, arg=[before, quiet_ms], polling="raf")
        except PlaywrightTimeout as error:
            state = self._watch_state()
            if reruns_before is not None:
                state["reruns_sent_since_the_action"] = state["reruns_sent"] - reruns_before
            raise AssertionError(
                f"the app did not finish a run after {before} state changes: {state}\n"
                f"--- server log ---\n{self.server.log_tail()}"
            ) from error

    def act(self, action: Callable[[], Any], then: Callable[[], Any] | None = None) -> Any:
        """Do ``action`` (a click that makes Streamlit rerun) and wait until the runs it caused are over.

        ``then`` is an expectation about the result (``lambda: expect(...).to_be_visible()``), checked
        before waiting for the app to settle. Every click of the journeys that makes a run goes through
        here (``navigate``, ``set_language``, ``radio``, sign-in). A click made as soon as the app is idle
        is safe: measured with bench/lost_clicks.py, the frontend sent the rerun for every such click and
        the server ran it (BENCHMARKS.md section 6, "Lost clicks"); what looked like a lost click was a run
        the old watch did not see, so nothing is clicked twice.
        """
        before, reruns = self._changes(), self._reruns_sent()
        result = action()
        if then is not None:
            then()
        self.wait_idle(before, reruns_before=reruns)
        return result

    def goto(self, path: str) -> None:
        """Load ``path`` of the app in this tab (a new Streamlit session) and wait for the first run."""
        self.page.goto(self.server.url + path)
        # A fresh page also mounts the frontend; give it a longer quiet window before the first click.
        self.wait_idle(0, quiet_ms=FIRST_LOAD_QUIET_MS)

    # -- the frame ---------------------------------------------------------------------------------

    @property
    def main(self) -> Any:
        return self.page.get_by_test_id("stMain")

    @property
    def sidebar(self) -> Any:
        return self.page.get_by_test_id("stSidebar")

    def open_sidebar(self) -> None:
        """Make the sidebar visible (on a phone it starts collapsed behind the ☰ button)."""
        expand = self.page.get_by_test_id("stExpandSidebarButton")
        if expand.count() and expand.first.is_visible():
            expand.first.click()
        self.page.get_by_test_id("stSidebarContent").wait_for(state="visible")
        self._wait_sidebar_settled(open_=True)

    def _wait_sidebar_settled(self, *, open_: bool) -> None:
        """Wait for the sidebar's slide animation to end (fully on screen, or fully off it)."""
        self.page.wait_for_function(
            """(open) => {
              const bar = document.querySelector("[data-testid='stSidebar']");
              if (!bar) return !open;
              const box = bar.getBoundingClientRect();
              return open ? box.left >= 0 && box.width > 0 : box.right <= 0 || box.width === 0;
            }""",
            arg=open_,
            polling="raf",
        )

    def close_sidebar_on_phone(self) -> None:
        """On a phone the open sidebar covers the page: close it again."""
        if self.device != "phone":
            return
        expand = self.page.get_by_test_id("stExpandSidebarButton")
        if expand.count() and expand.first.is_visible():
            # Already folded: a page link tapped in the sidebar folds it (lib.ui.frame, issue 14 section 4).
            self._wait_sidebar_settled(open_=False)
            return
        content = self.page.get_by_test_id("stSidebarContent")
        if content.count() and content.first.is_visible():
            self.page.get_by_test_id("stSidebarCollapseButton").first.click()
            self.page.get_by_test_id("stExpandSidebarButton").first.wait_for(state="visible")
            self._wait_sidebar_settled(open_=False)

    def set_language(self, lang: str) -> None:
        """Pick ``lang`` in the sidebar's language switch (Hindi is the default)."""
        label = {"hi": "हिन्दी", "en": "English"}[lang]
        self.open_sidebar()
        radio = self.sidebar.get_by_role("radio", name=label, exact=True)
        if not radio.is_checked():
            self.act(self.sidebar.get_by_text(label, exact=True).click, lambda: expect(radio).to_be_checked())
        expect(radio).to_be_checked()
        self.close_sidebar_on_phone()
        self.lang = lang

    def navigate(self, label_key: str) -> None:
        """Follow the sidebar link whose label is catalog key ``label_key`` (same session, no reload)."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        self.open_sidebar()
        link = self.sidebar.get_by_role("link", name=self.t(label_key), exact=True)
        try:
            # Seen once in CI (stop 18, ``test_reload_and_second_tab_stay_signed_in[hi-phone]``, the second tab
            # after its full-height screenshot): the open sidebar's link stayed "outside of the viewport" for
            # 30 s. The screen is put back (scrolled to the top, sidebar folded and opened again) and the
            # link clicked once more; a second failure fails the journey.
            link.click(trial=True, timeout=NAVIGATE_TRIAL_MS)
        except PlaywrightTimeout:
            self.page.evaluate("() => window.scrollTo(0, 0)")
            self.close_sidebar_on_phone()
            self.open_sidebar()
        self.act(link.click)
        self.close_sidebar_on_phone()

    def t(self, key: str, **values: Any) -> str:
        return t(key, self.lang, **values)

    # -- camp phone --------------------------------------------------------------------------------

    def phone_panel(self) -> Any:
        """The camp mode's on-screen phone (an expander titled ``camp_phone_title``)."""
        return self.page.get_by_test_id("stExpander").filter(has_text=self.t("camp_phone_title"))

    def open_phone(self) -> Any:
        """The demo phone, unfolded (it folds after sign-in); a tap on its title opens it, without a run."""
        panel = self.phone_panel()
        details = panel.locator("details").first
        if details.count() and details.get_attribute("open") is None:
            panel.locator("summary").first.click()
            expect(details).to_have_attribute("open", "")
        return panel

    def latest_sms(self, to: str | None = None) -> str:
        """The text of the newest SMS on the demo phone; with ``to`` (E.164), check it went to that mobile."""
        panel = self.open_phone()
        code = panel.get_by_test_id("stCode").first
        code.wait_for(state="visible")
        if to is not None:
            from lib.ui.camp import format_demo_mobile

            expect(panel.get_by_test_id("stCaptionContainer").first).to_contain_text(format_demo_mobile(to))
        return str(code.inner_text())

    def latest_otp(self, to: str | None = None) -> str:
        """The six-digit OTP in the newest SMS on the demo phone (sent to ``to`` when given)."""
        text = self.latest_sms(to)
        match = OTP_PATTERN.search(text.translate(_ASCII_DIGITS))
        assert match, f"no six-digit OTP in the newest demo SMS: {text!r}"
        return match.group(1) + match.group(2)

    def sms_count(self) -> int:
        """How many SMS the demo phone shows (it shows the newest few)."""
        return int(self.open_phone().get_by_test_id("stCode").count())

    # -- sign in -----------------------------------------------------------------------------------

    def send_sign_in_otp(self, mobile: str) -> None:
        """Type ``mobile`` (E.164) as a person would (10 digits) and press "Send OTP"."""
        self.main.get_by_label(self.t("auth_mobile_label"), exact=True).fill(mobile.removeprefix("+91"))
        self.act(
            self.main.get_by_role("button", name=self.t("auth_send_otp"), exact=True).click,
            then=lambda: expect(self.main.get_by_label(self.t("auth_otp_label"), exact=True)).to_be_visible(),
        )

    def submit_otp(self, code: str, then: Callable[[], Any] | None = None) -> None:
        """Type ``code`` into the OTP box on screen and press "Verify OTP" (``then``: see ``act``)."""
        self.main.get_by_label(self.t("auth_otp_label"), exact=True).fill(code)
        self.act(self.main.get_by_role("button", name=self.t("auth_verify_otp"), exact=True).click, then)

    def sign_in(self, mobile: str | None = None) -> None:
        """Sign in with the demo mobile: "Send OTP", read the code off the demo phone, "Verify OTP"."""
        from lib import demo

        mobile = mobile or demo.DEMO_ACCOUNT_MOBILE
        self.send_sign_in_otp(mobile)
        self.submit_otp(
            self.latest_otp(to=mobile),
            then=lambda: expect(self.main.get_by_label(self.t("auth_otp_label"), exact=True)).to_have_count(
                0
            ),
        )
        # A verified sign-in restores the account's saved language; keep the journey's one.
        self.set_language(self.lang)

    # -- pages ---------------------------------------------------------------------------------------

    def radio(self, label_key: str, option_key: str) -> None:
        """Pick the option ``option_key`` of the radio group labelled ``label_key`` (both catalog keys)."""
        group = self.main.get_by_test_id("stRadio").filter(
            has=self.page.get_by_test_id("stWidgetLabel").get_by_text(self.t(label_key), exact=True)
        )
        self.act(group.get_by_text(self.t(option_key), exact=True).click)
        expect(group.get_by_role("radio", name=self.t(option_key), exact=True)).to_be_checked()

    def button(self, label_key: str, **values: Any) -> Any:
        """The main area's button whose text is catalog key ``label_key``."""
        return self.main.get_by_role("button", name=self.t(label_key, **values), exact=True)

    def chart_texts(self, chart_key: str, css: str) -> list[str]:
        """Texts of the SVG elements ``css`` (``.annotation-text``, ``.legendtext``) of chart ``chart_key``."""
        chart = self.page.locator(f".st-key-{chart_key} [data-testid='stPlotlyChart']")
        expect(chart).to_be_visible()
        return [text.strip() for text in chart.locator(css).all_text_contents()]

    def download(self, button: Any) -> Path:
        """Click a download button and return the downloaded file (kept in test-artifacts/downloads/).

        The app's download buttons use ``on_click="ignore"`` (no rerun), so there is no run to wait for.
        """
        with self.page.expect_download() as info:
            button.click()
        download = info.value
        target = (
            ARTIFACTS / "downloads" / f"{self.name}-{self.lang}-{self.device}-{download.suggested_filename}"
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        download.save_as(str(target))
        return target

    # -- checks and pictures -----------------------------------------------------------------------

    def exceptions(self) -> list[str]:
        boxes = self.page.get_by_test_id("stException")
        return [str(boxes.nth(i).inner_text()) for i in range(boxes.count())]

    def horizontal_overflow(self) -> int:
        """How many CSS pixels the page is wider than the viewport (0 = no horizontal scrolling)."""
        return int(
            self.page.evaluate(
                """() => {
                  const els = [document.documentElement, document.body,
                    ...document.querySelectorAll("[data-testid='stMain'], [data-testid='stAppViewContainer']")];
                  return Math.max(0, ...els.map((e) => e.scrollWidth - e.clientWidth));
                }"""
            )
        )

    def cut_off_texts(self) -> list[str]:
        """Texts the page shows shortened with "…" because they do not fit (metric values, labels)."""
        return list(
            self.page.evaluate(
                """() => [...document.querySelectorAll("[data-testid='stApp'] *")]
                  .filter((e) => getComputedStyle(e).textOverflow === "ellipsis"
                                 && e.scrollWidth > e.clientWidth + 1 && e.offsetParent !== null
                                 && e.getBoundingClientRect().right > 0)  // not in a collapsed sidebar
                  .map((e) => e.textContent.trim()).filter((text) => text)"""
            )
        )

    def assert_clean(self) -> None:
        """No Streamlit exception box, no console error, no request that left 127.0.0.1."""
        problems = []
        if boxes := self.exceptions():
            problems.append(f"exception box(es) on screen: {boxes}")
        if self.console_errors:
            problems.append(f"browser console errors: {self.console_errors}")
        if self.outside_requests:
            problems.append(f"requests that left 127.0.0.1: {sorted(set(self.outside_requests))}")
        assert not problems, "; ".join(problems) + f"\n--- server log ---\n{self.server.log_tail()}"

    def screenshot(self, path: Path) -> Path:
        """The whole page as one PNG: Streamlit scrolls inside ``stMain``, so the viewport is made as tall
        as its content for the picture (width unchanged), then put back."""
        path.parent.mkdir(parents=True, exist_ok=True)
        size = dict(self.page.viewport_size)
        content = int(
            self.page.evaluate("() => document.querySelector(\"[data-testid='stMain']\")?.scrollHeight || 0")
        )
        tall = min(max(content, size["height"]), MAX_SHOT_HEIGHT)
        if tall > size["height"]:
            self.page.set_viewport_size({"width": size["width"], "height": tall})
            self.page.evaluate(_TWO_FRAMES)
        try:
            self.page.screenshot(path=str(path))
        finally:
            if tall > size["height"]:
                self.page.set_viewport_size(size)
                self.page.evaluate("() => window.scrollTo(0, 0)")
                self.page.evaluate(_TWO_FRAMES)
        return path

    def shot(self, step: str) -> Path:
        """Save a screenshot of the current screen into test-artifacts/journeys/, check the page is clean
        and does not scroll sideways."""
        path = self.screenshot(ARTIFACTS / "journeys" / f"{self.name}-{self.lang}-{self.device}-{step}.png")
        self.screenshots.append(path)
        self.assert_clean()
        # Issue 5: every page usable at 390 px, so nothing may make the page scroll sideways.
        assert self.horizontal_overflow() == 0, f"{path.name}: the page scrolls sideways"
        return path


def chromium_version() -> str:
    """``Chromium 150.0...`` (for the README and reports)."""
    exe = shutil.which(str(CHROMIUM)) or str(CHROMIUM)
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)  # noqa: S603
    return out.stdout.strip()


def deploy_env() -> dict[str, str]:
    """The variables of docs/deploy/metermitra.env (KEY=VALUE lines; comments and blanks skipped)."""
    pairs = (
        line.split("=", 1)
        for line in (ROOT / "docs" / "deploy" / "metermitra.env").read_text(encoding="utf-8").splitlines()
    )
    return {
        key.strip(): value.strip()
        for key, *rest in pairs
        if key.strip() and not key.startswith("#")
        for value in rest
    }


def latest_otp(url: str, destination: str) -> str:
    """The newest OTP sent to ``destination`` (read from the outbox of database ``url``)."""
    with storage.open_db(url, run_migrations=False) as conn:
        for message in conn.sms.recent_outbox(20):
            if message["destination"] == destination and str(message["kind"]).startswith("otp_"):
                match = re.search(r"(\d{3}) ?(\d{3})", str(message["text"]))
                assert match
                return match.group(1) + match.group(2)
    raise AssertionError(f"no OTP to {destination} in the outbox")
