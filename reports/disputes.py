"""Disputes: a party disputes a contract or one of its invoices, the disputed escrow is
frozen, and the dispute ends in a split of that amount executed through the ledger. See
docs/disputes.md (stages, windows, who may do what, the default rule) and PROTOCOL.md §6.

Stages: ``direct`` (the parties trade proposals), ``mediation`` (a support mediator joins the
conversation and proposes too), ``arbitration`` (support staff decide, bindingly), then
``resolved``. Every step is a ``dispute`` event in the contract's conversation.

Locks, in one order: the contract's row, the invoice's (when the dispute names one), the
dispute's, its proposals; then what ``invoices.settlement`` takes (the freeze, ledger accounts
by primary key, the charges a refund draws on); then the conversation (``chatbox`` services).
Every change of stage is also a conditional update from the stage it must be in. Row locks
are ``FOR NO KEY UPDATE`` (see ``invoices.settlement``): they serialize disputes, not the
foreign-key checks of a payment inserting its ledger transaction meanwhile.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.errors import AccountErrorCode
from accounts.models import User
from accounts.selectors import mfa_totp_enabled
from chatbox.errors import ApplicationError, ErrorCode
from chatbox.models import Event, Participant
from chatbox.services import participant_add
from invoices.errors import MoneyErrorCode
from invoices.models import AMOUNT_MAX, Invoice, LedgerTransaction
from invoices.services import fee_of, money_event_post
from invoices.settlement import escrow_freeze, escrow_settle
from projects.listings import invalid_field, text_check
from projects.models import Contract
from projects.money import format_amount
from reports.dispute_errors import DisputeErrorCode
from reports.models import Case, Dispute, DisputeProposal, Reason

DISPUTE_NOT_FOUND = "No such dispute."
PROPOSAL_NOT_FOUND = "No such proposal."
CONTRACT_NOT_FOUND = "No such contract."
REASON_MAX = 2_000
NOTE_MAX = 2_000

Stage = Dispute.Stage
# The stages in which the parties talk: proposals, acceptances, escalation, the deadline.
TALKING = (Stage.DIRECT, Stage.MEDIATION)
OPEN = (Stage.DIRECT, Stage.MEDIATION, Stage.ARBITRATION)
PARTIES = ("buyer", "provider")
MEDIATOR = "mediator"


def stage_window() -> timedelta:
    """How long a stage lasts before the schedule acts (``DISPUTE_STAGE_DAYS``)."""
    return timedelta(days=settings.DISPUTE_STAGE_DAYS)


def _when(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%-d %B %Y, %H:%M %Z")


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?", "…")) else f"{text}."


def _freeze_reference(dispute: Dispute) -> str:
    return f"dispute-{dispute.pk}"


# -- who is who ----------------------------------------------------------------------------------


def side_of(dispute: Dispute, user: User) -> str | None:
    """``buyer``, ``provider`` or ``mediator``: the part ``user`` plays in the dispute."""
    contract = dispute.contract
    if user.pk == contract.buyer_id:
        return "buyer"
    if user.pk == contract.provider_id:
        return "provider"
    if dispute.mediator_id is not None and user.pk == dispute.mediator_id:
        return MEDIATOR
    return None


def proposal_side(dispute: Dispute, proposal: DisputeProposal) -> str:
    if proposal.by_id == dispute.contract.buyer_id:
        return "buyer"
    if proposal.by_id == dispute.contract.provider_id:
        return "provider"
    return MEDIATOR


def _respondent(dispute: Dispute) -> User:
    """The party the dispute was opened against."""
    contract = dispute.contract
    return contract.provider if dispute.opened_by_id == contract.buyer_id else contract.buyer


def staff_mfa_require(user: User) -> None:
    """What ``StaffMFAMiddleware`` requires under ``/api/staff/``, for staff acting here."""
    if not mfa_totp_enabled(user=user):
        raise ApplicationError(
            AccountErrorCode.MFA_REQUIRED,
            "Set up two-factor authentication (TOTP) before using staff tools.",
        )


def _forbidden(message: str) -> ApplicationError:
    return ApplicationError(ErrorCode.FORBIDDEN, message)


def _dispute_query() -> Any:
    return Dispute.objects.select_related(
        "contract",
        "contract__engagement",
        "contract__buyer",
        "contract__provider",
        "invoice",
        "mediator",
        "opened_by",
    )


def dispute_open_on(*, contract_id: int) -> Dispute | None:
    """The contract's dispute that is not resolved yet, if any (one at most)."""
    return Dispute.objects.filter(contract_id=contract_id).exclude(stage=Stage.RESOLVED).first()


def dispute_for_viewer(*, user: User, dispute_id: int) -> Dispute:
    """The one door to a dispute: its parties, its mediator and support staff (staff with
    MFA, else 403 ``mfa_required``); anyone else learns nothing (404)."""
    dispute = _dispute_query().filter(pk=dispute_id).first()
    if dispute is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, DISPUTE_NOT_FOUND)
    side = side_of(dispute, user)
    if side in PARTIES:
        return dispute
    if side == MEDIATOR or user.is_staff_member:
        staff_mfa_require(user)
        return dispute
    raise ApplicationError(ErrorCode.NOT_FOUND, DISPUTE_NOT_FOUND)


def _dispute_locked(dispute_id: int) -> Dispute:
    """The dispute's row lock, after its contract's and its invoice's (the one order)."""
    found = Dispute.objects.filter(pk=dispute_id).values("contract_id", "invoice_id").first()
    if found is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, DISPUTE_NOT_FOUND)
    Contract.objects.select_for_update(of=("self",), no_key=True).filter(
        pk=found["contract_id"]
    ).first()
    if found["invoice_id"] is not None:
        Invoice.objects.select_for_update(of=("self",), no_key=True).filter(
            pk=found["invoice_id"]
        ).first()
    return _dispute_query().select_for_update(of=("self",), no_key=True).get(pk=dispute_id)


def _stage_require(dispute: Dispute, stages: tuple[str, ...], *, doing: str) -> None:
    if dispute.stage in stages:
        return
    if dispute.stage == Stage.RESOLVED:
        message = "This dispute is resolved."
    else:
        message = f"In {dispute.get_stage_display().lower()}, nobody can {doing}."
    raise ApplicationError(DisputeErrorCode.DISPUTE_STAGE, message, {"stage": dispute.stage})


# -- amounts -------------------------------------------------------------------------------------


def _minor_units(value: Any, field: str, *, zero: bool) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < (0 if zero else 1):
        least = "zero or more" if zero else "above zero"
        raise invalid_field(field, f"Give a whole number of minor units (cents), {least}.")
    if value > AMOUNT_MAX:
        raise invalid_field(field, "The amount is too large.")
    return value


def _split_check(dispute: Dispute, refund: Any, release: Any) -> None:
    """A split of the disputed amount: both parts whole, not negative, and adding up to it."""
    _minor_units(refund, "refund", zero=True)
    _minor_units(release, "release", zero=True)
    if refund + release != dispute.amount:
        total = format_amount(dispute.amount, dispute.currency)
        message = f"Refund and release must add up to the disputed {total} ({dispute.amount})."
        raise ApplicationError(
            ErrorCode.INVALID,
            "The request is not valid.",
            {"refund": [message], "release": [message]},
        )


# -- the chat ------------------------------------------------------------------------------------


def _event(dispute: Dispute, event: str, *, body: str, **extra: Any) -> Event:
    """A ``dispute`` event: what every card needs (who the parties are, the stage, the
    amount) and what this step adds. Free text (reasons, notes) goes in the sealed body only."""
    dispute.refresh_from_db()
    return money_event_post(
        dispute.contract,
        kind=Event.Kind.DISPUTE,
        body=body,
        data={
            "event": event,
            "dispute": dispute.pk,
            "invoice": dispute.invoice_id,
            "amount": dispute.amount,
            "currency": dispute.currency,
            "stage": dispute.stage,
            "deadline_at": dispute.deadline_at.isoformat(),
            "buyer": dispute.contract.buyer_id,
            "provider": dispute.contract.provider_id,
            "opened_by": dispute.opened_by_id,
            "mediator": dispute.mediator_id,
            **extra,
        },
    )


def _split_text(dispute: Dispute, refund: int, release: int) -> str:
    return (
        f"{format_amount(refund, dispute.currency)} back to the buyer, "
        f"{format_amount(release, dispute.currency)} to the provider"
    )


# -- opening -------------------------------------------------------------------------------------


def dispute_open(
    *,
    user: User,
    contract_id: int,
    reason: str,
    amount: int | None = None,
    invoice_id: int | None = None,
) -> Dispute:
    """A party disputes the contract, or one of its issued invoices (which becomes
    ``disputed``: frozen). ``amount`` (the invoice's total when omitted) is frozen in escrow.
    Opens a support case on the conversation and posts ``dispute_opened``."""
    contract = Contract.objects.filter(pk=contract_id).first()
    if contract is None or user.pk not in (contract.buyer_id, contract.provider_id):
        raise ApplicationError(ErrorCode.NOT_FOUND, CONTRACT_NOT_FOUND)
    reason = text_check(
        reason, field="reason", max_length=REASON_MAX, missing="Say what the dispute is about."
    )
    if amount is not None:
        _minor_units(amount, "amount", zero=False)
    elif invoice_id is None:
        raise invalid_field("amount", "Give the disputed amount in minor units (cents).")
    return _dispute_open_record(
        user=user, contract_id=contract.pk, reason=reason, amount=amount, invoice_id=invoice_id
    )


@transaction.atomic
def _dispute_open_record(
    *, user: User, contract_id: int, reason: str, amount: int | None, invoice_id: int | None
) -> Dispute:
    contract = (
        Contract.objects.select_for_update(of=("self",), no_key=True)
        .select_related("engagement", "buyer", "provider")
        .get(pk=contract_id)
    )
    invoice = None
    if invoice_id is not None:
        invoice = (
            Invoice.objects.select_for_update(of=("self",), no_key=True)
            .filter(pk=invoice_id, contract=contract)
            .first()
        )
        if invoice is None:
            raise invalid_field("invoice", "No such invoice on this contract.")
        if invoice.state != Invoice.State.ISSUED:
            raise ApplicationError(
                MoneyErrorCode.INVOICE_NOT_ISSUED,
                f"This invoice is {invoice.get_state_display().lower()}: only an issued "
                "invoice can be disputed.",
                {"state": invoice.state},
            )
        if amount is None:
            amount = invoice.total
        elif amount > invoice.total:
            total = format_amount(invoice.total, invoice.currency)
            raise invalid_field("amount", f"At most the invoice's total, {total}.")
    assert amount is not None
    if (known := Dispute.objects.filter(contract=contract).exclude(stage=Stage.RESOLVED)).exists():
        raise ApplicationError(
            DisputeErrorCode.DISPUTE_OPEN,
            "A dispute on this contract is open already.",
            {"dispute": known.values_list("pk", flat=True).first()},
        )
    now = timezone.now()
    try:
        with transaction.atomic():
            dispute = Dispute.objects.create(
                contract=contract,
                invoice=invoice,
                opened_by=user,
                reason=reason,
                amount=amount,
                currency=contract.currency,
                deadline_at=now + stage_window(),
                opened_at=now,
            )
    except IntegrityError as exc:  # the constraint, should the check above ever be bypassed
        raise ApplicationError(
            DisputeErrorCode.DISPUTE_OPEN, "A dispute on this contract is open already."
        ) from exc
    try:
        escrow_freeze(contract=contract, amount=amount, reference=_freeze_reference(dispute))
    except ApplicationError as refused:
        if refused.code != MoneyErrorCode.ESCROW_INSUFFICIENT:
            raise
        available = int(refused.extra["available"])
        message = (
            f"Only {format_amount(available, contract.currency)} of this contract's escrow is "
            "free to dispute."
            if available
            else "Nothing in this contract's escrow is free to dispute."
        )
        raise ApplicationError(
            DisputeErrorCode.DISPUTE_EXCEEDS_ESCROW,
            message,
            {"available": available, "amount": [f"At most {available}."]},
        ) from refused
    if invoice is not None:
        frozen = Invoice.objects.filter(pk=invoice.pk, state=Invoice.State.ISSUED).update(
            state=Invoice.State.DISPUTED
        )
        if frozen != 1:  # cannot happen under the invoice's row lock
            raise RuntimeError(f"invoice {invoice.pk} left issued while locked")
    other = contract.provider if user.pk == contract.buyer_id else contract.buyer
    case = Case.objects.create(
        kind=Case.Kind.DISPUTE,
        target_type=Case.TargetType.CONVERSATION,
        target_key=f"dispute:{dispute.pk}",
        conversation_id=contract.engagement.conversation_id,
        subject=other,
        reason=Reason.OTHER,
        money_at_stake=amount,
        currency=contract.currency,
        opened_at=now,
    )
    Dispute.objects.filter(pk=dispute.pk).update(case=case)
    what = f"invoice {invoice.pk}" if invoice is not None else "the contract"
    _event(
        dispute,
        "dispute_opened",
        body=f"{user.name} opened a dispute over {what}: "
        f"{format_amount(amount, contract.currency)} is frozen in escrow. "
        f"Reason: {_sentence(reason)} "
        f"The parties may settle it until {_when(dispute.deadline_at)}; then it goes to "
        "mediation, or, if the other party has not answered, the opener wins by default.",
    )
    dispute.refresh_from_db()
    return dispute


# -- proposals -----------------------------------------------------------------------------------


def dispute_propose(
    *, user: User, dispute_id: int, refund: int, release: int, note: str = ""
) -> DisputeProposal:
    """A party (direct resolution or mediation) or the mediator (mediation) proposes a split:
    ``refund`` to the buyer, ``release`` to the provider, adding up to the disputed amount.
    It supersedes the same side's earlier open proposal."""
    dispute = dispute_for_viewer(user=user, dispute_id=dispute_id)
    if side_of(dispute, user) is None:
        raise _forbidden("Only the parties and the dispute's mediator propose a settlement.")
    _split_check(dispute, refund, release)
    note = text_check(note, field="note", max_length=NOTE_MAX)
    return _propose_record(
        user=user, dispute_id=dispute.pk, refund=refund, release=release, note=note
    )


@transaction.atomic
def _propose_record(
    *, user: User, dispute_id: int, refund: int, release: int, note: str
) -> DisputeProposal:
    dispute = _dispute_locked(dispute_id)
    side = side_of(dispute, user)
    if side is None:
        raise _forbidden("Only the parties and the dispute's mediator propose a settlement.")
    _stage_require(
        dispute, (Stage.MEDIATION,) if side == MEDIATOR else TALKING, doing="propose a settlement"
    )
    contract = dispute.contract
    open_proposals = DisputeProposal.objects.filter(
        dispute=dispute, state=DisputeProposal.State.OPEN
    )
    same_side = (
        open_proposals.filter(by=user)
        if side in PARTIES
        else open_proposals.exclude(by__in=[contract.buyer_id, contract.provider_id])
    )
    superseded = list(same_side.values_list("pk", flat=True))
    same_side.update(state=DisputeProposal.State.SUPERSEDED)
    proposal = DisputeProposal.objects.create(
        dispute=dispute, by=user, refund=refund, release=release, note=note, at=timezone.now()
    )
    who = "The mediator" if side == MEDIATOR else user.name
    needs = (
        "It binds when both parties accept it."
        if side == MEDIATOR
        else "It binds when the other party accepts it."
    )
    _event(
        dispute,
        "dispute_proposal",
        body=f"{who} proposes to settle the dispute: {_split_text(dispute, refund, release)}. "
        f"{needs}" + (f" Note: {note}" if note else ""),
        proposal=proposal.pk,
        refund=refund,
        release=release,
        by=user.pk,
        side=side,
        superseded=superseded,
    )
    return proposal


def dispute_proposal_accept(*, user: User, dispute_id: int, proposal_id: int) -> Dispute:
    """A party accepts an open proposal: the other party's binds at once; the mediator's binds
    when both parties have accepted it (the first acceptance is recorded on the proposal,
    which stays open). Binding executes the split through the ledger and resolves the
    dispute (``settled``)."""
    dispute = dispute_for_viewer(user=user, dispute_id=dispute_id)
    if side_of(dispute, user) not in PARTIES:
        raise _forbidden("Only a party of the dispute accepts a proposal.")
    _accept_record(user=user, dispute_id=dispute.pk, proposal_id=proposal_id)
    return _dispute_query().get(pk=dispute.pk)


@transaction.atomic
def _accept_record(*, user: User, dispute_id: int, proposal_id: int) -> None:
    dispute = _dispute_locked(dispute_id)
    proposal = (
        DisputeProposal.objects.select_for_update().filter(pk=proposal_id, dispute=dispute).first()
    )
    if proposal is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, PROPOSAL_NOT_FOUND)
    _stage_require(dispute, TALKING, doing="accept a proposal")
    if proposal.state != DisputeProposal.State.OPEN:
        raise ApplicationError(
            DisputeErrorCode.PROPOSAL_NOT_OPEN,
            f"This proposal is {proposal.get_state_display().lower()}.",
            {"state": proposal.state},
        )
    if proposal.by_id == user.pk:
        raise _forbidden("The other party accepts your proposal, not you.")
    now = timezone.now()
    if proposal_side(dispute, proposal) == MEDIATOR:
        if proposal.accepted_by_id == user.pk:
            raise ApplicationError(
                DisputeErrorCode.PROPOSAL_ALREADY_ACCEPTED,
                "You accepted this proposal already: it binds when the other party accepts too.",
            )
        if proposal.accepted_by_id is None:
            DisputeProposal.objects.filter(
                pk=proposal.pk, state=DisputeProposal.State.OPEN, accepted_by__isnull=True
            ).update(accepted_by=user, accepted_at=now)
            contract = dispute.contract
            waiting = contract.provider if user.pk == contract.buyer_id else contract.buyer
            _event(
                dispute,
                "dispute_proposal_accepted",
                body=f"{user.name} accepts the mediator's proposal: it binds when "
                f"{waiting.name} accepts it too.",
                proposal=proposal.pk,
                by=user.pk,
                waiting_for=waiting.pk,
            )
            return
    accepted = DisputeProposal.objects.filter(
        pk=proposal.pk, state=DisputeProposal.State.OPEN
    ).update(state=DisputeProposal.State.ACCEPTED, accepted_by=user, accepted_at=now)
    if accepted != 1:  # cannot happen under the proposal's row lock
        raise ApplicationError(DisputeErrorCode.PROPOSAL_NOT_OPEN, "This proposal is not open.")
    movement, fee = _resolve(
        dispute,
        refund=proposal.refund,
        release=proposal.release,
        outcome=Dispute.Outcome.SETTLED,
        now=now,
        closed_by=None,
        resolution=f"Settled by the parties (proposal {proposal.pk}).",
    )
    _event(
        dispute,
        "dispute_settled",
        body="The dispute is settled: "
        f"{_split_text(dispute, proposal.refund, proposal.release)}"
        + (f", less the platform fee of {format_amount(fee, dispute.currency)}." if fee else "."),
        proposal=proposal.pk,
        accepted_by=user.pk,
        refund=proposal.refund,
        release=proposal.release,
        fee=fee,
        outcome=Dispute.Outcome.SETTLED,
        transaction=movement.pk,
    )


# -- the end of a dispute ------------------------------------------------------------------------


def _resolve(
    dispute: Dispute,
    *,
    refund: int,
    release: int,
    outcome: str,
    now: datetime,
    closed_by: User | None,
    resolution: str,
) -> tuple[LedgerTransaction, int]:
    """Resolve the dispute and execute its split (``escrow_settle``); close its case.
    Precondition: the caller holds the dispute's locks (``_dispute_locked``)."""
    resolved = Dispute.objects.filter(pk=dispute.pk, stage__in=OPEN).update(
        stage=Stage.RESOLVED, outcome=outcome, refund=refund, release=release, resolved_at=now
    )
    if resolved != 1:
        raise ApplicationError(
            DisputeErrorCode.DISPUTE_STAGE, "This dispute is resolved.", {"stage": dispute.stage}
        )
    movement = escrow_settle(
        freeze_reference=_freeze_reference(dispute),
        refund=refund,
        release=release,
        memo=f"dispute {dispute.pk}: {outcome}",
        invoice=dispute.invoice,
    )
    DisputeProposal.objects.filter(dispute=dispute, state=DisputeProposal.State.OPEN).update(
        state=DisputeProposal.State.SUPERSEDED
    )
    Case.objects.filter(dispute=dispute, status=Case.Status.OPEN).update(
        status=Case.Status.CLOSED,
        closed_at=now,
        closed_by=closed_by,
        resolution=f"{resolution} {_split_text(dispute, refund, release)}.",
    )
    return movement, fee_of(release)


# -- escalation and the deadline -----------------------------------------------------------------


def _mediator_pick(dispute: Dispute) -> User | None:
    """The support member with MFA and the fewest disputes in mediation (then the oldest
    account), never a party of the contract; ``None`` when nobody qualifies."""
    mediations = (
        Dispute.objects.filter(mediator=OuterRef("pk"), stage=Stage.MEDIATION)
        .order_by()
        .values("mediator")
        .annotate(count=Count("pk"))
        .values("count")
    )
    totp = Authenticator.objects.filter(user=OuterRef("pk"), type=Authenticator.Type.TOTP)
    return (
        User.objects.filter(Q(is_support=True) | Q(is_staff=True), is_active=True)
        .exclude(standing=User.Standing.BANNED)
        .exclude(pk__in=[dispute.contract.buyer_id, dispute.contract.provider_id])
        .filter(Exists(totp))
        .annotate(load=Coalesce(Subquery(mediations), 0))
        .order_by("load", "pk")
        .first()
    )


def _escalate(dispute: Dispute, *, by: User | None, now: datetime) -> None:
    """direct → mediation (a mediator joins the conversation) or mediation → arbitration;
    the new stage's window starts now. Precondition: the caller holds the dispute's locks."""
    was = dispute.stage
    target = Stage.MEDIATION if was == Stage.DIRECT else Stage.ARBITRATION
    mediator = _mediator_pick(dispute) if target == Stage.MEDIATION else dispute.mediator
    moved = Dispute.objects.filter(pk=dispute.pk, stage=was).update(
        stage=target, deadline_at=now + stage_window(), mediator=mediator
    )
    if moved != 1:  # cannot happen under the dispute's row lock
        raise ApplicationError(DisputeErrorCode.DISPUTE_STAGE, "The dispute moved meanwhile.")
    why = f"{by.name} asked for it" if by is not None else "the window to settle passed"
    if target == Stage.MEDIATION:
        if mediator is not None:
            participant_add(
                conversation_id=dispute.contract.engagement.conversation_id,
                user=mediator,
                role=Participant.Role.SUPPORT,
            )
            joins = f"{mediator.name}, a support mediator, joins the conversation"
        else:
            joins = "a support mediator will join the conversation"
        body = f"The dispute goes to mediation ({why}): {joins} and may propose a settlement."
    else:
        body = (
            f"The dispute goes to arbitration ({why}): support staff will decide, and the "
            "decision binds both parties."
        )
    _event(
        dispute,
        "dispute_escalated",
        body=body,
        **{"from": was, "to": target},
        by=by.pk if by is not None else None,
        automatic=by is None,
    )


def dispute_escalate(*, user: User, dispute_id: int) -> Dispute:
    """A party takes the dispute to the next stage: mediation, then arbitration."""
    dispute = dispute_for_viewer(user=user, dispute_id=dispute_id)
    if side_of(dispute, user) not in PARTIES:
        raise _forbidden("Only a party of the dispute asks for escalation.")
    with transaction.atomic():
        dispute = _dispute_locked(dispute.pk)
        _stage_require(dispute, TALKING, doing="escalate it further")
        _escalate(dispute, by=user, now=timezone.now())
    return _dispute_query().get(pk=dispute.pk)


def _responded(dispute: Dispute, party: User) -> bool:
    """Whether ``party`` has posted a proposal or accepted one (a mediator's, half-way too)."""
    return (
        DisputeProposal.objects.filter(dispute=dispute)
        .filter(Q(by=party) | Q(accepted_by=party))
        .exists()
    )


@transaction.atomic
def _deadline_act(*, dispute_id: int, now: datetime) -> bool:
    dispute = _dispute_locked(dispute_id)
    if dispute.stage not in TALKING or dispute.deadline_at > now:
        return False  # acted on meanwhile: resolved, escalated, or a new window
    respondent = _respondent(dispute)
    if _responded(dispute, respondent):
        _escalate(dispute, by=None, now=now)
        return True
    contract = dispute.contract
    buyer_opened = dispute.opened_by_id == contract.buyer_id
    refund, release = (dispute.amount, 0) if buyer_opened else (0, dispute.amount)
    movement, fee = _resolve(
        dispute,
        refund=refund,
        release=release,
        outcome=Dispute.Outcome.DEFAULT,
        now=now,
        closed_by=None,
        resolution=f"{respondent.name} did not respond in time: lost by default.",
    )
    _event(
        dispute,
        "dispute_default",
        body=f"{respondent.name} did not respond within the window: {dispute.opened_by.name} "
        f"wins the dispute by default: {_split_text(dispute, refund, release)}"
        + (f", less the platform fee of {format_amount(fee, dispute.currency)}." if fee else "."),
        winner=dispute.opened_by_id,
        loser=respondent.pk,
        refund=refund,
        release=release,
        fee=fee,
        outcome=Dispute.Outcome.DEFAULT,
        transaction=movement.pk,
    )
    return True


def disputes_deadlines_run(*, now: datetime) -> int:
    """The schedule: each dispute in direct resolution or mediation whose window has passed
    is resolved by default if the party it was opened against never answered (no proposal,
    no acceptance), else escalated. Idempotent: an escalation starts a new window. Returns
    on how many disputes it acted."""
    due = list(
        Dispute.objects.filter(stage__in=TALKING, deadline_at__lte=now)
        .order_by("deadline_at", "pk")
        .values_list("pk", flat=True)
    )
    return sum(_deadline_act(dispute_id=dispute_id, now=now) for dispute_id in due)


# -- arbitration ---------------------------------------------------------------------------------


def dispute_decide(
    *, staff: User, dispute_id: int, refund: int, release: int, reason: str
) -> Dispute:
    """Support staff (with MFA) decide a dispute in arbitration: binding, executed at once."""
    if not staff.is_staff_member:
        raise _forbidden("Support staff only.")
    staff_mfa_require(staff)
    dispute = dispute_for_viewer(user=staff, dispute_id=dispute_id)
    if side_of(dispute, staff) in PARTIES:
        raise _forbidden("Staff do not decide disputes on their own contract.")
    _split_check(dispute, refund, release)
    reason = text_check(
        reason, field="reason", max_length=REASON_MAX, missing="Give the reasons for the decision."
    )
    with transaction.atomic():
        dispute = _dispute_locked(dispute.pk)
        _stage_require(dispute, (Stage.ARBITRATION,), doing="decide it")
        movement, fee = _resolve(
            dispute,
            refund=refund,
            release=release,
            outcome=Dispute.Outcome.DECIDED,
            now=timezone.now(),
            closed_by=staff,
            resolution=f"Decided in arbitration by {staff.name}: {reason}",
        )
        _event(
            dispute,
            "dispute_decided",
            body=f"Arbitration decided the dispute, bindingly: "
            f"{_split_text(dispute, refund, release)}"
            + (f", less the platform fee of {format_amount(fee, dispute.currency)}" if fee else "")
            + f". Reasons: {_sentence(reason)}",
            by=staff.pk,
            refund=refund,
            release=release,
            fee=fee,
            outcome=Dispute.Outcome.DECIDED,
            transaction=movement.pk,
        )
    return _dispute_query().get(pk=dispute.pk)
