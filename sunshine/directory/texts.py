"""Public wording of the directory, shared by the API and the pages (translated in this app's catalogue)."""

from __future__ import annotations

from django.utils.translation import gettext as _


def neutral_order_text() -> str:
    return _(
        "Shown in a random order drawn afresh for every visit (kept while you page through), so every"
        " qualified unit has the same chance to appear first; no staff member can change it."
    )


def no_designation_text() -> str:
    return _(
        "The company designates no design, construction or equipment supplier: choose any qualified unit."
        " Report anyone who steers you to a unit."
    )


def no_rate_text() -> str:
    return _("No published rate for this voltage level.")


def range_reversed_text() -> str:
    return _("The start must not be after the end.")


def range_too_long_text() -> str:
    return _("Ask for at most three years at a time.")
