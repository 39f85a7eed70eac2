"""What pyws may say about secrets and about text a server controls: one place, used
everywhere pyws speaks (``repr()``, log records, exception messages, the command line).

- :func:`redact_url`: a URL pyws serialized (``WebSocket.url``) with its password
  replaced, ``ws://alice:***@host/``; a user name without a password may be a token
  (``https://TOKEN@host``), so it is replaced as a whole: ``ws://***@host/``.
- :func:`redact_urls`: the same for any text a user typed (an unparsable URL, a proxy URL
  from the environment): everything between ``scheme://`` and the last ``@`` is
  treated as credentials, so nothing of a password leaks even when the text does not
  parse as a URL.
- :func:`redact_header`: the value of a header that carries credentials
  (``Authorization``, ``Proxy-Authorization``, ``Cookie``, ``Set-Cookie``) without
  its secret part.
- :func:`escape`: text a server or proxy controls, with control characters (ESC, NUL,
  line breaks, ...), other non-printable characters and backslashes escaped as
  ``repr()`` does, so a log line cannot move the cursor, clear the screen or fake a
  second record.

Shared by both runtimes; no import beyond the standard library's ``re``.
"""

from __future__ import annotations

import re

__all__ = ["redact_url", "redact_urls", "redact_header", "escape", "describe_char",
           "SECRET_HEADERS", "MASK"]

#: What a secret is replaced with.
MASK = "***"
#: Headers whose values carry credentials (lower-case names).
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")
_AUTHORITY_END = re.compile(r"[/?#\\]")


def _mask_userinfo(userinfo: str) -> str:
    user, colon, _ = userinfo.partition(":")
    return f"{user}:{MASK}" if colon else MASK


def redact_url(url: str) -> str:
    """``url`` (as pyws serializes it: user information percent-encoded, so it holds no
    ``/``, ``?``, ``#`` or ``@``) with its password, or a lone user name, masked."""
    match = _SCHEME.match(url)
    if match is None:
        return redact_urls(url)
    start = match.end()
    end_match = _AUTHORITY_END.search(url, start)
    end = len(url) if end_match is None else end_match.start()
    at = url.rfind("@", start, end)
    if at < 0:
        return url
    return url[:start] + _mask_userinfo(url[start:at]) + url[at:]


def redact_urls(text: str) -> str:
    """``text`` with the credentials of every ``scheme://...@`` in it masked; for text
    that may not parse (what a user typed), so it errs on masking too much."""
    if "@" not in text:
        return text
    out: list[str] = []
    position = 0
    for match in _SCHEME.finditer(text):
        if match.start() < position:
            continue
        start = match.end()
        following = _SCHEME.search(text, start)
        limit = len(text) if following is None else following.start()
        at = text.rfind("@", start, limit)
        if at < 0:
            continue
        out.append(text[position:start] + _mask_userinfo(text[start:at]))
        position = at
    out.append(text[position:])
    return "".join(out)


def redact_header(name: str, value: str) -> str:
    """The value of header ``name`` fit for a log: the credentials of ``Authorization``
    and ``Proxy-Authorization`` masked (the scheme kept: ``Bearer ***``), the values of
    ``Cookie`` and ``Set-Cookie`` masked (names and attributes kept: ``id=***; Path=/``);
    any other header's value unchanged."""
    lowered = name.lower()
    if lowered not in SECRET_HEADERS:
        return value
    if lowered.endswith("authorization"):
        scheme, space, _ = value.strip().partition(" ")
        return f"{scheme} {MASK}" if space else MASK
    pairs = value.split(";")
    if lowered == "set-cookie":  # the first pair is the cookie; the rest are attributes
        return ";".join([_mask_cookie(pairs[0])] + pairs[1:])
    return ";".join(_mask_cookie(pair) for pair in pairs)


def _mask_cookie(pair: str) -> str:
    name, equals, _ = pair.partition("=")
    return f"{name}={MASK}" if equals else MASK


#: Characters :func:`escape` writes as ``repr()`` does.
_SHORT = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(ch: str) -> str:
    short = _SHORT.get(ch)
    if short is not None:
        return short
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def escape(text: str) -> str:
    """``text`` (from a server or proxy) safe to log: every character that is not
    printable (C0 and C1 controls such as ESC and NUL, line breaks, DEL, bidirectional
    overrides and other format characters, lone surrogates) and the backslash written as
    ``repr()`` writes it; no quotes are added."""
    if text.isprintable() and "\\" not in text:
        return text
    return "".join(ch if ch.isprintable() and ch != "\\" else _escape_char(ch) for ch in text)


def describe_char(ch: str) -> str:
    """One character for an error message: its code point and, escaped, itself
    (``U+000A '\\n'``, ``U+20AC '€'``)."""
    if ch == "'":
        shown = "\\'"
    elif ch.isprintable() and ch != "\\":
        shown = ch
    else:
        shown = _escape_char(ch)
    return f"U+{ord(ch):04X} '{shown}'"
