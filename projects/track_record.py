"""The track record: reviews after a contract ends, endorsements asked for by e-mail link, and
performance figures computed from the record itself (contracts, milestones, the chat's event
metadata). See docs/marketplace.md.
"""

from __future__ import annotations

import hashlib
import secrets
import statistics
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from chatbox.errors import ApplicationError, ErrorCode
from chatbox.models import Event
from projects.contracts import CONTRACT_NOT_FOUND
from projects.errors import MarketErrorCode
from projects.listings import invalid_field, text_check
from projects.models import REVIEW_TEXT_MAX, TITLE_MAX, Contract, Endorsement, Milestone, Review

# A reply later than this is a new conversation thread, not a response.
RESPONSE_WINDOW = timedelta(days=7)
ENDORSEMENT_REQUESTS_MAX = 20


# -- reviews -----------------------------------------------------------------------------------


@transaction.atomic
def review_write(*, author: User, contract_id: int, rating: int, text: str = "") -> Review:
    """One party reviews the other, once, after the contract has ended."""
    contract = Contract.objects.select_for_update().filter(pk=contract_id).first()
    if contract is None or author.pk not in (contract.buyer_id, contract.provider_id):
        raise ApplicationError(ErrorCode.NOT_FOUND, CONTRACT_NOT_FOUND)
    if contract.is_active:
        raise ApplicationError(
            MarketErrorCode.CONTRACT_ACTIVE, "Reviews open when the contract has ended."
        )
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise invalid_field("rating", "Rate from 1 to 5.")
    if len(text) > REVIEW_TEXT_MAX:
        raise invalid_field("text", f"At most {REVIEW_TEXT_MAX} characters.")
    subject_id = contract.provider_id if author.pk == contract.buyer_id else contract.buyer_id
    try:
        with transaction.atomic():
            return Review.objects.create(
                contract=contract,
                author=author,
                subject_id=subject_id,
                rating=rating,
                text=text.strip(),
            )
    except IntegrityError as exc:  # one_review_each
        raise ApplicationError(
            MarketErrorCode.ALREADY_REVIEWED, "You have reviewed this contract already."
        ) from exc


def reviews_of(*, user: User) -> QuerySet[Review]:
    """Reviews others wrote of ``user``, with the contract's title, newest first."""
    return Review.objects.filter(subject=user).select_related("contract", "author")


# -- performance -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Performance:
    contracts_ended: int
    completion_rate: float | None  # completed / ended contracts
    on_time_rate: float | None  # delivered by the due date / delivered milestones with one
    median_response_minutes: float | None  # the provider's replies to the buyer in chat
    dispute_rate: float | None  # contracts whose chat holds a dispute event / all contracts
    average_rating: float | None
    reviews: int


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _response_minutes(provider: User) -> list[float]:
    """Minutes from a buyer's message to the provider's next message, per reply, in the
    provider's engagement chats (event metadata only: nothing is decrypted)."""
    conversations = Contract.objects.filter(provider=provider).values("engagement__conversation")
    events = (
        Event.objects.filter(conversation__in=conversations, kind=Event.Kind.TEXT)
        .order_by("conversation_id", "seq")
        .values_list("conversation_id", "sender_id", "created_at")
    )
    minutes: list[float] = []
    waiting_since = None
    current = None
    for conversation_id, sender_id, created_at in events.iterator():
        if conversation_id != current:
            current, waiting_since = conversation_id, None
        if sender_id == provider.pk:
            if waiting_since is not None and created_at - waiting_since <= RESPONSE_WINDOW:
                minutes.append((created_at - waiting_since).total_seconds() / 60)
            waiting_since = None
        elif waiting_since is None:
            waiting_since = created_at
    return minutes


def performance_of(*, provider: User) -> Performance:
    contracts = Contract.objects.filter(provider=provider)
    ended = contracts.filter(state=Contract.State.ENDED)
    completed = ended.filter(outcome=Contract.Outcome.COMPLETED).count()
    delivered = Milestone.objects.filter(
        contract__provider=provider, delivered_at__isnull=False, due_on__isnull=False
    )
    on_time = len(
        [
            delivered_at
            for delivered_at, due_on in delivered.values_list("delivered_at", "due_on")
            if due_on is not None and timezone.localdate(delivered_at) <= due_on
        ]
    )
    disputed = (
        contracts.filter(engagement__conversation__events__kind=Event.Kind.DISPUTE)
        .distinct()
        .count()
    )
    ratings = Review.objects.filter(subject=provider, contract__provider=provider).aggregate(
        average=Avg("rating"), count=Count("pk")
    )
    responses = _response_minutes(provider)
    total = contracts.count()
    return Performance(
        contracts_ended=ended.count(),
        completion_rate=_rate(completed, ended.count()),
        on_time_rate=_rate(on_time, delivered.count()),
        median_response_minutes=round(statistics.median(responses), 1) if responses else None,
        dispute_rate=_rate(disputed, total),
        average_rating=round(ratings["average"], 2) if ratings["average"] is not None else None,
        reviews=ratings["count"],
    )


# -- endorsements ------------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class EndorsementAsked:
    endorsement: Endorsement
    link: str


@transaction.atomic
def endorsement_request(
    *, provider: User, name: str, email: str, relationship: str, base_url: str
) -> EndorsementAsked:
    """The provider asks a past client or colleague for an endorsement: an e-mail with a
    link only the endorser holds (the row keeps the token's hash only)."""
    if not provider.is_provider:
        raise ApplicationError(ErrorCode.FORBIDDEN, "Only providers ask for endorsements.")
    if relationship not in Endorsement.Relationship.values:
        raise invalid_field("relationship", "Say 'client' or 'colleague'.")
    name = text_check(name, field="name", max_length=TITLE_MAX, missing="Give the endorser's name.")
    try:
        validate_email(email.strip())
    except ValidationError as exc:
        raise invalid_field("email", "Enter a valid e-mail address.") from exc
    if email.strip().lower() == provider.email.lower():
        raise invalid_field("email", "Ask someone else than yourself.")
    if Endorsement.objects.filter(provider=provider).count() >= ENDORSEMENT_REQUESTS_MAX:
        raise invalid_field("email", f"At most {ENDORSEMENT_REQUESTS_MAX} endorsement requests.")
    email = email.strip()
    if Endorsement.objects.filter(provider=provider, endorser_email__iexact=email).exists():
        # The constraint below compares e-mails as written; the same person is asked once.
        raise ApplicationError(
            MarketErrorCode.ALREADY_ENDORSED, "You have asked this person already."
        )
    token = secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            endorsement = Endorsement.objects.create(
                provider=provider,
                endorser_name=name,
                endorser_email=email,
                relationship=relationship,
                token_hash=_token_hash(token),
            )
    except IntegrityError as exc:  # one_endorsement_per_endorser
        raise ApplicationError(
            MarketErrorCode.ALREADY_ENDORSED, "You have asked this person already."
        ) from exc
    link = base_url.rstrip("/") + reverse("market:endorse", kwargs={"token": token})
    subject = f"{provider.name} asks for your endorsement"
    message = (
        f"Hello {endorsement.endorser_name},\n\n{provider.name} asks you, as a "
        f"{endorsement.get_relationship_display().lower()}, for a few words about their "
        f"work, to show on their profile.\n\nWrite them here: {link}\n\nIf you do not know "
        f"{provider.name}, ignore this e-mail."
    )
    # After commit: a request rolled back must not leave a link to nothing in someone's inbox.
    transaction.on_commit(
        lambda: send_mail(
            subject=subject,
            message=message,
            from_email=None,
            recipient_list=[endorsement.endorser_email],
        )
    )
    return EndorsementAsked(endorsement=endorsement, link=link)


def endorsement_by_token(*, token: str) -> Endorsement:
    endorsement = (
        Endorsement.objects.select_related("provider").filter(token_hash=_token_hash(token)).first()
    )
    if endorsement is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, "No such endorsement request.")
    return endorsement


@transaction.atomic
def endorsement_give(*, token: str, text: str) -> Endorsement:
    """The endorser writes, once; the link works until then."""
    endorsement = endorsement_by_token(token=token)
    endorsement = Endorsement.objects.select_for_update().get(pk=endorsement.pk)
    if endorsement.given_at is not None:
        raise ApplicationError(MarketErrorCode.ALREADY_ENDORSED, "This endorsement is written.")
    text = text.strip()
    if not text:
        raise invalid_field("text", "Write a few words.")
    if len(text) > REVIEW_TEXT_MAX:
        raise invalid_field("text", f"At most {REVIEW_TEXT_MAX} characters.")
    endorsement.text = text
    endorsement.given_at = timezone.now()
    endorsement.save(update_fields=["text", "given_at"])
    return endorsement


def endorsement_requests_of(*, provider: User) -> QuerySet[Endorsement]:
    """The provider's requests still waiting for the endorser, newest first."""
    return Endorsement.objects.filter(provider=provider, given_at__isnull=True).order_by(
        "-requested_at", "-pk"
    )


def endorsements_of(*, provider: User) -> QuerySet[Endorsement]:
    return Endorsement.objects.filter(provider=provider, given_at__isnull=False)
