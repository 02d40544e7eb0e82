"""The texts of ``sunshine.applications.badges``, listed here so this app's catalogue carries
their Chinese (``makemessages`` run in this directory only sees this directory; Django looks a
msgid up in every catalogue, so the badges are translated wherever they are shown).

Keep in step with ``sunshine/applications/badges.py`` (``tests/test_badges.py`` checks the
Chinese texts)."""

from django.utils.translation import npgettext_lazy, pgettext_lazy

TEXTS = [
    npgettext_lazy("deadline badge", "%(n)d working day overdue", "%(n)d working days overdue", "n"),
    npgettext_lazy("deadline badge", "%(n)d working day left", "%(n)d working days left", "n"),
    pgettext_lazy("deadline badge", "Overdue"),
    pgettext_lazy("deadline badge", "Due today"),
    pgettext_lazy("deadline badge", "Paused"),
    pgettext_lazy("deadline badge", "Provisional calendar"),
]
