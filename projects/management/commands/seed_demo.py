"""``seed_demo``: the demo people, project, conversation and contract of PROTOCOL.md §1.

Idempotent: a rerun finds what the first run made. The contract is made as a user would
make it (an invitation, a free proposal, its acceptance), so its events are in the chat.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User
from accounts.services import terms_accept
from projects.contracts import MilestoneTerms, proposal_accept
from projects.listings import (
    Budget,
    ProposalTerms,
    invitation_send,
    project_post,
    proposal_submit,
)
from projects.models import Contract, Engagement, Invitation, Project, ProviderProfile
from projects.services import HourlyRate, PortfolioEntry, engagement_open, profile_update
from projects.taxonomy import taxonomy_sync

DEMO_USERS: dict[str, dict[str, Any]] = {
    "buyer": {"display_name": "Bea Buyer", "is_buyer": True},
    "provider": {"display_name": "Pat Provider", "is_provider": True},
    "support": {"display_name": "Sam Support", "is_support": True, "is_staff": True},
    "outsider": {"display_name": "Otto Outsider"},
}
DEMO_PROJECT = "Logo and brand kit for a bakery"


def _seed_provider_profile(provider: User) -> None:
    """A public profile for the demo provider, made once: a rerun keeps the provider's edits."""
    if ProviderProfile.objects.filter(user=provider).exists():
        return
    profile_update(
        provider=provider,
        headline="Brand identities for small food businesses",
        bio="Ten years of logos, colours and packaging for bakeries, cafés and delis.",
        hourly_rate=HourlyRate(amount=4500, currency="EUR"),
        skills=["logo-design", "brand-identity", "packaging-design"],
        visibility=ProviderProfile.Visibility.PUBLIC,
        portfolio=[
            PortfolioEntry(
                title="Corner Bakery rebrand",
                link="https://example.com/portfolio/corner-bakery",
                description="A new logo, a warm palette and boxes that people keep.",
            )
        ],
        credentials=[],
    )


@transaction.atomic
def _seed_contract(engagement: Engagement) -> Contract:
    """The demo's unfunded contract on the engagement, made once through the services."""
    contract = Contract.objects.filter(engagement=engagement).order_by("pk").first()
    if contract is not None:
        return contract
    project, buyer, provider = engagement.project, engagement.buyer, engagement.provider
    if not Invitation.objects.filter(project=project, provider=provider).exists():
        invitation_send(buyer=buyer, project_id=project.pk, provider_id=provider.pk)
    submitted = proposal_submit(
        provider=provider,
        project_id=project.pk,
        terms=ProposalTerms(
            cover_letter="I would love to draw your bakery's logo and brand kit.",
            amount=120000,
            currency="EUR",
            duration_days=21,
        ),
    )
    return proposal_accept(
        buyer=buyer,
        proposal_id=submitted.proposal.pk,
        milestones=[
            MilestoneTerms(title="Logo concepts", amount=50000),
            MilestoneTerms(title="Brand kit", amount=70000),
        ],
    )


class Command(BaseCommand):
    help = "Create the demo users, project, conversation and contract (idempotent)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--password", help="Set every demo user's password to this.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        wanted = options["password"]
        users: dict[str, dict[str, Any]] = {}
        with transaction.atomic():
            for username, fields in DEMO_USERS.items():
                user, created = User.objects.get_or_create(username=username, defaults=fields)
                password = wanted or (secrets.token_urlsafe(9) if created else None)
                if password:
                    user.set_password(password)
                    user.save(update_fields=["password"])
                terms_accept(user=user)  # the demo accepts the current Terms (docs/identity.md)
                users[username] = {"id": user.pk, "username": username, "password": password}
        taxonomy_sync()  # a database flushed by tests has lost the migration's rows
        buyer = User.objects.get(username="buyer")
        provider = User.objects.get(username="provider")
        project = Project.objects.filter(buyer=buyer, title=DEMO_PROJECT).first()
        if project is None:
            project = project_post(
                buyer=buyer,
                title=DEMO_PROJECT,
                description="A logo, colours and a simple brand kit.",
                category="design",
                skills=["logo-design", "brand-identity"],
                budget=Budget(amount=120000, currency="EUR"),
            )
        engagement = engagement_open(project=project, provider=provider)
        _seed_provider_profile(provider)
        contract = _seed_contract(engagement)
        result: dict[str, Any] = {
            "users": users,
            "project": {"id": project.pk},
            "conversation": {"id": str(engagement.conversation_id)},
            "contract": {"id": contract.pk},
        }
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        self.stdout.write("Demo accounts (sign in at the web app):")
        for username, credentials in users.items():
            shown = credentials["password"] or "(unchanged; rerun with --password to set one)"
            self.stdout.write(f"  {username:<9} password: {shown}")
        self.stdout.write(f"Demo conversation: /conversations/{engagement.conversation_id}/")
        self.stdout.write(f"Demo contract (unfunded): /contracts/{contract.pk}/")
