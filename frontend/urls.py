from django.urls import path

from frontend import assessment_views, profile_views, views

app_name = "frontend"

urlpatterns = [
    path("", views.home, name="home"),
    path("logout/", views.sign_out, name="logout"),
    path("conversations/<uuid:conversation_id>/", views.conversation, name="conversation"),
    path("profiles/<str:username>/", profile_views.profile, name="profile"),
    path("profile/edit/", profile_views.profile_edit, name="profile_edit"),
    path(
        "profile/edit/portfolio/<int:item_id>/file/",
        profile_views.portfolio_file_upload,
        name="portfolio_file_upload",
    ),
    path(
        "profile/edit/portfolio/<int:item_id>/file/remove/",
        profile_views.portfolio_file_delete,
        name="portfolio_file_delete",
    ),
    path("providers/", profile_views.providers, name="providers"),
    path("assessments/", assessment_views.assessment_list, name="assessments"),
    path(
        "assessments/<int:attempt_id>/",
        assessment_views.assessment_detail,
        name="assessment",
    ),
]
