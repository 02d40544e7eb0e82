from django.apps import AppConfig


class DesignConfig(AppConfig):
    """The design system shared by the portal and the workbench: icons, the staff navigation,
    display filters (names, units). Delivery only: no models, no rules."""

    name = "sunshine.design"
    label = "design"

    def ready(self) -> None:
        from sunshine.design.admin_names import name_the_apps

        name_the_apps()
