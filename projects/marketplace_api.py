"""The marketplace over HTTP (PROTOCOL.md §2, marketplace): listings, invitations, proposals
and the free-bid quota, offers, contracts and milestones, reviews and endorsements.

Views parse with a serializer, call one service or selector of ``projects.listings``,
``projects.contracts`` or ``projects.track_record``, and shape the answer here.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from projects import contracts, listings, track_record
from projects.api import signed_in
from projects.cautions import listing_cautions
from projects.models import (
    AMOUNT_MAX,
    COVER_LETTER_MAX,
    DURATION_DAYS_MAX,
    PROJECT_DESCRIPTION_MAX,
    PROJECT_TITLE_MAX,
    REVIEW_TEXT_MAX,
    TITLE_MAX,
    Contract,
    Endorsement,
    Engagement,
    Milestone,
    Offer,
    Project,
    Proposal,
)
from projects.money import CURRENCIES

# -- shapes ------------------------------------------------------------------------------------


def person(user: User) -> dict[str, Any]:
    return {"id": user.pk, "name": user.name}


def project_payload(project: Project) -> dict[str, Any]:
    budget = None
    if project.budget_amount is not None:
        budget = {
            "amount": project.budget_amount,
            "currency": project.budget_currency,
            "kind": project.budget_kind,
        }
    return {
        "id": project.pk,
        "title": project.title,
        "description": project.description,
        "category": project.category.slug if project.category else None,
        "skills": [skill.slug for skill in project.skills.all()],
        "budget": budget,
        "status": project.status,
        "visibility": project.visibility,
        "buyer": person(project.buyer),
        "offer": project.offer_id,
        "created_at": project.created_at.isoformat(),
    }


def _conversation_of(proposal: Proposal) -> str | None:
    engagement = Engagement.objects.filter(
        project_id=proposal.project_id, provider_id=proposal.provider_id
    ).first()
    return str(engagement.conversation_id) if engagement else None


def proposal_payload(proposal: Proposal) -> dict[str, Any]:
    return {
        "id": proposal.pk,
        "project": proposal.project_id,
        "project_title": proposal.project.title,
        "provider": person(proposal.provider),
        "cover_letter": proposal.cover_letter,
        "amount": proposal.amount,
        "currency": proposal.currency,
        "duration_days": proposal.duration_days,
        "state": proposal.state,
        "costs_bid": proposal.costs_bid,
        "created_at": proposal.created_at.isoformat(),
        "conversation": _conversation_of(proposal),
    }


def milestone_payload(milestone: Milestone) -> dict[str, Any]:
    return {
        "id": milestone.pk,
        "title": milestone.title,
        "amount": milestone.amount,
        "due_on": milestone.due_on.isoformat() if milestone.due_on else None,
        "delivered_at": milestone.delivered_at.isoformat() if milestone.delivered_at else None,
    }


def contract_payload(contract: Contract) -> dict[str, Any]:
    return {
        "id": contract.pk,
        "project": contract.project_id,
        "conversation": str(contract.engagement.conversation_id),
        "buyer": person(contract.buyer),
        "provider": person(contract.provider),
        "title": contract.title,
        "terms": contract.terms,
        "amount": contract.amount,
        "currency": contract.currency,
        "kind": contract.kind,
        "state": contract.state,
        "outcome": contract.outcome or None,
        "proposal": contract.proposal_id,
        "offer": contract.offer_id,
        "started_at": contract.started_at.isoformat(),
        "ended_at": contract.ended_at.isoformat() if contract.ended_at else None,
        "milestones": [milestone_payload(m) for m in contract.milestones.all()],
    }


def offer_payload(offer: Offer) -> dict[str, Any]:
    return {
        "id": offer.pk,
        "provider": person(offer.provider),
        "title": offer.title,
        "included": offer.included,
        "category": offer.category.slug,
        "price": {"amount": offer.price_amount, "currency": offer.price_currency},
        "delivery_days": offer.delivery_days,
        "active": offer.active,
        "created_at": offer.created_at.isoformat(),
    }


def bids_payload(quota: listings.BidQuota) -> dict[str, Any]:
    return {
        "quota": quota.quota,
        "used": quota.used,
        "left": quota.left,
        "renews_on": quota.renews_on.isoformat(),
    }


# Loose response shapes for the schema: the payload functions above are the contract.
ANY_OBJECT = inline_serializer("MarketObject", {"id": serializers.IntegerField()})


# -- inputs ------------------------------------------------------------------------------------

Amount = serializers.IntegerField


def currency_field(**options: Any) -> serializers.ChoiceField:
    """An ISO 4217 code, refused here so that the error names the field where it was given
    (``budget.currency``, ``price.currency``), as the amount's does."""
    return serializers.ChoiceField(
        choices=sorted(CURRENCIES),
        error_messages={"invalid_choice": listings.UNKNOWN_CURRENCY},
        **options,
    )


class BudgetInput(serializers.Serializer):
    amount = Amount(min_value=1, max_value=AMOUNT_MAX)
    currency = currency_field()
    kind = serializers.ChoiceField(choices=Project.BudgetKind.values, default="fixed")


class ProjectInput(serializers.Serializer):
    title = serializers.CharField(max_length=PROJECT_TITLE_MAX)
    description = serializers.CharField(
        max_length=PROJECT_DESCRIPTION_MAX, allow_blank=True, default=""
    )
    category = serializers.CharField(max_length=50)
    skills = serializers.ListField(
        child=serializers.CharField(max_length=50), max_length=listings.PROJECT_SKILLS_MAX
    )
    budget = BudgetInput()
    visibility = serializers.ChoiceField(choices=Project.Visibility.values, default="public")


class ProjectQuery(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    category = serializers.CharField(required=False, allow_blank=True, default="", max_length=50)
    skill = serializers.CharField(required=False, allow_blank=True, default="", max_length=50)
    budget_min = Amount(required=False, min_value=0, max_value=AMOUNT_MAX)
    budget_max = Amount(required=False, min_value=0, max_value=AMOUNT_MAX)
    currency = currency_field(required=False, allow_blank=True, default="")
    kind = serializers.ChoiceField(
        choices=["", *Project.BudgetKind.values], required=False, default=""
    )
    limit = serializers.IntegerField(
        required=False, default=20, min_value=1, max_value=listings.LIST_LIMIT_MAX
    )
    offset = serializers.IntegerField(required=False, default=0, min_value=0)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        low, high = attrs.get("budget_min"), attrs.get("budget_max")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError({"budget_min": ["Not above budget_max."]})
        return attrs


class InvitationInput(serializers.Serializer):
    provider = serializers.IntegerField(min_value=1)
    message = serializers.CharField(max_length=COVER_LETTER_MAX, allow_blank=True, default="")


class ProposalInput(serializers.Serializer):
    cover_letter = serializers.CharField(max_length=COVER_LETTER_MAX)
    amount = Amount(min_value=1, max_value=AMOUNT_MAX)
    currency = currency_field()
    duration_days = serializers.IntegerField(min_value=1, max_value=DURATION_DAYS_MAX)


class MilestoneInput(serializers.Serializer):
    title = serializers.CharField(max_length=PROJECT_TITLE_MAX)
    amount = Amount(min_value=1, max_value=AMOUNT_MAX)
    due_on = serializers.DateField(required=False, allow_null=True, default=None)


class AcceptInput(serializers.Serializer):
    milestones = serializers.ListField(
        child=MilestoneInput(), required=False, max_length=contracts.MILESTONES_MAX
    )


class OfferInput(serializers.Serializer):
    title = serializers.CharField(max_length=PROJECT_TITLE_MAX)
    included = serializers.CharField(max_length=PROJECT_DESCRIPTION_MAX)
    category = serializers.CharField(max_length=50)
    price = BudgetInput()
    delivery_days = serializers.IntegerField(min_value=1, max_value=DURATION_DAYS_MAX)


class EndInput(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=Contract.Outcome.values)
    note = serializers.CharField(max_length=contracts.NOTE_MAX, allow_blank=True, default="")


class ReviewInput(serializers.Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=5)
    text = serializers.CharField(max_length=REVIEW_TEXT_MAX, allow_blank=True, default="")


class EndorsementRequestInput(serializers.Serializer):
    name = serializers.CharField(max_length=TITLE_MAX)
    email = serializers.EmailField()
    relationship = serializers.ChoiceField(choices=Endorsement.Relationship.values)


class EndorsementInput(serializers.Serializer):
    text = serializers.CharField(max_length=REVIEW_TEXT_MAX)


def parsed(shape: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    form = shape(data=data)
    form.is_valid(raise_exception=True)
    return dict(form.validated_data)


def _milestones(rows: list[dict[str, Any]]) -> list[contracts.MilestoneTerms]:
    return [contracts.MilestoneTerms(**row) for row in rows]


# -- projects ----------------------------------------------------------------------------------


class ProjectListView(APIView):
    @extend_schema(parameters=[ProjectQuery], responses={200: ANY_OBJECT})
    def get(self, request: Request) -> Response:
        query = parsed(ProjectQuery, request.query_params)
        found = listings.projects_search(**query)
        return Response(
            {
                "count": found.total,
                "limit": found.limit,
                "offset": found.offset,
                "results": [project_payload(project) for project in found.projects],
            }
        )

    @extend_schema(request=ProjectInput, responses={201: ANY_OBJECT})
    def post(self, request: Request) -> Response:
        data = parsed(ProjectInput, request.data)
        project = listings.project_post(
            buyer=signed_in(request), budget=listings.Budget(**data.pop("budget")), **data
        )
        return Response(project_payload(project), status=status.HTTP_201_CREATED)


class ProjectRecommendedView(APIView):
    @extend_schema(responses={200: ANY_OBJECT})
    def get(self, request: Request) -> Response:
        found = listings.projects_recommended(provider=signed_in(request))
        return Response([project_payload(project) for project in found])


class ProjectDetailView(APIView):
    @extend_schema(responses={200: ANY_OBJECT})
    def get(self, request: Request, project_id: int) -> Response:
        project = listings.project_for_viewer(viewer=signed_in(request), project_id=project_id)
        # Cautions for providers: why this listing looks like a known scam (projects.cautions).
        return Response({**project_payload(project), "cautions": listing_cautions(project)})


class ProjectCloseView(APIView):
    @extend_schema(request=None, responses={200: ANY_OBJECT})
    def post(self, request: Request, project_id: int) -> Response:
        project = listings.project_close(buyer=signed_in(request), project_id=project_id)
        return Response(project_payload(project))


class ProjectInvitationsView(APIView):
    @extend_schema(request=InvitationInput, responses={201: ANY_OBJECT})
    def post(self, request: Request, project_id: int) -> Response:
        data = parsed(InvitationInput, request.data)
        invitation = listings.invitation_send(
            buyer=signed_in(request),
            project_id=project_id,
            provider_id=data["provider"],
            message=data["message"],
        )
        return Response(
            {
                "id": invitation.pk,
                "project": invitation.project_id,
                "provider": person(invitation.provider),
                "message": invitation.message,
                "created_at": invitation.created_at.isoformat(),
            },
            status=status.HTTP_201_CREATED,
        )


class ProjectProvidersView(APIView):
    @extend_schema(responses={200: ANY_OBJECT})
    def get(self, request: Request, project_id: int) -> Response:
        found = listings.providers_recommended(buyer=signed_in(request), project_id=project_id)
        return Response(
            [
                {
                    **person(profile.user),
                    "username": profile.user.username,
                    "headline": profile.headline,
                    "vetted": profile.user.vetted_at is not None,
                }
                for profile in found
            ]
        )


class InvitationListView(APIView):
    @extend_schema(responses={200: ANY_OBJECT})
    def get(self, request: Request) -> Response:
        found = listings.invitations_of_provider(provider=signed_in(request))
        return Response(
            [
                {
                    "id": invitation.pk,
                    "project": project_payload(invitation.project),
                    "message": invitation.message,
                    "created_at": invitation.created_at.isoformat(),
                }
                for invitation in found
            ]
        )


# -- proposals ---------------------------------------------------------------------------------


class ProjectProposalsView(APIView):
    @extend_schema(responses={200: ANY_OBJECT})
    def get(self, request: Request, project_id: int) -> Response:
        found = listings.proposals_of_project(buyer=signed_in(request), project_id=project_id)
        return Response([proposal_payload(proposal) for proposal in found])

    @extend_schema(request=ProposalInput, responses={201: ANY_OBJECT})
    def post(self, request: Request, project_id: int) -> Response:
        terms = listings.ProposalTerms(**parsed(ProposalInput, request.data))
        submitted = listings.proposal_submit(
            provider=signed_in(request), project_id=project_id, terms=terms
        )
        return Response(
            {
                **proposal_payload(submitted.proposal),
                "bids_left": submitted.bids.left,
                "bids_renew_on": submitted.bids.renews_on.isoformat(),
            },
            status=status.HTTP_201_CREATED,
        )


class ProposalListView(APIView):
    @extend_schema(responses={200: ANY_OBJECT})
    def get(self, request: Request) -> Response:
        found = listings.proposals_of_provider(provider=signed_in(request))
        return Response([proposal_payload(proposal) for proposal in found])


class ProposalDetailView(APIView):
    @extend_schema(responses={200: ANY_OBJECT})
    def get(self, request: Request, proposal_id: int) -> Response:
        proposal = listings.proposal_for_party(user=signed_in(request), proposal_id=proposal_id)
        return Response(proposal_payload(proposal))


class ProposalAcceptView(APIView):
    @extend_schema(request=AcceptInput, responses={201: ANY_OBJECT})
    def post(self, request: Request, proposal_id: int) -> Response:
        data = parsed(AcceptInput, request.data)
        milestones = _milestones(data["milestones"]) if "milestones" in data else None
        contract = contracts.proposal_accept(
            buyer=signed_in(request), proposal_id=proposal_id, milestones=milestones
        )
        return Response(contract_payload(contract), status=status.HTTP_201_CREATED)


class ProposalDeclineView(APIView):
    @extend_schema(request=None, responses={200: ANY_OBJECT})
    def post(self, request: Request, proposal_id: int) -> Response:
        proposal = listings.proposal_decline(buyer=signed_in(request), proposal_id=proposal_id)
        return Response(proposal_payload(proposal))


class ProposalWithdrawView(APIView):
    @extend_schema(request=None, responses={200: ANY_OBJECT})
    def post(self, request: Request, proposal_id: int) -> Response:
        proposal = listings.proposal_withdraw(provider=signed_in(request), proposal_id=proposal_id)
        return Response(proposal_payload(proposal))


class BidQuotaView(APIView):
    @extend_schema(responses={200: ANY_OBJECT})
    def get(self, request: Request) -> Response:
        return Response(bids_payload(listings.bid_quota_of(provider=signed_in(request))))


# -- offers ------------------------------------------------------------------------------------


class OfferListView(APIView):
    @extend_schema(responses={200: ANY_OBJECT})
    def get(self, request: Request) -> Response:
        category = str(request.query_params.get("category", ""))[:50]
        return Response(
            [offer_payload(offer) for offer in contracts.offers_listed(category=category)]
        )

    @extend_schema(request=OfferInput, responses={201: ANY_OBJECT})
    def post(self, request: Request) -> Response:
        data = parsed(OfferInput, request.data)
        price = data.pop("price")
        offer = contracts.offer_publish(
            provider=signed_in(request),
            terms=contracts.OfferTerms(
                price_amount=price["amount"], price_currency=price["currency"], **data
            ),
        )
        return Response(offer_payload(offer), status=status.HTTP_201_CREATED)


class OfferDetailView(APIView):
    @extend_schema(responses={200: ANY_OBJECT})
    def get(self, request: Request, offer_id: int) -> Response:
        offer = contracts.offer_for_viewer(viewer=signed_in(request), offer_id=offer_id)
        return Response(offer_payload(offer))


class OfferBuyView(APIView):
    @extend_schema(request=None, responses={201: ANY_OBJECT})
    def post(self, request: Request, offer_id: int) -> Response:
        contract = contracts.offer_buy(buyer=signed_in(request), offer_id=offer_id)
        return Response(contract_payload(contract), status=status.HTTP_201_CREATED)


class OfferRetireView(APIView):
    @extend_schema(request=None, responses={200: ANY_OBJECT})
    def post(self, request: Request, offer_id: int) -> Response:
        offer = contracts.offer_retire(provider=signed_in(request), offer_id=offer_id)
        return Response(offer_payload(offer))


# -- contracts ---------------------------------------------------------------------------------


class ContractListView(APIView):
    @extend_schema(responses={200: ANY_OBJECT})
    def get(self, request: Request) -> Response:
        found = contracts.contracts_of(user=signed_in(request))
        return Response([contract_payload(contract) for contract in found])


class ContractDetailView(APIView):
    @extend_schema(responses={200: ANY_OBJECT})
    def get(self, request: Request, contract_id: int) -> Response:
        contract = contracts.contract_for_party(user=signed_in(request), contract_id=contract_id)
        return Response(contract_payload(contract))


class ContractMilestonesView(APIView):
    @extend_schema(request=MilestoneInput, responses={201: ANY_OBJECT})
    def post(self, request: Request, contract_id: int) -> Response:
        terms = contracts.MilestoneTerms(**parsed(MilestoneInput, request.data))
        milestone = contracts.milestone_add(
            user=signed_in(request), contract_id=contract_id, terms=terms
        )
        return Response(milestone_payload(milestone), status=status.HTTP_201_CREATED)


class MilestoneDeliverView(APIView):
    @extend_schema(request=None, responses={200: ANY_OBJECT})
    def post(self, request: Request, contract_id: int, milestone_id: int) -> Response:
        milestone = contracts.milestone_deliver(
            provider=signed_in(request), contract_id=contract_id, milestone_id=milestone_id
        )
        return Response(milestone_payload(milestone))


class ContractEndView(APIView):
    @extend_schema(request=EndInput, responses={200: ANY_OBJECT})
    def post(self, request: Request, contract_id: int) -> Response:
        data = parsed(EndInput, request.data)
        contract = contracts.contract_end(user=signed_in(request), contract_id=contract_id, **data)
        return Response(contract_payload(contract))


class ContractReviewView(APIView):
    @extend_schema(request=ReviewInput, responses={201: ANY_OBJECT})
    def post(self, request: Request, contract_id: int) -> Response:
        data = parsed(ReviewInput, request.data)
        review = track_record.review_write(
            author=signed_in(request), contract_id=contract_id, **data
        )
        return Response(
            {
                "id": review.pk,
                "contract": review.contract_id,
                "subject": review.subject_id,
                "rating": review.rating,
                "text": review.text,
                "created_at": review.created_at.isoformat(),
            },
            status=status.HTTP_201_CREATED,
        )


# -- endorsements ------------------------------------------------------------------------------


class EndorsementRequestView(APIView):
    @extend_schema(request=EndorsementRequestInput, responses={201: ANY_OBJECT})
    def post(self, request: Request) -> Response:
        data = parsed(EndorsementRequestInput, request.data)
        asked = track_record.endorsement_request(
            provider=signed_in(request), base_url=request.build_absolute_uri("/"), **data
        )
        endorsement = asked.endorsement
        return Response(
            {
                "id": endorsement.pk,
                "name": endorsement.endorser_name,
                "email": endorsement.endorser_email,
                "relationship": endorsement.relationship,
                "requested_at": endorsement.requested_at.isoformat(),
            },
            status=status.HTTP_201_CREATED,
        )


class EndorsementView(APIView):
    """The endorser's side, by the token of the e-mailed link; no account needed."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(responses={200: ANY_OBJECT})
    def get(self, request: Request, token: str) -> Response:
        endorsement = track_record.endorsement_by_token(token=token)
        return Response(
            {
                "provider": person(endorsement.provider),
                "name": endorsement.endorser_name,
                "relationship": endorsement.relationship,
                "given": endorsement.given_at is not None,
            }
        )

    @extend_schema(request=EndorsementInput, responses={200: ANY_OBJECT})
    def post(self, request: Request, token: str) -> Response:
        data = parsed(EndorsementInput, request.data)
        endorsement = track_record.endorsement_give(token=token, text=data["text"])
        return Response(
            {
                "provider": person(endorsement.provider),
                "text": endorsement.text,
                "given_at": endorsement.given_at.isoformat() if endorsement.given_at else None,
            }
        )
