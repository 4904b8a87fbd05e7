from django.urls import path

from frontend import market_views as views

app_name = "market"

urlpatterns = [
    path("projects/", views.project_list, name="projects"),
    path("projects/new/", views.project_new, name="project_new"),
    path("projects/recommended/", views.recommended, name="recommended"),
    path("projects/<int:project_id>/", views.project_detail, name="project"),
    path("projects/<int:project_id>/proposals/", views.proposal_send, name="proposal_send"),
    path("projects/<int:project_id>/invitations/", views.invitation_send, name="invite"),
    path("projects/<int:project_id>/close/", views.project_close, name="project_close"),
    path("proposals/", views.proposal_list, name="proposals"),
    path("proposals/<int:proposal_id>/accept/", views.proposal_accept, name="proposal_accept"),
    path("proposals/<int:proposal_id>/decline/", views.proposal_decline, name="proposal_decline"),
    path(
        "proposals/<int:proposal_id>/withdraw/", views.proposal_withdraw, name="proposal_withdraw"
    ),
    path("offers/", views.offer_list, name="offers"),
    path("offers/new/", views.offer_new, name="offer_new"),
    path("offers/<int:offer_id>/", views.offer_detail, name="offer"),
    path("offers/<int:offer_id>/buy/", views.offer_buy, name="offer_buy"),
    path("offers/<int:offer_id>/retire/", views.offer_retire, name="offer_retire"),
    path("contracts/", views.contract_list, name="contracts"),
    path("contracts/<int:contract_id>/", views.contract_detail, name="contract"),
    path("contracts/<int:contract_id>/milestones/", views.milestone_add, name="milestone_add"),
    path(
        "contracts/<int:contract_id>/milestones/<int:milestone_id>/deliver/",
        views.milestone_deliver,
        name="milestone_deliver",
    ),
    path("contracts/<int:contract_id>/end/", views.contract_end, name="contract_end"),
    path("contracts/<int:contract_id>/review/", views.review_write, name="review"),
    path("profile/endorsements/", views.endorsement_list, name="endorsements"),
    path("endorse/<str:token>/", views.endorse, name="endorse"),
]
