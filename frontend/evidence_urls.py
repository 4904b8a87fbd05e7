from django.urls import path

from frontend import evidence_views as views

app_name = "evidence"

urlpatterns = [
    path("conversations/<uuid:conversation_id>/evidence/", views.evidence, name="page"),
    path(
        "conversations/<uuid:conversation_id>/evidence/bundle.zip",
        views.evidence_download,
        name="download",
    ),
]
