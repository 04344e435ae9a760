"""Screenshots of every page, desktop 1366×768 and phone 390×844, in Hindi and English, into test-artifacts/.

Starts its own camp-mode server on a free port of 127.0.0.1 (fresh demo database, fixed clock), signs in
with the demo mobile through the on-screen phone, visits every page of the navigation and saves one
full-page PNG per page, language and size, plus the sign-in screen:

    .venv/bin/python scripts/screenshots.py                 # all pages, both languages, both sizes
    .venv/bin/python scripts/screenshots.py --lang hi --device phone

Prints one line per picture with what is wrong on it (exception box, console error, a request that left
127.0.0.1, horizontal scrolling, text cut off with …), and exits 1 when anything was wrong. Needs /usr/bin/chromium and a
Devanagari font (``apt-get install -y chromium fonts-lohit-deva``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.browser.harness import (  # noqa: E402  (needs the project root on sys.path)
    ARTIFACTS,
    DEVICES,
    AppServer,
    Journey,
    browser_missing_reason,
    launch_chromium,
    reset_demo,
)

OUT_DIR = ARTIFACTS / "screens"


def _problems(journey: Journey) -> list[str]:
    found = []
    if boxes := journey.exceptions():
        found.append(f"exception box: {boxes[0][:80]!r}")
    if journey.console_errors:
        found.append(f"console errors: {journey.console_errors[:2]}")
    if journey.outside_requests:
        found.append(f"left 127.0.0.1: {sorted(set(journey.outside_requests))[:3]}")
    if overflow := journey.horizontal_overflow():
        found.append(f"horizontal scroll: {overflow}px wider than the screen")
    if cut := journey.cut_off_texts():
        found.append(f"cut off with …: {sorted(set(cut))[:6]}")
    journey.console_errors.clear()
    journey.outside_requests.clear()
    return found


def _save(journey: Journey, page_id: str) -> tuple[Path, list[str]]:
    path = journey.screenshot(OUT_DIR / f"{page_id}-{journey.lang}-{journey.device}.png")
    return path, _problems(journey)


def take_screenshots(langs: list[str], devices: list[str]) -> int:
    """Visit every page in every language and size; returns how many pictures showed a problem."""
    from lib.ui import paths

    bad = 0
    with tempfile.TemporaryDirectory(prefix="metermitra-shots-") as tmp:
        work = Path(tmp)
        reset_demo(work / "camp.db")
        with AppServer.start(work) as server, launch_chromium() as browser:
            for lang in langs:
                for device in devices:
                    # A fresh demo per visitor, as the camp's reset button gives (OTP send limits are
                    # per mobile and the clock is fixed, so a second sign-in would wait forever).
                    reset_demo(server.db_path)
                    journey = Journey.open(browser, server, lang=lang, device=device, name="screens")
                    try:
                        shots = [_save(journey, "sign_in")]
                        journey.sign_in()
                        for page_id, path, label_key in paths.PAGES:
                            if paths.exists(path):
                                journey.navigate(label_key)
                                shots.append(_save(journey, page_id))
                    finally:
                        journey.close()
                    for path, problems in shots:
                        bad += bool(problems)
                        status = "; ".join(problems) if problems else "ok"
                        print(f"{path.relative_to(ROOT)}: {status}")
    return bad


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=["hi", "en"], action="append", help="default: both")
    parser.add_argument("--device", choices=sorted(DEVICES), action="append", help="default: both")
    args = parser.parse_args(argv)
    if reason := browser_missing_reason():
        print(f"cannot take screenshots: {reason}", file=sys.stderr)
        return 2
    bad = take_screenshots(args.lang or ["hi", "en"], args.device or ["desktop", "phone"])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
