from django.apps import AppConfig


class CalendarConfig(AppConfig):
    name = "sunshine.calendar"
    label = "workcalendar"

    def ready(self) -> None:
        from django.core import checks

        from sunshine.calendar.checks import check_provisional_years

        checks.register(check_provisional_years)
