"""API v1: webhook subscriptions (administrators) and the event feed (docs/integration.md).

- ``GET/POST /api/v1/webhooks/subscriptions``, ``GET/POST /api/v1/webhooks/subscriptions/{pk}``:
  list, make (the answer carries the secret, shown this once), read and change subscriptions;
  ``POST …/{pk}/redeliveries``: send one event or a time range again. Administrators only.
- ``GET /api/v1/events?after=<cursor>&limit=``: the feed, the same envelopes the subscriptions
  receive, in commit order, only about the applications the caller may read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, TypeVar, cast

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import ValidationError as NinjaValidationError
from pydantic import ConfigDict, RootModel, ValidationError

from sunshine.accounts.models import Role
from sunshine.api import schemas
from sunshine.api.common import json_body, staff
from sunshine.applications import access
from sunshine.webhooks import feed, selectors, services
from sunshine.webhooks.models import FeedItem, Subscription

router = Router(tags=["webhooks"])
_S = TypeVar("_S", bound=Schema | RootModel[Any])

ADMIN = {str(Role.ADMIN)}
EventTypeName = Annotated[str, Field(max_length=40, json_schema_extra={"enum": [t.value for t in feed.PUBLISHED]})]
CategoryName = schemas.Category
AreaCode = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[-a-zA-Z0-9_]+$")]
UnitCode = AreaCode
PK = Annotated[int, Field(ge=1, le=2**63 - 1)]


# https to a host name (a trial installation also takes plain http to loopback, outside this
# document; literal addresses are checked by the server: docs/integration.md)
URL_PATTERN = (
    r"^https://([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}(:[1-9][0-9]{0,3})?(/[^\s\x00]*)?$"
)
STRICT = ConfigDict(strict=True, extra="forbid")


class SubscriptionIn(Schema):
    model_config = STRICT

    name: str = Field(min_length=1, max_length=100, pattern=schemas.NON_BLANK)
    url: str = Field(min_length=12, max_length=500, pattern=URL_PATTERN)
    event_types: list[EventTypeName] = Field(min_length=1, max_length=64)
    # unit codes: each unit with its subtree (empty: every unit)
    units: list[UnitCode] = Field(default_factory=list, max_length=100)
    areas: list[AreaCode] = Field(default_factory=list, max_length=100)
    categories: list[CategoryName] = Field(default_factory=list, max_length=20)
    enabled: bool = True
    allow_personal_data: bool = False


class SubscriptionChangeIn(Schema):
    model_config = STRICT

    name: str | None = Field(None, min_length=1, max_length=100, pattern=schemas.NON_BLANK)
    url: str | None = Field(None, min_length=12, max_length=500, pattern=URL_PATTERN)
    event_types: list[EventTypeName] | None = Field(None, min_length=1, max_length=64)
    units: list[UnitCode] | None = Field(None, max_length=100)
    areas: list[AreaCode] | None = Field(None, max_length=100)
    categories: list[CategoryName] | None = Field(None, max_length=20)
    enabled: bool | None = None
    allow_personal_data: bool | None = None
    # true: clear a pause the workers set after a day of failures
    resume: bool = False


class RedeliverEvent(Schema):
    """One event again (its id: the envelope's ``id``)."""

    model_config = STRICT
    event_id: PK


class RedeliverRange(Schema):
    """The events whose time is in ``[since, until)`` again."""

    model_config = STRICT
    since: datetime
    until: datetime


class RedeliveryIn(RootModel[RedeliverEvent | RedeliverRange]):
    pass


class RedeliveryOut(Schema):
    deliveries: int


class DeliveryCounts(Schema):
    pending: int
    delivered: int
    failed: int


class SubscriptionOut(Schema):
    id: int
    name: str
    url: str
    event_types: list[str]
    units: list[str]
    areas: list[str]
    categories: list[str]
    enabled: bool
    paused_at: datetime | None
    pause_reason: str
    allow_personal_data: bool
    owner: str
    created_at: datetime
    updated_at: datetime
    deliveries: DeliveryCounts


class SubscriptionCreated(SubscriptionOut):
    # Standard Webhooks secret ("whsec_" + base64): shown in this answer only
    secret: str


class SubscriptionList(Schema):
    results: list[SubscriptionOut]


class CloudEvent(Schema):
    specversion: str
    id: str
    source: str
    type: str
    subject: str
    time: str
    datacontenttype: str
    sequence: str
    data: dict[str, Any]


class EventPage(Schema):
    events: list[CloudEvent]
    # the cursor to pass as ``after`` next time (the last position returned, else ``after``)
    next: int
    has_more: bool


class FeedQuery(Schema):
    after: int = Field(0, ge=0, le=2**63 - 1)
    limit: int = Field(100, ge=1, le=1000)


def _inline(raw: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema with its ``$defs`` inlined."""
    defs = raw.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return walk(dict(defs[ref.split("/")[-1]]))
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    result: dict[str, Any] = walk(raw)
    return result


def _body_doc(schema: type[Schema]) -> dict[str, Any]:
    """The request body in the document: this router checks bodies itself, after the role."""
    body = _inline(schema.model_json_schema())
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": body}}}}


def _root_body_doc(model: type[RootModel[Any]]) -> dict[str, Any]:
    """``body_doc`` for a body that is one of several shapes (its ``$defs`` inlined)."""
    raw = model.model_json_schema()
    defs = raw.pop("$defs", {})
    shapes = [defs[ref["$ref"].split("/")[-1]] for ref in raw["anyOf"]]
    schema = {"anyOf": shapes, "title": model.__name__}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _parse(schema: type[_S], request: HttpRequest) -> _S:
    """The body checked by ``schema`` in strict JSON mode (what the document says, no coercion),
    after the caller's role was checked (so a refused caller gets 403, whatever its body); its
    errors are the API's one 422 body, as for the bodies django-ninja checks itself."""
    json_body(request)  # 400 for a body that is not a JSON object
    try:
        return cast(_S, schema.model_validate_json(request.body or b"{}"))
    except ValidationError as exc:
        raise NinjaValidationError([dict(e) for e in exc.errors()]) from None


def _subscription(pk: int) -> Subscription:
    return services.subscription(pk)


def _out(sub: Subscription, counts: dict[str, int] | None = None) -> dict[str, Any]:
    return {
        "id": sub.pk,
        "name": sub.name,
        "url": sub.url,
        "event_types": list(sub.event_types),
        "units": sorted(u.code for u in sub.units.all()),
        "areas": sorted(a.code for a in sub.areas.all()),
        "categories": list(sub.categories),
        "enabled": sub.enabled,
        "paused_at": sub.paused_at,
        "pause_reason": sub.pause_reason,
        "allow_personal_data": sub.allow_personal_data,
        "owner": sub.owner.username,
        "created_at": sub.created_at,
        "updated_at": sub.updated_at,
        "deliveries": counts
        if counts is not None
        else selectors.delivery_counts([sub.pk]).get(sub.pk, selectors.NO_DELIVERIES),
    }


@router.get("/webhooks/subscriptions", response=SubscriptionList)
def list_subscriptions(request: HttpRequest) -> dict[str, Any]:
    """Every subscription with its deliveries' counts (administrators)."""
    access.require_role(staff(request), ADMIN)
    subs = list(Subscription.objects.select_related("owner").prefetch_related("units", "areas").order_by("name", "id"))
    counts = selectors.delivery_counts([s.pk for s in subs])
    return {"results": [_out(s, counts.get(s.pk, selectors.NO_DELIVERIES)) for s in subs]}


@router.post("/webhooks/subscriptions", response={201: SubscriptionCreated}, openapi_extra=_body_doc(SubscriptionIn))
def create_subscription(request: HttpRequest) -> Status:
    """A new subscription owned by the caller; the answer carries its secret, shown this once."""
    user = staff(request)
    access.require_role(user, ADMIN)
    data = _parse(SubscriptionIn, request)
    sub, secret = services.create(user, **data.model_dump())
    return Status(201, {**_out(sub), "secret": secret})


@router.get("/webhooks/subscriptions/{pk}", response=SubscriptionOut)
def get_subscription(request: HttpRequest, pk: PK) -> dict[str, Any]:
    access.require_role(staff(request), ADMIN)
    return _out(_subscription(pk))


@router.post("/webhooks/subscriptions/{pk}", response=SubscriptionOut, openapi_extra=_body_doc(SubscriptionChangeIn))
def change_subscription(request: HttpRequest, pk: PK) -> dict[str, Any]:
    """Change the fields given (the others stay); ``resume: true`` clears a pause."""
    user = staff(request)
    access.require_role(user, ADMIN)
    sub = _subscription(pk)
    data = _parse(SubscriptionChangeIn, request)
    services.update(sub, user, **data.model_dump())
    return _out(_subscription(pk))


@router.post(
    "/webhooks/subscriptions/{pk}/redeliveries", response=RedeliveryOut, openapi_extra=_root_body_doc(RedeliveryIn)
)
def redeliver(request: HttpRequest, pk: PK) -> dict[str, Any]:
    """Send one event (``event_id``) or the events of ``[since, until)`` again, within the
    subscription's filters."""
    user = staff(request)
    access.require_role(user, ADMIN)
    sub = _subscription(pk)
    data = _parse(RedeliveryIn, request).root
    if isinstance(data, RedeliverEvent):
        return {"deliveries": services.redeliver(sub, user, event_id=data.event_id)}
    since, until = (t if t.tzinfo else timezone.make_aware(t) for t in (data.since, data.until))
    return {"deliveries": services.redeliver(sub, user, since=since, until=until)}


@router.get("/events", response=EventPage)
def events(request: HttpRequest, query: Query[FeedQuery]) -> dict[str, Any]:
    """The event feed after the cursor ``after`` (0: from the start), oldest first: every event
    exactly once across pages, in commit order, about the applications the caller may read."""
    user = staff(request)
    access.require_role(user, access.STAFF_ROLES)
    # scoped as the applications list: a manager's own applications, else those now in the
    # caller's unit and the units below it
    scope = FeedItem.objects.all()
    if user.role == Role.CUSTOMER_MANAGER:
        scope = scope.filter(application__customer_manager=user)
    else:
        scope = access.scope_to_units(scope, user, "application__unit")
    items = feed.page(query.after, query.limit + 1, scope)
    more = len(items) > query.limit
    items = items[: query.limit]
    return {
        "events": feed.envelopes(items),
        "next": items[-1].position if items else query.after,
        "has_more": more,
    }
