"""A large synthetic data set for benchmarks, inserted in bulk batches.

The data spreads over a province (``sunshine.ops.province``): 山西's 11 cities and 117 counties
are made as units where missing, with an area, managers (``--managers``, dealt to the counties in
turn), a team lead and a leader per county; each application lies in a county and is held by one
of its managers.

Rows are written with COPY (PostgreSQL) or executemany (SQLite), one transaction per batch,
with ids reserved up front; meant to run alone (SQLite: the batch holds the write lock).

On PostgreSQL ``--jobs N`` (default: the number of CPUs) forks N writer processes, each with its
own connection, its own random stream and its own share of the application numbers and customer
identities (``synthetic.Part``), so their concurrent transactions never meet on a unique index;
ids come from the tables' sequences, so they never overlap either. Each application's history
and audit chain is built by one process, exactly as with one job.

What the engine records is recorded: every event passes the payload checks of ``events.record``,
each utility stage names its holder (``StageInstance.manager``), and the running stages get the
rung moments the supervision reaction would store (``synthetic.rung_moments``; those already due
count as fired), so the sweep works on generated data without a backfill.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, connections
from django.utils import timezone

from sunshine.accounts.models import Role, User
from sunshine.applications import services
from sunshine.ops import province
from sunshine.ops.synthetic import (
    Generator,
    Part,
    People,
    Refs,
    analyze,
    check_references,
    max_ids,
    save_batch,
    skip_reference_checks,
)

SOURCE = "generate_load"


def load_managers(count: int) -> list[User]:
    return list(User.objects.filter(username__in=province.manager_names(count)).order_by("username"))


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
        parser.add_argument(
            "--managers",
            type=int,
            default=None,
            help="customer managers load_mgrNNN, dealt to the counties in turn (default: three per county)",
        )
        parser.add_argument("--days", type=int, default=250, help="accepted within this many working days before today")
        parser.add_argument(
            "--jobs",
            type=int,
            default=None,
            help="writer processes (PostgreSQL; default: the number of CPUs; SQLite: always 1)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        total: int = options["applications"]
        size: int = options["batch_size"]
        if options["managers"] is None:
            options["managers"] = 3 * len(province.counties())
        if total < 0 or size < 1 or options["days"] < 1 or options["managers"] < 1:
            raise CommandError("--applications >= 0, --batch-size, --days and --managers >= 1")
        jobs = options["jobs"] or os.cpu_count() or 1
        if connection.vendor != "postgresql" or total < 2 * size or connection.in_atomic_block:
            jobs = 1  # (inside a transaction the writers could not see its rows, nor it theirs)
        province.ensure_province(options["managers"])
        refs = self._refs(options)  # fails early when the process templates are missing
        since = max_ids()
        started = time.monotonic()
        if jobs == 1:
            unchecked = skip_reference_checks()
            _no_commit_wait()
            if connection.vendor == "sqlite":
                with connection.cursor() as cursor:
                    cursor.execute("PRAGMA cache_size = -262144")  # 256 MiB: the indexes stay in memory
            gen = Generator(refs, seed=options["seed"], window=options["days"], source=SOURCE)
            try:
                self._load(gen, total, size, started)
            finally:
                problems = check_references(since) if unchecked else []
        else:
            Generator(refs, seed=0, window=options["days"], source=SOURCE)  # the calendar, built once before the fork
            self._load_parallel(options, total, size, jobs, started)
            problems = check_references(since)
        if problems:
            raise CommandError("dangling references after the load: " + "; ".join(problems))
        if total:
            services.recount_manager_loads()  # generated rows bypass the services that keep the counts
            analyze()
        elapsed = time.monotonic() - started
        rate = total / elapsed if elapsed else 0.0
        self.stdout.write(f"Done: {total:,} applications in {elapsed:.1f}s ({rate:,.0f}/s).")

    @staticmethod
    def _refs(options: dict[str, Any]) -> Refs:
        managers = load_managers(options["managers"])
        people = People(
            managers=managers,
            clerk=User.objects.filter(role=Role.CLERK, is_active=True).order_by("pk").first(),
            engineer=User.objects.filter(role=Role.ENGINEER, is_active=True).order_by("pk").first(),
        )
        try:
            refs = Refs.load(people, timezone.localdate())
        except LookupError as exc:
            raise CommandError(str(exc)) from exc
        refs.places = province.places(managers)
        return refs

    def _load_parallel(self, options: dict[str, Any], total: int, size: int, jobs: int, started: float) -> None:
        """``jobs`` forked writers; this process only reports their progress."""
        connections.close_all()  # each child opens its own connection
        ctx = multiprocessing.get_context("fork")
        done = ctx.Value("q", 0)
        shares = [total // jobs + (1 if k < total % jobs else 0) for k in range(jobs)]
        procs = [
            ctx.Process(target=_writer, args=(options, (k, jobs), shares[k], size, done), daemon=True)
            for k in range(jobs)
        ]
        for p in procs:
            p.start()
        self.stdout.write(f"{jobs} writer processes, {size:,} applications per transaction")
        last = -1
        try:
            while any(p.is_alive() for p in procs):
                time.sleep(1)
                n = done.value
                elapsed = time.monotonic() - started
                if n != last and (n == total or int(elapsed) % 10 == 0):
                    self._progress(n, total, elapsed)
                    last = n
        except BaseException:
            for p in procs:
                if p.is_alive():
                    p.terminate()
            raise
        for p in procs:
            p.join()
        failed = [p.exitcode for p in procs if p.exitcode != 0]
        if failed:
            raise CommandError(f"{len(failed)} writer process(es) failed (exit codes {failed}); see above")
        if last != done.value:
            self._progress(done.value, total, time.monotonic() - started)

    def _progress(self, done: int, total: int, elapsed: float) -> None:
        rate = done / elapsed if elapsed else 0.0
        eta = (total - done) / rate if rate else 0.0
        self.stdout.write(f"{done:>10,} / {total:,} applications  {elapsed:7.1f}s  {rate:,.0f}/s  ETA {_duration(eta)}")
        self.stdout.flush()

    def _load(self, gen: Generator, total: int, size: int, started: float) -> None:
        done = 0
        while done < total:
            n = min(size, total - done)
            save_batch([gen.build() for _ in range(n)], gen.rng, moments=True)
            gen.used_numbers.clear()  # earlier batches are in the database, checked there
            done += n
            elapsed = time.monotonic() - started
            rate = done / elapsed if elapsed else 0.0
            eta = (total - done) / rate if rate else 0.0
            self.stdout.write(
                f"{done:>10,} / {total:,} applications  {elapsed:7.1f}s  {rate:,.0f}/s  ETA {_duration(eta)}"
            )
            self.stdout.flush()


def _writer(options: dict[str, Any], part: Part, count: int, size: int, done: Any) -> None:
    """One forked writer: its own connection, random stream and share of numbers/identities."""
    try:
        refs = Command._refs(options)
        seed = options["seed"]
        gen = Generator(
            refs,
            seed=None if seed is None else seed * 1000 + part[0],
            window=options["days"],
            source=SOURCE,
            part=part,
        )
        skip_reference_checks()  # this session only; the parent checks the references afterwards
        _no_commit_wait()
        written = 0
        while written < count:
            n = min(size, count - written)
            save_batch([gen.build() for _ in range(n)], gen.rng, part, moments=True)
            gen.used_numbers.clear()
            written += n
            with done.get_lock():
                done.value += n
    finally:
        connections.close_all()


def _no_commit_wait() -> None:
    """PostgreSQL: this session's commits do not wait for the WAL flush (a crash loses at most
    the last batches of a synthetic load, never consistency)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit = off")
