"""``sunshine.ops.lean.LocaleMiddleware`` (Django's without reading a language prefix from the
path, which only ``i18n_patterns`` use) decides and announces the language as Django's does."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.test import RequestFactory
from django.utils import translation

from sunshine.ops.lean import LocaleMiddleware

PATHS = ["/api/v1/applications", "/en/workbench/", "/zh-hans/", "/workbench/", "/api/v1/public/applications/YK1"]
ASKS: list[dict[str, str]] = [
    {},
    {"HTTP_ACCEPT_LANGUAGE": "en"},
    {"HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9"},
    {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9,en;q=0.8"},
    {"HTTP_ACCEPT_LANGUAGE": "fr"},
    {"HTTP_ACCEPT_LANGUAGE": "*"},
    {"HTTP_COOKIE": f"{settings.LANGUAGE_COOKIE_NAME}=en", "HTTP_ACCEPT_LANGUAGE": "zh-CN"},
    {"HTTP_COOKIE": f"{settings.LANGUAGE_COOKIE_NAME}=xx"},
]


def _through(middleware_class: type, path: str, meta: dict[str, str], status: int) -> tuple[object, ...]:
    request = RequestFactory().get(path, **meta)
    seen: list[str] = []

    def view(req):  # type: ignore[no-untyped-def]
        seen.append(translation.get_language())
        response = HttpResponse(status=status)
        response["Vary"] = "Cookie"
        return response

    with translation.override(None):
        response = middleware_class(view)(request)
    return (seen, request.LANGUAGE_CODE, response.status_code, response.get("Vary"), response["Content-Language"])


@pytest.mark.parametrize("status", [200, 404])
@pytest.mark.parametrize("path", PATHS)
def test_the_same_language_and_headers_as_django(path, status):
    for meta in ASKS:
        assert _through(LocaleMiddleware, path, meta, status) == _through(DjangoLocaleMiddleware, path, meta, status)


def test_the_languages_it_gives():
    assert _through(LocaleMiddleware, "/api/v1/applications", {"HTTP_ACCEPT_LANGUAGE": "en"}, 200)[1] == "en"
    assert _through(LocaleMiddleware, "/api/v1/applications", {}, 200)[1] == settings.LANGUAGE_CODE
