from django.urls import path

from chatbox import api, file_api

urlpatterns = [
    path("auth/login/", api.LoginView.as_view(), name="api-login"),
    path("auth/logout/", api.LogoutView.as_view(), name="api-logout"),
    path("auth/me/", api.MeView.as_view(), name="api-me"),
    path("conversations/", api.ConversationListView.as_view(), name="api-conversations"),
    path(
        "conversations/<str:conversation_id>/messages/",
        api.MessageListView.as_view(),
        name="api-messages",
    ),
    path(
        "conversations/<str:conversation_id>/contact-check/",
        api.ContactCheckView.as_view(),
        name="api-contact-check",
    ),
    path(
        "conversations/<str:conversation_id>/files/",
        file_api.FileUploadView.as_view(),
        name="api-files",
    ),
    path("files/<uuid:file_id>/link/", file_api.FileLinkView.as_view(), name="api-file-link"),
    path(
        "files/<uuid:file_id>/preview/",
        file_api.FilePreviewView.as_view(),
        name="api-file-preview",
    ),
    path(
        "files/<uuid:file_id>/thumbnail/",
        file_api.FileThumbnailView.as_view(),
        name="api-file-thumbnail",
    ),
    path(
        "files/download/<str:token>/",
        file_api.FileDownloadView.as_view(),
        name="api-file-download",
    ),
]
