"""Demo data: the demo accounts of api-v1.md, a small province of units (山西, 太原, 大同),
Taiyuan's and Datong's service areas and N applications."""

from __future__ import annotations

import unicodedata
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from sunshine.accounts.models import Role
from sunshine.applications import services
from sunshine.applications.events import EventType
from sunshine.applications.models import Event
from sunshine.ops.demo.accounts import DEMO_ACCOUNTS, DEMO_PASSWORD, ensure_areas, ensure_demo_accounts
from sunshine.ops.demo.supervision import OVERDUE_TODAY, overdue_today_scenario
from sunshine.ops.demo.units import LEVEL_ACCOUNTS, ensure_units, place_accounts
from sunshine.ops.synthetic import FIXED_SCENARIOS, Generator, People, Refs, save_batch

SOURCE = "seed_demo"
ROLE_ZH = {
    Role.ADMIN: "系统管理员",
    Role.CLERK: "受理员",
    Role.CUSTOMER_MANAGER: "客户经理",
    Role.ENGINEER: "工程师（审图、检验）",
    Role.LEADER: "领导",
    Role.AUDITOR: "监督稽查（只读）",
}


def _pad(text: str, width: int) -> str:
    """Left-align ``text`` in ``width`` terminal columns (CJK characters take two)."""
    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(width - used, 1)


def demo_application_count() -> int:
    return Event.objects.filter(type=EventType.INTAKE, data__source=SOURCE).count()


class Command(BaseCommand):
    help = "Create the demo accounts, the service areas and N demo applications (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--applications",
            type=int,
            default=200,
            help="demo applications wanted in total (default 200; 0: accounts only)",
        )
        parser.add_argument("--seed", type=int, default=20261127, help="random seed")

    def handle(self, *args: Any, **options: Any) -> None:
        wanted: int = options["applications"]
        if wanted < 0:
            raise CommandError("--applications must not be negative")
        ensure_areas()
        found = ensure_units()
        users = {u.username: u for u in ensure_demo_accounts()}
        users.update({u.username: u for u in place_accounts(found, DEMO_PASSWORD)})
        existing = demo_application_count()
        missing = max(wanted - existing, 0)
        if missing:
            from faker import Faker

            faker = Faker("zh_CN")
            faker.seed_instance(options["seed"] + existing)
            people = People(
                managers=[users["manager1"], users["manager2"], users["manager3"]],
                clerk=users["clerk"],
                engineer=users["engineer"],
            )
            try:
                refs = Refs.load(people, timezone.localdate())
            except LookupError as exc:
                raise CommandError(str(exc)) from exc
            gen = Generator(refs, seed=options["seed"] + existing, window=60, source=SOURCE, faker=faker)
            # A fresh demo always shows each interesting case; the rest is random.
            scenarios = [*FIXED_SCENARIOS, overdue_today_scenario()][:missing] if existing == 0 else []
            built = []
            for scenario in scenarios:
                if scenario.name == OVERDUE_TODAY:
                    gen.manager_index = 0  # manager1's case: the sweep warns manager1 and the team lead
                built.append(gen.build(scenario))
            # One in ten in the other city (大同), after Taiyuan's (whose draws stay as they were).
            datong = missing // 10
            built += [gen.build() for _ in range(missing - datong - len(built))]
            if datong:
                other = Generator(
                    Refs.load(People(managers=[users["datong_manager"]], clerk=users["clerk"]), timezone.localdate()),
                    seed=options["seed"] + existing + 1,
                    window=60,
                    source=SOURCE,
                    faker=faker,
                    districts=["平城区", "云冈区"],
                )
                other.used_numbers = gen.used_numbers
                built += [other.build() for _ in range(datong)]
            save_batch(built, gen.rng)
            services.recount_manager_loads()  # generated rows bypass the services that keep the counts
            self.stdout.write(f"Created {missing} demo applications ({existing + missing} in total).")
        elif wanted:
            self.stdout.write(f"Demo applications already present ({existing}); nothing to add.")
        # the invented contractors (names start with 示例) and the statistics of the demo data (openinfo app)
        from sunshine.directory.models import Contractor
        from sunshine.directory.seed import seed_demo_contractors
        from sunshine.metrics.services import refresh as refresh_statistics

        seed_demo_contractors(Contractor)
        refresh_statistics()
        if wanted:  # rung moments of the demo cases, one overdue today, one supervised (added by supervision)
            from sunshine.ops.demo.supervision import ensure_demo_supervision

            self.stdout.write(ensure_demo_supervision())
        if wanted:  # follow-up calls of the latest connected cases (feedback app)
            from sunshine.ops.demo.feedback import ensure_demo_feedback

            self.stdout.write(ensure_demo_feedback())
        if wanted:  # contractor choices of last month and the frozen evaluations (三不指定, 末位淘汰)
            from sunshine.ops.demo.fairness import ensure_demo_choices, ensure_demo_evaluation

            self.stdout.write(ensure_demo_choices())
            self.stdout.write(ensure_demo_evaluation())
        if wanted:  # the previous and the current half-monthly report (reports app; last: it reads the rest)
            from sunshine.ops.demo.opendata import ensure_demo_open_data
            from sunshine.ops.demo.reports import ensure_demo_reports

            self.stdout.write(ensure_demo_open_data(ensure_demo_reports()))
        self.stdout.write("")
        self.stdout.write(f"Demo accounts (password for all: {DEMO_PASSWORD})")
        self.stdout.write("  " + _pad("username", 18) + _pad("role (unit)", 44) + "password")
        names = {u.code: u.name for u in found.values()}
        from sunshine.ops.demo.units import ACCOUNT_UNITS

        rows = [(u, r, ACCOUNT_UNITS.get(u, "sx")) for u, r, *_rest in DEMO_ACCOUNTS]
        rows += [(u, r, code) for u, r, _l, _f, _p, code, _a in LEVEL_ACCOUNTS]
        for username, role, code in rows:
            what = f"{ROLE_ZH.get(role, role)}（{names[code]}）"
            self.stdout.write("  " + _pad(username, 18) + _pad(what, 44) + DEMO_PASSWORD)
