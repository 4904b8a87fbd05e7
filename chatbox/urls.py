from django.urls import path

from chatbox import api

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
]
