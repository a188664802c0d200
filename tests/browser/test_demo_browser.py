"""The demo in a real browser: ``sessionkit demo`` on a free loopback port (the default file
store, under uvicorn), clicked through in headless Chromium, one fresh profile per browser.

Each step waits for the page its click leads to, reads what the page says, and saves a
screenshot (see ``conftest.py`` for where).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait

from tests.adapters.test_demo_e2e import Demo

from .conftest import PAGE_TIMEOUT, Screenshots

Browsers = Callable[[str], WebDriver]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    served = Demo(tmp_path_factory.mktemp("demo"), [])
    with served.running():
        yield served


def left(page: WebElement) -> Callable[[WebDriver], bool]:
    """Whether the browser has left the page whose root is ``page``: its element is stale,
    or (mid-navigation) Chromium no longer finds it in the document."""

    def check(driver: WebDriver) -> bool:
        try:
            page.is_enabled()
        except WebDriverException:  # StaleElementReferenceException, or Chromium's inspector
            return True
        return False

    return check


def follow(browser: WebDriver, element: WebElement) -> None:
    """Click a link or a form's button and wait for the page it leads to."""
    page = browser.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(browser, PAGE_TIMEOUT).until(left(page))
    WebDriverWait(browser, PAGE_TIMEOUT).until(
        lambda driver: driver.execute_script("return document.readyState") == "complete"
    )


def text(browser: WebDriver, css: str) -> str:
    return browser.find_element(By.CSS_SELECTOR, css).text


def cart_items(browser: WebDriver) -> list[str]:
    return [item.text for item in browser.find_elements(By.CSS_SELECTOR, "#cart-items .item")]


def session_id(browser: WebDriver) -> str:
    cookie = browser.get_cookie("session")
    assert cookie is not None, "no session cookie"
    sid: str = cookie["value"].rpartition(".")[0]
    return sid


def log_in(browser: WebDriver, base: str, user: str) -> None:
    browser.get(f"{base}/login")
    browser.find_element(By.ID, "user").send_keys(user)
    follow(browser, browser.find_element(By.ID, "login"))
    assert text(browser, "#current-user") == user


def add_to_cart(browser: WebDriver, item: str) -> None:
    browser.find_element(By.ID, "item").send_keys(item)
    follow(browser, browser.find_element(By.ID, "add"))


def shop(browser: WebDriver, base: str, user: str, item: str) -> None:
    """Log in as ``user`` and put ``item`` in the cart; the cart page stays open."""
    log_in(browser, base, user)
    browser.get(f"{base}/cart")
    add_to_cart(browser, item)


def console_errors(browser: WebDriver) -> list[str]:
    return [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def test_counter_login_cart_and_logout(
    demo: Demo, open_browser: Browsers, screenshots: Screenshots
) -> None:
    browser = open_browser("first")
    browser.get(demo.base_url)
    assert text(browser, "#visits") == "Welcome! This is your first visit."
    assert text(browser, "#store").startswith("file:///")
    screenshots.take(browser, "01-first-visit")
    browser.refresh()
    assert text(browser, "#visits") == "Number of visits: 2"

    follow(browser, browser.find_element(By.LINK_TEXT, "Log in"))
    assert "there is no password" in text(browser, "main")
    screenshots.take(browser, "02-login")
    before = session_id(browser)
    browser.find_element(By.ID, "user").send_keys("ann")
    follow(browser, browser.find_element(By.ID, "login"))
    assert browser.current_url == f"{demo.base_url}/"
    assert text(browser, "#current-user") == "ann"
    assert text(browser, "#visits") == "Number of visits: 3"
    assert session_id(browser) != before  # a new id at login
    browser.refresh()  # the login answered 303: reloading GETs the page, sends no form again
    assert text(browser, "#visits") == "Number of visits: 4"

    follow(browser, browser.find_element(By.PARTIAL_LINK_TEXT, "Cart"))
    assert text(browser, "#cart-empty") == "Your cart is empty."
    for item in ("apples", "pears"):
        add_to_cart(browser, item)
    assert cart_items(browser) == ["apples", "pears"]
    screenshots.take(browser, "03-cart")
    follow(browser, browser.find_element(By.CSS_SELECTOR, 'button[name=remove][value="apples"]'))
    browser.refresh()
    assert cart_items(browser) == ["pears"]
    assert browser.find_element(By.PARTIAL_LINK_TEXT, "Cart").text == "Cart (1)"

    follow(browser, browser.find_element(By.LINK_TEXT, "Your session"))
    sid = session_id(browser)
    assert text(browser, "#id-hint") == sid[:6]
    assert sid not in browser.page_source
    assert "Headless Chrome on Linux" in text(browser, "#user-sessions")
    assert '"pears"' in text(browser, "#data")
    screenshots.take(browser, "04-session")

    follow(browser, browser.find_element(By.ID, "logout"))
    assert text(browser, "#visits") == "Welcome! This is your first visit."
    assert browser.find_element(By.LINK_TEXT, "Log in").is_displayed()
    assert browser.find_element(By.PARTIAL_LINK_TEXT, "Cart").text == "Cart (0)"
    assert session_id(browser) != sid
    screenshots.take(browser, "05-logged-out")

    assert console_errors(browser) == []  # no failed load, no blocked style
    served = demo.log.read_text()
    assert '"GET /favicon.ico HTTP/1.1" 200' in served
    assert " 404 " not in served


def test_a_second_profile_does_not_see_the_first_ones_session(
    demo: Demo, open_browser: Browsers, screenshots: Screenshots
) -> None:
    first, second = open_browser("first"), open_browser("second")
    shop(first, demo.base_url, "carol", "tea")

    second.get(demo.base_url)
    assert text(second, "#visits") == "Welcome! This is your first visit."
    assert second.find_element(By.LINK_TEXT, "Log in").is_displayed()
    assert second.find_element(By.PARTIAL_LINK_TEXT, "Cart").text == "Cart (0)"
    second.get(f"{demo.base_url}/session")
    assert "not logged in" in text(second, "main")
    assert "tea" not in text(second, "#data")
    assert text(second, "#id-hint") != session_id(first)[:6]
    screenshots.take(second, "06-second-profile")

    first.get(f"{demo.base_url}/cart")
    assert cart_items(first) == ["tea"]
    assert text(first, "#current-user") == "carol"


def test_log_out_other_devices(
    demo: Demo, open_browser: Browsers, screenshots: Screenshots
) -> None:
    laptop, phone = open_browser("laptop"), open_browser("phone")
    shop(laptop, demo.base_url, "dave", "coffee")
    log_in(phone, demo.base_url, "dave")

    phone.get(f"{demo.base_url}/session")
    rows = phone.find_elements(By.CSS_SELECTOR, "#user-sessions tr")
    assert len(rows) == 3  # a heading and two sessions
    assert text(phone, "tr.current code") == session_id(phone)[:6]
    screenshots.take(phone, "07-two-sessions")
    follow(phone, phone.find_element(By.ID, "end-others"))
    assert phone.current_url == f"{demo.base_url}/session"
    assert len(phone.find_elements(By.CSS_SELECTOR, "#user-sessions tr")) == 2
    assert "No other session of yours is active." in text(phone, "main")
    screenshots.take(phone, "08-other-devices-logged-out")

    add_to_cart(laptop, "cake")  # the laptop's cart page was open: its session has ended
    assert text(laptop, "h1") == "Form expired"
    screenshots.take(laptop, "09-form-expired")
    laptop.get(f"{demo.base_url}/session")
    assert "not logged in" in text(laptop, "main")
    assert laptop.find_element(By.PARTIAL_LINK_TEXT, "Cart").text == "Cart (0)"
    phone.get(f"{demo.base_url}/cart")
    assert text(phone, "#current-user") == "dave"
