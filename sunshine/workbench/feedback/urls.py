from django.urls import path

from sunshine.workbench.feedback import views

app_name = "workbench_feedback"
urlpatterns = [
    path("workbench/followups/", views.followups, name="followups"),
    path("workbench/followups/<int:pk>/", views.followup, name="followup"),
    path("workbench/followups/<int:pk>/attempt/", views.followup_attempt, name="followup_attempt"),
    path("workbench/cases/", views.cases, name="cases"),
    path("workbench/cases/<str:number>/", views.case, name="case"),
    path("workbench/cases/<str:number>/note/", views.case_note, name="case_note"),
    path("workbench/cases/<str:number>/decide/", views.case_decide, name="case_decide"),
    path("workbench/visits/", views.visits, name="visits"),
    path("workbench/visits/<int:pk>/", views.visit, name="visit"),
    path(
        "workbench/visits/<int:pk>/actions/<int:action_pk>/close/", views.visit_action_close, name="visit_action_close"
    ),
    path("workbench/concentration/", views.concentration_page, name="concentration"),
]
