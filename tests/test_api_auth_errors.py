"""API v1: sign-in, throttling, and the one error body for every failure (api-v1.md, Conventions).

Decision documented here: a valid token of a user with no staff role (the "outsider") gets
``403 forbidden`` — the credential is good, the identity may not use the API. An absent,
unknown or expired token gets ``401 unauthorized``.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import time_machine
from django.test import Client

from tests.conftest import ApiClient, intake_body

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token"


def assert_error(r, status: int, code: str | None = None, *, fields: bool = False) -> dict:
    """The contract's error body: exactly code and message (and fields only for 422)."""
    assert r.status_code == status, (r.status_code, r.content)
    assert r["Content-Type"].startswith("application/json")
    body = r.json()
    assert set(body) == ({"code", "message", "fields"} if fields else {"code", "message"}), body
    assert isinstance(body["code"], str) and body["code"]
    assert body["code"] == body["code"].lower() and " " not in body["code"]
    assert isinstance(body["message"], str) and body["message"].strip()
    if code is not None:
        assert body["code"] == code, body
    if fields:
        assert isinstance(body["fields"], dict) and body["fields"]
        for path, messages in body["fields"].items():
            assert isinstance(path, str)
            assert isinstance(messages, list) and messages and all(isinstance(m, str) and m for m in messages)
    return body


def post_json(client: Client, path: str, body, **headers):
    return client.post(path, json.dumps(body), content_type="application/json", **headers)


# --- token --------------------------------------------------------------------------------------


@time_machine.travel("2026-11-27 10:00 +0800", tick=False)
def test_token_good_credentials(personas):
    r = post_json(Client(), TOKEN_URL, {"username": "clerk", "password": "pw-clerk"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert set(body) == {"token", "expires_at"}
    assert isinstance(body["token"], str) and len(body["token"]) >= 20
    assert body["expires_at"].endswith("+08:00")
    expires = datetime.fromisoformat(body["expires_at"])
    assert expires > datetime.fromisoformat("2026-11-27T10:00:00+08:00")


def test_token_is_usable(personas):
    r = post_json(Client(), TOKEN_URL, {"username": "leader", "password": "pw-leader"})
    token = r.json()["token"]
    r = Client().get("/api/v1/applications", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert r.status_code == 200, r.content


def test_token_bad_password_is_401(personas):
    r = post_json(Client(), TOKEN_URL, {"username": "clerk", "password": "wrong"}, HTTP_ACCEPT_LANGUAGE="en")
    body = assert_error(r, 401, "invalid_credentials")
    assert body["message"] == "Wrong username or password."


def test_token_unknown_user_is_401_like_a_bad_password(personas):
    r1 = post_json(Client(), TOKEN_URL, {"username": "nobody", "password": "x"})
    r2 = post_json(Client(), TOKEN_URL, {"username": "clerk", "password": "x"})
    assert assert_error(r1, 401) == assert_error(r2, 401)


def test_token_missing_fields_is_422(personas):
    r = post_json(Client(), TOKEN_URL, {})
    body = assert_error(r, 422, "validation_error", fields=True)
    assert set(body["fields"]) == {"username", "password"}


def test_token_throttled_after_five_failures_even_with_right_password(personas):
    c = Client()
    for _ in range(5):
        assert_error(post_json(c, TOKEN_URL, {"username": "clerk", "password": "wrong"}), 401)
    r = post_json(c, TOKEN_URL, {"username": "clerk", "password": "pw-clerk"}, HTTP_ACCEPT_LANGUAGE="en")
    assert_error(r, 429, "throttled")
    assert int(r["Retry-After"]) > 0
    # another account from the same client is not locked out
    assert post_json(c, TOKEN_URL, {"username": "leader", "password": "pw-leader"}).status_code == 200


def test_successful_sign_in_resets_the_failure_count(personas):
    c = Client()
    for _ in range(4):
        post_json(c, TOKEN_URL, {"username": "clerk", "password": "wrong"})
    assert post_json(c, TOKEN_URL, {"username": "clerk", "password": "pw-clerk"}).status_code == 200
    for _ in range(4):
        post_json(c, TOKEN_URL, {"username": "clerk", "password": "wrong"})
    assert post_json(c, TOKEN_URL, {"username": "clerk", "password": "pw-clerk"}).status_code == 200


# --- 401 / 403 ----------------------------------------------------------------------------------


def test_no_token_is_401(personas):
    r = Client().get("/api/v1/applications", HTTP_ACCEPT_LANGUAGE="en")
    assert_error(r, 401, "unauthorized")
    assert r["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Bearer ", "Basic Y2xlcms6cHctY2xlcms=", "garbage"])
def test_invalid_token_is_401(personas, header):
    assert_error(Client().get("/api/v1/applications", HTTP_AUTHORIZATION=header), 401, "unauthorized")


def test_expired_token_is_401(personas):
    with time_machine.travel("2026-11-27 10:00 +0800", tick=False):
        api = ApiClient(personas["clerk"])
        assert api.get("/api/v1/applications").status_code == 200
    with time_machine.travel("2026-11-27 21:59 +0800", tick=False):
        assert api.get("/api/v1/applications").status_code == 200
    with time_machine.travel("2026-11-27 22:01 +0800", tick=False):
        assert_error(api.get("/api/v1/applications"), 401, "unauthorized")


def test_inactive_user_token_is_401(personas):
    api = ApiClient(personas["clerk"])
    personas["clerk"].is_active = False
    personas["clerk"].save()
    assert_error(api.get("/api/v1/applications"), 401, "unauthorized")


def test_outsider_without_role_is_403(api_as):
    outsider = api_as("outsider", "en")
    assert_error(outsider.get("/api/v1/applications"), 403, "forbidden")
    r = outsider.post("/api/v1/applications", intake_body())
    assert_error(r, 403, "forbidden")
    from sunshine.applications.models import Application

    assert not Application.objects.exists()


# --- Django- and ninja-level failures -------------------------------------------------------------


def test_unknown_path_is_404_body(api_as):
    for path in ("/api/v1/nothing-here", "/api/v1/applications/x/y/z", "/api/v1/"):
        assert_error(api_as("clerk").get(path), 404)
    assert_error(Client().get("/api/v1/nothing-here"), 404)


def test_wrong_method_is_405_body(api_as):
    c = api_as("clerk", "en")
    r = c.client.delete("/api/v1/applications", **c.headers)
    body = assert_error(r, 405, "method_not_allowed")
    assert body["message"] == "This method is not allowed here."
    assert "GET" in r["Allow"] and "POST" in r["Allow"]
    assert_error(c.client.put("/api/v1/auth/token", "{}", content_type="application/json"), 405)
    assert_error(c.client.get("/api/v1/auth/token"), 405)


@pytest.mark.parametrize(
    "raw",
    ["{bad", "", "[1, 2]", '"text"', "42", "null", "[" * 50000 + "]" * 50000, '{"a": 1}{', "\udcff"],
    ids=["broken", "empty", "array", "string", "number", "null", "deep", "trailing", "non-utf8"],
)
def test_malformed_json_is_400(api_as, raw):
    c = api_as("clerk", "en")
    data = raw.encode("utf-8", "surrogateescape") if raw == "\udcff" else raw
    r = c.client.post("/api/v1/applications", data, content_type="application/json", **c.headers)
    if raw == "":
        # an empty body is an empty object: every required field is missing
        assert_error(r, 422, "validation_error", fields=True)
        return
    body = assert_error(r, 400, "malformed_json")
    assert body["message"] in (
        "The request body is not valid JSON.",
        "The request body must be a JSON object.",
    )


def test_malformed_json_on_token_is_400(personas):
    r = Client().post(TOKEN_URL, "{nope", content_type="application/json")
    assert_error(r, 400, "malformed_json")
    r = Client().post(TOKEN_URL, "[]", content_type="application/json")
    assert_error(r, 400, "malformed_json")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"page_size": 500}, {"page_size"}),
        ({"page": 0}, {"page"}),
        ({"page": "abc"}, {"page"}),
        ({"page": 0, "page_size": 500}, {"page", "page_size"}),
        ({"page_size": 0}, {"page_size"}),
        ({"overdue": "maybe"}, {"overdue"}),
        ({"status": "bogus"}, {"status"}),
        ({"category": "hv_triple"}, {"category"}),
    ],
)
def test_query_validation_is_422_keyed_by_parameter(api_as, params, expected):
    r = api_as("clerk", "en").get("/api/v1/applications", **params)
    body = assert_error(r, 422, "validation_error", fields=True)
    assert set(body["fields"]) == expected
    assert body["message"] == "Some fields are not valid."


def test_page_size_limit_200_is_accepted(api_as):
    r = api_as("clerk").get("/api/v1/applications", page_size=200, page=3)
    assert r.status_code == 200
    assert r.json() == {"count": 0, "page": 3, "page_size": 200, "results": []}


def test_unknown_application_is_404_body(api_as):
    body = assert_error(api_as("clerk", "en").get("/api/v1/applications/YK0000000000000"), 404, "application_not_found")
    assert body["message"] == "No application with this number."


def test_domain_validation_in_english(api_as):
    r = api_as("clerk", "en").post("/api/v1/applications", intake_body(customer__phone="123"))
    body = assert_error(r, 422, "validation_error", fields=True)
    assert body["message"] == "Some fields are not valid."
    assert body["fields"] == {"customer.phone": ["Enter an 11-digit mainland mobile number starting with 1."]}


def test_messages_default_to_chinese_and_are_strings(api_as):
    """Without Accept-Language the installation language (zh-hans) applies; the translations
    may lag, so only the shape is asserted here."""
    c = api_as("clerk")
    for r in (
        c.get("/api/v1/applications/YK0000000000000"),
        c.get("/api/v1/applications", page=0),
        Client().get("/api/v1/applications"),
        c.client.delete("/api/v1/applications", **c.headers),
        c.get("/api/v1/nowhere"),
    ):
        body = r.json()
        assert isinstance(body["message"], str) and body["message"].strip()
    r = Client().get("/api/v1/applications")
    assert r.get("Content-Language", "zh-hans") == "zh-hans"
    r = Client().get("/api/v1/applications", HTTP_ACCEPT_LANGUAGE="en")
    assert r.get("Content-Language") == "en"


def test_ninja_path_and_body_never_500(api_as):
    c = api_as("admin")
    long = "Y" * 5000
    assert_error(c.get(f"/api/v1/applications/{long}"), 404)
    # a body valid by the schema reaches the look-up (an invalid one is refused first: 422)
    pause = {"reason_code": "missing_documents", "reason": "缺资料"}
    assert_error(c.post(f"/api/v1/applications/{long}/pause", pause), 404)
    assert_error(c.post(f"/api/v1/applications/{long}/pause", {"reason_code": "x"}), 422, fields=True)
    assert_error(
        c.post("/api/v1/applications", {"category": ["x"], "customer": "y", "requested_capacity": {}}),
        422,
        fields=True,
    )
    assert_error(c.post("/api/v1/applications", intake_body(requested_capacity=1e308 * 10)), 422, fields=True)


def test_token_expiry_is_ttl_after_issue(personas, settings):
    settings.SUNSHINE_TOKEN_TTL_HOURS = 2
    with time_machine.travel("2026-03-02 09:00 +0800", tick=False):
        r = post_json(Client(), TOKEN_URL, {"username": "clerk", "password": "pw-clerk"})
    assert datetime.fromisoformat(r.json()["expires_at"]) == datetime.fromisoformat(
        "2026-03-02T09:00:00+08:00"
    ) + timedelta(hours=2)


def test_absurd_input_is_never_a_500(api_as):
    """Found while testing: a page past 2**63 and NUL characters reached the database (500 on
    SQLite and PostgreSQL)."""
    c = api_as("clerk")
    body = assert_error(c.get("/api/v1/applications", page=10**20), 422, "validation_error", fields=True)
    assert set(body["fields"]) == {"page"}
    assert_error(c.get("/api/v1/applications", page=10**7), 422, fields=True)
    assert c.get("/api/v1/applications", page=10**6, page_size=200).status_code == 200
    body = assert_error(c.get("/api/v1/applications", customer_manager="a\x00b", stage="\x00"), 422, fields=True)
    assert set(body["fields"]) == {"customer_manager", "stage"}
    assert_error(c.get("/api/v1/applications/YK\x00"), 404, "application_not_found")
    assert_error(c.post("/api/v1/applications/YK\x00/cancel", {"reason": "x"}), 404, "application_not_found")
    r = Client().get("/api/v1/public/applications/YK%00", {"phone_tail": "1234"})
    assert_error(r, 404, "application_not_found")
    body = assert_error(c.post("/api/v1/applications", intake_body(customer__name="张\x00三")), 422, fields=True)
    assert "customer.name" in body["fields"]
    from sunshine.applications.models import Application

    assert not Application.objects.exists()


def test_a_repeated_query_parameter_is_422_never_read_as_its_last_value(api_as):
    """docs/security.md (Bad input): every query parameter of API v1 is one value; a repeated one
    (``?stage=survey&stage=connection``) is refused before the view runs, anonymous callers too."""
    clerk = api_as("clerk")
    r = clerk.client.get("/api/v1/applications?stage=survey&stage=connection&status=open", **clerk.headers)
    body = assert_error(r, 422, "validation_error", fields=True)
    assert body["fields"] == {"stage": ["该值无效。"]}
    r = clerk.client.get("/api/v1/events?after=0&limit=5&limit=1000&after=3", **clerk.headers)
    assert assert_error(r, 422, "validation_error", fields=True)["fields"] == {
        "after": ["该值无效。"],
        "limit": ["该值无效。"],
    }
    anonymous = Client().get("/api/v1/public/statistics?from=2026-11-01&from=2026-10-01")
    assert assert_error(anonymous, 422, "validation_error", fields=True)["fields"] == {"from": ["该值无效。"]}
    unsigned = Client().get("/api/v1/applications?stage=survey&stage=survey")  # before the token is asked for
    assert assert_error(unsigned, 422, "validation_error", fields=True)["fields"] == {"stage": ["该值无效。"]}
    assert clerk.client.get("/api/v1/applications?stage=survey", **clerk.headers).status_code == 200
