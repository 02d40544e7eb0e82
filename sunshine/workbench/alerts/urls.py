from django.urls import path

from sunshine.workbench.alerts import views

app_name = "workbench_alerts"
urlpatterns = [
    path("workbench/inbox/", views.inbox, name="inbox"),
    path("workbench/inbox/<int:pk>/read/", views.inbox_read, name="inbox_read"),
    path("workbench/inbox/read-all/", views.inbox_read_all, name="inbox_read_all"),
    path("workbench/jobs/", views.jobs, name="jobs"),
    path("workbench/jobs/<str:result_id>/retry/", views.job_retry, name="job_retry"),
    path("workbench/jobs/messages/<int:pk>/retry/", views.message_retry, name="message_retry"),
    path("workbench/jobs/webhooks/<int:pk>/retry/", views.webhook_retry, name="webhook_retry"),
]
