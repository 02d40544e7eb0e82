from django.urls import path

from sunshine.portal.public import views

app_name = "portal_public"
urlpatterns = [
    path("", views.home, name="home"),
    path("apply/", views.apply, name="apply"),
    path("apply/submitted/", views.applied, name="applied"),
    path("apply/check/", views.apply_check, name="apply_check"),
    path("apply/code/", views.send_code, {"purpose": "apply"}, name="apply_code"),
    path("progress/", views.progress, name="progress"),
    path("progress/contest/", views.contest, name="contest"),
    path("progress/choices/", views.choices, name="choices"),
    path("complaints/", views.complaints, name="complaints"),
    path("complaints/code/", views.send_code, {"purpose": "complaint"}, name="complaint_code"),
]
