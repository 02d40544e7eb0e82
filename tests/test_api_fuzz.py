"""schemathesis against /api/v1/openapi.json: for every operation, a bounded number of generated
requests (valid and invalid) as an anonymous caller, as a customer manager and as an
administrator; no 500, and every error answer is the contract's body
``{"code", "message"[, "fields"]}``.

The number of requests sent per persona is printed at the end of the module and written to
``$SUNSHINE_VAR_DIR/fuzz-summary.json`` (the README's security section quotes it)."""

from __future__ import annotations

import json
import os
from collections import Counter

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


# persona -> requests sent, failed checks, and operations run (filled as the tests run).
SENT: Counter[str] = Counter()
FAILED: Counter[str] = Counter()
OPERATIONS: dict[str, set[str]] = {}


@pytest.fixture(scope="module", autouse=True)
def fuzz_summary(request):
    """After the module: one line per persona on the terminal and var/fuzz-summary.json."""
    yield
    if not SENT:
        return
    from django.conf import settings as django_settings

    summary = {
        persona: {
            "operations": len(OPERATIONS[persona]),
            "requests": SENT[persona],
            "failed": FAILED[persona],
            "max_examples": MAX_EXAMPLES,
        }
        for persona in sorted(SENT)
    }
    path = django_settings.VAR_DIR / "fuzz-summary.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2) + "\n")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        for persona, row in summary.items():
            print(
                f"\nfuzz {persona}: {row['requests']} requests over {row['operations']} operations "
                f"(max_examples={MAX_EXAMPLES}), {row['failed']} failed (a 500, or an error body "
                "not in the contract's shape)"
            )


def _token(user) -> str:
    from datetime import timedelta

    from django.utils import timezone

    from sunshine.accounts.models import ApiToken, hash_token

    raw = ApiToken.new_raw()
    ApiToken.objects.create(user=user, key_hash=hash_token(raw), expires_at=timezone.now() + timedelta(hours=1))
    return raw


@pytest.fixture
def admin_token(personas, keep_test_connection) -> str:
    return _token(personas["admin"])


@pytest.fixture
def manager_token(personas, keep_test_connection) -> str:
    """alice, a customer manager, with one application of her own (so her scope is not empty)."""
    # Through the service, not the test client: the client would reconnect the signal that
    # keep_test_connection disconnected.
    from django.utils import timezone

    from sunshine.applications import services
    from sunshine.applications.validation import validate_intake
    from tests.conftest import intake_body

    result = services.intake(validate_intake(intake_body(), timezone.localdate()), personas["clerk"])
    assert result.application.customer_manager == personas["alice"]
    return _token(personas["alice"])


def _run(case, persona: str, token: str | None) -> None:
    if token:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
    SENT[persona] += 1
    OPERATIONS.setdefault(persona, set()).add(f"{case.operation.method.upper()} {case.operation.path}")
    try:
        case.call_and_validate(checks=[not_a_server_error, error_body_follows_the_contract])
    except Exception:
        FAILED[persona] += 1
        raise


FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


@pytest.mark.django_db
@schema.parametrize()
@FUZZ
def test_no_operation_fails_or_breaks_the_error_contract(case, admin_token):
    _run(case, "admin", admin_token)


@pytest.mark.django_db
@schema.parametrize()
@FUZZ
def test_no_operation_fails_for_a_customer_manager(case, manager_token):
    _run(case, "customer_manager", manager_token)


@pytest.mark.django_db
@schema.parametrize()
@FUZZ
def test_no_operation_fails_for_an_anonymous_caller(case, keep_test_connection):
    _run(case, "anonymous", None)
