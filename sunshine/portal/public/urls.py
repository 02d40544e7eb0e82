from django.urls import path
from django.views.generic import TemplateView

app_name = "portal_public"
# Placeholder home until the portal pages land.
urlpatterns: list = [path("", TemplateView.as_view(template_name="home.html"), name="home")]
