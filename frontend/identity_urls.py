from django.urls import path

from frontend import identity_views

app_name = "identity"

urlpatterns = [
    path("terms/", identity_views.policy, {"page": "terms"}, name="terms"),
    path("terms/accept/", identity_views.terms_accept_page, name="terms-accept"),
    path("privacy/", identity_views.policy, {"page": "privacy"}, name="privacy"),
    path("guidelines/", identity_views.policy, {"page": "guidelines"}, name="guidelines"),
    path("safety/", identity_views.policy, {"page": "safety"}, name="safety"),
    path("account/phone/", identity_views.phone_page, name="phone"),
]
