"""Trust and safety in the web app: the support console, and a member's standing and help.

The console (``/staff/cases/``, ``/staff/appeals/``) is for support staff with MFA
(``staff_page``; ``accounts.middleware.StaffMFAMiddleware`` guards ``/staff/``). A member's side
is ``/account/standing/`` (the actions on their account, and one appeal each) and ``/help/``
(their conversation with the support team). Everything goes through the services of
``reports.cases``, ``reports.actions`` and ``reports.helpdesk``; the conversation's record is
decrypted only by ``case_file_read``, which logs each read with the reason the agent gives.
Forms post to their own URL and redirect (post/redirect/get) with a notice; a refusal comes
back as a notice too, or, on the member's pages, as the page again with the error at its form.
See docs/support-console.md.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.errors import http_status
from accounts.models import User
from chatbox.errors import ApplicationError, ErrorCode
from chatbox.redaction import REASONS as REDACTION_REASONS
from chatbox.redaction import REDACTABLE_KINDS
from frontend.middleware import BAN_APPEAL_MAX_AGE, BAN_APPEAL_SALT, banned_page
from frontend.staff_views import staff_page
from projects.money import format_amount, parse_major
from reports import actions, cases, disputes, helpdesk, privacy
from reports.models import AccountAction, Appeal, Case, Dispute, Reason
from reports.risk import SIGNALS, risk_of

WHY_MAX = cases.WHY_MAX
TEXT_MAX = cases.NOTE_MAX
MONEY_KINDS = {"invoice", "payment", "dispute"}
# The reasons "Remove text" offers, in chatbox.redaction's order; a reason added there without a
# label here fails at import, not in front of an agent.
REDACTION_LABELS = {
    "illegal_content": "Illegal content",
    "erasure_request": "Erasure request",
    "legal_order": "Legal order",
}
REDACTION_CHOICES = [(reason, REDACTION_LABELS[reason]) for reason in REDACTION_REASONS]


def _viewer(request: HttpRequest) -> User:
    return cast(User, request.user)


def _refusal_text(error: ApplicationError) -> str:
    """What a service's refusal says: the messages of the fields it names, else its message."""
    lines = [
        str(line) for value in error.extra.values() if isinstance(value, list) for line in value
    ]
    return " ".join(lines) or error.message


def _status(error: ApplicationError) -> int:
    return error.status or http_status(error.code)


def _found(error: ApplicationError) -> None:
    """A thing that is not there (or not for this viewer) is the 404 page."""
    if error.code == ErrorCode.NOT_FOUND:
        raise Http404(error.message) from error


# -- what the console shows of a case -------------------------------------------------------------


def money_at_stake(case: Case) -> str:
    if not case.money_at_stake or not case.currency:
        return "None"
    return format_amount(case.money_at_stake, case.currency)


def target_text(case: Case) -> str:
    """The case's target in words, for the queue and the case file's header."""
    title = case.conversation.title if case.conversation else ""
    subject = case.subject.name if case.subject else "a deleted member"
    if case.kind == Case.Kind.RISK:
        return f"Fraud signals of {subject}"
    if case.target_type == Case.TargetType.MESSAGE:
        return f"Message #{case.seq} in “{title}”"
    if case.target_type == Case.TargetType.PROJECT:
        return f"Listing “{case.project.title}”" if case.project else "A listing"
    if case.target_type == Case.TargetType.USER:
        return f"Member {subject}"
    return f"Conversation “{title}”" if title else case.get_target_type_display()


@dataclass(frozen=True)
class QueueRow:
    case: Case
    target: str
    money: str
    fraud_score: int
    emergency: bool


@dataclass(frozen=True)
class RecordRow:
    """One event of the conversation's record, as the case file shows it."""

    seq: int
    kind: str
    sender: str
    at: datetime | None
    body: str
    target_seq: int | None
    hidden: bool
    redacted: bool  # support removed its text: the record has none left to show
    contact_details: list[str]
    data: list[tuple[str, str]]
    reported: bool
    removable: bool  # "Remove text" (case-file.js) may be offered: an open case's message
    download_url: str  # a file message's file through the case, logged with the read's reason


@dataclass(frozen=True)
class SignalRow:
    label: str
    count: int
    points: int


def _data_items(data: Any) -> list[tuple[str, str]]:
    if not isinstance(data, dict):
        return []
    return [
        (str(key), value if isinstance(value, str) else json.dumps(value, sort_keys=True))
        for key, value in data.items()
    ]


def _file_download_url(case: Case, event: dict[str, Any], *, why: str) -> str:
    """The staff file API's link for a file message whose bytes are still kept; "" otherwise.
    It carries the reason the agent gave for this read: each download is logged with it."""
    data = event.get("data")
    file_id = data.get("file") if isinstance(data, dict) else None
    if event.get("kind") != "file" or not isinstance(file_id, str) or not file_id:
        return ""
    path = reverse("api-case-chat-file", kwargs={"case_id": case.pk, "file_id": file_id})
    return f"{path}?{urlencode({'why': why})}"


def _record_rows(case: Case, timeline: list[dict[str, Any]], *, why: str) -> list[RecordRow]:
    rows = []
    for event in timeline:
        sender = event.get("sender")
        kind = str(event.get("kind", ""))
        created = event.get("created_at")
        redacted = bool(event.get("redacted"))
        # A removed text, or a shredded record's, leaves nothing to remove or download.
        kept = case.is_open and not redacted and not event.get("shredded")
        rows.append(
            RecordRow(
                seq=int(event["seq"]),
                kind=kind,
                sender=sender["name"] if sender else "Chatbox",
                at=parse_datetime(created) if isinstance(created, str) else None,
                body=str(event.get("body") or ""),
                target_seq=event.get("target_seq"),
                hidden=bool(event.get("hidden")),
                redacted=redacted,
                contact_details=list(event.get("contact_details") or []),
                # Money and system events are their data; a text's data is its presentation.
                data=_data_items(event.get("data")) if kind in MONEY_KINDS else [],
                reported=case.target_type == Case.TargetType.MESSAGE and event["seq"] == case.seq,
                removable=kept and kind in REDACTABLE_KINDS,
                download_url=_file_download_url(case, event, why=why) if kept else "",
            )
        )
    return rows


def _signals(user_id: int | None) -> tuple[int | None, list[SignalRow]]:
    if user_id is None:
        return None, []
    risk = risk_of(user_ids=[user_id])[user_id]
    rows = [
        SignalRow(label=SIGNALS[kind].label, count=risk.counts[kind], points=points)
        for kind, points in risk.points.items()
    ]
    return risk.score, rows


# -- the queue ------------------------------------------------------------------------------------


@require_GET
@staff_page
def case_queue(request: HttpRequest) -> HttpResponse:
    rows = [
        QueueRow(
            case=entry.case,
            target=target_text(entry.case),
            money=money_at_stake(entry.case),
            fraud_score=entry.fraud_score,
            emergency=entry.case.reason == Reason.SAFETY_EMERGENCY,
        )
        for entry in cases.case_queue(staff=_viewer(request))
    ]
    return render(request, "frontend/support/queue.html", {"rows": rows})


# -- the case file --------------------------------------------------------------------------------


def _case_or_404(staff: User, case_id: int) -> Case:
    try:
        return cases.case_for_staff(staff=staff, case_id=case_id)
    except ApplicationError as error:
        _found(error)
        raise


def _ask_why(
    request: HttpRequest, case: Case, *, why: str = "", error: str = "", status: int = 200
) -> HttpResponse:
    """The case's header and the question an agent answers before the record is decrypted."""
    context = {
        "case": case,
        "target": target_text(case),
        "money": money_at_stake(case),
        "why": why,
        "why_error": error if status == 400 else "",
        "refusal": error if status != 400 else "",
        "why_max": WHY_MAX,
    }
    return render(request, "frontend/support/case_ask.html", context, status=status)


@dataclass(frozen=True)
class DisputeView:
    dispute: Dispute
    amount: str
    deciding: bool  # in arbitration: the case file offers the decision


def _dispute_of(case: Case) -> DisputeView | None:
    dispute = Dispute.objects.filter(case=case).first() if case.kind == Case.Kind.DISPUTE else None
    if dispute is None:
        return None
    return DisputeView(
        dispute=dispute,
        amount=format_amount(dispute.amount, dispute.currency),
        deciding=dispute.stage == Dispute.Stage.ARBITRATION,
    )


def _case_file(request: HttpRequest, found: cases.CaseFile, *, why: str) -> HttpResponse:
    staff = _viewer(request)
    case = found.case
    score, signals = _signals(case.subject_id)
    rows = _record_rows(case, found.timeline, why=why)
    subject = case.subject
    context = {
        "case": case,
        "target": target_text(case),
        "money": money_at_stake(case),
        "why": why,
        "record": rows,
        "reports": found.reports,
        "notes": found.notes,
        "related": [(related, target_text(related)) for related in found.related],
        "fraud_score": score,
        "signals": signals,
        "subject_actions": list(actions.account_actions_for_staff(staff=staff, user_id=subject.pk))
        if subject
        else [],
        "may_act_on_subject": subject is not None and not subject.is_staff_member,
        "may_hide": case.is_open
        and case.target_type == Case.TargetType.MESSAGE
        and not any(row.reported and row.hidden for row in rows),
        "is_help": case.kind == Case.Kind.HELP,
        "dispute": _dispute_of(case),
        "reply_client_id": uuid.uuid4(),
        "action_kinds": AccountAction.Kind.choices,
        "text_max": TEXT_MAX,
        "why_max": WHY_MAX,
        "time_zone": timezone.get_current_timezone_name(),
        "redaction_reasons": REDACTION_CHOICES,
        "may_remove_text": any(row.removable for row in rows),
    }
    return render(request, "frontend/support/case_file.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page
def case_page(request: HttpRequest, case_id: int) -> HttpResponse:
    """GET: a case on a conversation asks why first; any other case has nothing encrypted and
    shows its file at once. POST ``why``: the audited read, then the file."""
    staff = _viewer(request)
    case = _case_or_404(staff, case_id)
    if request.method != "POST" and case.conversation_id is not None:
        return _ask_why(request, case)
    why = str(request.POST.get("why", "")) if request.method == "POST" else ""
    try:
        found = cases.case_file_read(staff=staff, case_id=case.pk, why=why)
    except ApplicationError as error:
        _found(error)
        return _ask_why(request, case, why=why, error=_refusal_text(error), status=_status(error))
    return _case_file(request, found, why=why)


def _back_to_case(case_id: int) -> HttpResponse:
    return redirect("support:case", case_id=case_id)


def _refused(request: HttpRequest, error: ApplicationError, case_id: int) -> HttpResponse:
    _found(error)
    messages.error(request, _refusal_text(error))
    return _back_to_case(case_id)


@require_POST
@staff_page
def case_note(request: HttpRequest, case_id: int) -> HttpResponse:
    try:
        cases.case_note_add(
            staff=_viewer(request), case_id=case_id, text=str(request.POST.get("text", ""))
        )
    except ApplicationError as error:
        return _refused(request, error, case_id)
    messages.success(request, "Note added.")
    return _back_to_case(case_id)


@require_POST
@staff_page
def case_close(request: HttpRequest, case_id: int) -> HttpResponse:
    try:
        cases.case_close(
            staff=_viewer(request),
            case_id=case_id,
            resolution=str(request.POST.get("resolution", "")),
        )
    except ApplicationError as error:
        return _refused(request, error, case_id)
    messages.success(request, f"Case {case_id} is closed.")
    return redirect("support:cases")


@require_POST
@staff_page
def case_hide(request: HttpRequest, case_id: int) -> HttpResponse:
    try:
        cases.message_hide(
            staff=_viewer(request), case_id=case_id, reason=str(request.POST.get("reason", ""))
        )
    except ApplicationError as error:
        return _refused(request, error, case_id)
    messages.success(request, "The message is hidden from the conversation.")
    return _back_to_case(case_id)


def _until_from_form(text: str) -> str | None:
    """A ``datetime-local`` value (no zone: the site's time zone) as the ISO 8601 moment the
    service takes; None when it is no date and time."""
    moment = parse_datetime(text.strip()) if text.strip() else None
    if moment is None:
        return None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_current_timezone())
    return moment.isoformat()


def _action_done(action: AccountAction) -> str:
    name = action.user.name
    if action.kind == AccountAction.Kind.SUSPENSION and action.until:
        until = timezone.localtime(action.until).strftime("%d %b %Y, %H:%M")
        return f"{name} is suspended until {until}."
    if action.kind == AccountAction.Kind.BAN:
        return f"{name} is banned."
    return f"{name} is warned."


@require_POST
@staff_page
def case_action(request: HttpRequest, case_id: int) -> HttpResponse:
    """Warn, suspend or ban the case's subject, on this case."""
    staff = _viewer(request)
    case = _case_or_404(staff, case_id)
    if case.subject_id is None:
        messages.error(request, "This case names nobody to act on.")
        return _back_to_case(case_id)
    kind = str(request.POST.get("action", ""))
    until: str | None = None
    if kind == AccountAction.Kind.SUSPENSION:
        until = _until_from_form(str(request.POST.get("until", "")))
        if until is None:
            messages.error(request, "Give the date and time the suspension ends.")
            return _back_to_case(case_id)
    try:
        taken = actions.account_action_take(
            staff=staff,
            user_id=case.subject_id,
            action=kind,
            reason=request.POST.get("reason", ""),
            until=until,
            case_id=case.pk,
        )
    except ApplicationError as error:
        return _refused(request, error, case_id)
    messages.success(request, _action_done(taken))
    return _back_to_case(case_id)


@require_POST
@staff_page
def case_reply(request: HttpRequest, case_id: int) -> HttpResponse:
    """Answer a help request as oneself; the form's ``client_id`` makes a form sent twice one
    message."""
    try:
        client_id = uuid.UUID(str(request.POST.get("client_id", "")))
    except ValueError:
        messages.error(request, "The reply form was incomplete: write the reply again.")
        return _back_to_case(case_id)
    try:
        helpdesk.help_reply(
            staff=_viewer(request),
            case_id=case_id,
            client_id=client_id,
            body=str(request.POST.get("body", "")),
        )
    except ApplicationError as error:
        return _refused(request, error, case_id)
    messages.success(request, "Your reply is sent to the member's help conversation.")
    return _back_to_case(case_id)


@require_POST
@staff_page
def case_decide(request: HttpRequest, case_id: int) -> HttpResponse:
    """Arbitration: a binding split of a dispute's amount, executed through the ledger."""
    staff = _viewer(request)
    dispute = Dispute.objects.filter(case_id=case_id).first()
    if dispute is None:
        raise Http404
    refund = parse_major(str(request.POST.get("refund", "")), dispute.currency)
    release = parse_major(str(request.POST.get("release", "")), dispute.currency)
    if refund is None or release is None:
        messages.error(request, f"Give both amounts in {dispute.currency}, such as 120.50.")
        return _back_to_case(case_id)
    try:
        disputes.dispute_decide(
            staff=staff,
            dispute_id=dispute.pk,
            refund=refund,
            release=release,
            reason=str(request.POST.get("reason", "")),
        )
    except ApplicationError as error:
        return _refused(request, error, case_id)
    messages.success(request, "The decision is made and executed; the parties see it in the chat.")
    return _back_to_case(case_id)


# -- appeals --------------------------------------------------------------------------------------


@require_GET
@staff_page
def appeals(request: HttpRequest) -> HttpResponse:
    pending = list(actions.appeals_pending(staff=_viewer(request)))
    return render(request, "frontend/support/appeals.html", {"appeals": pending})


@require_POST
@staff_page
def appeal_decide(request: HttpRequest, appeal_id: int) -> HttpResponse:
    decision = request.POST.get("decision", "")
    if decision not in ("uphold", "overturn"):
        messages.error(request, "Choose Uphold or Overturn.")
        return redirect("support:appeals")
    try:
        decided = actions.appeal_decide(
            staff=_viewer(request),
            appeal_id=appeal_id,
            overturn=decision == "overturn",
            answer=request.POST.get("answer", ""),
        )
    except ApplicationError as error:
        _found(error)
        messages.error(request, _refusal_text(error))
        return redirect("support:appeals")
    member = decided.action.user.name
    if decided.state == Appeal.State.OVERTURNED:
        messages.success(request, f"The appeal of {member} is granted: the action is lifted.")
    else:
        messages.success(request, f"The appeal of {member} is refused: the action stands.")
    return redirect("support:appeals")


# -- a member's standing and appeals --------------------------------------------------------------


def _standing_page(
    request: HttpRequest,
    *,
    appeal_errors: dict[int, str] | None = None,
    typed: dict[int, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "actions": list(actions.account_actions_of(user=_viewer(request))),
        "appeal_errors": appeal_errors or {},
        "typed": typed or {},
        "text_max": actions.REASON_MAX,
    }
    return render(request, "frontend/standing/standing.html", context, status=status)


@never_cache
@require_GET
@login_required
def standing(request: HttpRequest) -> HttpResponse:
    return _standing_page(request)


@never_cache
@require_POST
@login_required
def appeal(request: HttpRequest, action_id: int) -> HttpResponse:
    text = str(request.POST.get("text", ""))
    try:
        actions.appeal_submit(user=_viewer(request), action_id=action_id, text=text)
    except ApplicationError as error:
        _found(error)
        return _standing_page(
            request,
            appeal_errors={action_id: _refusal_text(error)},
            typed={action_id: text},
            status=_status(error),
        )
    messages.success(request, "Your appeal is sent. Support will answer here.")
    return redirect("support:standing")


@require_POST
def ban_appeal(request: HttpRequest) -> HttpResponse:
    """The one appeal of a banned member, who cannot sign in: the banned page's form carries a
    signed token naming the ban (``frontend.middleware.banned_page``), valid for a day."""
    try:
        action_id = signing.loads(
            str(request.POST.get("token", "")), salt=BAN_APPEAL_SALT, max_age=BAN_APPEAL_MAX_AGE
        )
    except signing.BadSignature:
        return render(request, "frontend/standing/banned.html", {"expired": True}, status=400)
    ban = AccountAction.objects.select_related("user").filter(pk=action_id).first()
    if ban is None:
        raise Http404
    text = str(request.POST.get("text", ""))
    try:
        actions.appeal_submit(user=ban.user, action_id=ban.pk, text=text)
    except ApplicationError as error:
        return banned_page(request, ban, appeal_error=_refusal_text(error), typed=text)
    return banned_page(request, ban, appeal_sent=True)


# -- your data ------------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def my_data(request: HttpRequest) -> HttpResponse:
    """A copy of one's data (the API's export), and erasing one's account with the password."""
    if request.method != "POST":
        return render(request, "frontend/standing/my_data.html")
    try:
        erasure = privacy.account_erase(
            user=_viewer(request), password=str(request.POST.get("password", ""))
        )
    except ApplicationError as error:
        return render(
            request,
            "frontend/standing/my_data.html",
            {"problem": _refusal_text(error)},
            status=_status(error),
        )
    logout(request)
    return render(request, "frontend/standing/erased.html", {"kept": erasure.kept})


# -- help -----------------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def help_page(request: HttpRequest) -> HttpResponse:
    """POST: the member's conversation with the support team (made on first use). GET: a page
    with the same button, for a bookmarked or typed address."""
    if request.method != "POST":
        return render(request, "frontend/standing/help.html")
    try:
        conversation = helpdesk.help_conversation_open(user=_viewer(request))
    except ApplicationError as error:
        context = {"problem": error.message}
        return render(request, "frontend/standing/help.html", context, status=_status(error))
    return redirect("frontend:conversation", conversation_id=conversation.pk)
