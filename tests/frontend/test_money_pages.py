"""The money pages through Django's test client: funding escrow from the contract page (once
per form, refused methods and bad amounts changing nothing), the contract's balances, the
provider's balance and statement, the buyer's payments, the "Money" link, and the chat's
invoice composer offered to the contract's verified provider only."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.utils import timezone

from accounts.models import User
from chatbox.models import Event
from invoices import services
from invoices.models import Entry, GatewayOperation, Invoice
from projects.contracts import MilestoneTerms, proposal_accept
from projects.listings import Budget, ProposalTerms, project_post, proposal_submit
from projects.models import Contract
from projects.taxonomy import taxonomy_sync
from tests.factories import UserFactory
from tests.projects.market import buyer, client_of, provider

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def taxonomy() -> None:
    taxonomy_sync()


# -- people, a contract and its money, made through the services --------------------------------


def verified(user: User) -> User:
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    user.phone_number, user.phone_verified_at = "+33612345678", timezone.now()
    user.save()
    return user


def contract_between(bea: User, pia: User, title: str = "Bakery logo") -> Contract:
    project = project_post(
        buyer=bea,
        title=title,
        description="A logo for a bakery.",
        category="design",
        skills=[],
        budget=Budget(amount=120000, currency="EUR"),
    )
    terms = ProposalTerms(cover_letter="Hi", amount=120000, currency="EUR", duration_days=7)
    proposal = proposal_submit(provider=pia, project_id=project.pk, terms=terms).proposal
    return proposal_accept(
        buyer=bea,
        proposal_id=proposal.pk,
        milestones=[
            MilestoneTerms(title="Logo concepts", amount=50000),
            MilestoneTerms(title="Brand kit", amount=70000),
        ],
    )


def paid_invoice(contract: Contract, amount: int = 50000) -> Invoice:
    """Escrow funded with ``amount``, an invoice of it raised and paid."""
    services.escrow_fund(
        buyer=contract.buyer,
        contract_id=contract.pk,
        amount=amount,
        currency="EUR",
        payment_method="pm_sandbox_ok",
    )
    invoice = services.invoice_raise(
        provider=contract.provider,
        contract_id=contract.pk,
        currency="EUR",
        items=[services.LineItem(description="Logo concepts", amount=amount)],
        milestone_id=contract.milestones.get(title="Logo concepts").pk,
    )
    return services.invoice_pay(buyer=contract.buyer, invoice_id=invoice.pk)


def html(response: Any) -> str:
    return str(response.content.decode())


def fund_token(client: Client, contract: Contract) -> str:
    page = html(client.get(f"/contracts/{contract.pk}/"))
    found = re.search(r'<input type="hidden" name="token" value="([^"]+)">', page)
    assert found, "the contract page has no funding form"
    return found.group(1)


def fund(client: Client, contract: Contract, form_token: str, **fields: str) -> Any:
    body = {"amount": "500", "payment_method": "pm_sandbox_ok", "token": form_token, **fields}
    return client.post(f"/contracts/{contract.pk}/fund/", body)


def escrow_entries(contract: Contract) -> list[int]:
    return list(
        Entry.objects.filter(account__kind="escrow", account__contract=contract).values_list(
            "amount", flat=True
        )
    )


# -- funding escrow from the contract page ------------------------------------------------------


def test_the_buyer_funds_escrow_from_the_contract_page() -> None:
    # given
    bea, pia = buyer(), verified(provider())
    contract = contract_between(bea, pia)
    page = client_of(bea)
    token = fund_token(page, contract)

    # when
    response = fund(page, contract, token, amount="500.00")

    # then: post/redirect/get, with the balance on the page it lands on
    assert (response.status_code, response["Location"]) == (302, f"/contracts/{contract.pk}/")
    landed = html(page.get(response["Location"]))
    assert "Escrow funded: 500.00 EUR. It now holds 500.00 EUR." in landed
    assert "<div><dt>In escrow</dt><dd>500.00 EUR</dd></div>" in landed
    assert escrow_entries(contract) == [50000]
    funded = Event.objects.get(conversation=contract.engagement.conversation, kind="payment")
    assert (funded.data["event"], funded.data["amount"]) == ("escrow_funded", 50000)


def test_a_funding_form_sent_twice_charges_once() -> None:
    # given a funding form posted once
    bea, pia = buyer(), provider()
    contract = contract_between(bea, pia)
    page = client_of(bea)
    token = fund_token(page, contract)
    assert fund(page, contract, token).status_code == 302

    # when the same form is sent again (a double click, or Back and send)
    again = fund(page, contract, token)

    # then it is told, and nothing more is charged
    assert (again.status_code, again["Location"]) == (302, f"/contracts/{contract.pk}/")
    assert "This form was already sent, and is not sent twice: check the balances below." in html(
        page.get(again["Location"])
    )
    assert escrow_entries(contract) == [50000]
    assert GatewayOperation.objects.count() == 1


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"amount": ""}, 400, "Enter an amount."),
        ({"amount": "12.345"}, 400, "Enter an amount like 450.00, with at most 2 decimals."),
        ({"amount": "0"}, 400, "Enter an amount above zero."),
        ({"payment_method": "pm_other"}, 400, "Choose a payment method."),
        ({"payment_method": "pm_sandbox_declined"}, 402, "The payment method was declined."),
        (
            {"payment_method": "pm_sandbox_insufficient"},
            402,
            "The payment method has insufficient funds.",
        ),
        ({"token": "forged"}, 400, "This form has expired. Check the amount and send it again."),
    ],
)
def test_a_refused_funding_form_comes_back_and_moves_nothing(
    fields: dict[str, str], status: int, message: str
) -> None:
    # given
    bea, pia = buyer(), provider()
    contract = contract_between(bea, pia)
    page = client_of(bea)
    token = fund_token(page, contract)

    # when
    response = fund(page, contract, token, **fields)

    # then
    assert response.status_code == status
    assert message in html(response)
    marked = 'aria-invalid="true"' if "token" not in fields else 'class="form__error"'
    assert marked in html(response)
    assert escrow_entries(contract) == []
    assert not Event.objects.filter(kind="payment").exists()


def test_only_the_contracts_buyer_funds_it() -> None:
    # given
    bea, pia = buyer(), provider()
    contract = contract_between(bea, pia)
    stranger = client_of(buyer("other"))

    # when the provider looks, and a stranger posts
    provider_page = html(client_of(pia).get(f"/contracts/{contract.pk}/"))
    refused = stranger.post(
        f"/contracts/{contract.pk}/fund/", {"amount": "500", "payment_method": "pm_sandbox_ok"}
    )

    # then the provider sees the balances without the form, and the stranger gets 404
    assert '<h2 id="money-heading">Money</h2>' in provider_page
    assert "Fund escrow" not in provider_page
    assert refused.status_code == 404
    assert escrow_entries(contract) == []


def test_the_contract_page_shows_the_ledgers_balances() -> None:
    # given a paid invoice of 500.00, 100.00 of it refunded
    bea, pia = buyer(), verified(provider())
    contract = contract_between(bea, pia)
    invoice = paid_invoice(contract)
    services.invoice_refund(user=pia, invoice_id=invoice.pk, amount=10000)

    # when
    page = html(client_of(bea).get(f"/contracts/{contract.pk}/"))

    # then
    for term, amount in (
        ("In escrow", "0.00 EUR"),
        ("Paid to the provider", "360.00 EUR"),
        ("Platform fees", "40.00 EUR"),
        ("Refunded to the buyer", "100.00 EUR"),
    ):
        assert f"<div><dt>{term}</dt><dd>{amount}</dd></div>" in page


# -- the provider's balance and statement, the buyer's payments ----------------------------------


def test_the_statement_shows_the_providers_balance_and_movements() -> None:
    # given a paid invoice of 500.00 (10 % fee) and a refund of 100.00
    bea, pia = buyer(), verified(provider())
    contract = contract_between(bea, pia)
    invoice = paid_invoice(contract)
    services.invoice_refund(user=pia, invoice_id=invoice.pk, amount=10000)

    # when
    response = client_of(pia).get("/money/statement/")

    # then
    page = html(response)
    assert response.status_code == 200
    assert "<div><dt>EUR</dt><dd>360.00 EUR</dd></div>" in page
    rows = re.findall(r"<tr>\s*<td>.*?</tr>", page, flags=re.S)
    assert len(rows) == 2
    assert f"Refund, invoice {invoice.pk}" in rows[0] and "-90.00 EUR" in rows[0]
    assert f"Payment released, invoice {invoice.pk}" in rows[1] and "+450.00 EUR" in rows[1]
    assert "Bakery logo" in rows[1]


def test_the_statement_shows_only_the_providers_own_money() -> None:
    # given another provider's paid invoice
    bea = buyer()
    paid_invoice(contract_between(bea, verified(provider("other"))))

    # when
    page = html(client_of(provider()).get("/money/statement/"))

    # then
    assert "Nothing yet: paid invoices show up here." in page
    assert "No movements yet." in page


def test_the_payments_page_shows_charges_invoices_and_refunds_per_contract() -> None:
    # given one contract with money, and one without
    bea, pia = buyer(), verified(provider())
    contract = contract_between(bea, pia)
    contract_between(bea, pia, title="Shop sign")
    invoice = paid_invoice(contract)
    services.invoice_refund(user=pia, invoice_id=invoice.pk, amount=10000)

    # when
    response = client_of(bea).get("/money/payments/")

    # then
    page = html(response)
    assert response.status_code == 200
    assert "Shop sign" not in page
    assert "<div><dt>Charged</dt><dd>500.00 EUR</dd></div>" in page
    assert "<div><dt>Invoices paid</dt><dd>500.00 EUR</dd></div>" in page
    assert "<div><dt>Refunds received</dt><dd>100.00 EUR</dd></div>" in page
    assert "500.00 EUR charged into escrow" in page
    assert f"Invoice {invoice.pk} (Logo concepts): 500.00 EUR" in page
    assert f"100.00 EUR on invoice {invoice.pk}" in page


@pytest.mark.parametrize(
    ("url", "role"), [("/money/statement/", "is_buyer"), ("/money/payments/", "is_provider")]
)
def test_each_money_page_is_for_its_role(url: str, role: str) -> None:
    # given someone of the other role only
    person = UserFactory(**{role: True})

    # when
    response = client_of(person).get(url)

    # then
    assert response.status_code == 403


def test_a_visitor_is_sent_to_sign_in(client: Client) -> None:
    for url in ("/money/statement/", "/money/payments/"):
        response = client.get(url)
        assert (response.status_code, response["Location"]) == (302, f"/?next={url}")


def test_the_money_link_goes_to_the_statement_or_the_payments() -> None:
    # given / when
    provider_page = html(client_of(provider()).get("/contracts/"))
    buyer_page = html(client_of(buyer()).get("/contracts/"))

    # then
    assert '<a href="/money/statement/">Money</a>' in provider_page
    assert '<a href="/money/payments/">Money</a>' in buyer_page


# -- the chat: the invoice composer -------------------------------------------------------------


def money_state(page: str) -> dict[str, Any]:
    found = re.search(r'<script id="money-state" type="application/json">(.*?)</script>', page)
    assert found
    return dict(json.loads(found.group(1)))


def test_the_chat_offers_the_invoice_composer_to_the_provider_only() -> None:
    # given
    bea, pia = buyer(), verified(provider())
    contract = contract_between(bea, pia)
    url = f"/conversations/{contract.engagement.conversation_id}/"

    # when
    provider_page = html(client_of(pia).get(url))
    buyer_page = html(client_of(bea).get(url))

    # then
    assert ">Raise invoice</button>" in provider_page
    assert '<label class="field__label" for="invoice-milestone">Milestone</label>' in provider_page
    assert ">Raise invoice</button>" not in buyer_page
    state = money_state(provider_page)
    assert (state["role"], state["verified"]) == ("provider", True)
    assert state["contract"]["id"] == contract.pk
    assert state["contract"]["currency"] == "EUR"
    assert [m["title"] for m in state["contract"]["milestones"]] == ["Logo concepts", "Brand kit"]
    assert money_state(buyer_page)["role"] == "buyer"
    assert "<script>" not in provider_page  # no inline scripts: only modules and JSON data


def test_a_chat_without_a_contract_has_no_invoice_composer() -> None:
    # given an engagement's conversation before any contract
    from projects.services import engagement_open

    bea, pia = buyer(), provider()
    project = project_post(
        buyer=bea,
        title="Bakery logo",
        description="A logo.",
        category="design",
        skills=[],
        budget=Budget(amount=50000, currency="EUR"),
    )
    engagement = engagement_open(project=project, provider=pia)

    # when
    page = html(client_of(pia).get(f"/conversations/{engagement.conversation_id}/"))

    # then
    assert ">Raise invoice</button>" not in page
    assert money_state(page) == {"role": None, "contract": None}
