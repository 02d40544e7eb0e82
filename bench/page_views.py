"""Many first views of the staff application page written to a directory, for a byte-for-byte
comparison of the page's HTML before and after a change (docs/bench.md, "the application page's
first view, second pass"):

    git archive main | tar -x -C /tmp/before          # the code before, beside the worktree's
    cd /tmp/before && BENCH_DATABASE_URL=… python /path/to/worktree/bench/page_views.py /tmp/a
    cd worktree && BENCH_DATABASE_URL=… uv run python bench/page_views.py /tmp/b
    diff -r /tmp/a /tmp/b                              # nothing: the same HTML

The code is the current directory's (``sunshine`` imported from it). The cases: 15 of each status
of the bench manager (``run.MANAGER``) and 15 of each status of all managers (the newest), and one
case of each event type present; each asked by its customer manager and by an administrator
(``page_admin``, created), in Chinese and in English, with page keeping off
(``SUNSHINE_PAGE_CACHE_SIZE=0``: every page a first view). CSRF tokens are masked. Reads only,
but for the administrator it creates.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

sys.path.insert(0, os.getcwd())
os.environ["SUNSHINE_PAGE_CACHE_SIZE"] = "0"

from bench import run  # sets the bench environment

STATUSES = ["in_progress", "paused", "completed", "cancelled"]
_TOKEN = re.compile(r'(name="csrfmiddlewaretoken" value="|"X-CSRFToken": ")[^"]+"')


def main(out: Path) -> None:
    import django

    django.setup()
    from django.test import Client

    from sunshine.accounts.models import Role, User
    from sunshine.applications.models import Application, Event

    out.mkdir(parents=True, exist_ok=True)
    manager = User.objects.get(username=run.MANAGER)
    admin = run.staff("page_admin", Role.ADMIN)
    numbers: set[str] = set()
    for status in STATUSES:
        mine = Application.objects.filter(customer_manager=manager, status=status).order_by("pk")
        anyone = Application.objects.filter(customer_manager__isnull=False, status=status).order_by("-pk")
        numbers |= set(mine.values_list("number", flat=True)[:15])
        numbers |= set(anyone.values_list("number", flat=True)[:15])
    types = sorted(set(Event.objects.order_by().values_list("type", flat=True).distinct()))
    for t in types:
        found = (
            Event.objects.filter(type=t, application__customer_manager__isnull=False)
            .order_by("pk")
            .values_list("application__number", flat=True)
            .first()
        )
        if found:
            numbers.add(found)
    apps = list(Application.objects.filter(number__in=numbers).select_related("customer_manager").order_by("number"))
    print(f"{len(apps)} cases, {len(types)} event types", flush=True)
    clients: dict[tuple[int, str], Client] = {}
    for who in ("manager", "admin"):
        for lang in ("zh-hans", "en"):
            for app in apps:
                user = admin if who == "admin" else app.customer_manager
                client = clients.get((user.pk, lang))
                if client is None:
                    client = clients[(user.pk, lang)] = Client(HTTP_HOST="127.0.0.1", HTTP_ACCEPT_LANGUAGE=lang)
                    client.force_login(user)
                    client.cookies["django_language"] = lang
                r = client.get(f"/workbench/applications/{app.number}/")
                body = _TOKEN.sub(r'\1X"', r.content.decode())
                (out / f"{who}-{lang}-{app.number}.html").write_text(f"{r.status_code}\n{body}")
    print(f"{4 * len(apps)} pages in {out}", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
