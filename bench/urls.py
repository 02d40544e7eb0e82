"""URLs served during ``make bench``: the whole application plus two bare baseline views.

``bare-read`` reads one row by primary key and answers JSON; ``bare-insert`` inserts one row.
Both use the raw table ``bench_row`` that ``bench/run.py`` creates (no Django model, no
migration), so they measure Django + gunicorn + PostgreSQL with nothing of Sunshine on top.
"""

from django.db import connection
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


def bare_read(request: HttpRequest, pk: int) -> JsonResponse:
    with connection.cursor() as cur:
        cur.execute("SELECT id, payload FROM bench_row WHERE id = %s", [pk])
        row = cur.fetchone()
    if row is None:
        raise Http404
    return JsonResponse({"id": row[0], "payload": row[1]})


@csrf_exempt
def bare_insert(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cur:
        cur.execute("INSERT INTO bench_row (payload) VALUES (%s) RETURNING id", [request.body.decode()[:200]])
        (pk,) = cur.fetchone()
    return JsonResponse({"id": pk}, status=201)


urlpatterns = [
    path("bench/bare-read/<int:pk>/", bare_read),
    path("bench/bare-insert/", bare_insert),
    path("", include("sunshine.urls")),
]
