"""Send events to a subscription again: ``manage.py redeliver_webhooks <subscription id>
(--event <id> | --since <ISO time> --until <ISO time>)`` (docs/integration.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from sunshine.webhooks import services
from sunshine.webhooks.models import Subscription


def _time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"not an ISO time: {value!r}") from None
    return parsed if parsed.tzinfo else timezone.make_aware(parsed)


class Command(BaseCommand):
    help = "Send one event, or the events of a time range, to a webhook subscription again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("subscription", type=int)
        parser.add_argument("--event", type=int)
        parser.add_argument("--since")
        parser.add_argument("--until")

    def handle(self, *args: Any, **options: Any) -> None:
        sub = Subscription.objects.filter(pk=options["subscription"]).first()
        if sub is None:
            raise CommandError(f"no subscription {options['subscription']}")
        if options["event"] is not None:
            count = services.redeliver(sub, None, event_id=options["event"])
        elif options["since"] and options["until"]:
            count = services.redeliver(sub, None, since=_time(options["since"]), until=_time(options["until"]))
        else:
            raise CommandError("give --event, or --since and --until")
        self.stdout.write(f"{count} deliveries to {sub.name} will be sent again")
