from django.urls import path

from sunshine.workbench.case import choices, contact, views

app_name = "workbench_case"
P = "workbench/applications/<str:number>/"
urlpatterns = [
    path(P, views.application, name="application"),
    path(P + "reveal/<str:field>/", views.reveal, name="reveal"),
    path(P + "complete/", views.complete, name="complete"),
    path(P + "skip/", views.skip, name="skip"),
    path(P + "pause/", views.pause, name="pause"),
    path(P + "resume/", views.resume, name="resume"),
    path(P + "reassign/", views.reassign, name="reassign"),
    path(P + "cancel/", views.cancel, name="cancel"),
    path(P + "choices/", choices.choices, name="choices"),
    path(P + "contact/", contact.correct, name="contact"),
    path(P + "documents/upload/", views.upload, name="upload"),
    path(P + "documents/received/", views.received, name="received"),
    path(P + "documents/waive/", views.waive, name="waive"),
    path(P + "documents/<int:document_id>/", views.download, name="download"),
]
