from django.urls import path

from projects import marketplace_api as api

urlpatterns = [
    path("projects/", api.ProjectListView.as_view(), name="api-projects"),
    path("projects/recommended/", api.ProjectRecommendedView.as_view(), name="api-recommended"),
    path("projects/<int:project_id>/", api.ProjectDetailView.as_view(), name="api-project"),
    path("projects/<int:project_id>/close/", api.ProjectCloseView.as_view()),
    path("projects/<int:project_id>/invitations/", api.ProjectInvitationsView.as_view()),
    path("projects/<int:project_id>/providers/", api.ProjectProvidersView.as_view()),
    path("projects/<int:project_id>/proposals/", api.ProjectProposalsView.as_view()),
    path("invitations/", api.InvitationListView.as_view()),
    path("proposals/", api.ProposalListView.as_view()),
    path("proposals/<int:proposal_id>/", api.ProposalDetailView.as_view()),
    path("proposals/<int:proposal_id>/accept/", api.ProposalAcceptView.as_view()),
    path("proposals/<int:proposal_id>/decline/", api.ProposalDeclineView.as_view()),
    path("proposals/<int:proposal_id>/withdraw/", api.ProposalWithdrawView.as_view()),
    path("account/bids/", api.BidQuotaView.as_view(), name="api-bids"),
    path("offers/", api.OfferListView.as_view()),
    path("offers/<int:offer_id>/", api.OfferDetailView.as_view()),
    path("offers/<int:offer_id>/buy/", api.OfferBuyView.as_view()),
    path("offers/<int:offer_id>/retire/", api.OfferRetireView.as_view()),
    path("contracts/", api.ContractListView.as_view()),
    path("contracts/<int:contract_id>/", api.ContractDetailView.as_view(), name="api-contract"),
    path("contracts/<int:contract_id>/milestones/", api.ContractMilestonesView.as_view()),
    path(
        "contracts/<int:contract_id>/milestones/<int:milestone_id>/deliver/",
        api.MilestoneDeliverView.as_view(),
    ),
    path("contracts/<int:contract_id>/end/", api.ContractEndView.as_view()),
    path("contracts/<int:contract_id>/reviews/", api.ContractReviewView.as_view()),
    path("profiles/me/endorsements/", api.EndorsementRequestView.as_view()),
    path("endorsements/<str:token>/", api.EndorsementView.as_view()),
]
