"""Parsing store URLs and showing them without their secrets."""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, unquote_plus, urlsplit

from .errors import ConfigurationError

# The password runs from the first ":" after the user name to the LAST "@" in the URL: a raw
# "@", "/", "?" or "#" in a password (which should be percent-encoded, but often is not) must
# not end it early and leave the rest in plain sight.
_PASSWORD_IN_URL = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/?#]*:).*(?=@)", re.S)
# Option names that say the value is a credential (sentinel_password, auth_token, ...): their
# values are masked in URLs and never echoed in errors.
_CREDENTIAL = "password|passwd|pass|secret|token"
_CREDENTIAL_NAME = re.compile(_CREDENTIAL, re.I)
_SECRET_OPTION = re.compile(rf"(?P<head>[?&][^=&#]*(?:{_CREDENTIAL})[^=&#]*=)[^&]*", re.I)
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def mask_url(url: str) -> str:
    """Return ``url`` with its password, and the value of every query option whose name
    contains ``password``, ``passwd``, ``pass``, ``secret`` or ``token``, replaced by ``***``.

    The password is everything from the ``:`` after the user name to the last ``@``, so one
    holding a raw ``@``, ``/``, ``?`` or ``#`` is masked whole. A URL without a password but
    with an ``@`` further on and a ``:`` before it (``redis://host:6379/0?prefix=a@b``) is
    masked from that ``:``: showing too little beats showing a password.
    """
    return _SECRET_OPTION.sub(r"\g<head>***", _PASSWORD_IN_URL.sub(r"\g<head>***", url))


def check_userinfo(url: str) -> None:
    """Raise :class:`ConfigurationError` for a URL whose password holds a raw ``@`` followed
    by a ``/``, ``?`` or ``#``: a URL parser ends the host at that character, so part of the
    password would be taken for the host (and shown, and connected to). The message asks
    for the password to be percent-encoded and shows the URL masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return  # not a URL at all: the caller's parser says so
    after_host = url.partition("://")[2][len(parts.netloc) :]
    if "@" in parts.netloc and "@" in after_host:
        raise ConfigurationError(
            f"store URL {mask_url(url)!r}: percent-encode '@', '/', '?' and '#' in the user "
            "name and password (e.g. with urllib.parse.quote(password, safe=''))"
        )


def redact(text: str, url: str) -> str:
    """``text`` (an error message about ``url``, say) with ``url`` shown masked and every
    secret in it (the password, the credential options' values), as written or decoded,
    replaced by ``***``."""
    secrets: set[str] = set()
    for pattern in (_PASSWORD_IN_URL, _SECRET_OPTION):
        for match in pattern.finditer(url):
            value = url[match.end("head") : match.end()]
            secrets.update((value, unquote(value), unquote_plus(value)))
    text = text.replace(url, mask_url(url))
    for secret in sorted(secrets - {"", "***"}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def url_scheme(url: str) -> str:
    """Return the lower-cased scheme of ``url``, or raise :class:`ConfigurationError`."""
    scheme, sep, _ = url.partition("://")
    if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
        raise ConfigurationError(
            f"not a store URL: {mask_url(url)!r} (expected scheme://..., e.g. memory://)"
        )
    return scheme.lower()


@dataclass(frozen=True)
class StoreURL:
    """A parsed store URL: ``scheme://user:password@host:port,host2:port2/path?option=value``.

    Several comma-separated hosts are allowed (for clusters and sentinels). Query parameters
    are options; a backend reads the ones it knows with the ``*_option`` methods and then calls
    :meth:`reject_unknown_options` so that a misspelt option is an error rather than ignored.
    """

    url: str
    scheme: str
    username: str | None
    password: str | None
    hosts: tuple[tuple[str, int | None], ...]
    path: str
    options: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, url: str) -> StoreURL:
        scheme = url_scheme(url)
        try:
            parts = urlsplit(url)
        except ValueError as exc:  # "Invalid IPv6 URL": an unbalanced "[" or "]"
            raise ConfigurationError(f"bad store URL {mask_url(url)!r}: {exc}") from None
        check_userinfo(url)
        netloc = parts.netloc
        userinfo, _, hostlist = netloc.rpartition("@")
        username = password = None
        if userinfo:
            user, has_password, secret = userinfo.partition(":")
            username = unquote(user) or None
            password = unquote(secret) if has_password else None
        hosts = tuple(_parse_host(item, url) for item in hostlist.split(",") if item)
        options = dict(parse_qsl(parts.query, keep_blank_values=True))
        return cls(url, scheme, username, password, hosts, unquote(parts.path), options)

    @property
    def masked(self) -> str:
        """The URL as given, password masked: safe to log or show."""
        return mask_url(self.url)

    def str_option(self, name: str, default: str) -> str:
        return self.options.get(name, default)

    def int_option(self, name: str, default: int, minimum: int = 0) -> int:
        raw = self.options.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise self._bad_option(name, raw, "a whole number") from None
        if value < minimum:
            raise self._bad_option(name, raw, f"at least {minimum}")
        return value

    def float_option(self, name: str, default: float | None) -> float | None:
        raw = self.options.get(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise self._bad_option(name, raw, "a number of seconds") from None
        if value <= 0:
            raise self._bad_option(name, raw, "a positive number of seconds")
        return value

    def bool_option(self, name: str, default: bool) -> bool:
        raw = self.options.get(name)
        if raw is None:
            return default
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        raise self._bad_option(name, raw, "true or false")

    def reject_unknown_options(self, known: Collection[str]) -> None:
        """Raise :class:`ConfigurationError` for any query option not in ``known``."""
        for name in self.options:
            if name not in known:
                close = difflib.get_close_matches(name, list(known), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                allowed = ", ".join(sorted(known)) or "none"
                raise ConfigurationError(
                    f"unknown option {name!r} in {self.masked}{hint} (known options: {allowed})"
                )

    def _bad_option(self, name: str, raw: str, expected: str) -> ConfigurationError:
        return ConfigurationError(f"option {name}={raw!r} in {self.masked}: expected {expected}")


def _parse_host(item: str, url: str) -> tuple[str, int | None]:
    if item.startswith("["):  # [::1]:6379
        host, _, rest = item[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port_text = item.partition(":")
    if not port_text:
        return unquote(host), None
    # isdigit() alone takes "²", which int() refuses: ASCII digits only.
    if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536:
        # The port is not shown: in a URL whose password holds a raw "/", it is a piece of it.
        raise ConfigurationError(
            f"bad port in {mask_url(url)!r}: expected 1 to 65535 (percent-encode a '/', '?' "
            "or '#' in a password)"
        )
    return unquote(host), int(port_text)


class StoreOptions:
    """A backend's options: a keyword given to ``open_store`` wins over the URL's query, which
    wins over the default. Names outside ``defaults`` are errors, with a close match suggested.

    :param parsed: the store's URL.
    :param overrides: the keyword options, as Python values.
    :param defaults: every option the backend knows, with its default (None for "unset").
    """

    def __init__(
        self, parsed: StoreURL, overrides: Mapping[str, Any], defaults: Mapping[str, object]
    ) -> None:
        parsed.reject_unknown_options(defaults)
        for name in overrides:
            if name not in defaults:
                close = difflib.get_close_matches(name, list(defaults), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ConfigurationError(f"unknown option {name!r} for {parsed.masked}{hint}")
        self._parsed = parsed
        self._overrides = overrides
        self._defaults = defaults

    def given(self, name: str) -> bool:
        """Whether ``name`` was set, as a keyword or in the URL."""
        return name in self._overrides or name in self._parsed.options

    def text(self, name: str) -> str | None:
        if name in self._overrides:
            return self._override(name, str)  # type: ignore[no-any-return]
        default = self._defaults[name]
        return self._parsed.options.get(name, default if isinstance(default, str) else None)

    def seconds(self, name: str) -> float:
        """A positive number of seconds."""
        if name not in self._overrides:
            value = self._parsed.float_option(name, None)
            return float(self._defaults[name]) if value is None else value  # type: ignore[arg-type]
        value = float(self._override(name, (int, float)))
        if not value > 0:
            raise ConfigurationError(f"option {name}={value!r}: expected a positive number")
        return value

    def count(self, name: str, minimum: int = 0) -> int:
        """A whole number of at least ``minimum``."""
        default = int(self._defaults[name])  # type: ignore[call-overload]
        if name not in self._overrides:
            return self._parsed.int_option(name, default, minimum=minimum)
        value: int = self._override(name, int)
        if value < minimum:
            raise ConfigurationError(f"option {name}={value!r}: expected at least {minimum}")
        return value

    def flag(self, name: str) -> bool:
        if name in self._overrides:
            return self._override(name, bool)  # type: ignore[no-any-return]
        return self._parsed.bool_option(name, bool(self._defaults[name]))

    def _override(self, name: str, kind: type | tuple[type, ...]) -> Any:
        value = self._overrides[name]
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            shown = "***" if _CREDENTIAL_NAME.search(name) else repr(value)
            raise ConfigurationError(f"option {name}={shown}: wrong type")
        return value
