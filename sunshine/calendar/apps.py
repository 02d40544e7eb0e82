from django.apps import AppConfig


class CalendarConfig(AppConfig):
    name = "sunshine.calendar"
    label = "workcalendar"
