"""The one HTTP call of a delivery: a POST with timeouts, no redirect followed, and only to
addresses the settings allow (server-side request forgery: a callback URL must not make the
platform call its own database, metadata service or intranet).

- The host is resolved once and the connection made to the address that was checked (a DNS answer
  that changes between the check and the connection cannot slip a private address in); TLS still
  checks the certificate against the host name.
- Refused: loopback (unless ``SUNSHINE_WEBHOOK_ALLOW_LOOPBACK``: trial installations and tests),
  private, link-local, multicast, reserved and unspecified addresses, except those inside
  ``SUNSHINE_WEBHOOK_ALLOWED_NETWORKS`` (an intranet receiver the operator names).
- ``https`` is required except towards loopback in a trial.
- Timeouts: ``SUNSHINE_WEBHOOK_TIMEOUT_SECONDS`` for the connection and for each read.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


class Refused(Exception):
    """The URL or its address is not allowed (no request was sent)."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: str


def allow_loopback() -> bool:
    return bool(getattr(settings, "SUNSHINE_WEBHOOK_ALLOW_LOOPBACK", False))


@cache
def _networks(spec: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(n.strip(), strict=False) for n in spec.split(",") if n.strip())


def allowed_networks() -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return _networks(str(getattr(settings, "SUNSHINE_WEBHOOK_ALLOWED_NETWORKS", "") or ""))


def address_allowed(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return allow_loopback()
    if any(ip in net for net in allowed_networks()):
        return True
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified or ip.is_link_local)


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def check_url(url: str) -> str | None:
    """Why ``url`` cannot be a callback (None: it can, as far as can be told without resolving
    its host): scheme, host, credentials, and a literal address that is not allowed."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "not a valid URL"
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        return "not an http(s) URL"
    if parts.username or parts.password:
        return "credentials in the URL"
    if port == 0:
        return "port 0"
    literal = _literal(host)
    loopback = host in LOOPBACK_NAMES or (literal is not None and literal.is_loopback)
    if parts.scheme == "http" and not (loopback and allow_loopback()):
        return "https is required"
    if loopback and not allow_loopback():
        return "loopback addresses are refused"
    if literal is not None and not address_allowed(literal):
        return "private or reserved addresses are refused"
    return None


def resolve(host: str, port: int) -> IPAddress:
    """The first address of ``host``; Refused when any of its addresses is not allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise Refused(f"cannot resolve {host}: {exc}") from None
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not addresses:
        raise Refused(f"{host} has no address")
    bad = [str(a) for a in addresses if not address_allowed(a)]
    if bad:
        raise Refused(f"{host} resolves to a refused address ({', '.join(bad)})")
    return addresses[0]


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST ``body`` to ``url``; the status and the first 2000 characters of the answer.
    Raises Refused (not sent) or OSError / http.client.HTTPException (no answer)."""
    why = check_url(url)
    if why is not None:
        raise Refused(why)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = str(resolve(host, port))
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)

    def pinned(addr: tuple[str, int], timeout: float | None = None, source: object = None) -> socket.socket:
        return socket.create_connection((address, addr[1]), timeout)

    conn._create_connection = pinned  # type: ignore[attr-defined]
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request("POST", path, body=body, headers={**headers, "Content-Length": str(len(body))})
        response = conn.getresponse()
        text = response.read(4000).decode("utf-8", "replace")[:2000]
        return Answer(response.status, text)
    finally:
        conn.close()
