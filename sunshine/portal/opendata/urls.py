from django.urls import path

from sunshine.portal.opendata import views

app_name = "portal_opendata"
urlpatterns = [
    path("open-data/", views.index, name="index"),
    path("open-data/<int:report_id>/", views.report, name="report"),
    path("open-data/audit/", views.audit_digests, name="audit"),
]
