from django.urls import path

from invoices import api

urlpatterns = [
    path("contracts/<int:contract_id>/fund/", api.ContractFundView.as_view()),
    path("contracts/<int:contract_id>/ledger/", api.ContractLedgerView.as_view()),
    path("conversations/<uuid:conversation_id>/invoices/", api.ConversationInvoicesView.as_view()),
    path("invoices/<int:invoice_id>/", api.InvoiceDetailView.as_view()),
    path("invoices/<int:invoice_id>/pay/", api.InvoicePayView.as_view()),
    path("invoices/<int:invoice_id>/decline/", api.InvoiceDeclineView.as_view()),
    path("invoices/<int:invoice_id>/cancel/", api.InvoiceCancelView.as_view()),
    path("invoices/<int:invoice_id>/refund/", api.InvoiceRefundView.as_view()),
]
