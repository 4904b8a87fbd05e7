"""Error codes of disputes (raised as ``ApplicationError``; PROTOCOL.md §6, docs/disputes.md).

Disputes also answer with the general codes (``invalid``, ``not_found``, ``forbidden``,
``mfa_required``) and the money codes (``invoice_not_issued``, ``idempotency_*``).
"""

from __future__ import annotations

from accounts.errors import http_status_register


class DisputeErrorCode:
    DISPUTE_OPEN = "dispute_open"
    DISPUTE_EXCEEDS_ESCROW = "dispute_exceeds_escrow"
    DISPUTE_STAGE = "dispute_stage"
    PROPOSAL_NOT_OPEN = "proposal_not_open"
    PROPOSAL_ALREADY_ACCEPTED = "proposal_already_accepted"


http_status_register(
    {
        # The request is well-formed, but the dispute or the escrow is not in a state for it.
        DisputeErrorCode.DISPUTE_OPEN: 409,
        DisputeErrorCode.DISPUTE_EXCEEDS_ESCROW: 409,
        DisputeErrorCode.DISPUTE_STAGE: 409,
        DisputeErrorCode.PROPOSAL_NOT_OPEN: 409,
        DisputeErrorCode.PROPOSAL_ALREADY_ACCEPTED: 409,
    }
)
