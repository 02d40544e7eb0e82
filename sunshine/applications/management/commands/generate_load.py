"""A large synthetic data set for benchmarks, inserted in bulk batches.

Rows are written with COPY (PostgreSQL) or executemany (SQLite), one transaction per batch,
with ids reserved up front; meant to run alone (SQLite: the batch holds the write lock).
"""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils import timezone

from sunshine.accounts.demo import ensure_areas
from sunshine.accounts.models import Role, User
from sunshine.applications.synthetic import (
    SURNAMES,
    Generator,
    People,
    Refs,
    analyze,
    check_references,
    max_ids,
    save_batch,
    skip_reference_checks,
)

SOURCE = "generate_load"


def ensure_load_managers(count: int) -> list[User]:
    names = [f"load_mgr{i:03d}" for i in range(1, count + 1)]
    have = set(User.objects.filter(username__in=names).values_list("username", flat=True))
    unusable = make_password(None)
    User.objects.bulk_create(
        [
            User(
                username=n,
                password=unusable,
                role=Role.CUSTOMER_MANAGER,
                last_name=SURNAMES[i % len(SURNAMES)],
                first_name="经理",
                work_phone=f"0351-66{i:05d}",
                serves_all_areas=True,
            )
            for i, n in enumerate(names, start=1)
            if n not in have
        ]
    )
    return list(User.objects.filter(username__in=names).order_by("username"))


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"


class Command(BaseCommand):
    help = "Generate a large synthetic data set (bulk inserts, batches of --batch-size) for benchmarks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--applications", type=int, default=1_000_000)
        parser.add_argument("--batch-size", type=int, default=5000, help="applications per transaction")
        parser.add_argument("--seed", type=int, default=None, help="random seed (deterministic output)")
        parser.add_argument("--managers", type=int, default=200, help="customer managers load_mgrNNN")
        parser.add_argument("--days", type=int, default=250, help="accepted within this many working days before today")

    def handle(self, *args: Any, **options: Any) -> None:
        total: int = options["applications"]
        size: int = options["batch_size"]
        if total < 0 or size < 1 or options["days"] < 1 or options["managers"] < 1:
            raise CommandError("--applications >= 0, --batch-size, --days and --managers >= 1")
        ensure_areas()
        managers = ensure_load_managers(options["managers"])
        people = People(
            managers=managers,
            clerk=User.objects.filter(role=Role.CLERK, is_active=True).order_by("pk").first(),
            engineer=User.objects.filter(role=Role.ENGINEER, is_active=True).order_by("pk").first(),
        )
        try:
            refs = Refs.load(people, timezone.localdate())
        except LookupError as exc:
            raise CommandError(str(exc)) from exc
        gen = Generator(refs, seed=options["seed"], window=options["days"], source=SOURCE)
        since = max_ids()
        unchecked = skip_reference_checks()
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA cache_size = -262144")  # 256 MiB: the indexes stay in memory
        started = time.monotonic()
        try:
            self._load(gen, total, size, started)
        finally:
            problems = check_references(since) if unchecked else []
        if problems:
            raise CommandError("dangling references after the load: " + "; ".join(problems))
        if total:
            analyze()
        elapsed = time.monotonic() - started
        rate = total / elapsed if elapsed else 0.0
        self.stdout.write(f"Done: {total:,} applications in {elapsed:.1f}s ({rate:,.0f}/s).")

    def _load(self, gen: Generator, total: int, size: int, started: float) -> None:
        done = 0
        while done < total:
            n = min(size, total - done)
            save_batch([gen.build() for _ in range(n)], gen.rng)
            gen.used_numbers.clear()  # earlier batches are in the database, checked there
            done += n
            elapsed = time.monotonic() - started
            rate = done / elapsed if elapsed else 0.0
            eta = (total - done) / rate if rate else 0.0
            self.stdout.write(
                f"{done:>10,} / {total:,} applications  {elapsed:7.1f}s  {rate:,.0f}/s  ETA {_duration(eta)}"
            )
            self.stdout.flush()
