"""schemathesis against /api/v1/openapi.json: the OpenAPI document is the contract. For every
operation, a bounded number of generated requests (valid and invalid) as an anonymous caller, as a
customer manager and as an administrator, with every check: no 500; status codes, content types
and response bodies as documented; data valid by the schema accepted (2xx, or 401/403/404/409/429, or
the 422 of a business rule documented per operation in BUSINESS_RULES);
data invalid by it rejected; every error answer the contract's body ``{"code", "message"[,
"fields"]}``. Path parameters ``{number}`` are the fixture's real application numbers half of the
time, so the operations are exercised past their 404.

Counts per persona and per check are printed at the end of the module and written to
``$SUNSHINE_VAR_DIR/fuzz-summary.json`` (the README's security section quotes them)."""

from __future__ import annotations

import json
import os
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from sunshine.wsgi import application

DETAILS = os.environ.get("SUNSHINE_FUZZ_DETAILS")
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


# Data valid by the schema that a business rule may still refuse with 422, per operation: the
# rule, why the schema cannot state it, and exactly which refusal is accepted (the fields of a
# validation_error, or the error's own code). Any other 422 to valid data fails the check.
WEBHOOK_RULE = (
    "areas and units must name existing service areas and units (stored data); the callback's host is "
    "resolved and checked against the allowed networks when it is sent to, a literal or loopback one when it "
    "is given",
    {"areas", "units", "url"},
)
BUSINESS_RULES: dict[str, tuple[str, set[str]]] = {
    "POST /api/v1/webhooks/subscriptions": WEBHOOK_RULE,
    "POST /api/v1/webhooks/subscriptions/{pk}": WEBHOOK_RULE,
    "POST /api/v1/applications": (
        "an ID's check character and birth date, a capacity within its category's range and with at most two "
        "decimals depend on each other or on arithmetic a JSON schema cannot express",
        {"customer.id_number", "requested_capacity"},
    ),
    "POST /api/v1/public/applications": (
        "as the staff intake, and the SMS code must be the one sent to this phone",
        {"customer.id_number", "requested_capacity", "verification_code"},
    ),
    "POST /api/v1/applications/{number}/reassign": (
        "customer_manager must name an active customer manager (stored data)",
        {"customer_manager"},
    ),
    "POST /api/v1/applications/{number}/contact": (
        "the reason must not be blank (what is blank differs between JSON Schema and Python), and the name or "
        "the phone must differ from what is stored (stored data)",
        {"reason", "__all__"},
    ),
    "POST /api/v1/applications/{number}/unit": (
        "the reason must not be blank (what is blank differs between JSON Schema and Python)",
        {"reason"},
    ),
    "POST /api/v1/applications/{number}/charges": (
        "item_code must be in the fee catalogue in force, the quantity fits the item's basis (stored data)",
        {"charge_not_in_catalogue", "charge_amount_mismatch", "quantity"},
    ),
    "POST /api/v1/applications/{number}/contractor-choices": (
        "contractor_id must be a qualified unit of that kind with a valid licence today (stored data)",
        {"contractor_not_qualified"},
    ),
    "POST /api/v1/applications/{number}/stages/{code}/complete": (
        "only a review or inspection stage takes an outcome, and a failed one needs defects (the stage's kind)",
        {"outcome", "defects"},
    ),
    "POST /api/v1/applications/{number}/supervision": (
        "the target date cannot be in the past (today's date)",
        {"target_date"},
    ),
    "POST /api/v1/followups/{pk}/result": (
        "a completed survey needs every score and yes/no answer, an extra charge its amount and what it was for",
        {
            "sat_overall",
            "sat_manager",
            "sat_timeliness",
            "steered_design",
            "steered_construction",
            "steered_supply",
            "extra_charge",
            "extra_charge_amount",
            "extra_charge_what",
            "told_once",
        },
    ),
    "GET /api/v1/public/fees/high-reliability": (
        "voltage_level must have a rate in the catalogue in force on that day (stored data)",
        {"voltage_level"},
    ),
    "GET /api/v1/public/statistics": (
        "from not after to, and at most three years apart (two parameters together); unit must name a unit "
        "(stored data)",
        {"from", "to", "unit"},
    ),
    "GET /api/v1/satisfaction": ("manager must name a staff member (stored data)", {"manager"}),
}


def _business_refusal(case, response) -> bool:
    """A 422 to valid data that is the operation's documented business rule."""
    rule = BUSINESS_RULES.get(f"{case.operation.method.upper()} {case.operation.path}")
    if rule is None or response.status_code != 422:
        return False
    body = response.json()
    if body.get("code") != "validation_error":
        return body.get("code") in rule[1]
    return bool(body.get("fields")) and set(body["fields"]) <= rule[1]


def positive_data_acceptance_but_business_rules(ctx, response, case):
    """schemathesis' positive data acceptance, except a 422 that is the operation's documented
    business rule (BUSINESS_RULES)."""
    if _business_refusal(case, response):
        return None
    return positive_data_acceptance(ctx, response, case)


positive_data_acceptance_but_business_rules.__name__ = "positive_data_acceptance"

# Every check must pass on every request.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    error_body_follows_the_contract,
    positive_data_acceptance_but_business_rules,
    negative_data_rejection,
]

# persona -> requests sent, failed requests, operations run, and per check how often it ran and
# failed (filled as the tests run).
SENT: Counter[str] = Counter()
FAILED: Counter[str] = Counter()
OPERATIONS: dict[str, set[str]] = {}
CHECKED: dict[str, Counter[str]] = {}
CHECK_FAILED: dict[str, Counter[str]] = {}


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
            "checks": {
                c.__name__: {"run": CHECKED[persona][c.__name__], "failed": CHECK_FAILED[persona][c.__name__]}
                for c in CHECKS
            },
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
                f"(max_examples={MAX_EXAMPLES}), {row['failed']} failed; per check (run/failed): "
                + ", ".join(f"{name} {c['run']}/{c['failed']}" for name, c in row["checks"].items())
            )


def _token(user) -> str:
    from datetime import timedelta

    from django.utils import timezone

    from sunshine.accounts.models import ApiToken, hash_token

    raw = ApiToken.new_raw()
    ApiToken.objects.create(user=user, key_hash=hash_token(raw), expires_at=timezone.now() + timedelta(hours=1))
    return raw


@pytest.fixture
def numbers(personas, keep_test_connection) -> list[str]:
    """Two real applications, the first Alice's (a customer manager, so her scope is not empty),
    for the fuzzed ``{number}`` to reach past the 404."""
    # Through the service, not the test client: the client would reconnect the signal that
    # keep_test_connection disconnected.
    from django.utils import timezone

    from sunshine.applications import services
    from sunshine.applications.models import Application
    from sunshine.applications.validation import validate_intake
    from tests.conftest import intake_body

    out = []
    for body in (intake_body(), intake_body(customer__name="李四", address="太原市晋源区晋祠路二段2号")):
        result = services.intake(validate_intake(body, timezone.localdate()), personas["clerk"])
        out.append(result.application.number)
    assert Application.objects.get(number=out[0]).customer_manager == personas["alice"]
    return out


@pytest.fixture
def admin_token(personas, numbers) -> str:
    return _token(personas["admin"])


@pytest.fixture
def manager_token(personas, numbers) -> str:
    return _token(personas["alice"])


def _run(case, persona: str, token: str | None, numbers: list[str]) -> None:
    if token:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
    mode = getattr(getattr(case.meta, "generation", None), "mode", None)
    positive = mode is not None and mode.is_positive
    # a real application half of the time (derandomised: chosen from the generated value itself)
    if numbers and positive and "number" in (case.path_parameters or {}):
        generated = str(case.path_parameters["number"])
        if sum(map(ord, generated)) % 2 == 0:
            case.path_parameters["number"] = numbers[len(generated) % len(numbers)]
    SENT[persona] += 1
    OPERATIONS.setdefault(persona, set()).add(f"{case.operation.method.upper()} {case.operation.path}")
    checked = CHECKED.setdefault(persona, Counter())
    failed = CHECK_FAILED.setdefault(persona, Counter())
    response = case.call()
    errors = []
    for check in CHECKS:
        checked[check.__name__] += 1
        try:
            case.validate_response(response, checks=[check])
        except (Exception, BaseExceptionGroup) as exc:
            failed[check.__name__] += 1
            errors.append(f"{check.__name__}: {exc}")
            if DETAILS is not None:
                with open(DETAILS, "a") as out:
                    out.write(
                        json.dumps(
                            [
                                persona,
                                f"{case.operation.method.upper()} {case.operation.path}",
                                check.__name__,
                                response.status_code,
                                case.body if not isinstance(case.body, bytes) else repr(case.body),
                                dict(case.query or {}),
                                dict(case.path_parameters or {}),
                                response.text[:300],
                            ],
                            ensure_ascii=False,
                            default=str,
                        )
                        + "\n"
                    )
    if errors:
        FAILED[persona] += 1
        raise AssertionError(
            f"{case.operation.method.upper()} {case.operation.path} -> {response.status_code}\n" + "\n".join(errors)
        )


FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


@pytest.mark.django_db
@schema.parametrize()
@FUZZ
def test_every_operation_keeps_its_contract_for_an_administrator(case, admin_token, numbers):
    _run(case, "admin", admin_token, numbers)


@pytest.mark.django_db
@schema.parametrize()
@FUZZ
def test_every_operation_keeps_its_contract_for_a_customer_manager(case, manager_token, numbers):
    _run(case, "customer_manager", manager_token, numbers)


@pytest.mark.django_db
@schema.parametrize()
@FUZZ
def test_every_operation_keeps_its_contract_for_an_anonymous_caller(case, numbers):
    _run(case, "anonymous", None, numbers)
