"""The documentation site's front page in headless Chromium, with a screenshot beside the
demo's. It reads the site ``scripts/docs.sh build`` made (``.ci/run`` builds it before the
tests); without one the test skips, and fails where ``CI`` is set."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

from .conftest import Screenshots, _unavailable

FRONT_PAGE = Path(__file__).resolve().parents[2] / "build" / "docs" / "index.html"


def test_the_documentation_front_page_renders(
    open_browser: Callable[[str], WebDriver], screenshots: Screenshots
) -> None:
    if not FRONT_PAGE.exists():
        _unavailable(f"no documentation site at {FRONT_PAGE} (scripts/docs.sh build makes it)")
    browser = open_browser("docs")
    browser.get(FRONT_PAGE.as_uri())
    assert browser.title.startswith("sessionkit")
    heading = browser.find_element(By.TAG_NAME, "h1").text
    assert "sessionkit" in heading.lower()
    links = {link.text for link in browser.find_elements(By.CSS_SELECTOR, ".sidebar-tree a")}
    assert len(links) >= 5, links  # the guide, the stores, the frameworks … are reachable
    screenshots.take(browser, "10-docs-front-page")
