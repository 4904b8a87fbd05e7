"""Error codes of the marketplace (raised as ``ApplicationError``; PROTOCOL.md §2)."""

from __future__ import annotations

from accounts.errors import http_status_register


class MarketErrorCode:
    BID_QUOTA_EXHAUSTED = "bid_quota_exhausted"
    PROJECT_NOT_OPEN = "project_not_open"
    OWN_PROJECT = "own_project"
    PROPOSAL_EXISTS = "proposal_exists"
    PROPOSAL_NOT_PENDING = "proposal_not_pending"
    ALREADY_INVITED = "already_invited"
    OFFER_INACTIVE = "offer_inactive"
    CONTRACT_ENDED = "contract_ended"
    CONTRACT_ACTIVE = "contract_active"
    ALREADY_REVIEWED = "already_reviewed"
    ALREADY_DELIVERED = "already_delivered"
    ALREADY_ENDORSED = "already_endorsed"


http_status_register(
    {
        # Retry after ``extra["renews_on"]``.
        MarketErrorCode.BID_QUOTA_EXHAUSTED: 429,
        MarketErrorCode.OWN_PROJECT: 403,
        # The thing exists but is not in a state that allows the request.
        MarketErrorCode.PROJECT_NOT_OPEN: 409,
        MarketErrorCode.PROPOSAL_EXISTS: 409,
        MarketErrorCode.PROPOSAL_NOT_PENDING: 409,
        MarketErrorCode.ALREADY_INVITED: 409,
        MarketErrorCode.OFFER_INACTIVE: 409,
        MarketErrorCode.CONTRACT_ENDED: 409,
        MarketErrorCode.CONTRACT_ACTIVE: 409,
        MarketErrorCode.ALREADY_REVIEWED: 409,
        MarketErrorCode.ALREADY_DELIVERED: 409,
        MarketErrorCode.ALREADY_ENDORSED: 409,
    }
)


class AssessmentErrorCode:
    EXPIRED = "assessment_expired"
    COOLDOWN = "assessment_cooldown"
    IN_PROGRESS = "assessment_in_progress"
    ALREADY_PASSED = "assessment_already_passed"
    CLOSED = "assessment_closed"


http_status_register(
    {
        # The attempt is not in a state that allows the request.
        AssessmentErrorCode.EXPIRED: 409,
        AssessmentErrorCode.IN_PROGRESS: 409,
        AssessmentErrorCode.ALREADY_PASSED: 409,
        AssessmentErrorCode.CLOSED: 409,
        # Another attempt may start later: ``extra["retry_at"]`` says when.
        AssessmentErrorCode.COOLDOWN: 429,
    }
)
