"""TLS, as the log tells it: why a handshake failed, and a warning when verification is off.

A failed TLS handshake gives the script what the browser gives (``error``, close 1006);
the ``pyws`` log record says why, in words, with OpenSSL's own text kept for searching:

- the certificate: not issued by a trusted authority, not valid for the host, expired or
  not yet valid (``ssl.SSLCertVerificationError.verify_code``);
- the protocol: the server supports no TLS version this client offers (its alert
  ``protocol_version``; Python's default context starts at TLS 1.2, as browsers do),
  or it chose one this client refuses, or no cipher is shared, or it is not a TLS
  server at all (a ``ws://`` server on a ``wss://`` URL);
- the connection: closed or reset during the handshake, which is what an old server
  does when it cannot accept the client's hello (no alert is sent).

An ``ssl=`` context that does not verify the server (``verify_mode`` ``CERT_NONE`` or
``check_hostname`` False) logs one WARNING per process, the first time it is used.
"""

from __future__ import annotations

import logging
import ssl
import threading

__all__ = ["TLSFailure", "describe", "warn_if_unverified", "unverified_warning_given"]

logger = logging.getLogger("pyws")

#: X509_V_ERR_* codes (OpenSSL's x509_vfy.h) -> what they mean for the user.
_UNTRUSTED = {2, 18, 19, 20, 21}  # no issuer, self-signed, self-signed in chain, ...
_EXPIRED = {10: "has expired", 9: "is not valid yet"}
_WRONG_HOST = {62, 64}  # host name mismatch, IP address mismatch

#: OpenSSL reasons (``SSLError.reason``) -> what they mean.
_REASONS = {
    "TLSV1_ALERT_PROTOCOL_VERSION": "the server supports none of the TLS versions this client "
                                    "offers ({versions}; TLS 1.0 and 1.1 are refused, as "
                                    "browsers refuse them)",
    "UNSUPPORTED_PROTOCOL": "the server chose a TLS version this client does not accept "
                            "({versions}; TLS 1.0 and 1.1 are refused, as browsers refuse them)",
    "NO_PROTOCOLS_AVAILABLE": "this client's ssl context allows no TLS version",
    "WRONG_VERSION_NUMBER": "the server did not answer with TLS (a ws:// server on a wss:// URL?)",
    "SSLV3_ALERT_HANDSHAKE_FAILURE": "the server and this client share no cipher suite or "
                                     "key exchange",
    "NO_SHARED_CIPHER": "the server and this client share no cipher suite",
    "TLSV1_ALERT_INTERNAL_ERROR": "the server failed the handshake (internal error)",
    "TLSV1_UNRECOGNIZED_NAME": "the server does not serve this host name (SNI)",
    "TLSV13_ALERT_CERTIFICATE_REQUIRED": "the server requires a client certificate",
    "SSLV3_ALERT_BAD_CERTIFICATE": "the server refused the client certificate",
    "TLSV1_ALERT_UNKNOWN_CA": "the server does not trust the client certificate's issuer",
}

_CLOSED_DURING_HANDSHAKE = ("the server closed the connection during the TLS handshake: it "
                            "supports no TLS version or cipher this client offers ({versions}), "
                            "or does not speak TLS on this port")


class TLSFailure(ConnectionError):
    """The TLS handshake failed; the message says why (see :func:`describe`)."""


def _versions(context: ssl.SSLContext | None) -> str:
    if context is None:
        return "TLS 1.2 and later"
    low, high = context.minimum_version, context.maximum_version
    name = {ssl.TLSVersion.TLSv1: "TLS 1.0", ssl.TLSVersion.TLSv1_1: "TLS 1.1",
            ssl.TLSVersion.TLSv1_2: "TLS 1.2", ssl.TLSVersion.TLSv1_3: "TLS 1.3"}
    low_name = name.get(low, "TLS 1.2" if low == ssl.TLSVersion.MINIMUM_SUPPORTED else str(low))
    if high in (ssl.TLSVersion.MAXIMUM_SUPPORTED, ssl.TLSVersion.TLSv1_3):
        return f"{low_name} and later"
    return f"{low_name} to {name.get(high, str(high))}"


def describe(exc: BaseException, host: str, context: ssl.SSLContext | None) -> str:
    """Why the TLS handshake with ``host`` failed, for the log (OpenSSL's text kept)."""
    versions = _versions(context)
    if isinstance(exc, ssl.SSLCertVerificationError):
        code, message = exc.verify_code, exc.verify_message
        detail = f"([SSL: {exc.reason}] certificate verify failed: {message})"
        if code in _UNTRUSTED:
            return (f"the server's certificate is not issued by a trusted certificate authority "
                    f"{detail}; to trust a private CA, pass "
                    "ssl=ssl.create_default_context(cafile=...)")
        if code in _WRONG_HOST:
            return f"the server's certificate is not valid for {host} {detail}"
        if code in _EXPIRED:
            return f"the server's certificate {_EXPIRED[code]} {detail}"
        return f"the server's certificate could not be verified {detail}"
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or ""
        words = _REASONS.get(reason)
        if words is None and isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
            words = _CLOSED_DURING_HANDSHAKE
        if words is not None:
            return f"{words.format(versions=versions)} ({exc.reason or type(exc).__name__})"
        return f"{type(exc).__name__}: {exc}"
    if isinstance(exc, (ConnectionResetError, ConnectionAbortedError, EOFError)):
        return _CLOSED_DURING_HANDSHAKE.format(versions=versions) + f" ({type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}"


_warned = False
_warned_lock = threading.Lock()


def unverified_warning_given() -> None:
    """The caller has warned the user itself (the command line's ``--insecure``)."""
    global _warned
    _warned = True


def warn_if_unverified(context: ssl.SSLContext) -> None:
    """Log one WARNING per process if ``context`` does not verify the server."""
    global _warned
    if _warned or (context.verify_mode != ssl.CERT_NONE and context.check_hostname):
        return
    with _warned_lock:
        if _warned:
            return
        _warned = True
    what = ("the server's certificate or host name" if context.verify_mode == ssl.CERT_NONE
            else "the server's host name")
    logger.warning("pyws: the ssl context given to WebSocket() does not verify %s "
                   "(verify_mode=%s, check_hostname=%s): anyone on the network path can read "
                   "and change the connection (logged once per process)",
                   what, context.verify_mode.name, context.check_hostname)
