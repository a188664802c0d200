"""Headless Chromium for the browser tests: Debian's ``chromium`` and ``chromedriver``
(``scripts/setup.sh`` installs both), driven by selenium through that chromedriver, so
nothing is downloaded. Without them the tests skip with the reason, and fail where ``CI`` is
set. Screenshots go to ``$SESSIONKIT_SCREENSHOTS``, else a temporary directory; the end of
the run names it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver

SCREENSHOTS_ENV = "SESSIONKIT_SCREENSHOTS"
WIDTH, HEIGHT = 1100, 760
# Chromium on a machine without a display, a sandbox or a network beyond loopback: no GPU,
# no background connections (update checks, sync), and a fresh profile each time.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    f"--window-size={WIDTH},{HEIGHT}",
)
PAGE_TIMEOUT = 15.0


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason}; CI expects it", pytrace=False)
    pytest.skip(reason)


class Screenshots:
    """Saves a browser's page as ``<directory>/<name>.png`` and remembers what it saved."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.saved: list[Path] = []

    def take(self, browser: WebDriver, name: str) -> None:
        """The whole page: the window is made as tall as the page first."""
        page, frame = browser.execute_script(
            "return [document.documentElement.scrollHeight, outerHeight - innerHeight]"
        )
        browser.set_window_size(WIDTH, max(int(page) + int(frame), HEIGHT))
        path = self.directory / f"{name}.png"
        assert browser.save_screenshot(str(path)), f"no screenshot for {name}"
        assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
        self.saved.append(path)


SCREENSHOTS = pytest.StashKey[Screenshots]()


@pytest.fixture(scope="session")
def screenshots(request: pytest.FixtureRequest) -> Screenshots:
    chosen = os.environ.get(SCREENSHOTS_ENV)
    directory = Path(chosen) if chosen else Path(tempfile.mkdtemp(prefix="sessionkit-demo-"))
    directory.mkdir(parents=True, exist_ok=True)
    shots = request.config.stash[SCREENSHOTS] = Screenshots(directory.absolute())
    return shots


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    shots = config.stash.get(SCREENSHOTS, None)
    if shots is not None and shots.saved:
        terminalreporter.write_line(f"screenshots ({len(shots.saved)}) in {shots.directory}")


@pytest.fixture
def open_browser(tmp_path: Path) -> Iterator[Callable[[str], WebDriver]]:
    """Starts headless Chromium with a fresh profile named by the argument (a second name
    is a second profile: its own cookies); every one is closed after the test."""
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or chromedriver is None:
        _unavailable(
            "chromium or chromedriver is not installed (apt-get install chromium chromium-driver)"
        )
    assert chromium is not None
    assert chromedriver is not None
    started: list[WebDriver] = []

    def open_profile(name: str) -> WebDriver:
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / name}"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        browser = webdriver.Chrome(options=options, service=Service(chromedriver))
        browser.set_page_load_timeout(PAGE_TIMEOUT)
        started.append(browser)
        return browser

    yield open_profile
    for browser in started:
        browser.quit()
