"""Workbench middleware.

Staff whose role requires two-step sign-in (SUNSHINE_TOTP_REQUIRED_ROLES) and who have not
enrolled yet can open only the enrolment page (no other workbench page, not the admin) until they
have (sunshine/accounts/totp.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import auth
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connections, router
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject

from sunshine.accounts import totp
from sunshine.accounts.models import User
from sunshine.notifications.models import ChannelKind
from sunshine.workbench.desk import kept

ENROL_URL = "/workbench/security/"


class TotpEnrolmentMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            settings.SUNSHINE_TOTP_REQUIRED_ROLES
            and request.path.startswith(("/workbench/", "/admin/"))
            and request.path != ENROL_URL
        ):
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated and totp.must_enrol(user):
                return HttpResponseRedirect(ENROL_URL)
        return self.get_response(request)


# --- the signed-in staff member, read without the ORM's compilation ---------------------------------

_MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
# notifications.selectors.unread_count of the user read (kept.unread_count's statement as a
# scalar subquery, counted to 100 at most for the badge; tests/test_kept_pages.py)
_UNREAD = f"({kept._UNREAD_SQL})"
# alias → (statement, attribute names, converters by column): built once per connection alias
_USER_READS: dict[str, tuple[str, list[str], list[tuple[int, list[Any], Any]]]] = {}


def _read_user(user_id: Any) -> User | None:
    """``User.objects.get(pk=user_id)`` (what ``ModelBackend.get_user`` runs) as one raw statement
    with the ORM's own converters of each column, built once; None when there is no such row. The
    same statement counts the user's unread inbox messages (``inbox_unread_read``: a kept page's
    navigation shows it, ``kept.serve_page``, without a statement of its own)."""
    conn = connections[router.db_for_read(User) or DEFAULT_DB_ALIAS]
    plan = _USER_READS.get(conn.alias)
    if plan is None:
        fields = list(User._meta.concrete_fields)
        q = conn.ops.quote_name
        table, pk = q(User._meta.db_table), q(str(User._meta.pk.column))
        sql = "SELECT {}, {} FROM {} WHERE {} = %s".format(  # noqa: S608 (the model's own names)
            ", ".join(q(str(f.column)) for f in fields), _UNREAD, table, pk
        )
        converters = []
        for i, f in enumerate(fields):
            col = f.get_col(User._meta.db_table)
            found = conn.ops.get_db_converters(col) + col.get_db_converters(conn)
            if found:
                converters.append((i, found, col))
        plan = _USER_READS[conn.alias] = (sql, [f.attname for f in fields], converters)
    sql, names, converters = plan
    with conn.cursor() as cursor:
        cursor.execute(sql, [user_id, ChannelKind.INBOX.value, user_id])
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row[:-1])
    for i, found, col in converters:
        for convert in found:
            values[i] = convert(values[i], col, conn)
    user = User.from_db(conn.alias, names, values)
    if conn.alias == DEFAULT_DB_ALIAS:  # a replica's count could lag: kept.serve_page counts then
        user.inbox_unread_read = int(row[-1])  # type: ignore[attr-defined]
    return user


def staff_user(request: HttpRequest) -> Any:
    """``django.contrib.auth.get_user(request)``, its usual case made cheaper: a session of
    ``ModelBackend`` whose user exists, is active and whose session hash verifies is answered from
    ``_read_user``; anything else (no session, another backend, an inactive or missing user, a hash
    that does not verify: fallback keys, flush) goes to Django's own ``get_user``."""
    session = request.session
    try:
        user_id = User._meta.pk.to_python(session[auth.SESSION_KEY])
        backend_path = session[auth.BACKEND_SESSION_KEY]
        session_hash = session[auth.HASH_SESSION_KEY]
    except (KeyError, ValidationError):
        return auth.get_user(request)
    if backend_path != _MODEL_BACKEND or backend_path not in settings.AUTHENTICATION_BACKENDS:
        return auth.get_user(request)
    user = _read_user(user_id)
    if (
        user is None
        or not user.is_active
        or not session_hash
        or not constant_time_compare(session_hash, user.get_session_auth_hash())
    ):
        return auth.get_user(request)
    return user


class StaffUserMiddleware:
    """On the staff pages the signed-in user is ``staff_user``'s (after Django's
    ``AuthenticationMiddleware``, which it replaces there): the same user or the same refusal,
    without compiling the ORM's query on every request (docs/bench.md)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/workbench/") and hasattr(request, "session"):
            request.user = SimpleLazyObject(lambda: staff_user(request))  # type: ignore[assignment]
        return self.get_response(request)
