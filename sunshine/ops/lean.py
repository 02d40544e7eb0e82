"""A shorter middleware stack for the paths that need no session (``settings.SUNSHINE_LEAN_PATHS``:
the public API; ``SUNSHINE_LEAN_TOKEN_PATHS``: the staff API called with a valid bearer token),
and the Content-Security-Policy header built once.

``LeanPathsMiddleware`` stands in ``settings.MIDDLEWARE`` after the middleware every request needs
(the client address, the security headers, static files, the replica routing). For a request
under a lean path it runs the middleware listed after it **except** those in
``settings.SUNSHINE_LEAN_SKIP`` (sessions, sign-in, CSRF, two-step enrolment, messages, htmx,
django-axes), then the view; every other request goes through the whole stack as before. A
middleware added to ``MIDDLEWARE`` later runs on the lean paths too unless it is listed in the
skip list, so forgetting it costs speed, never a missing header.

What a lean request does not have: ``request.session``, ``request.user`` until the API's token
authentication sets it (so no view under a lean path may use the session: the public API is
anonymous, the staff API's caller is ``request.auth``), messages, ``request.htmx``. Its answer still
carries the security headers (``SecurityMiddleware``, ``X-Frame-Options``, the CSP), the
language (``LocaleMiddleware``), the API's error body and the 503 of a database outage.
What each skipped middleware cost a public look-up is measured in docs/bench.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from csp.constants import HEADER
from csp.middleware import CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.conf.urls.i18n import is_language_prefix_patterns_used
from django.core.handlers.base import BaseHandler
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest, HttpResponse
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.module_loading import import_string

from sunshine.accounts.services import user_for_token
from sunshine.applications.access import is_staff_user

GATEWAY = "sunshine.ops.lean.LeanPathsMiddleware"


class _LeanHandler(BaseHandler):
    """Django's request handling (URL resolution, view middleware, exception middleware) over a
    given list of middleware: ``BaseHandler.load_middleware`` for a synchronous stack, with the
    list as an argument instead of ``settings.MIDDLEWARE``."""

    def __init__(self, paths: list[str], fast: Callable[[HttpRequest], HttpResponse | None] | None = None) -> None:
        self.fast = fast
        self._view_middleware: list[Any] = []
        self._template_response_middleware: list[Any] = []
        self._exception_middleware: list[Any] = []
        handler = convert_exception_to_response(self._get_response)
        for path in reversed(paths):
            instance = import_string(path)(handler)
            if hasattr(instance, "process_view"):
                self._view_middleware.insert(0, instance.process_view)
            if hasattr(instance, "process_template_response"):
                self._template_response_middleware.append(instance.process_template_response)
            if hasattr(instance, "process_exception"):
                self._exception_middleware.append(instance.process_exception)
            handler = convert_exception_to_response(instance)
        self._middleware_chain = handler

    def _get_response(self, request: HttpRequest) -> HttpResponse:
        """The innermost step: ``fast`` answers the requests it knows (before URL resolution),
        Django's resolution and view answer the rest."""
        if self.fast is not None:
            response = self.fast(request)
            if response is not None:
                return response
        return cast(HttpResponse, super()._get_response(request))  # type: ignore[misc]


def lean_stack() -> list[str]:
    """The middleware a request under a lean path runs after the gateway, in order."""
    middleware = list(settings.MIDDLEWARE)
    after = middleware[middleware.index(GATEWAY) + 1 :]
    skip = set(settings.SUNSHINE_LEAN_SKIP)
    return [m for m in after if m not in skip]


def bearer_staff(request: HttpRequest) -> bool:
    """Whether the request carries a bearer token that the API accepts (``api.auth.BearerAuth``:
    an unexpired token of an active user with a staff role). Parsed as django-ninja's
    ``HttpBearer`` parses the header; the look-up is ``user_for_token``'s, kept by the process
    (the API's own check right after finds it there)."""
    header = request.META.get("HTTP_AUTHORIZATION")
    if not header:
        return False
    parts = header.split(" ")
    if len(parts) < 2 or parts[0].lower() != "bearer":
        return False
    raw = " ".join(parts[1:])
    user = user_for_token(raw)
    if user is None or not is_staff_user(user):
        return False
    # The API's token check takes it from here (one look-up per request, whatever the cache).
    request.bearer_user = (raw, user)  # type: ignore[attr-defined]
    return True


class LeanPathsMiddleware:
    """The gateway: a request under ``SUNSHINE_LEAN_PATHS`` (the public API), or under
    ``SUNSHINE_LEAN_TOKEN_PATHS`` (the staff API) with a bearer token the API accepts, runs the
    lean stack. A token-authenticated API call needs no session, sign-in, CSRF (the API checks
    CSRF only for a session's caller), messages, htmx or django-axes (the sign-in lockout: the
    token endpoint ``/api/v1/auth/`` always runs the whole stack). An unknown, expired or
    non-staff token, or none, runs the whole stack as before, so the API's answer to it (its
    session fallback, 401, 403) is unchanged."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.prefixes = tuple(settings.SUNSHINE_LEAN_PATHS)
        self.token_prefixes = tuple(getattr(settings, "SUNSHINE_LEAN_TOKEN_PATHS", ()))
        self.token_never = tuple(getattr(settings, "SUNSHINE_LEAN_TOKEN_NEVER", ()))
        fast = getattr(settings, "SUNSHINE_LEAN_FAST", None)
        handler = _LeanHandler(lean_stack(), import_string(fast) if fast else None)
        self.lean = cast(Callable[[HttpRequest], HttpResponse], handler._middleware_chain)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path.startswith(self.prefixes):
            return self.lean(request)
        if (
            self.token_prefixes
            and path.startswith(self.token_prefixes)
            and not path.startswith(self.token_never)
            and bearer_staff(request)
        ):
            return self.lean(request)
        return self.get_response(request)


class OncePolicyCSPMiddleware(CSPMiddleware):
    """django-csp's middleware with the policy string built once per process instead of once per
    response (it is the same for every response: ``settings.CONTENT_SECURITY_POLICY``, no nonce,
    no per-view policy). A response that does carry a per-view policy (django-csp's decorators)
    and every response under DEBUG (django-csp leaves the debug pages alone) still get django-csp's
    own computation."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        super().__init__(get_response)
        self.policy = build_policy()
        self.report_only = build_policy(report_only=True)
        config = getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}
        self.simple = not self.report_only and not config.get("EXCLUDE_URL_PREFIXES")

    def process_request(self, request: HttpRequest) -> None:
        # No nonce is offered: no template has inline script or style (CONTRIBUTING.md).
        return None

    def process_response(self, request: HttpRequest, response: Any) -> Any:
        if (
            settings.DEBUG
            or not self.simple
            or any(getattr(response, a, None) is not None for a in ("_csp_config", "_csp_update", "_csp_replace"))
        ):
            return super().process_response(request, response)
        if HEADER not in response and not getattr(response, "_csp_exempt", False):
            response[HEADER] = self.policy
        return response


class LocaleMiddleware(DjangoLocaleMiddleware):
    """Django's ``LocaleMiddleware`` without reading a language prefix from the path when the
    URLconf has no ``i18n_patterns`` (Sunshine's has none): Django reads it twice per request
    (a regular expression and a language look-up each time) and uses it only with
    ``i18n_patterns``. Same language, ``LANGUAGE_CODE``, ``Vary`` and ``Content-Language``; with
    ``i18n_patterns`` in the URLconf, Django's own code runs."""

    def process_request(self, request: HttpRequest) -> None:
        urlconf = getattr(request, "urlconf", settings.ROOT_URLCONF)
        if is_language_prefix_patterns_used(urlconf)[0]:
            super().process_request(request)
            return None
        translation.activate(translation.get_language_from_request(request, check_path=False))
        request.LANGUAGE_CODE = translation.get_language()
        return None

    def process_response(self, request: HttpRequest, response: Any) -> Any:
        urlconf = getattr(request, "urlconf", settings.ROOT_URLCONF)
        if is_language_prefix_patterns_used(urlconf)[0]:
            return super().process_response(request, response)
        patch_vary_headers(response, ("Accept-Language",))
        response.headers.setdefault("Content-Language", translation.get_language())
        return response
