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

``staff_intake`` does the same for ``POST /api/v1/applications`` called with a bearer token that
the lean stack's gateway has accepted (``request.bearer_user``): it runs ninja's own steps for
that operation (the caller is the gateway's user, as ``BearerAuth`` makes it; the body parsed by
the API's parser and validated by the operation's own body model) and then the view's work
(``routers.applications.intake``, the body not parsed again). Whatever ninja would refuse before
the view (a body that does not parse or does not match ``IntakeIn``) is left to ninja, so its
422 and 400 answers are ninja's; an exception of the view gets the API's handler, as in ninja.
``tests/test_intake_fast.py`` compares every kind of answer with the path on and off. What it
saves: URL resolution among the API's routes, ninja's wrappers, its temporal response, the
second parse of the body (≈ 0.08 ms of CPU per intake, docs/bench.md).
"""

from __future__ import annotations

import inspect
import re
from functools import cache
from typing import Any

import pydantic
from django.http import HttpRequest, HttpResponse
from django.urls import ResolverMatch, resolve, reverse

from sunshine.api.auth import BearerAuth

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


# --- the staff intake: POST /api/v1/applications with a bearer token ------------------------------


@cache
def _intake_route() -> tuple[str, ResolverMatch, Any] | None:
    """The intake's path, its URL match and ninja's operation for its POST (the one ninja's view
    for that URL runs), or None when the view is not ninja's as expected (no fast path then)."""
    url = reverse("api-v1:create_application")
    match = resolve(url)
    view: Any = inspect.getclosurevars(match.func).nonlocals.get("self")
    if not hasattr(view, "operations"):
        return None
    operation = next((op for op in view.operations if "POST" in op.methods), None)
    if operation is None or operation.throttle_objects or len(operation.models) != 1:
        return None
    if not operation.auth_callbacks or not isinstance(operation.auth_callbacks[0], BearerAuth):
        return None
    return url, match, operation


def staff_intake(request: HttpRequest) -> HttpResponse | None:
    """The intake's answer, or None for any other request and for any intake ninja would refuse
    before the view (no token the lean stack's gateway accepted, a body that does not parse or
    match ``IntakeIn``): those go on to ninja, which answers them as always."""
    if request.method != "POST":
        return None
    route = _intake_route()
    if route is None or request.path_info != route[0]:
        return None
    found = getattr(request, "bearer_user", None)  # the gateway's look-up (sunshine/ops/lean.py)
    if found is None or not request.body:
        return None
    from sunshine.api.api import api
    from sunshine.api.routers.applications import intake

    _, match, operation = route
    # ninja's steps (Operation.run): authentication (BearerAuth with the gateway's user), the body
    # parsed by the API's parser and validated by the operation's own body model, then the view.
    user = found[1]
    request.user = user
    request.auth = user  # type: ignore[attr-defined]
    model = operation.models[0]
    try:
        data = api.parser.parse_body(request)
    except Exception:
        return None
    varname = getattr(model, "__read_from_single_attr__", None)
    try:
        model.model_validate(model._map_data_paths({varname: data} if varname else data), context={"request": request})
    except pydantic.ValidationError:
        return None
    request.resolver_match = ResolverMatch(
        match.func,
        (),
        {},
        match.url_name,
        list(match.app_names),
        list(match.namespaces),
        match.route,
        match.tried,
        {},
        match.extra_kwargs,  # type: ignore[attr-defined]
    )
    try:
        return intake(request, data)
    except Exception as exc:  # as ninja: the API's handler of that exception answers
        return api.on_exception(request, exc)


def answer(request: HttpRequest) -> HttpResponse | None:
    """The lean stack's innermost step (``settings.SUNSHINE_LEAN_FAST``): the look-up's GET, the
    staff intake's POST, or None (URL resolution and ninja)."""
    response = public_lookup(request)
    return staff_intake(request) if response is None else response
