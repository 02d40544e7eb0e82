"""The public progress look-up answered before URL resolution and django-ninja (issue 17).

``GET /api/v1/public/applications/{number}?phone_tail=…`` is the public API's hottest path. Its
parameters need no parsing: ninja's schema for it takes ``number`` (a path segment) and
``phone_tail`` (a query string, ``""`` when absent) as plain text and refuses nothing (a repeated
parameter is refused before, by ``ApiErrorBodyMiddleware``), so ninja's work per request was
resolving the URL among the API's routes and wrapping the call. ``public_lookup`` is the lean
stack's innermost step (``settings.SUNSHINE_LEAN_FAST``, ``sunshine/ops/lean.py``): for that path
and method it calls the same function the ninja view calls (``routers.public.progress_of``) and
turns an exception into the answer the API's own exception handlers give; every other request
(the POST twin included) goes on to URL resolution and ninja as before. The request still carries
the route's ``resolver_match`` (the request log and the Prometheus labels name the route).
``tests/test_lookup_fast.py`` compares status, headers and bodies with the path on and off.
"""

from __future__ import annotations

import re
from functools import cache

from django.http import HttpRequest, HttpResponse
from django.urls import ResolverMatch, resolve, reverse

MARK = "0"  # a number to build the route's URL and its match from


@cache
def _route() -> tuple[re.Pattern[str], ResolverMatch]:
    url = reverse("api-v1:public_progress", kwargs={"number": MARK})
    prefix = url[: -len(MARK)]
    return re.compile(re.escape(prefix) + r"([^/]+)\Z"), resolve(url)


def public_lookup(request: HttpRequest) -> HttpResponse | None:
    """The look-up's answer, or None for any other request."""
    if request.method != "GET":
        return None
    pattern, match = _route()
    found = pattern.match(request.path_info)
    if found is None:
        return None
    from sunshine.api.api import api
    from sunshine.api.routers.public import progress_of

    number = found.group(1)
    request.resolver_match = ResolverMatch(
        match.func,
        (),
        {"number": number},
        match.url_name,
        list(match.app_names),
        list(match.namespaces),
        match.route,
        match.tried,
        {"number": number},
        match.extra_kwargs,  # type: ignore[attr-defined]
    )
    try:
        return progress_of(request, number, request.GET.get("phone_tail", ""))
    except Exception as exc:  # as ninja: the API's handler of that exception answers
        return api.on_exception(request, exc)
