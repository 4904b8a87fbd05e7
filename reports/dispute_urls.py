"""Routes of disputes (PROTOCOL.md §6), under ``/api/``."""

from django.urls import path

from reports import dispute_api

urlpatterns = [
    path("disputes/", dispute_api.DisputesView.as_view(), name="api-disputes"),
    path(
        "disputes/<int:dispute_id>/",
        dispute_api.DisputeDetailView.as_view(),
        name="api-dispute",
    ),
    path(
        "disputes/<int:dispute_id>/proposals/",
        dispute_api.DisputeProposalsView.as_view(),
        name="api-dispute-proposals",
    ),
    path(
        "disputes/<int:dispute_id>/proposals/<int:proposal_id>/accept/",
        dispute_api.DisputeProposalAcceptView.as_view(),
        name="api-dispute-proposal-accept",
    ),
    path(
        "disputes/<int:dispute_id>/escalate/",
        dispute_api.DisputeEscalateView.as_view(),
        name="api-dispute-escalate",
    ),
    path(
        "disputes/<int:dispute_id>/decision/",
        dispute_api.DisputeDecisionView.as_view(),
        name="api-dispute-decision",
    ),
]
