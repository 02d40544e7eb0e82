from django.urls import path

from sunshine.workbench.desk import auth_views, export_views, intake_views, queue_views

app_name = "workbench_desk"
urlpatterns = [
    path("accounts/login/", auth_views.StaffLoginView.as_view(), name="login"),
    path("accounts/login/code/", auth_views.login_code, name="login_code"),
    path("workbench/security/", auth_views.security, name="security"),
    path("accounts/logout/", auth_views.StaffLogoutView.as_view(), name="logout"),
    path("workbench/", queue_views.queue, name="queue"),
    path("workbench/team/", queue_views.team, name="team"),
    path("workbench/export.csv", export_views.export_csv, name="export_csv"),
    path("workbench/intake/", intake_views.intake, name="intake"),
    path("workbench/intake/validate/", intake_views.validate, name="intake_validate"),
    path("workbench/intake/<str:number>/receipt/", intake_views.receipt, name="receipt"),
    path("workbench/intake/<str:number>/receipt.pdf", intake_views.receipt_pdf, name="receipt_pdf"),
    path("workbench/dashboard/", queue_views.dashboard, name="dashboard"),
    path("workbench/reassign/", queue_views.reassign, name="reassign"),
]
