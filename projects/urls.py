from django.urls import path

from projects import api

urlpatterns = [
    path("categories/", api.CategoryListView.as_view(), name="api-categories"),
    # "me" before the username pattern: it names the signed-in provider's own profile.
    path("profiles/me/", api.MyProfileView.as_view(), name="api-my-profile"),
    path("profiles/<str:username>/", api.ProfileDetailView.as_view(), name="api-profile"),
    path("providers/", api.ProviderSearchView.as_view(), name="api-providers"),
]
