"""The first middleware of every request (after the client address is known): the request id,
the request's metrics and its log line, and the three operations endpoints, answered before
sessions, CSRF, host checks, HTTPS redirects and throttles run:

- ``GET /healthz``: liveness, ``200`` and nothing touched;
- ``GET /readyz``: readiness, ``200`` or ``503`` with each check's state (``sunshine/ops/health.py``);
- ``GET /metrics``: Prometheus figures, only to ``SUNSHINE_METRICS_ALLOW`` addresses or with
  ``Authorization: Bearer <SUNSHINE_METRICS_TOKEN>``; anyone else gets ``404``.

They are not counted in the request metrics and not written to the log (a probe every few
seconds would drown both). Per request the cost is a few clock reads and metric updates: no
database query, the route label read from ``request.resolver_match``.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from sunshine.observe import context, db, metrics

logger = logging.getLogger("sunshine.request")

LIVENESS, READINESS, METRICS = "/healthz", "/readyz", "/metrics"
OPS_PATHS = frozenset({LIVENESS, READINESS, METRICS})
UNMATCHED = "<unmatched>"


def _json(status: int, body: dict[str, object]) -> HttpResponse:
    response = HttpResponse(json.dumps(body), status=status, content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(a, strict=False) for a in settings.SUNSHINE_METRICS_ALLOW]


def metrics_allowed(request: HttpRequest) -> bool:
    token = settings.SUNSHINE_METRICS_TOKEN
    if token:
        offered = request.META.get("HTTP_AUTHORIZATION", "")
        if offered.startswith("Bearer ") and hmac.compare_digest(offered[7:].strip().encode(), token.encode()):
            return True
    try:
        client = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(client in net for net in _allowed_networks())


def metrics_response(request: HttpRequest) -> HttpResponse:
    from prometheus_client.exposition import choose_encoder

    from sunshine.ops import figures

    if not metrics_allowed(request):
        return HttpResponse(status=404)
    registry = figures.scrape_registry()
    encoder, content_type = choose_encoder(request.META.get("HTTP_ACCEPT", ""))
    response = HttpResponse(encoder(registry), content_type=content_type)
    response["Cache-Control"] = "no-store"
    return response


def ops_response(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
    if request.path_info == LIVENESS:
        return _json(200, {"status": "ok"})
    if request.path_info == READINESS:
        from sunshine.ops import health

        checks = health.readiness()
        ready = all(state in ("ok", "skipped") for state in checks.values())
        return _json(200 if ready else 503, {"status": "ok" if ready else "unavailable", "checks": checks})
    return metrics_response(request)


def route_of(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None and match.route:
        return str(match.route)
    if request.path_info.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return "<static>"
    return UNMATCHED


class TelemetryMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info in OPS_PATHS:
            return ops_response(request)
        started = time.perf_counter()
        scope = context.Scope(request_id=context.new_request_id(request.META.get("HTTP_X_REQUEST_ID")), request=request)
        token = context.enter(scope)
        queries = db.start_request()
        status = 500
        try:
            response = self.get_response(request)
            status = response.status_code
            response["X-Request-ID"] = scope.request_id
            return response
        finally:
            duration = time.perf_counter() - started
            route = route_of(request)
            scope.route = route
            method = request.method if request.method in _METHODS else "other"
            metrics.HTTP_REQUESTS.labels(route, method, str(status)).inc()
            metrics.HTTP_DURATION.labels(route, method).observe(duration)
            if queries[0]:
                metrics.HTTP_DB_QUERIES.labels(route).inc(queries[0])
            # A path no route matched is whatever the client typed (it may hold a phone number):
            # the line says <unmatched> instead.
            path = request.path_info if route != UNMATCHED else UNMATCHED
            logger.log(
                logging.WARNING if status >= 500 else logging.INFO,
                "%s %s %s",
                method,
                path,
                status,
                extra={
                    "method": method,
                    "path": path,
                    "status": status,
                    "duration_ms": round(duration * 1000, 1),
                    "db_queries": queries[0],
                },
            )
            db.end_request()
            context.leave(token)


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
