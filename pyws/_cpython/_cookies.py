"""The ``cookies`` option: an ``http.cookiejar.CookieJar`` used for the opening handshake
as a browser uses its cookie store.

The Fetch standard ("establish a WebSocket connection") makes the handshake an HTTP
request to the URL with ``ws`` read as ``http`` and ``wss`` as ``https``; the jar applies
its own rules (its policy: domain, path, ``Secure``, expiry) to that URL, through the
``urllib.request`` objects its API takes:

- :func:`cookie_header`: the ``Cookie`` header of the request
  (``CookieJar.add_cookie_header``);
- :func:`store`: the ``Set-Cookie`` headers of the server's response, whatever its status,
  as a browser stores them (``CookieJar.extract_cookies``).

The jar locks itself: a jar shared with another thread (an HTTP client's) is safe.
Cookie values never reach a log record (``pyws._redact``); a jar's cookies that cannot
go in a header line are not sent, and the log names the character, not the value.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from .._headers import check_field_value

if TYPE_CHECKING:
    import http.cookiejar
    import urllib.request

    from .._spec import WebSocketURL

__all__ = ["http_url", "cookie_header", "store"]

logger = logging.getLogger("pyws")


def http_url(url: WebSocketURL) -> str:
    """The ``http://`` (for ``ws://``) or ``https://`` (``wss://``) URL of ``url``, without
    its credentials: the URL the jar's rules see."""
    scheme, default_port = ("https", 443) if url.secure else ("http", 80)
    port = "" if url.port == default_port else f":{url.port}"
    return f"{scheme}://{url.host}{port}{url.resource_name}"


def _request(url: str) -> urllib.request.Request:
    import urllib.request  # only with a jar: it is slow to import

    return urllib.request.Request(url)


def cookie_header(jar: http.cookiejar.CookieJar, url: str) -> str | None:
    """The ``Cookie`` header value of the jar's cookies for ``url`` (an http(s) URL), or
    None when none matches or they cannot be sent."""
    request = _request(url)
    jar.add_cookie_header(request)
    value = request.get_header("Cookie")
    if value is None:
        return None
    try:
        check_field_value(value, "the cookie jar's Cookie header")
    except ValueError as exc:
        logger.warning("pyws: no cookie sent to %s: %s", url, exc)
        return None
    return value


class _Response:
    """What ``CookieJar.extract_cookies`` reads of a response: ``info().get_all()``."""

    def __init__(self, set_cookies: list[str]) -> None:
        self._set_cookies = set_cookies

    def info(self) -> _Response:
        return self

    def get_all(self, name: str, default: list[str] | None = None) -> list[str] | None:
        if name.lower() == "set-cookie" and self._set_cookies:
            return self._set_cookies
        return default


def store(jar: http.cookiejar.CookieJar, url: str, set_cookies: list[str]) -> None:
    """Store the cookies of a response's ``Set-Cookie`` headers (``set_cookies``) to a
    request for ``url`` (an http(s) URL), under the jar's policy."""
    if set_cookies:
        jar.extract_cookies(_Response(set_cookies), _request(url))  # type: ignore[arg-type]
