from django.urls import path

from invoices import hold_api

urlpatterns = [
    path("contracts/<int:contract_id>/escrow-hold/", hold_api.ContractEscrowHoldView.as_view()),
    path("staff/escrow-holds/", hold_api.StaffEscrowHoldsView.as_view()),
    path("staff/escrow-holds/<int:hold_id>/grant/", hold_api.StaffEscrowHoldGrantView.as_view()),
    path(
        "staff/escrow-holds/<int:hold_id>/release/",
        hold_api.StaffEscrowHoldReleaseView.as_view(),
    ),
]
