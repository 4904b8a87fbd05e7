"""Money on a schedule (issue points 7 and 8): the reminder before an invoice is paid
automatically, the auto-release itself, and payment protection after a provider's withdrawal —
the notice, the return of escrow, and the buyer's hold granted by support. Every schedule runs
twice to show that it acts once; times are explicit."""

from __future__ import annotations

from datetime import datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from chatbox.models import Event
from invoices.models import (
    Entry,
    EscrowHold,
    EscrowReturn,
    GatewayOperation,
    Invoice,
    LedgerTransaction,
)
from invoices.schedules import (
    escrow_hold_grant,
    escrow_hold_release,
    escrow_hold_request,
    escrow_returns_run,
    invoices_auto_release,
    invoices_remind,
)
from invoices.services import invoice_cancel, invoice_decline
from projects.contracts import contract_end
from projects.models import Contract
from tests.invoices.money import (
    events_of,
    funded_contract,
    invoice_of,
    money,
    staff_member,
    verified_provider,
)
from tests.projects.market import buyer, client_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def deal(taxonomy: None) -> Any:
    """A buyer, a verified provider, and their contract with 500.00 EUR in escrow."""
    bea, pia = buyer("bea"), verified_provider()
    bea.email = "bea@example.com"
    bea.save(update_fields=["email"])
    return bea, pia, funded_contract(bea, pia)


def _withdrawn(deal: Any) -> tuple[Contract, datetime]:
    _, pia, contract = deal
    ended = contract_end(user=pia, contract_id=contract.pk, outcome="withdrawn")
    assert ended.ended_at is not None
    return ended, ended.ended_at


def _sums(kind: str) -> int:
    return sum(Entry.objects.filter(account__kind=kind).values_list("amount", flat=True))


# -- the reminder -----------------------------------------------------------------------------


def test_the_buyer_is_reminded_once_before_the_due_date(
    deal: Any, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    # given an invoice due in 14 days
    _, pia, contract = deal
    invoice = invoice_of(pia, contract)
    # when the schedule runs before the reminder window opens
    with django_capture_on_commit_callbacks(execute=True):
        assert invoices_remind(now=invoice.due_at - timedelta(days=3, seconds=1)) == 0
    assert (events_of(contract, "invoice_reminder"), mailoutbox) == ([], [])
    # and twice when it opens
    opens = invoice.due_at - timedelta(days=3)
    with django_capture_on_commit_callbacks(execute=True):
        assert invoices_remind(now=opens) == 1
        assert invoices_remind(now=opens) == 0
    # then one system event in the chat and one e-mail to the buyer
    [reminder] = events_of(contract, "invoice_reminder")
    assert (reminder.kind, reminder.data["invoice"]) == (Event.Kind.SYSTEM, invoice.pk)
    assert [mail.to for mail in mailoutbox] == [["bea@example.com"]]
    assert mailoutbox[0].subject.startswith(f"Invoice {invoice.pk} will be paid on ")
    assert Invoice.objects.get().reminded_at == opens


def test_a_decided_invoice_is_not_reminded(
    deal: Any, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    bea, pia, contract = deal
    invoice = invoice_of(pia, contract)
    invoice_decline(buyer=bea, invoice_id=invoice.pk, reason="Not delivered.")
    with django_capture_on_commit_callbacks(execute=True):
        assert invoices_remind(now=invoice.due_at - timedelta(days=1)) == 0
    assert (events_of(contract, "invoice_reminder"), mailoutbox) == ([], [])


# -- the auto-release -------------------------------------------------------------------------


def test_an_unanswered_invoice_is_paid_after_the_window_and_not_before(deal: Any) -> None:
    _, pia, contract = deal
    invoice = invoice_of(pia, contract)
    # a second before the due date: nothing
    assert invoices_auto_release(now=invoice.due_at - timedelta(seconds=1)) == 0
    assert Invoice.objects.get().state == "issued"
    assert not LedgerTransaction.objects.filter(kind="release").exists()
    # at the due date, twice: paid once
    assert invoices_auto_release(now=invoice.due_at) == 1
    assert invoices_auto_release(now=invoice.due_at) == 0
    paid = Invoice.objects.get()
    assert (paid.state, paid.fee) == ("paid", 5000)
    assert LedgerTransaction.objects.filter(kind="release").count() == 1
    assert (_sums("escrow"), _sums("provider"), _sums("fees")) == (0, 45000, 5000)
    [event] = events_of(contract, "invoice_paid")
    assert (event.kind, event.data["automatic"]) == (Event.Kind.PAYMENT, True)


@pytest.mark.parametrize("decided", ["declined", "cancelled", "disputed"])
def test_a_decided_or_disputed_invoice_is_never_paid_automatically(deal: Any, decided: str) -> None:
    # given an invoice the buyer declined, the provider cancelled, or that is disputed
    bea, pia, contract = deal
    invoice = invoice_of(pia, contract)
    if decided == "declined":
        invoice_decline(buyer=bea, invoice_id=invoice.pk, reason="Not delivered.")
    elif decided == "cancelled":
        invoice_cancel(provider=pia, invoice_id=invoice.pk)
    else:  # no dispute service yet: the state a dispute puts it in
        Invoice.objects.filter(pk=invoice.pk).update(state=Invoice.State.DISPUTED)
    # when the schedule runs long after the due date
    assert invoices_auto_release(now=invoice.due_at + timedelta(days=30)) == 0
    # then nothing moved and nothing was said
    assert Invoice.objects.get().state == decided
    assert not LedgerTransaction.objects.filter(kind="release").exists()
    assert _sums("escrow") == 50000
    assert events_of(contract, "invoice_paid") == []
    assert events_of(contract, "auto_release_short") == []


def test_escrow_short_of_a_due_invoice_charges_nobody_and_says_so_once(deal: Any) -> None:
    # given an invoice of 800.00 EUR on 500.00 EUR of escrow
    _, pia, contract = deal
    invoice = invoice_of(pia, contract, amount=80000)
    movements, charges = LedgerTransaction.objects.count(), GatewayOperation.objects.count()
    # when the schedule runs twice past the due date
    for _ in range(2):
        assert invoices_auto_release(now=invoice.due_at + timedelta(minutes=5)) == 0
    # then the invoice waits, no money moved, no charge was sent, and the chat says so once
    assert Invoice.objects.get().state == "issued"
    assert LedgerTransaction.objects.count() == movements
    assert GatewayOperation.objects.count() == charges
    [notice] = events_of(contract, "auto_release_short")
    assert (notice.kind, notice.data["invoice"]) == (Event.Kind.SYSTEM, invoice.pk)


# -- payment protection -----------------------------------------------------------------------


def test_after_a_withdrawal_escrow_returns_to_the_buyer_once_after_the_notice_window(
    deal: Any,
) -> None:
    # given the provider withdrew with 500.00 EUR in escrow
    contract, ended_at = _withdrawn(deal)
    # when the schedule runs during the notice window, twice
    for _ in range(2):
        assert escrow_returns_run(now=ended_at + timedelta(minutes=5)) == 0
    # then the chat tells the buyer when, once, and nothing moves
    [notice] = events_of(contract, "escrow_return_notice")
    assert notice.kind == Event.Kind.SYSTEM
    assert notice.data["amount"] == 50000
    assert notice.data["due_at"] == (ended_at + timedelta(hours=72)).isoformat()
    assert not LedgerTransaction.objects.filter(kind="escrow_return").exists()
    # and a second before the window ends, still nothing
    assert escrow_returns_run(now=ended_at + timedelta(hours=72, seconds=-1)) == 0
    assert not LedgerTransaction.objects.filter(kind="escrow_return").exists()
    # when the window has passed, twice
    after = ended_at + timedelta(hours=72)
    assert escrow_returns_run(now=after) == 1
    assert escrow_returns_run(now=after) == 0
    # then the whole escrow went back to the buyer, once, with a payment event
    assert LedgerTransaction.objects.filter(kind="escrow_return").count() == 1
    assert (_sums("escrow"), _sums("refunds_out")) == (0, 50000)
    [returned] = events_of(contract, "escrow_returned")
    assert (returned.kind, returned.data["amount"]) == (Event.Kind.PAYMENT, 50000)
    record = EscrowReturn.objects.get()
    assert (record.settled_at, record.returned) == (after, 50000)
    # and the gateway refunded it to the card that paid, once
    [charge] = GatewayOperation.objects.filter(kind="charge")
    assert list(
        GatewayOperation.objects.filter(kind="refund").values_list(
            "charge", "amount", "state", "ledger_transaction"
        )
    ) == [(charge.pk, 50000, "succeeded", record.ledger_transaction_id)]


def test_a_withdrawal_with_empty_escrow_returns_and_says_nothing(taxonomy: None) -> None:
    bea, pia = buyer("bea"), verified_provider()
    contract = funded_contract(bea, pia)
    invoice = invoice_of(pia, contract)
    invoices_auto_release(now=invoice.due_at)  # escrow is paid out before the withdrawal
    ended = contract_end(user=pia, contract_id=contract.pk, outcome="withdrawn")
    assert ended.ended_at is not None
    assert escrow_returns_run(now=ended.ended_at + timedelta(hours=100)) == 0
    assert events_of(contract, "escrow_return_notice") == []
    assert not LedgerTransaction.objects.filter(kind="escrow_return").exists()
    assert EscrowReturn.objects.get().returned == 0


@pytest.mark.parametrize("ended_as", ["completed", "cancelled"])
def test_escrow_of_a_contract_not_withdrawn_stays(taxonomy: None, ended_as: str) -> None:
    bea, pia = buyer("bea"), verified_provider()
    contract = funded_contract(bea, pia)
    contract_end(user=bea, contract_id=contract.pk, outcome=ended_as)
    assert escrow_returns_run(now=timezone.now() + timedelta(days=30)) == 0
    assert not EscrowReturn.objects.exists()
    assert _sums("escrow") == 50000


def test_a_granted_hold_stops_the_return_and_its_release_resumes_it(deal: Any) -> None:
    # given the provider withdrew and the schedule posted the notice
    bea, _, contract = deal
    contract, ended_at = _withdrawn(deal)
    escrow_returns_run(now=ended_at)
    sam, sam_client = staff_member()
    # when the buyer asks support to keep the escrow, and support grants it, over the API
    asked = money(
        client_of(bea),
        f"/api/contracts/{contract.pk}/escrow-hold/",
        {"reason": "Support is finding me another designer."},
        "hold-1",
    )
    assert asked.status_code == 201, asked.json()
    assert (asked.json()["state"], asked.json()["requested_by"]) == ("requested", bea.pk)
    hold_id = asked.json()["id"]
    queue = sam_client.get("/api/staff/escrow-holds/")
    assert [hold["id"] for hold in queue.json()] == [hold_id]
    granted = money(sam_client, f"/api/staff/escrow-holds/{hold_id}/grant/", {}, "grant-1")
    assert granted.status_code == 200, granted.json()
    assert (granted.json()["state"], granted.json()["granted_by"]) == ("granted", sam.pk)
    # then, long after the window, nothing returns
    late = ended_at + timedelta(days=10)
    assert escrow_returns_run(now=late) == 0
    assert not LedgerTransaction.objects.filter(kind="escrow_return").exists()
    assert _sums("escrow") == 50000
    assert [e.data["hold"] for e in events_of(contract, "escrow_hold_requested")] == [hold_id]
    assert [e.data["hold"] for e in events_of(contract, "escrow_hold_granted")] == [hold_id]
    # when support releases the hold
    released = money(sam_client, f"/api/staff/escrow-holds/{hold_id}/release/", {}, "rel-1")
    assert released.status_code == 200, released.json()
    assert released.json()["state"] == "released"
    # then the next run returns the escrow, once
    assert escrow_returns_run(now=late) == 1
    assert escrow_returns_run(now=late) == 0
    assert (_sums("escrow"), _sums("refunds_out")) == (0, 50000)
    assert len(events_of(contract, "escrow_hold_released")) == 1


def test_a_pending_request_stops_the_return_and_asking_again_changes_nothing(deal: Any) -> None:
    bea, _, contract = deal
    contract, ended_at = _withdrawn(deal)
    first = escrow_hold_request(buyer=bea, contract_id=contract.pk, reason="A replacement.")
    again = escrow_hold_request(buyer=bea, contract_id=contract.pk, reason="Again.")
    assert again.pk == first.pk
    assert escrow_returns_run(now=ended_at + timedelta(hours=73)) == 0
    assert _sums("escrow") == 50000
    assert EscrowHold.objects.count() == 1
    assert len(events_of(contract, "escrow_hold_requested")) == 1


def test_granting_twice_posts_once(deal: Any) -> None:
    bea, _, contract = deal
    contract, _ = _withdrawn(deal)
    sam, _ = staff_member()
    hold = escrow_hold_request(buyer=bea, contract_id=contract.pk, reason="A replacement.")
    escrow_hold_grant(staff=sam, hold_id=hold.pk)
    again = escrow_hold_grant(staff=sam, hold_id=hold.pk)
    assert again.state == "granted"
    assert len(events_of(contract, "escrow_hold_granted")) == 1


def test_a_hold_is_refused_on_an_active_contract_to_the_provider_and_after_the_return(
    deal: Any,
) -> None:
    bea, pia, contract = deal
    bea_client = client_of(bea)
    url = f"/api/contracts/{contract.pk}/escrow-hold/"
    # an active contract
    active = money(bea_client, url, {"reason": "Keep it."}, "h-1")
    assert (active.status_code, active.json()["error"]["code"]) == (409, "closed")
    contract, ended_at = _withdrawn(deal)
    # the provider
    by_provider = money(client_of(pia), url, {"reason": "Keep it."}, "h-2")
    assert (by_provider.status_code, by_provider.json()["error"]["code"]) == (403, "forbidden")
    # no reason
    no_reason = money(bea_client, url, {"reason": "  "}, "h-3")
    assert (no_reason.status_code, no_reason.json()["error"]["code"]) == (400, "invalid")
    # once the escrow went back
    escrow_returns_run(now=ended_at + timedelta(hours=72))
    too_late = money(bea_client, url, {"reason": "Keep it."}, "h-4")
    assert (too_late.status_code, too_late.json()["error"]["code"]) == (409, "closed")
    assert not EscrowHold.objects.exists()
    assert events_of(contract, "escrow_hold_requested") == []


def test_granting_a_hold_takes_staff_with_mfa(deal: Any) -> None:
    # given a requested hold
    bea, pia, contract = deal
    contract, _ = _withdrawn(deal)
    hold = escrow_hold_request(buyer=bea, contract_id=contract.pk, reason="A replacement.")
    url = f"/api/staff/escrow-holds/{hold.pk}/grant/"
    _, without_mfa = staff_member("nomfa", mfa=False)
    # when staff without MFA, the buyer and the provider try to grant it
    refused = money(without_mfa, url, {}, "g-1")
    by_buyer = money(client_of(bea), url, {}, "g-2")
    by_provider = money(client_of(pia), url, {}, "g-3")
    # then each is refused, and the hold is still only requested
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "mfa_required")
    assert (by_buyer.status_code, by_provider.status_code) == (403, 403)
    assert EscrowHold.objects.get().state == "requested"
    assert events_of(contract, "escrow_hold_granted") == []
    # and with MFA it is granted
    _, with_mfa = staff_member()
    assert money(with_mfa, url, {}, "g-4").json()["state"] == "granted"


def test_a_released_hold_cannot_be_granted(deal: Any) -> None:
    bea, _, contract = deal
    contract, _ = _withdrawn(deal)
    sam, sam_client = staff_member()
    hold = escrow_hold_request(buyer=bea, contract_id=contract.pk, reason="A replacement.")
    escrow_hold_release(staff=sam, hold_id=hold.pk)
    refused = money(sam_client, f"/api/staff/escrow-holds/{hold.pk}/grant/", {}, "g-1")
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "closed")
    assert EscrowHold.objects.get().state == "released"


# -- the management command -------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_command_runs_every_schedule(
    taxonomy: None, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    # given, on one contract, an invoice due in a day and one past due; on another, a
    # withdrawal 73 hours ago with escrow
    bea, pia = buyer("bea"), verified_provider()
    bea.email = "bea@example.com"
    bea.save(update_fields=["email"])
    now = timezone.now()
    contract = funded_contract(bea, pia)
    soon, due = invoice_of(pia, contract, 10000), invoice_of(pia, contract, 20000)
    Invoice.objects.filter(pk=soon.pk).update(due_at=now + timedelta(days=1))
    Invoice.objects.filter(pk=due.pk).update(due_at=now - timedelta(minutes=1))
    left = funded_contract(bea, pia, amount=30000)
    contract_end(user=pia, contract_id=left.pk, outcome="withdrawn")
    Contract.objects.filter(pk=left.pk).update(ended_at=now - timedelta(hours=73))
    # when the command runs (in autocommit, as from cron), twice
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("run_schedules", stdout=out)
        call_command("run_schedules", stdout=out)
    # then it reminded, paid and returned, once each
    assert out.getvalue().splitlines() == [
        "1 invoices reminded, 1 paid automatically, escrow returned on 1 contracts, "
        "0 disputes past their deadline, 0 pending refunds sent, 0 users queued for fraud risk, "
        "0 conversations closed and 0 shredded, 0 users announced offline.",
        "0 invoices reminded, 0 paid automatically, escrow returned on 0 contracts, "
        "0 disputes past their deadline, 0 pending refunds sent, 0 users queued for fraud risk, "
        "0 conversations closed and 0 shredded, 0 users announced offline.",
    ]
    assert dict(Invoice.objects.values_list("pk", "state")) == {
        soon.pk: "issued",
        due.pk: "paid",
    }
    assert [e.data["invoice"] for e in events_of(contract, "invoice_reminder")] == [soon.pk]
    assert len(mailoutbox) == 1
    assert [e.data["amount"] for e in events_of(left, "escrow_returned")] == [30000]
    assert _sums("refunds_out") == 30000
