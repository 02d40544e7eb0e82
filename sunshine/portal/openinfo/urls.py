from django.urls import path

from sunshine.portal.openinfo import views

app_name = "portal_openinfo"
urlpatterns = [
    path("fees/", views.fees, name="fees"),
    path("contractors/", views.contractors, name="contractors"),
]
