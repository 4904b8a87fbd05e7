from django.urls import path

from frontend import staff_views, verification_views

app_name = "verification"

urlpatterns = [
    path("account/id/", verification_views.id_document_page, name="id-document"),
    path("profile/vetting/", verification_views.vetting_request, name="vetting-request"),
    path("staff/", staff_views.home, name="staff-home"),
    path("staff/id-documents/", staff_views.id_documents, name="staff-id-documents"),
    path(
        "staff/id-documents/<uuid:document_id>/",
        staff_views.id_document,
        name="staff-id-document",
    ),
    path(
        "staff/id-documents/<uuid:document_id>/file/",
        staff_views.id_document_file,
        name="staff-id-document-file",
    ),
    path("staff/vetting/", staff_views.vetting, name="staff-vetting"),
    path(
        "staff/vetting/<int:request_id>/decision/",
        staff_views.vetting_decide,
        name="staff-vetting-decision",
    ),
]
