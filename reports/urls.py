from django.urls import path

from reports import api, case_api, privacy_api

urlpatterns = [
    path("reports/", case_api.ReportsView.as_view(), name="api-reports"),
    path("help/", case_api.HelpView.as_view(), name="api-help"),
    path("users/<int:user_id>/actions/", case_api.UserActionsView.as_view(), name="api-actions"),
    path("account/actions/", case_api.MyActionsView.as_view(), name="api-my-actions"),
    path("account/export/", privacy_api.MyDataView.as_view(), name="api-my-data"),
    path("account/erase/", privacy_api.EraseView.as_view(), name="api-erase"),
    path(
        "account/actions/<int:action_id>/appeal/",
        case_api.AppealView.as_view(),
        name="api-action-appeal",
    ),
    path("staff/cases/<int:case_id>/read/", case_api.CaseFileView.as_view(), name="api-case-file"),
    path(
        "staff/cases/<int:case_id>/evidence/",
        case_api.CaseEvidenceView.as_view(),
        name="api-case-evidence",
    ),
    path(
        "conversations/<str:conversation_id>/evidence/",
        case_api.ConversationEvidenceView.as_view(),
        name="api-evidence",
    ),
    path(
        "staff/cases/<int:case_id>/files/<str:file_id>/",
        case_api.CaseChatFileView.as_view(),
        name="api-case-chat-file",
    ),
    path(
        "staff/cases/<int:case_id>/redact/",
        case_api.CaseRedactView.as_view(),
        name="api-case-redact",
    ),
    path(
        "staff/cases/<int:case_id>/notes/", case_api.CaseNoteView.as_view(), name="api-case-notes"
    ),
    path(
        "staff/cases/<int:case_id>/close/", case_api.CaseCloseView.as_view(), name="api-case-close"
    ),
    path("staff/cases/<int:case_id>/hide/", case_api.CaseHideView.as_view(), name="api-case-hide"),
    path("staff/appeals/", case_api.StaffAppealsView.as_view(), name="api-staff-appeals"),
    path(
        "staff/appeals/<int:appeal_id>/decision/",
        case_api.StaffAppealDecisionView.as_view(),
        name="api-staff-appeal-decision",
    ),
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
