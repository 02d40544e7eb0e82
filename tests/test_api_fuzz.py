"""schemathesis against /api/v1/openapi.json: for every operation, a bounded number of generated
requests (valid and invalid) as an anonymous caller and as an administrator; no 500, and every
error answer is the contract's body ``{"code", "message"[, "fields"]}``."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from sunshine.wsgi import application

MAX_EXAMPLES = int(os.environ.get("SUNSHINE_FUZZ_EXAMPLES", "25"))

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


@schemathesis.check
def error_body_follows_the_contract(ctx, response, case):
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body, dict), f"error body is not an object: {body!r}"
        assert isinstance(body.get("code"), str) and body["code"], f"no code in {body!r}"
        assert isinstance(body.get("message"), str) and body["message"], f"no message in {body!r}"
        assert set(body) <= {"code", "message", "fields"}, f"unexpected keys in {body!r}"


@pytest.fixture
def keep_test_connection():
    """Called through WSGI, Django would close the database connection after each request (and
    with it the test's transaction); Django's own test client switches that off the same way."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def admin_token(personas, keep_test_connection) -> str:
    from datetime import timedelta

    from django.utils import timezone

    from sunshine.accounts.models import ApiToken, hash_token

    raw = ApiToken.new_raw()
    ApiToken.objects.create(
        user=personas["admin"], key_hash=hash_token(raw), expires_at=timezone.now() + timedelta(hours=1)
    )
    return raw


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_operation_fails_or_breaks_the_error_contract(case, admin_token):
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {admin_token}"}
    case.call_and_validate(checks=[not_a_server_error, error_body_follows_the_contract])
