from django.urls import path

from sunshine.workbench.reports import views

app_name = "workbench_reports"
urlpatterns = [
    path("workbench/reports/", views.report_list, name="list"),
    path("workbench/reports/adhoc/", views.adhoc, name="adhoc"),
    path("workbench/reports/units/", views.unit_report, name="units"),
    path("workbench/reports/<int:report_id>/", views.detail, name="detail"),
    path("workbench/reports/<int:report_id>/status/", views.status, name="status"),
    path("workbench/reports/<int:report_id>/download/<str:fmt>/", views.download, name="download"),
    path("workbench/reports/<int:report_id>/regenerate/", views.regenerate, name="regenerate"),
    path("workbench/reports/<int:report_id>/publish/", views.publish, name="publish"),
]
