"""A member's own data: a copy of it to download, and erasure of the account (GDPR articles 15,
17 and 20; CCPA's rights to know and to delete). See docs/privacy.md.

The copy holds the account and profile, every conversation the member is part of (each message
as the member sees it in the chat), their invoices and ledger movements, reports they made and
actions on their account. It is built on request and never stored.

Erasure removes what identifies the member — name, username, e-mail addresses, phone, password,
profile and portfolio, sessions and open sockets — and keeps, marked with why, what others still
rely on: the conversations' records are the other party's evidence too (messages stay, under
"Deleted member"), money records are kept for the retention period tax law requires, and an
open dispute or case about the member holds the account's records until it closes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.errors import AccountErrorCode, ApplicationError
from accounts.models import User
from chatbox import realtime
from chatbox.models import Event, Participant
from chatbox.presenters import messages_present
from invoices.models import Entry, Invoice, LedgerTransaction
from projects.models import Contract, PortfolioItem, ProviderProfile
from reports.models import AccountAction, Case, Dispute, Report

EXPORT_FORMAT = "chatbox-member-data/1"
ERASED_NAME = "Deleted member"


def _person(user: User) -> dict[str, Any]:
    return {
        "id": user.pk,
        "username": user.username,
        "display_name": user.display_name,
        "email_addresses": list(
            EmailAddress.objects.filter(user=user).values("email", "verified", "primary")
        ),
        "phone_number": user.phone_number,
        "roles": {"buyer": user.is_buyer, "provider": user.is_provider},
        "joined": user.date_joined.isoformat(),
        "verified": {
            "phone": _when(user.phone_verified_at),
            "id": _when(user.id_verified_at),
            "business": _when(user.business_verified_at),
            "vetted": _when(user.vetted_at),
        },
        "standing": user.standing,
    }


def _when(moment: Any) -> str | None:
    return moment.isoformat() if moment else None


def _profile(user: User) -> dict[str, Any] | None:
    profile = ProviderProfile.objects.filter(user=user).first()
    if profile is None:
        return None
    return {
        "headline": profile.headline,
        "bio": profile.bio,
        "visibility": profile.visibility,
        "skills": list(profile.skills.values_list("slug", flat=True)),
        "portfolio": [
            {"title": item.title, "link": item.link, "has_file": item.ciphertext is not None}
            for item in PortfolioItem.objects.filter(profile=profile)
        ],
    }


def _conversations(user: User) -> list[dict[str, Any]]:
    copies = []
    for participation in Participant.objects.filter(user=user).select_related("conversation"):
        conversation = participation.conversation
        events = list(
            Event.objects.filter(conversation=conversation).select_related("sender").order_by("seq")
        )
        copies.append(
            {
                "id": str(conversation.pk),
                "title": conversation.title,
                "role": participation.role,
                "messages": messages_present(conversation_id=conversation.pk, events=events),
            }
        )
    return copies


def _money(user: User) -> dict[str, Any]:
    contracts = Contract.objects.filter(Q(buyer=user) | Q(provider=user))
    invoices = Invoice.objects.filter(contract__in=contracts).order_by("issued_at", "pk")
    entries = Entry.objects.filter(account__user=user).select_related("transaction", "account")
    return {
        "invoices": [
            {
                "id": invoice.pk,
                "contract": invoice.contract_id,
                "state": invoice.state,
                "currency": invoice.currency,
                "total": invoice.total,
                "refunded": invoice.refunded,
                "items": invoice.items,
                "issued_at": invoice.issued_at.isoformat(),
            }
            for invoice in invoices
        ],
        "movements": [
            {
                "account": entry.account.kind,
                "currency": entry.account.currency,
                "amount": entry.amount,
                "kind": entry.transaction.kind,
                "contract": entry.transaction.contract_id,
                "at": entry.transaction.created_at.isoformat(),
            }
            for entry in entries.order_by("transaction__created_at", "pk")
        ],
    }


def member_data_export(*, user: User) -> dict[str, Any]:
    """Everything the platform holds about the member that they may have, as one document."""
    return {
        "format": EXPORT_FORMAT,
        "exported_at": timezone.now().isoformat(),
        "account": _person(user),
        "profile": _profile(user),
        "conversations": _conversations(user),
        "money": _money(user),
        "reports_made": [
            {"reason": r.reason, "note": r.note, "at": r.created_at.isoformat()}
            for r in Report.objects.filter(reporter=user)
        ],
        "account_actions": [
            {"action": a.kind, "reason": a.reason, "at": a.at.isoformat()}
            for a in AccountAction.objects.filter(user=user)
        ],
    }


# -- erasure -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Erasure:
    user: User
    kept: list[str]


def _kept_because(user: User) -> list[str]:
    """What erasure leaves, and why: each reason a member is told."""
    kept = []
    if Participant.objects.filter(user=user).exists():
        kept.append(
            "Messages you sent stay in their conversations, under “Deleted member”: they are "
            "the other party's record too."
        )
    party = Q(contract__buyer=user) | Q(contract__provider=user)
    if LedgerTransaction.objects.filter(party).exists() or Invoice.objects.filter(party).exists():
        kept.append("Invoices and payments are kept as long as tax and accounting law requires.")
    open_dispute = Dispute.objects.filter(
        Q(contract__buyer=user) | Q(contract__provider=user)
    ).exclude(stage=Dispute.Stage.RESOLVED)
    open_case = Case.objects.filter(subject=user, status=Case.Status.OPEN)
    if open_dispute.exists() or open_case.exists():
        kept.append(
            "An open dispute or case involves you: the records it needs are held until it ends."
        )
    return kept


@transaction.atomic
def account_erase(*, user: User, password: str) -> Erasure:
    """Erase the member's personal data; keep, and say, what others or the law still need."""
    if not isinstance(password, str) or not user.check_password(password):
        raise ApplicationError(
            AccountErrorCode.PASSWORD_INVALID,
            "Give your password to erase your account.",
            {"password": ["Incorrect password."]},
        )
    if user.is_staff_member:
        raise ApplicationError(
            AccountErrorCode.INVALID, "Staff accounts are closed by an administrator."
        )
    kept = _kept_because(user)
    PortfolioItem.objects.filter(profile__user=user).delete()
    ProviderProfile.objects.filter(user=user).delete()
    EmailAddress.objects.filter(user=user).delete()
    user.username = f"deleted-{uuid.uuid4().hex[:12]}"
    user.display_name = ERASED_NAME
    user.first_name = user.last_name = user.email = user.phone_number = ""
    user.phone_verified_at = None
    user.is_active = False
    user.set_unusable_password()
    user.save()
    _sessions_end(user)
    realtime.close_user_sockets(user_id=user.pk)
    return Erasure(user=user, kept=kept)


def _sessions_end(user: User) -> None:
    """Every session of the member ends: found in the database, ended through the session
    engine, which also drops the cache's copy (``cached_db``, config.settings)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    for session in Session.objects.filter(expire_date__gt=timezone.now()):
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            store(session_key=session.pk).delete()
