from django.urls import path

from reports import api

urlpatterns = [
    path("account/id-document/", api.MyIdentityDocumentView.as_view(), name="api-id-document"),
    path("profiles/me/vetting/", api.MyVettingView.as_view(), name="api-my-vetting"),
    path(
        "staff/id-documents/", api.StaffDocumentQueueView.as_view(), name="api-staff-id-documents"
    ),
    path(
        "staff/id-documents/<uuid:document_id>/file/",
        api.StaffDocumentFileView.as_view(),
        name="api-staff-id-document-file",
    ),
    path(
        "staff/id-documents/<uuid:document_id>/decision/",
        api.StaffDocumentDecisionView.as_view(),
        name="api-staff-id-document-decision",
    ),
    path("staff/vetting/", api.StaffVettingQueueView.as_view(), name="api-staff-vetting"),
    path(
        "staff/vetting/<int:request_id>/decision/",
        api.StaffVettingDecisionView.as_view(),
        name="api-staff-vetting-decision",
    ),
]
