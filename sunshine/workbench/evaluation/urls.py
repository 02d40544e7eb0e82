from django.urls import path

from sunshine.workbench.evaluation import views

app_name = "workbench_evaluation"
urlpatterns: list = [
    path("workbench/evaluations/", views.evaluation_list, name="list"),
    path("workbench/evaluations/managers/<str:username>/", views.manager_history, name="history"),
    path("workbench/evaluations/<str:period>/", views.evaluation_detail, name="detail"),
]
