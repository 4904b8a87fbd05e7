from django.urls import path

from projects import api, assessment_api

urlpatterns = [
    path("categories/", api.CategoryListView.as_view(), name="api-categories"),
    # "me" before the username pattern: it names the signed-in provider's own profile.
    path("profiles/me/", api.MyProfileView.as_view(), name="api-my-profile"),
    path(
        "profiles/me/portfolio/<int:item_id>/file/",
        api.MyPortfolioFileView.as_view(),
        name="api-my-portfolio-file",
    ),
    path("profiles/<str:username>/", api.ProfileDetailView.as_view(), name="api-profile"),
    path(
        "profiles/<str:username>/portfolio/<int:item_id>/file/",
        api.PortfolioFileView.as_view(),
        name="api-portfolio-file",
    ),
    path("providers/", api.ProviderSearchView.as_view(), name="api-providers"),
    path("assessments/", assessment_api.AssessmentListView.as_view(), name="api-assessments"),
    path(
        "assessments/<int:attempt_id>/",
        assessment_api.AssessmentDetailView.as_view(),
        name="api-assessment",
    ),
    path(
        "assessments/<int:attempt_id>/submit/",
        assessment_api.AssessmentSubmitView.as_view(),
        name="api-assessment-submit",
    ),
]
