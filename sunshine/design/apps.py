from django.apps import AppConfig


class DesignConfig(AppConfig):
    """The design system shared by the portal and the workbench: icons, the staff navigation,
    display filters (names, units). Delivery only: no models, no rules."""

    name = "sunshine.design"
    label = "design"
