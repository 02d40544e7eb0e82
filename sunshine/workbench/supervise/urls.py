from django.urls import path

from sunshine.workbench.supervise import views

app_name = "workbench_supervise"
urlpatterns = [
    path("workbench/supervision/", views.supervised_list, name="list"),
    path("workbench/supervision/deadlines/", views.deadlines, name="deadlines"),
    path("workbench/supervision/<str:number>/", views.detail, name="detail"),
]
