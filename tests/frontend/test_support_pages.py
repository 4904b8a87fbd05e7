"""The support console and a member's standing, through Django's test client: who may come,
the queue's order, the audited read of a case file, actions and their banners, appeals, bans
and help (docs/support-console.md)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.test import Client
from django.utils import timezone

from accounts.models import User
from chatbox.models import Conversation, Event, Participant
from chatbox.services import message_delete, message_edit, message_send, participant_add
from invoices.models import LedgerTransaction
from projects import listings
from projects.taxonomy import taxonomy_sync
from reports.actions import account_action_take, appeal_submit
from reports.cases import case_close, report_submit
from reports.disputes import dispute_escalate, dispute_open
from reports.models import AccountAction, Appeal, Case, CaseNote, Dispute, EvidenceAccess
from tests.factories import UserFactory, conversation_between
from tests.invoices.snapshot import buyer_of, contract_of, fund, provider_of
from tests.projects.profiles import provider_with_profile

pytestmark = pytest.mark.django_db

TOTP_SECRET = "JBSWY3DPEHPK3PXP"
CONTACT_TEXT = "Call me on +44 20 7946 0958, it is cheaper off the platform"


# -- people and things, made through the services ------------------------------------------------


@pytest.fixture
def staff(db: None) -> User:
    """Support staff with a TOTP authenticator."""
    agent = UserFactory(username="sam", display_name="Sam Support", is_support=True)
    TOTP.activate(agent, TOTP_SECRET)
    return agent


@pytest.fixture
def bea(db: None) -> User:
    return UserFactory(username="bea", display_name="Bea Buyer", is_buyer=True)


@pytest.fixture
def pia(db: None) -> User:
    return UserFactory(username="pia", display_name="Pia Provider", is_provider=True)


@pytest.fixture
def chat(bea: User, pia: User) -> Conversation:
    return conversation_between(bea, pia, title="Bakery logo")


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def said(conversation: Conversation, sender: User, body: str) -> Event:
    return message_send(
        conversation_id=conversation.pk, sender=sender, client_id=uuid.uuid4(), body=body
    )


def reported_message(
    conversation: Conversation, reporter: User, sender: User, reason: str = "contact_details"
) -> Case:
    event = said(conversation, sender, CONTACT_TEXT)
    target = {"type": "message", "conversation": str(conversation.pk), "seq": event.seq}
    return report_submit(
        reporter=reporter, target=target, reason=reason, note="Wants my number"
    ).case


def html(response: Any) -> str:
    return str(response.content.decode())


def warn(staff: User, member: User, reason: str = "Do not share contact details.") -> AccountAction:
    return account_action_take(staff=staff, user_id=member.pk, action="warning", reason=reason)


# -- who may come ---------------------------------------------------------------------------------


def console_pages(case: Case) -> list[tuple[str, str]]:
    return [
        ("get", "/staff/cases/"),
        ("get", f"/staff/cases/{case.pk}/"),
        ("post", f"/staff/cases/{case.pk}/"),
        ("post", f"/staff/cases/{case.pk}/notes/"),
        ("post", f"/staff/cases/{case.pk}/close/"),
        ("post", f"/staff/cases/{case.pk}/hide/"),
        ("post", f"/staff/cases/{case.pk}/action/"),
        ("post", f"/staff/cases/{case.pk}/reply/"),
        ("get", "/staff/appeals/"),
    ]


def test_members_get_a_403_on_every_console_page_and_change_nothing(
    bea: User, pia: User, chat: Conversation
) -> None:
    # given an open case, and the reporter signed in
    case = reported_message(chat, bea, pia)
    client = client_of(bea)
    form = {
        "why": "curious",
        "text": "a note",
        "resolution": "done",
        "reason": "bad",
        "action": "ban",
        "body": "hi",
        "client_id": str(uuid.uuid4()),
    }
    for method, path in console_pages(case):
        # when
        response = getattr(client, method)(path, form) if method == "post" else client.get(path)
        # then
        assert response.status_code == 403, path
        assert "This page is for support staff." in html(response)
    case.refresh_from_db()
    assert case.is_open
    assert EvidenceAccess.objects.count() == 0
    assert CaseNote.objects.count() == 0
    assert AccountAction.objects.count() == 0
    assert User.objects.get(pk=pia.pk).standing == User.Standing.ACTIVE


def test_staff_without_mfa_are_sent_to_mfa_setup(bea: User, pia: User, chat: Conversation) -> None:
    case = reported_message(chat, bea, pia)
    client = client_of(UserFactory(username="nomfa", is_support=True))
    for path in ("/staff/cases/", f"/staff/cases/{case.pk}/", "/staff/appeals/"):
        response = client.get(path)
        assert response.status_code == 302
        assert (
            response["Location"] == f"/account/2fa/totp/activate/?next={path.replace('/', '%2F')}"
        )


def test_a_visitor_is_sent_to_sign_in_from_the_members_pages(client: Client) -> None:
    for path in ("/account/standing/", "/help/"):
        response = client.get(path)
        assert (response.status_code, response["Location"]) == (302, f"/?next={path}")


# -- the queue ------------------------------------------------------------------------------------


def test_the_queue_lists_the_most_urgent_first(staff: User, bea: User, pia: User) -> None:
    # given: an old case with one report, a newer one with two, and the newest, an emergency
    carl = UserFactory(username="carl", display_name="Carl Buyer", is_buyer=True)
    one = reported_message(conversation_between(bea, pia, title="First"), bea, pia, "spam")
    second_chat = conversation_between(bea, pia, title="Second")
    participant_add(conversation_id=second_chat.pk, user=carl, role=Participant.Role.MEMBER)
    two = reported_message(second_chat, bea, pia, "spam")
    report_submit(
        reporter=carl,
        target={"type": "message", "conversation": str(second_chat.pk), "seq": two.seq},
        reason="spam",
    )
    emergency = reported_message(
        conversation_between(bea, pia, title="Third"), bea, pia, "safety_emergency"
    )
    # when
    page = html(client_of(staff).get("/staff/cases/"))
    # then
    order = [int(found) for found in re.findall(r'href="/staff/cases/(\d+)/"', page)]
    assert order == [emergency.pk, two.pk, one.pk]
    assert '<strong class="state-tag state-tag--emergency">Safety emergency</strong>' in page
    assert "Message #" in page and "“Third”" in page
    assert "Pia Provider" in page


def test_the_staff_home_links_to_the_queue_and_appeals(staff: User) -> None:
    page = html(client_of(staff).get("/staff/"))
    assert '<a href="/staff/cases/">Cases</a>' in page
    assert '<a href="/staff/appeals/">Appeals</a>' in page


# -- the case file: the audited read --------------------------------------------------------------


def test_the_record_is_shown_only_after_a_reason_and_each_read_is_logged_once(
    staff: User, bea: User, pia: User, chat: Conversation
) -> None:
    # given
    case = reported_message(chat, bea, pia)
    client = client_of(staff)
    # when the agent opens the case
    asked = client.get(f"/staff/cases/{case.pk}/")
    # then the record is not there, the question is
    assert asked.status_code == 200
    assert "Why are you reading this conversation?" in html(asked)
    assert ">Reason for reading</label>" in html(asked)
    assert "7946" not in html(asked)
    assert EvidenceAccess.objects.count() == 0

    # when the agent sends no reason
    refused = client.post(f"/staff/cases/{case.pk}/", {"why": "  "})
    # then it is asked again, and nothing is read or logged
    assert refused.status_code == 400
    assert "Say why you read it." in html(refused)
    assert "7946" not in html(refused)
    assert EvidenceAccess.objects.count() == 0

    # when the agent gives a reason
    read = client.post(f"/staff/cases/{case.pk}/", {"why": "Checking the contact report"})
    # then the record is shown as sent, with the reports (reporter's name for staff only)
    page = html(read)
    assert read.status_code == 200
    assert CONTACT_TEXT in page
    assert "Reported message" in page
    assert "Wants my number" in page
    assert "by Bea Buyer (bea)" in page
    assert "Fraud score of Pia Provider" in page
    # and exactly one read is logged, with the case and the reason
    assert list(
        EvidenceAccess.objects.values_list("staff", "what", "object_id", "case", "why")
    ) == [(staff.pk, "conversation", str(chat.pk), case.pk, "Checking the contact report")]

    # when the agent reads again
    client.post(f"/staff/cases/{case.pk}/", {"why": "Second look"})
    # then that is a second logged read
    assert list(EvidenceAccess.objects.values_list("why", flat=True)) == [
        "Checking the contact report",
        "Second look",
    ]


def test_the_record_shows_edits_and_deletions_as_their_own_rows(
    staff: User, bea: User, pia: User, chat: Conversation
) -> None:
    # given an edited and a deleted message before the reported one
    first = said(chat, pia, "first words")
    message_edit(
        conversation_id=chat.pk,
        editor=pia,
        client_id=uuid.uuid4(),
        seq=first.seq,
        body="second words",
    )
    gone = said(chat, pia, "regretted words")
    message_delete(conversation_id=chat.pk, by=pia, client_id=uuid.uuid4(), seq=gone.seq)
    case = reported_message(chat, bea, pia)
    # when
    page = html(client_of(staff).post(f"/staff/cases/{case.pk}/", {"why": "Context"}))
    # then
    for text in ("first words", "second words", "regretted words"):
        assert text in page
    assert f"edit of #{first.seq}" in page
    assert f"deleted #{gone.seq}" in page


def test_a_closed_cases_record_is_refused_and_not_logged(
    staff: User, bea: User, pia: User, chat: Conversation
) -> None:
    # given
    case = reported_message(chat, bea, pia)
    case_close(staff=staff, case_id=case.pk, resolution="Warned")
    client = client_of(staff)
    # when
    shown = client.get(f"/staff/cases/{case.pk}/")
    refused = client.post(f"/staff/cases/{case.pk}/", {"why": "Curious"})
    # then
    assert shown.status_code == 200
    assert "The case is closed: its conversation is no longer readable." in html(shown)
    assert "Reason for reading" not in html(shown)
    assert refused.status_code == 409
    assert "The case is closed: its conversation is no longer readable." in html(refused)
    assert "7946" not in html(refused)
    assert EvidenceAccess.objects.count() == 0


def test_a_missing_case_is_a_404(staff: User) -> None:
    assert client_of(staff).get("/staff/cases/999/").status_code == 404


def test_a_case_without_a_conversation_shows_its_file_without_asking(
    staff: User, bea: User, pia: User
) -> None:
    # given a report of a listing
    taxonomy_sync()
    buyer_two = UserFactory(username="otto", display_name="Otto Owner", is_buyer=True)
    project = listings.project_post(
        buyer=buyer_two,
        title="Bakery logo",
        description="A logo.",
        category="design",
        skills=["logo-design"],
        budget=listings.Budget(amount=50000, currency="EUR"),
    )
    case = report_submit(
        reporter=pia, target={"type": "project", "id": project.pk}, reason="scam"
    ).case
    # when
    page = client_of(staff).get(f"/staff/cases/{case.pk}/")
    # then
    assert page.status_code == 200
    assert "Listing “Bakery logo”" in html(page)
    assert "Reason for reading" not in html(page)
    assert ">Apply action</button>" in html(page)
    assert EvidenceAccess.objects.count() == 0


# -- actions from the case file -------------------------------------------------------------------


def test_a_warning_from_the_case_file_is_recorded_and_shown_to_the_member(
    staff: User, bea: User, pia: User, chat: Conversation
) -> None:
    # given
    case = reported_message(chat, bea, pia)
    client = client_of(staff)
    # when
    response = client.post(
        f"/staff/cases/{case.pk}/action/",
        {"action": "warning", "until": "", "reason": "Keep contact details off the chat."},
    )
    # then
    assert (response.status_code, response["Location"]) == (302, f"/staff/cases/{case.pk}/")
    action = AccountAction.objects.get()
    assert (action.user, action.kind, action.case, action.by, action.until) == (
        pia,
        "warning",
        case,
        staff,
        None,
    )
    assert User.objects.get(pk=pia.pk).standing == User.Standing.ACTIVE
    after = client.get(f"/staff/cases/{case.pk}/")
    assert "Pia Provider is warned." in html(after)


def test_a_suspension_from_the_case_file_suspends_until_the_given_time(
    staff: User, bea: User, pia: User, chat: Conversation
) -> None:
    # given
    case = reported_message(chat, bea, pia)
    until = (timezone.now() + timedelta(days=7)).replace(second=0, microsecond=0)
    # when
    client_of(staff).post(
        f"/staff/cases/{case.pk}/action/",
        {"action": "suspension", "until": until.strftime("%Y-%m-%dT%H:%M"), "reason": "Scam"},
    )
    # then
    suspended = User.objects.get(pk=pia.pk)
    assert suspended.is_suspended
    assert suspended.suspended_until == until
    assert AccountAction.objects.get().until == until


def test_a_suspension_without_an_end_is_refused_and_nothing_happens(
    staff: User, bea: User, pia: User, chat: Conversation
) -> None:
    case = reported_message(chat, bea, pia)
    client = client_of(staff)
    response = client.post(
        f"/staff/cases/{case.pk}/action/", {"action": "suspension", "until": "", "reason": "x"}
    )
    assert response.status_code == 302
    assert "Give the date and time the suspension ends." in html(
        client.get(f"/staff/cases/{case.pk}/")
    )
    assert AccountAction.objects.count() == 0
    assert User.objects.get(pk=pia.pk).standing == User.Standing.ACTIVE


def test_an_action_without_a_reason_is_refused_with_the_services_message(
    staff: User, bea: User, pia: User, chat: Conversation
) -> None:
    case = reported_message(chat, bea, pia)
    client = client_of(staff)
    client.post(f"/staff/cases/{case.pk}/action/", {"action": "ban", "reason": " "})
    assert "Say why: the member is shown the reason." in html(
        client.get(f"/staff/cases/{case.pk}/")
    )
    assert AccountAction.objects.count() == 0
    assert User.objects.get(pk=pia.pk).standing == User.Standing.ACTIVE


def test_notes_hiding_and_closing_from_the_case_file(
    staff: User, bea: User, pia: User, chat: Conversation
) -> None:
    # given
    case = reported_message(chat, bea, pia)
    client = client_of(staff)
    # when
    client.post(f"/staff/cases/{case.pk}/notes/", {"text": "Second report this month."})
    client.post(f"/staff/cases/{case.pk}/hide/", {"reason": "Phone number"})
    closed = client.post(f"/staff/cases/{case.pk}/close/", {"resolution": "Hidden and warned"})
    # then
    assert list(CaseNote.objects.values_list("case", "author", "text")) == [
        (case.pk, staff.pk, "Second report this month.")
    ]
    assert Event.objects.get(conversation=chat, seq=case.seq).hidden_at is not None
    assert (closed.status_code, closed["Location"]) == (302, "/staff/cases/")
    case.refresh_from_db()
    assert (case.status, case.closed_by, case.resolution) == ("closed", staff, "Hidden and warned")


def test_support_answers_a_help_request_from_the_case_file(staff: User, bea: User) -> None:
    # given the member asked for help
    client = client_of(bea)
    conversation_url = client.post("/help/")["Location"]
    case = Case.objects.get(kind="help")
    staff_client = client_of(staff)
    form = html(staff_client.post(f"/staff/cases/{case.pk}/", {"why": "Answering"}))
    assert ">Reply to member</label>" in form
    client_id = re.search(r'name="client_id" value="([0-9a-f-]+)"', form)
    assert client_id is not None
    # when the agent sends the reply twice (the form sent again)
    for _ in range(2):
        staff_client.post(
            f"/staff/cases/{case.pk}/reply/",
            {"client_id": client_id.group(1), "body": "Hello Bea, how can we help?"},
        )
    # then the member's help conversation has it once, from the agent
    texts = Event.objects.filter(conversation=case.conversation, sender=staff, kind="text")
    assert texts.count() == 1
    assert conversation_url == f"/conversations/{case.conversation_id}/"


# -- what the member sees -------------------------------------------------------------------------


def test_a_warned_member_sees_the_banner_with_the_reason_on_every_page(
    staff: User, pia: User
) -> None:
    # given
    warn(staff, pia, "Keep contact details off the chat.")
    client = client_of(pia)
    for path in ("/", "/projects/", "/account/standing/"):
        # when
        page = html(client.get(path))
        # then
        banner = re.search(r'<div class="standing-banner" role="alert">(.*?)</div>', page, re.S)
        assert banner is not None, path
        assert "Warning from support:</strong> Keep contact details off the chat." in banner[1]
        assert '<a href="/account/standing/">' in banner[1]


def test_a_suspended_member_sees_the_end_of_the_suspension(staff: User, pia: User) -> None:
    until = timezone.now() + timedelta(days=3)
    account_action_take(
        staff=staff, user_id=pia.pk, action="suspension", reason="Scam", until=until.isoformat()
    )
    page = html(client_of(pia).get("/"))
    assert "Your account is suspended until" in page
    assert f"{until:%-d %B %Y, %H:%M} UTC</time>:</strong> Scam</p>" in page


def test_no_banner_for_an_old_warning_or_a_lifted_one(staff: User, pia: User, bea: User) -> None:
    # given a warning of 31 days ago, and one overturned on appeal
    old = warn(staff, pia, "Long ago")
    AccountAction.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=31))
    lifted = warn(staff, bea, "Mistaken")
    AccountAction.objects.filter(pk=lifted.pk).update(lifted_at=timezone.now())
    # then
    for member in (pia, bea):
        assert "standing-banner" not in html(client_of(member).get("/"))
    # and the standing page still lists them
    assert "Long ago" in html(client_of(pia).get("/account/standing/"))


def test_a_member_appeals_once_and_a_second_appeal_is_refused(staff: User, pia: User) -> None:
    # given
    action = warn(staff, pia)
    client = client_of(pia)
    form = html(client.get("/account/standing/"))
    assert ">Why should this be lifted?</label>" in form
    assert ">Send appeal</button>" in form
    # when
    sent = client.post(f"/account/standing/{action.pk}/appeal/", {"text": "It was my address."})
    # then
    assert (sent.status_code, sent["Location"]) == (302, "/account/standing/")
    page = html(client.get("/account/standing/"))
    assert "Your appeal is sent. Support will answer here." in page
    assert "It was my address." in page and ">Pending</span>" in page
    assert ">Send appeal</button>" not in page
    # when the member appeals again (a page from before)
    again = client.post(f"/account/standing/{action.pk}/appeal/", {"text": "Please!"})
    # then
    assert again.status_code == 409
    assert "You appealed this action already: one appeal each." in html(again)
    assert list(Appeal.objects.values_list("text", flat=True)) == ["It was my address."]


def test_an_empty_appeal_is_refused_and_kept_as_typed(staff: User, pia: User) -> None:
    action = warn(staff, pia)
    response = client_of(pia).post(f"/account/standing/{action.pk}/appeal/", {"text": " "})
    assert response.status_code == 400
    assert "Say why the action should be lifted." in html(response)
    assert Appeal.objects.count() == 0


def test_another_members_action_cannot_be_appealed(staff: User, pia: User, bea: User) -> None:
    action = warn(staff, pia)
    response = client_of(bea).post(f"/account/standing/{action.pk}/appeal/", {"text": "Mine"})
    assert response.status_code == 404
    assert Appeal.objects.count() == 0


def test_support_overturns_an_appeal_and_the_suspension_is_lifted(staff: User, pia: User) -> None:
    # given a suspended member who appealed
    until = timezone.now() + timedelta(days=3)
    action = account_action_take(
        staff=staff, user_id=pia.pk, action="suspension", reason="Scam", until=until.isoformat()
    )
    appeal = appeal_submit(user=pia, action_id=action.pk, text="It was not me.")
    client = client_of(staff)
    assert "It was not me." in html(client.get("/staff/appeals/"))
    # when
    response = client.post(
        f"/staff/appeals/{appeal.pk}/decision/",
        {"decision": "overturn", "answer": "You are right, sorry."},
    )
    # then
    assert (response.status_code, response["Location"]) == (302, "/staff/appeals/")
    assert "No appeal waits for an answer." in html(client.get("/staff/appeals/"))
    assert User.objects.get(pk=pia.pk).standing == User.Standing.ACTIVE
    member_page = html(client_of(pia).get("/account/standing/"))
    assert "You are right, sorry." in member_page
    assert "standing-banner" not in member_page


# -- bans -----------------------------------------------------------------------------------------


def test_a_banned_member_is_signed_out_on_the_next_request(
    staff: User, bea: User, pia: User, chat: Conversation
) -> None:
    # given the provider signed in, and banned from a case meanwhile
    case = reported_message(chat, bea, pia)
    client = client_of(pia)
    assert client.get("/api/auth/me/").status_code == 200
    client_of(staff).post(
        f"/staff/cases/{case.pk}/action/", {"action": "ban", "reason": "Repeated scams."}
    )
    # when
    response = client.get("/projects/")
    # then the page says so, with the reason, and the session no longer authenticates
    assert response.status_code == 403
    assert "This account is banned" in html(response)
    assert "Repeated scams." in html(response)
    assert "_auth_user_id" not in client.session
    assert client.get("/api/auth/me/").status_code == 401


def test_a_banned_members_api_call_is_refused_in_the_error_shape(staff: User, pia: User) -> None:
    client = client_of(pia)
    account_action_take(staff=staff, user_id=pia.pk, action="ban", reason="Fraud")
    response = client.get("/api/account/actions/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "banned"
    assert "Fraud" in response.json()["error"]["message"]
    assert client.get("/api/auth/me/").status_code == 401


def test_a_banned_member_appeals_once_from_the_banned_page(staff: User, pia: User) -> None:
    # given a banned member who comes back
    client = client_of(pia)
    ban = account_action_take(staff=staff, user_id=pia.pk, action="ban", reason="Fraud")
    page = html(client.get("/projects/"))
    token = re.search(r'name="token" value="([^"]+)"', page)
    assert token is not None
    # when they appeal from the banned page (signed out by now), twice
    sent = client.post("/account/banned/appeal/", {"token": token[1], "text": "Not me."})
    again = client.post("/account/banned/appeal/", {"token": token[1], "text": "Again."})
    # then one appeal is taken, and the page no longer offers the form
    assert "Your appeal is sent." in html(sent)
    assert "You have appealed this ban" in html(again)
    assert 'name="token"' not in html(again)
    assert list(Appeal.objects.values_list("action", "text")) == [(ban.pk, "Not me.")]
    # and a forged token appeals nothing
    forged = client.post("/account/banned/appeal/", {"token": "x", "text": "Forged."})
    assert forged.status_code == 400
    assert Appeal.objects.count() == 1


# -- help and reporting -------------------------------------------------------------------------


def test_help_opens_one_conversation_and_one_help_case(bea: User) -> None:
    # given
    client = client_of(bea)
    assert '<form method="post" action="/help/">' in html(client.get("/"))
    # when the member asks twice
    first = client.post("/help/")
    second = client.post("/help/")
    # then one conversation, one help case, and both lead there
    case = Case.objects.get()
    assert (case.kind, case.subject, case.status) == ("help", bea, "open")
    assert first["Location"] == second["Location"] == f"/conversations/{case.conversation_id}/"
    assert Conversation.objects.filter(title="Help: Bea Buyer").count() == 1
    assert client.get(first["Location"]).status_code == 200


def test_staff_get_no_help_button(staff: User) -> None:
    assert 'action="/help/"' not in html(client_of(staff).get("/staff/"))


def test_the_report_dialog_is_on_profiles_projects_and_conversations(
    bea: User, chat: Conversation
) -> None:
    taxonomy_sync()
    provider = provider_with_profile("rita", display_name="Rita Provider")
    project = listings.project_post(
        buyer=UserFactory(username="otto", is_buyer=True),
        title="Bakery logo",
        description="A logo.",
        category="design",
        skills=["logo-design"],
        budget=listings.Budget(amount=50000, currency="EUR"),
    )
    client = client_of(bea)
    for path, opener in (
        ("/profiles/rita/", f'data-report-type="user" data-report-id="{provider.pk}"'),
        (f"/projects/{project.pk}/", f'data-report-type="project" data-report-id="{project.pk}"'),
        (f"/conversations/{chat.pk}/", ""),
    ):
        page = html(client.get(path))
        assert opener in page, path
        assert '<label class="field__label" for="report-reason">Reason</label>' in page
        assert '<option value="contact_details">Shares contact details</option>' in page
        assert '<option value="safety_emergency">Safety emergency</option>' in page
        assert '<label class="field__label" for="report-note">Note</label>' in page
        assert ">Send report</button>" in page
    # the owner of a profile is not offered to report themselves
    assert "data-report-dialog" not in html(client_of(provider).get("/profiles/rita/"))


# -- arbitration --------------------------------------------------------------------------------


def test_the_arbitrator_decides_a_dispute_from_the_case_file(staff: User, taxonomy: None) -> None:
    # given a dispute of 500.00 EUR taken to arbitration
    contract = contract_of(buyer_of("ben"), provider_of("paz"))
    fund(contract, 50000)
    dispute = dispute_open(
        user=contract.buyer, contract_id=contract.pk, reason="Not delivered", amount=50000
    )
    client = client_of(staff)
    url = f"/staff/cases/{dispute.case_id}/decide/"
    # a decision before arbitration is refused with the service's words, and moves nothing
    early = client.post(url, {"refund": "250", "release": "250", "reason": "Split."}, follow=True)
    assert "In direct resolution, nobody can" in html(early)
    for _ in range(2):
        dispute_escalate(user=contract.buyer, dispute_id=dispute.pk)
    # amounts that are no amounts, or do not add up, are refused
    bad = client.post(url, {"refund": "x", "release": "250", "reason": "Split."}, follow=True)
    assert "Give both amounts in EUR" in html(bad)
    uneven = client.post(url, {"refund": "100", "release": "100", "reason": "Split."}, follow=True)
    assert "add up" in html(uneven)
    assert not LedgerTransaction.objects.filter(kind="settlement").exists()
    # when the arbitrator decides 250.00 each way
    done = client.post(url, {"refund": "250.00", "release": "250", "reason": "Half delivered."})
    # then the dispute is resolved and executed
    assert done.status_code == 302
    dispute.refresh_from_db()
    assert (dispute.stage, dispute.outcome, dispute.refund, dispute.release) == (
        "resolved",
        "decided",
        25000,
        25000,
    )
    assert LedgerTransaction.objects.filter(kind="settlement").count() == 1


def test_a_party_opens_a_dispute_on_the_contract_page(taxonomy: None) -> None:
    # given a funded contract
    contract = contract_of(buyer_of("ben"), provider_of("paz"))
    fund(contract, 30000)
    client = client_of(contract.buyer)
    page = html(client.get(f"/contracts/{contract.pk}/"))
    assert "Open a dispute" in page
    url = f"/contracts/{contract.pk}/dispute/"
    # refused: no reason, more than escrow holds; nothing is frozen
    assert client.post(url, {"reason": "", "amount": "10"}).status_code == 400
    too_much = client.post(url, {"reason": "Late", "amount": "400"})
    assert too_much.status_code == 409
    assert not Dispute.objects.exists()
    # when the buyer disputes 100.00, and sends the form again
    opened = client.post(url, {"reason": "Late and incomplete", "amount": "100"})
    again = client.post(url, {"reason": "Late and incomplete", "amount": "100"})
    # then one dispute freezes 100.00, the chat carries it, and the page says so
    assert opened.status_code == 302
    assert opened["Location"] == f"/conversations/{contract.engagement.conversation_id}/"
    assert again.status_code in (400, 409)
    dispute = Dispute.objects.get()
    assert (dispute.amount, dispute.stage, dispute.opened_by) == (10000, "direct", contract.buyer)
    assert "A dispute is open" in html(client.get(f"/contracts/{contract.pk}/"))
    # and a stranger cannot
    assert client_of(buyer_of("oz")).post(url, {"reason": "x", "amount": "1"}).status_code == 404
