from django import template

from sunshine.calendar.checks import provisional_message, provisional_years

register = template.Library()


@register.simple_tag
def calendar_alarms() -> list[str]:
    """Warnings for administrators while this year or next is provisional."""
    return [provisional_message(year) for year in provisional_years()]
