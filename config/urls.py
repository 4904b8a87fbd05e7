from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/", include("projects.urls")),
    path("api/", include("projects.marketplace_urls")),
    path("api/", include("invoices.urls")),
    path("api/", include("invoices.hold_urls")),
    path("api/", include("accounts.api_urls")),
    path("api/", include("chatbox.urls")),
    path("api/", include("reports.urls")),
    path("api/", include("reports.dispute_urls")),
    path("", include("frontend.identity_urls")),
    path("", include("frontend.verification_urls")),
    path("account/", include("allauth.urls")),
    path("", include("frontend.market_urls")),
    path("", include("frontend.money_urls")),
    path("", include("frontend.support_urls")),
    path("", include("frontend.evidence_urls")),
    path("", include("frontend.urls")),
]

handler404 = "chatbox.errors.not_found_view"
