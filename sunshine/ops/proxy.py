"""The client's address behind the reverse proxy.

Throttles (public look-ups, SMS codes, submissions) and the sign-in lockout count per client
address, read from ``REMOTE_ADDR``. Behind nginx that is nginx's own address, so every visitor
would share one counter: one abuser would lock everybody out. When the request comes from a
trusted proxy (``settings.SUNSHINE_TRUSTED_PROXIES``), the address it sends in ``X-Real-IP``
becomes ``REMOTE_ADDR``; from anywhere else the header is ignored (a client could forge it).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


def _valid(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


class ClientAddressMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.META.get("REMOTE_ADDR") in settings.SUNSHINE_TRUSTED_PROXIES:
            real = request.META.get("HTTP_X_REAL_IP", "").strip()
            if real and _valid(real):
                request.META["REMOTE_ADDR"] = real
        return self.get_response(request)
