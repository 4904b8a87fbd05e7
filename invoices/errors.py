"""Error codes of money (raised as ``ApplicationError``; PROTOCOL.md §2)."""

from __future__ import annotations

from accounts.errors import http_status_register


class MoneyErrorCode:
    PAYMENT_DECLINED = "payment_declined"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    VERIFICATION_REQUIRED = "verification_required"
    INVOICE_NOT_ISSUED = "invoice_not_issued"
    INVOICE_NOT_PAID = "invoice_not_paid"
    ESCROW_INSUFFICIENT = "escrow_insufficient"
    REFUND_TOO_LARGE = "refund_too_large"
    IDEMPOTENCY_KEY_REQUIRED = "idempotency_key_required"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    IDEMPOTENCY_IN_PROGRESS = "idempotency_in_progress"


http_status_register(
    {
        # The payment method was refused: nothing moved.
        MoneyErrorCode.PAYMENT_DECLINED: 402,
        MoneyErrorCode.INSUFFICIENT_FUNDS: 402,
        MoneyErrorCode.VERIFICATION_REQUIRED: 403,
        MoneyErrorCode.INVOICE_NOT_ISSUED: 409,
        MoneyErrorCode.INVOICE_NOT_PAID: 409,
        MoneyErrorCode.ESCROW_INSUFFICIENT: 409,
        MoneyErrorCode.REFUND_TOO_LARGE: 400,
        MoneyErrorCode.IDEMPOTENCY_KEY_REQUIRED: 400,
        MoneyErrorCode.IDEMPOTENCY_KEY_REUSED: 409,
        MoneyErrorCode.IDEMPOTENCY_IN_PROGRESS: 409,
    }
)
