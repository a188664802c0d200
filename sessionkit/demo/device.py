"""A short description of the browser behind a ``User-Agent`` header, for a user's list of
sessions ("Firefox on Linux")."""

from __future__ import annotations

MAX_LENGTH = 60

# The first marker found names the browser: Edge and Opera also say "Chrome", Chrome also
# says "Safari", so the order matters.
BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("HeadlessChrome/", "Headless Chrome"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iOS"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


def describe(user_agent: str) -> str:
    """ "Browser on system" for the common browsers; otherwise the first product named
    (``curl``, ``python-httpx``), or "unknown client"."""
    browser = next((name for marker, name in BROWSERS if marker in user_agent), None)
    if browser is None:
        product = user_agent.split("/", 1)[0].strip()
        return product[:MAX_LENGTH] if product.isprintable() and product else "unknown client"
    system = next((name for marker, name in SYSTEMS if marker in user_agent), None)
    return browser if system is None else f"{browser} on {system}"
