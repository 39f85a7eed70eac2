"""The rules of the WHATWG WebSockets Standard that do not depend on a runtime.

Shared by both backends, so argument errors are identical everywhere:

- :func:`parse_url`: the constructor's URL steps (WebSockets Standard, "new
  WebSocket(url, protocols)" steps 1-6) on top of the WHATWG URL Standard's basic URL
  parser, restricted to what a WebSocket URL can be (special schemes only).
- :func:`parse_protocols`: the protocol list rules (steps 7-8, RFC 6455 token rule).
- :func:`check_close_args`: ``close(code, reason)`` steps 1-2, in the standard's order.

Every rule raises the exception the standard names (see :mod:`pyws._errors`).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Iterable

from ._errors import DOMSyntaxError, InvalidAccessError
from ._redact import redact_urls

__all__ = [
    "WebSocketURL",
    "parse_url",
    "parse_protocols",
    "check_close_args",
    "MAX_REASON_BYTES",
    "to_usv",
    "parse_host",
]

# -- URL ---------------------------------------------------------------------------

#: URL Standard, "special scheme": scheme -> default port. Every scheme a WebSocket
#: URL can start as is special.
SPECIAL_SCHEMES: dict[str, int | None] = {
    "ws": 80, "wss": 443, "http": 80, "https": 443, "ftp": 21, "file": None,
}
#: Default ports of the WebSocket schemes.
DEFAULT_PORTS = {"ws": 80, "wss": 443}
#: WebSockets Standard, constructor step 4: rewritten schemes.
SCHEME_REWRITE = {"http": "ws", "https": "wss"}

# URL Standard, "forbidden host code point" and "forbidden domain code point".
_FORBIDDEN_HOST = frozenset("\x00\t\n\r #/:<>?@[\\]^|")
_FORBIDDEN_DOMAIN = _FORBIDDEN_HOST | frozenset(chr(c) for c in range(0x20)) | {"%", "\x7f"}

# URL Standard, percent-encode sets (as predicates on a code point).
_C0_CONTROL = frozenset(chr(c) for c in range(0x20)) | {"\x7f"}
_FRAGMENT_SET = _C0_CONTROL | frozenset(' "<>`')
_QUERY_SET = _C0_CONTROL | frozenset(' "#<>')
_SPECIAL_QUERY_SET = _QUERY_SET | {"'"}
_PATH_SET = _QUERY_SET | frozenset("?^`{}")
_USERINFO_SET = _PATH_SET | frozenset("/:;=@[\\]|")

_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+\-.]*):")
_SINGLE_DOT = frozenset({".", "%2e"})
_DOUBLE_DOT = frozenset({"..", ".%2e", "%2e.", "%2e%2e"})


@dataclasses.dataclass(frozen=True)
class WebSocketURL:
    """A parsed, rewritten WebSocket URL (what the constructor keeps)."""

    #: The serialization the ``url`` attribute returns.
    href: str
    #: True for ``wss``.
    secure: bool
    #: The host as serialized in the URL (IPv6 in brackets, IDNA in ASCII).
    host: str
    #: The port to connect to (the default port when the URL has none).
    port: int
    #: Path and query: the request target of the handshake.
    resource_name: str
    #: The serialized origin ("ws://host:port"): MessageEvent.origin.
    origin: str
    #: Percent-decoded user name and password, if the URL has credentials.
    username: str = ""
    password: str = ""

    @property
    def connect_host(self) -> str:
        """The host to resolve or connect to (an IPv6 literal without brackets)."""
        return self.host[1:-1] if self.host.startswith("[") else self.host


#: URLs parsed lately (without credentials: those are not kept), for services that open
#: many connections to one URL; the URL Standard's parser is the slowest step of a
#: constructor.
_recent: dict[tuple[str, str | None], WebSocketURL] = {}
_RECENT_MAX = 64


def parse_url(url: object, base: str | None = None) -> WebSocketURL:
    """Parse ``url`` as ``new WebSocket(url)`` does, relative to ``base`` if given.

    Raises :class:`~pyws.DOMSyntaxError` when the URL does not parse, has a scheme
    other than ws, wss, http or https, or has a fragment.
    """
    if not isinstance(url, str):
        # JavaScript would stringify; in Python a non-string URL is a caller's bug.
        raise TypeError(f"url must be a str, not {type(url).__name__}")
    key = (url, base)
    parsed = _recent.get(key)
    if parsed is None:
        parsed = _parse_ws_url(url, base)
        if not parsed.username and not parsed.password:
            if len(_recent) >= _RECENT_MAX:
                _recent.clear()
            _recent[key] = parsed
    return parsed


def _parse_ws_url(url: str, base: str | None) -> WebSocketURL:
    parts = _parse(url, base)
    if parts is None:
        # Chromium's message, with the URL's credentials masked (it may be logged).
        raise DOMSyntaxError(f"The URL '{redact_urls(url)}' is invalid.")
    scheme, username, password, host, port, path, query, fragment = parts
    scheme = SCHEME_REWRITE.get(scheme, scheme)
    if scheme not in ("ws", "wss"):
        raise DOMSyntaxError(
            f"The URL's scheme must be either 'http', 'https', 'ws', or 'wss'. "
            f"'{scheme}' is not allowed."
        )
    if fragment is not None:
        raise DOMSyntaxError(
            f"The URL contains a fragment identifier ('{fragment}'). "
            "Fragment identifiers are not allowed in WebSocket URLs."
        )
    default_port = DEFAULT_PORTS[scheme]
    if port == default_port:
        port = None
    userinfo = ""
    if username or password:
        userinfo = username + (":" + password if password else "") + "@"
    authority = userinfo + host + ("" if port is None else f":{port}")
    resource = path + ("" if query is None else "?" + query)
    return WebSocketURL(
        href=f"{scheme}://{authority}{resource}",
        secure=scheme == "wss",
        host=host,
        port=default_port if port is None else port,
        resource_name=resource,
        origin=f"{scheme}://{host}" + ("" if port is None else f":{port}"),
        username=_percent_decode(username).decode("utf-8", "replace"),
        password=_percent_decode(password).decode("utf-8", "replace"),
    )


#: Stripped from both ends of a URL: C0 controls and space.
_C0_OR_SPACE = "".join(chr(c) for c in range(0x21))

#: A parsed URL: (scheme, username, password, host, port, path, query, fragment).
_Parts = tuple[str, str, str, str, "int | None", str, "str | None", "str | None"]


def _parse(url: str, base: str | None) -> _Parts | None:
    """The URL Standard's basic URL parser for special-scheme URLs (None = failure)."""
    url = url.strip(_C0_OR_SPACE)
    url = url.replace("\t", "").replace("\n", "").replace("\r", "")
    match = _SCHEME_RE.match(url)
    if match and match.group(1).lower() in SPECIAL_SCHEMES:
        scheme = match.group(1).lower()
        rest = url[match.end():]
        if scheme == "file":
            return ("file", "", "", "", None, "/", None, None)
        if base is not None and not rest.startswith(("/", "\\")):
            base_parts = _parse(base, None)
            if base_parts is not None and base_parts[0] == scheme:
                # "special relative or authority state": same scheme, no slashes.
                return _parse_relative(rest, base_parts)
        return _parse_authority_and_rest(scheme, rest.lstrip("/\\"))
    if match:
        # A non-special scheme: the parse may succeed, but the scheme is refused.
        return (match.group(1).lower(), "", "", "", None, "", None, None)
    if base is None:
        return None
    base_parts = _parse(base, None)
    if base_parts is None or base_parts[0] not in SPECIAL_SCHEMES or base_parts[0] == "file":
        return None
    return _parse_relative(url, base_parts)


def _parse_relative(rest: str, base: _Parts) -> _Parts | None:
    scheme, username, password, host, port, base_path, base_query, _ = base
    if rest.startswith(("//", "\\\\", "/\\", "\\/")):
        return _parse_authority_and_rest(scheme, rest[2:].lstrip("/\\"))
    rest, fragment = _split_fragment(rest)
    if rest.startswith(("/", "\\")):
        path, query = _split_query(rest)
        return (scheme, username, password, host, port, _normalize_path(path, []), _encode_query(query), fragment)
    path, query = _split_query(rest)
    if not path:
        query = base_query if query is None else _encode_query(query)
        return (scheme, username, password, host, port, base_path, query, fragment)
    base_segments = base_path.split("/")[1:-1]
    return (scheme, username, password, host, port, _normalize_path(path, base_segments), _encode_query(query), fragment)


def _parse_authority_and_rest(scheme: str, rest: str) -> _Parts | None:
    end = len(rest)
    for i, ch in enumerate(rest):
        if ch in "/\\?#":
            end = i
            break
    authority, rest = rest[:end], rest[end:]
    username = password = ""
    if "@" in authority:
        userinfo, _, authority = authority.rpartition("@")
        user, _, pw = userinfo.partition(":")
        username, password = _percent_encode(user, _USERINFO_SET), _percent_encode(pw, _USERINFO_SET)
    if authority.startswith("["):
        close = authority.find("]")
        if close < 0:
            return None
        host_text, port_text = authority[: close + 1], authority[close + 1:]
        if port_text and not port_text.startswith(":"):
            return None
        has_port = bool(port_text)
        port_text = port_text[1:]
    else:
        host_text, colon, port_text = authority.partition(":")
        has_port = bool(colon)
    port: int | None = None
    if has_port and port_text:
        if not port_text.isascii() or not port_text.isdigit():
            return None
        port = int(port_text)
        if port > 65535:
            return None
    if port == SPECIAL_SCHEMES.get(scheme):
        port = None
    host = parse_host(host_text)
    if host is None or host == "":
        return None
    rest, fragment = _split_fragment(rest)
    path, query = _split_query(rest)
    return (scheme, username, password, host, port, _normalize_path(path, []), _encode_query(query), fragment)


def _split_fragment(text: str) -> tuple[str, str | None]:
    if "#" not in text:
        return text, None
    text, _, fragment = text.partition("#")
    return text, _percent_encode(fragment, _FRAGMENT_SET)


def _split_query(text: str) -> tuple[str, str | None]:
    if "?" not in text:
        return text, None
    path, _, query = text.partition("?")
    return path, query


def _encode_query(query: str | None) -> str | None:
    return None if query is None else _percent_encode(query, _SPECIAL_QUERY_SET)


def _normalize_path(path: str, base_segments: list[str]) -> str:
    """Path state of the URL parser: '\\' is '/', dot segments resolve, encode."""
    segments = list(base_segments)
    parts = path.replace("\\", "/").split("/")
    if path.startswith(("/", "\\")):
        parts = parts[1:]
    for index, raw in enumerate(parts):
        last = index == len(parts) - 1
        lowered = raw.lower()
        if lowered in _DOUBLE_DOT:
            if segments:
                segments.pop()
            if last:
                segments.append("")
        elif lowered in _SINGLE_DOT:
            if last:
                segments.append("")
        else:
            segments.append(_percent_encode(raw, _PATH_SET))
    return "/" + "/".join(segments)


def _percent_encode(text: str, encode_set: frozenset[str]) -> str:
    if text.isascii() and not any(ch in encode_set for ch in text):
        return text
    out: list[str] = []
    for ch in text:
        if ch in encode_set or ord(ch) > 0x7E:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))
        else:
            out.append(ch)
    return "".join(out)


def _percent_decode(text: str) -> bytes:
    data = text.encode("utf-8", "surrogatepass")
    if b"%" not in data:
        return data
    out = bytearray()
    i = 0
    while i < len(data):
        if data[i] == 0x25 and _is_hex(data[i + 1:i + 3]):
            out.append(int(data[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(data[i])
            i += 1
    return bytes(out)


def _is_hex(two: bytes) -> bool:
    return len(two) == 2 and all(c in b"0123456789abcdefABCDEF" for c in two)


def parse_host(text: str) -> str | None:
    """URL Standard, host parser (special scheme): the serialized host (IPv6 in
    brackets), or None if ``text`` is not a valid host (also used for proxy URLs)."""
    if text.startswith("["):
        if not text.endswith("]") or "%" in text:  # no zone ids in URLs
            return None
        try:
            address = ipaddress.IPv6Address(text[1:-1])
        except ValueError:
            return None
        return f"[{_serialize_ipv6(address.packed)}]"
    domain_bytes = _percent_decode(text)
    try:
        domain = domain_bytes.decode("utf-8")
    except UnicodeDecodeError:
        return None
    ascii_domain = _domain_to_ascii(domain)
    if ascii_domain is None or any(ch in _FORBIDDEN_DOMAIN for ch in ascii_domain):
        return None
    if _ends_in_a_number(ascii_domain):
        return _parse_ipv4(ascii_domain)
    return ascii_domain


def _serialize_ipv6(packed: bytes) -> str:
    """URL Standard, IPv6 serializer: lower-case hex pieces, the first longest run of
    two or more zero pieces compressed to "::", never a dotted IPv4 tail (Python's own
    str() writes IPv4-mapped addresses dotted since 3.13)."""
    pieces = [int.from_bytes(packed[i:i + 2], "big") for i in range(0, 16, 2)]
    best_start, best_len, start = -1, 1, -1
    for i, piece in enumerate(pieces + [1]):
        if piece == 0 and start < 0:
            start = i
        elif piece != 0 and start >= 0:
            if i - start > best_len:
                best_start, best_len = start, i - start
            start = -1
    if best_start < 0:
        return ":".join(f"{p:x}" for p in pieces)
    head = ":".join(f"{p:x}" for p in pieces[:best_start])
    tail = ":".join(f"{p:x}" for p in pieces[best_start + best_len:])
    return f"{head}::{tail}"


def _domain_to_ascii(domain: str) -> str | None:
    """UTS #46 ToASCII, as far as Python's standard library allows.

    ASCII domains are lower-cased (the common case, exact). Other domains go through
    IDNA 2003 (``encodings.idna``), which agrees with UTS #46 on almost every name.
    """
    # Full-width and ideographic dots are label separators (UTS #46 mapping).
    domain = domain.replace("\u3002", ".").replace("\uff0e", ".").replace("\uff61", ".")
    if domain.isascii():
        lowered = domain.lower()
        if "xn--" not in lowered:
            return lowered
        try:  # Punycode labels must decode.
            lowered.encode("ascii").decode("idna")
        except UnicodeError:
            return None
        return lowered
    try:
        return domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None


def _ends_in_a_number(domain: str) -> bool:
    labels = domain.split(".")
    if labels[-1] == "" and len(labels) > 1:
        labels.pop()
    last = labels[-1]
    if last and last.isascii() and last.isdigit():
        return True
    return _ipv4_number(last) is not None


def _ipv4_number(text: str) -> int | None:
    if text == "":
        return None
    base = 10
    if text[:2] in ("0x", "0X"):
        text, base = text[2:], 16
    elif len(text) > 1 and text[0] == "0":
        text, base = text[1:], 8
    if text == "":
        return 0
    digits = {10: "0123456789", 16: "0123456789abcdefABCDEF", 8: "01234567"}[base]
    if not all(ch in digits for ch in text):
        return None
    return int(text, base)


def _parse_ipv4(domain: str) -> str | None:
    parts = domain.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    if len(parts) > 4:
        return None
    numbers = [_ipv4_number(part) for part in parts]
    if any(n is None for n in numbers):
        return None
    nums: list[int] = numbers  # type: ignore[assignment]
    if any(n > 255 for n in nums[:-1]) or nums[-1] >= 256 ** (5 - len(nums)):
        return None
    value = nums[-1]
    for i, n in enumerate(nums[:-1]):
        value += n * 256 ** (3 - i)
    return str(ipaddress.IPv4Address(value))


# -- Protocols -----------------------------------------------------------------------

# RFC 6455 section 4.1 / RFC 2616 section 2.2: a subprotocol is a token, i.e. one or
# more characters in U+0021..U+007E other than the separators.
_SEPARATORS = frozenset('()<>@,;:\\"/[]?={} \t')
_TOKEN_CHARS = frozenset(chr(c) for c in range(0x21, 0x7F)) - _SEPARATORS


def parse_protocols(protocols: str | Iterable[str] | None) -> tuple[str, ...]:
    """The constructor's protocol steps: a string is a one-item list; each item a
    token; no duplicates. Raises :class:`~pyws.DOMSyntaxError`."""
    if protocols is None:
        return ()
    if isinstance(protocols, str):
        items: tuple[str, ...] = (protocols,)
    elif isinstance(protocols, (bytes, bytearray, memoryview)):
        raise TypeError("protocols must be a str or a sequence of str, not bytes")
    else:
        try:
            items = tuple(protocols)
        except TypeError:
            raise TypeError(
                f"protocols must be a str or a sequence of str, not {type(protocols).__name__}"
            ) from None
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"each protocol must be a str, not {type(item).__name__}")
        if not item or not all(ch in _TOKEN_CHARS for ch in item):
            raise DOMSyntaxError(f"The subprotocol '{item}' is invalid.")
        if item in seen:
            raise DOMSyntaxError(f"The subprotocol '{item}' is duplicated.")
        seen.add(item)
    return items


# -- close() ---------------------------------------------------------------------------

#: RFC 6455 section 5.5: a control frame's payload is at most 125 bytes, 2 of them
#: for the code.
MAX_REASON_BYTES = 123


def check_close_args(code: int | None, reason: str | None) -> tuple[int | None, str]:
    """``close(code, reason)`` steps 1-2: validate in the standard's order.

    Returns the code to send (1000 when only a reason is given, None for a close frame
    without a body) and the reason as a USVString (lone surrogates become U+FFFD).
    """
    if code is not None:
        if isinstance(code, bool) or not isinstance(code, int):
            raise TypeError(f"code must be an int, not {type(code).__name__}")
        if code != 1000 and not 3000 <= code <= 4999:
            raise InvalidAccessError(
                f"The close code must be either 1000, or between 3000 and 4999. "
                f"{code} is neither."
            )
    if reason is None:
        reason = ""
    elif not isinstance(reason, str):
        raise TypeError(f"reason must be a str, not {type(reason).__name__}")
    else:
        reason = to_usv(reason)
        if len(reason.encode("utf-8")) > MAX_REASON_BYTES:
            raise DOMSyntaxError(
                f"The close reason must not be greater than {MAX_REASON_BYTES} UTF-8 bytes."
            )
    if code is None and reason:
        code = 1000
    return code, reason


def to_usv(text: str) -> str:
    """``text`` as a USVString: each lone surrogate becomes U+FFFD (WebIDL)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text
