from django.urls import path

from sunshine.portal.openinfo import views

app_name = "portal_openinfo"
urlpatterns = [
    path("fees/", views.fees, name="fees"),
    path("contractors/", views.contractors, name="contractors"),
    path("statistics/", views.statistics, name="statistics"),
    path("service-halls/", views.places, name="places"),
    path("statistics/download.csv", views.statistics_csv, name="statistics_csv"),
    path("statistics/download.xlsx", views.statistics_xlsx, name="statistics_xlsx"),
]
