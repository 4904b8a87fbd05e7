from django.urls import path

from frontend import money_views as views

app_name = "money"

urlpatterns = [
    path("money/statement/", views.statement, name="statement"),
    path("money/payments/", views.payments, name="payments"),
    path("contracts/<int:contract_id>/fund/", views.escrow_fund, name="fund"),
    path("contracts/<int:contract_id>/dispute/", views.dispute_open, name="dispute"),
]
