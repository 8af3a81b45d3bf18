"""contrib/screenshots.py keeps working: run as a script, it builds the demo store, serves
it and saves the README's two screenshots, 1400 pixels wide (here into a temporary folder)."""

import struct
import subprocess
import sys

import pytest

from tests.console.harness import ROOT


def png_size(path):
    """Width and height from the PNG's header chunk."""
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n" and header[12:16] == b"IHDR"
    return struct.unpack(">II", header[16:24])


@pytest.mark.browser  # starts its own `triage serve` and Chromium
def test_the_screenshot_script_saves_the_queue_and_a_case_1400_pixels_wide(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "contrib" / "screenshots.py"), "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(tmp_path / "queue.png"), str(tmp_path / "case.png")]
    for name, least in (("queue.png", 800), ("case.png", 1500)):
        width, height = png_size(tmp_path / name)
        assert width == 1400 and height > least, (name, width, height)


def test_the_readme_shows_the_committed_screenshots():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("queue.png", "case.png"):
        assert f"](docs/screenshots/{name})" in readme
        assert png_size(ROOT / "docs" / "screenshots" / name)[0] == 1400
