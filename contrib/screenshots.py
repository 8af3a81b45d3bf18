"""The console's screenshots in the README, taken from the real thing: the demo store
(the sample mail of tests/data through `triage poll --dry-run`, as `make demo` does),
a demo agent, `triage serve` on a free loopback port, headless Chromium 1400 pixels wide.

    .venv/bin/python contrib/screenshots.py [--out docs/screenshots]

Writes queue.png (the queue of 07) and case.png (a case of two messages, the evidence
of the engine's decision unfolded). The clock is pinned (TRIAGE_CLOCK) so the pictures
do not change with the day they are taken. Needs the test tools (`make tools`).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the test suite's console harness: one way to start the console

from selenium.webdriver.common.by import By  # noqa: E402

from tests.console.harness import Console, chromium, log_in  # noqa: E402

DEMO_LOGIN, DEMO_PASSWORD = "demo", "demo-console-2026"
CASE_IDENTIFIER = "jlmoreau-xt"  # a request and its follow-up, in the Ardèche


def full_page(driver, path: Path, width: int) -> None:
    """The whole page, `width` CSS pixels wide at scale 1, however long (a window cannot
    grow past the screen: the page is laid out as on a screen that tall instead)."""
    metrics = {"width": width, "height": 1000, "deviceScaleFactor": 1, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**metrics, "height": height})
    driver.save_screenshot(str(path))
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def take(out: Path, work: Path, width: int = 1400) -> list[Path]:
    """Build the demo store in `work`, serve it, save the two screenshots in `out`."""
    console = Console(work)
    console.triage("poll", "--source", str(ROOT / "tests" / "data"), "--dry-run")
    console.triage("agents", "add", DEMO_LOGIN, "--name", "Agent de démonstration", "--admin",
                   stdin=DEMO_PASSWORD + "\n")
    console.start()
    driver = chromium(width, 1000)
    try:
        error = log_in(driver, console, DEMO_LOGIN, DEMO_PASSWORD)
        if error:
            raise RuntimeError(f"login refused: {error}")
        out.mkdir(parents=True, exist_ok=True)
        driver.get(console.url("/?departement=07"))
        full_page(driver, out / "queue.png", width)
        driver.get(console.url(f"/cases/{console.reference(CASE_IDENTIFIER)}"))
        driver.find_element(By.CSS_SELECTOR, "details.preuves > summary").click()
        full_page(driver, out / "case.png", width)
    finally:
        driver.quit()
        console.stop()
    return [out / "queue.png", out / "case.png"]


def main(argv: list[str] | None = None) -> int:
    """Parse the options, take the screenshots, say where they are."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots", help="folder of the PNG files")
    parser.add_argument("--width", type=int, default=1400, help="page width in pixels")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="triage-screenshots-") as work:
        for path in take(args.out, Path(work), args.width):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
