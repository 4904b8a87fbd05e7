"""Reports and the cases they open, the support queue, and the case file (PROTOCOL.md §6).

A report names a target — a message (its conversation and ``seq``, pinned with the event's
hash), a member, or a listing — that the reporter can see. Reports of one target merge into
its one open case, which counts them; the reported party never learns who reported. Support
staff read a conversation's decrypted record only while a case on it is open, and every read
is written to the append-only ``EvidenceAccess`` log with the case and the reason.

Priority in the queue: a safety emergency first, then money at stake, the subject's fraud
score, the number of reports, and age (oldest first). See docs/trust-and-safety.md.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from chatbox.errors import ApplicationError, ErrorCode
from chatbox.evidence_export import EvidenceBundle, evidence_export_for_staff
from chatbox.files import FileDelivery, file_get, file_name, file_open
from chatbox.models import Conversation, Event, Participant
from chatbox.presenters import messages_present, record_present
from chatbox.redaction import REASONS, Redaction, event_redact
from chatbox.services import moderation_hide, system_event_post
from projects.listings import invalid_field, project_for_viewer, text_check
from projects.models import Project
from projects.selectors import profile_for_viewer
from reports.errors import ReportsErrorCode
from reports.models import Case, CaseNote, EvidenceAccess, Reason, Report
from reports.risk import risk_scores
from reports.selectors import staff_required

NOTE_MAX = 2_000
CASE_NOT_FOUND = "No such case."
REPORTABLE_KINDS = (Event.Kind.TEXT, Event.Kind.FILE)

# How serious a reason is, for the case's headline reason (higher is more serious).
SEVERITY = {
    Reason.SAFETY_EMERGENCY: 9,
    Reason.SCAM: 8,
    Reason.OFF_PLATFORM_PAYMENT: 7,
    Reason.HARASSMENT: 6,
    Reason.CONTACT_DETAILS: 5,
    Reason.IP_INFRINGEMENT: 4,
    Reason.INAPPROPRIATE: 3,
    Reason.SPAM: 2,
    Reason.OTHER: 1,
}


# -- what a report names ---------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    type: str
    key: str
    subject: User | None
    conversation: Conversation | None = None
    seq: int | None = None
    event_hash: str = ""
    project: Project | None = None


def _not_found(what: str) -> ApplicationError:
    return ApplicationError(ErrorCode.NOT_FOUND, f"No such {what}, or you cannot see it.")


def _whole_number(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise invalid_field(field, "Give a positive whole number.")
    return value


def _message_target(*, reporter: User, conversation_id: Any, seq: Any) -> Target:
    seq = _whole_number(seq, "target")
    try:
        conversation_uuid = uuid.UUID(str(conversation_id))
    except ValueError as exc:
        raise invalid_field("target", "Name the conversation by its id.") from exc
    member = Participant.objects.filter(
        conversation_id=conversation_uuid, user=reporter, role__in=["buyer", "provider", "member"]
    ).exists()
    event = (
        Event.objects.select_related("sender", "conversation")
        .filter(conversation_id=conversation_uuid, seq=seq, kind__in=REPORTABLE_KINDS)
        .first()
        if member
        else None
    )
    if event is None or event.sender is None:
        raise _not_found("message")
    if event.sender_id == reporter.pk:
        raise invalid_field("target", "You cannot report your own message.")
    return Target(
        type=Case.TargetType.MESSAGE,
        key=f"message:{event.conversation_id}:{event.seq}",
        subject=event.sender,
        conversation=event.conversation,
        seq=event.seq,
        event_hash=event.hash,
    )


def _user_target(*, reporter: User, user_id: Any) -> Target:
    user_id = _whole_number(user_id, "target")
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not _user_visible(reporter=reporter, user=user):
        raise _not_found("member")
    if user.pk == reporter.pk:
        raise invalid_field("target", "You cannot report yourself.")
    return Target(type=Case.TargetType.USER, key=f"user:{user.pk}", subject=user)


def _user_visible(*, reporter: User, user: User) -> bool:
    """A member is visible to those who share a conversation with them, or see their profile."""
    shared = Participant.objects.filter(
        user=user, conversation__participants__user=reporter
    ).exists()
    if shared:
        return True
    try:
        profile_for_viewer(viewer=reporter, username=user.username)
    except ApplicationError:
        return False
    return True


def _project_target(*, reporter: User, project_id: Any) -> Target:
    project_id = _whole_number(project_id, "target")
    try:
        project = project_for_viewer(viewer=reporter, project_id=project_id)
    except ApplicationError as exc:
        raise _not_found("listing") from exc
    if project.buyer_id == reporter.pk:
        raise invalid_field("target", "You cannot report your own listing.")
    return Target(
        type=Case.TargetType.PROJECT,
        key=f"project:{project.pk}",
        subject=project.buyer,
        project=project,
    )


def target_resolve(*, reporter: User, target: Any) -> Target:
    """The target a report names, if the reporter can see it; else ``not_found``."""
    if not isinstance(target, dict):
        raise invalid_field("target", 'Give {"type": "message" | "user" | "project", …}.')
    kind = target.get("type")
    if kind == "message":
        return _message_target(
            reporter=reporter, conversation_id=target.get("conversation"), seq=target.get("seq")
        )
    if kind == "user":
        return _user_target(reporter=reporter, user_id=target.get("id"))
    if kind == "project":
        return _project_target(reporter=reporter, project_id=target.get("id"))
    raise invalid_field("target", "The type is one of: message, user, project.")


# -- reporting ----------------------------------------------------------------------------------


def _case_open_locked(*, target: Target, kind: str, reason: str) -> Case:
    """The target's open case, locked; made if there is none (two at once make one)."""
    try:
        with transaction.atomic():
            Case.objects.create(
                kind=kind,
                target_type=target.type,
                target_key=target.key,
                conversation=target.conversation,
                seq=target.seq,
                event_hash=target.event_hash,
                subject=target.subject,
                project=target.project,
                reason=reason,
            )
    except IntegrityError:  # one_open_case_per_target: another request made it
        pass
    return Case.objects.select_for_update().get(target_key=target.key, status=Case.Status.OPEN)


@transaction.atomic
def report_submit(*, reporter: User, target: Any, reason: Any, note: Any = "") -> Report:
    """Report a message, a member or a listing; merge into the target's open case."""
    if reason not in Reason.values:
        raise invalid_field("reason", f"Choose one of: {', '.join(Reason.values)}.")
    note = text_check(note if isinstance(note, str) else "", field="note", max_length=NOTE_MAX)
    if not isinstance(note, str):
        raise invalid_field("note", "Give the note as text.")
    resolved = target_resolve(reporter=reporter, target=target)
    case = _case_open_locked(target=resolved, kind=Case.Kind.REPORT, reason=reason)
    if Report.objects.filter(case=case, reporter=reporter).exists():
        raise ApplicationError(
            ReportsErrorCode.ALREADY_REPORTED,
            "You reported this already; support has it.",
            {"case": case.pk},
        )
    report = Report.objects.create(case=case, reporter=reporter, reason=reason, note=note)
    headline = max([case.reason, reason], key=lambda r: SEVERITY[Reason(r)])
    Case.objects.filter(pk=case.pk).update(report_count=F("report_count") + 1, reason=headline)
    if reason == Reason.SAFETY_EMERGENCY:
        transaction.on_commit(lambda: _staff_on_duty_notify(case_id=case.pk))
    return report


def _staff_on_duty_notify(*, case_id: int) -> None:
    """A safety emergency: e-mail every support member on duty (``SUPPORT_ON_DUTY_EMAILS``, or
    else every active support member with an address). The case id only, never its content."""
    recipients = list(settings.SUPPORT_ON_DUTY_EMAILS) or list(
        User.objects.filter(is_support=True, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if recipients:
        send_mail(
            subject=f"Safety emergency reported: case {case_id}",
            message=f"A member reported a safety emergency. Open case {case_id} in the "
            "support console now.",
            from_email=None,
            recipient_list=recipients,
        )


# -- the queue ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueEntry:
    case: Case
    fraud_score: int

    @property
    def priority(self) -> tuple[int, int, int, int]:
        return (
            int(self.case.reason == Reason.SAFETY_EMERGENCY),
            self.case.money_at_stake,
            self.fraud_score,
            self.case.report_count,
        )


def case_queue(*, staff: User) -> list[QueueEntry]:
    """Open cases, most urgent first: a safety emergency, money at stake, the subject's fraud
    score, the number of reports; the oldest first among equals."""
    staff_required(user=staff)
    cases = list(
        Case.objects.filter(status=Case.Status.OPEN)
        .select_related("subject", "conversation", "project")
        .order_by("opened_at", "pk")
    )
    scores = risk_scores(user_ids={c.subject_id for c in cases if c.subject_id})
    entries = [QueueEntry(case=c, fraud_score=scores.get(c.subject_id or 0, 0)) for c in cases]
    # Stable sort: equal priorities keep the oldest first.
    return sorted(entries, key=lambda entry: entry.priority, reverse=True)


def case_for_staff(*, staff: User, case_id: int) -> Case:
    staff_required(user=staff)
    case = Case.objects.select_related("subject", "conversation", "project").filter(pk=case_id)
    found = case.first()
    if found is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, CASE_NOT_FOUND)
    return found


# -- the case file ------------------------------------------------------------------------------

WHY_MAX = 500


@dataclass(frozen=True)
class CaseFile:
    case: Case
    reports: list[Report]
    notes: list[CaseNote]
    timeline: list[dict[str, Any]]
    related: list[Case]


def _conversation_opened(
    *, staff: User, case: Case, why: str, what: str, object_id: str = "", label: str = ""
) -> uuid.UUID:
    """The conversation of an open ``case``, for a read of its record that is logged first
    (who, when, what, which case, why — after ``label``, which says how it was read)."""
    conversation_id = _open_case_conversation(
        case, closed="The case is closed: its conversation is no longer readable."
    )
    why = text_check(why, field="why", max_length=WHY_MAX, missing="Say why you read it.")
    EvidenceAccess.objects.create(
        staff=staff,
        what=what,
        object_id=object_id or str(case.conversation_id),
        case=case,
        why=f"{label}{why}"[:WHY_MAX],
    )
    return conversation_id


def _open_case_conversation(case: Case, *, closed: str) -> uuid.UUID:
    """The conversation of ``case``, which must be open (``closed`` says why not)."""
    if case.conversation_id is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, "This case is not about a conversation.")
    if not case.is_open:
        raise ApplicationError(ErrorCode.CLOSED, closed)
    return case.conversation_id


@transaction.atomic
def case_file_read(*, staff: User, case_id: int, why: str) -> CaseFile:
    """The case file, with the conversation's whole record decrypted: every event, including
    money, files, and what edited or deleted messages said. Allowed only while the case is
    open, and logged (who, when, which conversation, which case, why)."""
    case = case_for_staff(staff=staff, case_id=case_id)
    timeline: list[dict[str, Any]] = []
    if case.conversation_id is not None:
        conversation_id = _conversation_opened(
            staff=staff, case=case, why=why, what=EvidenceAccess.What.CONVERSATION
        )
        timeline = record_present(conversation_id=conversation_id)
    related = Case.objects.filter(subject=case.subject).exclude(pk=case.pk) if case.subject else []
    return CaseFile(
        case=case,
        reports=list(case.reports.select_related("reporter")),
        notes=list(case.notes.select_related("author")),
        timeline=timeline,
        related=list(related),
    )


@transaction.atomic
def case_evidence_export(*, staff: User, case_id: int, why: str) -> EvidenceBundle:
    """The evidence bundle (PROTOCOL.md §5) of the case's conversation, whole: for support
    staff while the case is open, and logged like every read of the record."""
    case = case_for_staff(staff=staff, case_id=case_id)
    conversation_id = _conversation_opened(
        staff=staff,
        case=case,
        why=why,
        what=EvidenceAccess.What.CONVERSATION,
        label="Evidence bundle: ",
    )
    return evidence_export_for_staff(staff=staff, conversation_id=conversation_id)


def conversation_evidence_for_staff(
    *, staff: User, conversation_id: str, why: str
) -> EvidenceBundle:
    """PROTOCOL.md §2's one evidence URL, as support staff reach it: the bundle through the
    newest open case on the conversation, audited like ``case_evidence_export``."""
    staff_required(user=staff)
    try:
        conversation = uuid.UUID(str(conversation_id))
    except ValueError as exc:
        raise ApplicationError(ErrorCode.NOT_FOUND, "No such conversation.") from exc
    case = (
        Case.objects.filter(conversation_id=conversation, status=Case.Status.OPEN)
        .order_by("-opened_at", "-pk")
        .first()
    )
    if case is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, "No open case on this conversation.")
    return case_evidence_export(staff=staff, case_id=case.pk, why=why)


@transaction.atomic
def case_chat_file(*, staff: User, case_id: int, file_id: str, why: str) -> FileDelivery:
    """One file of the case's conversation, whole, for support staff while the case is open:
    logged (what ``file``, its id) before the bytes go out. Not a buyer's download, so no
    receipt is posted in the chat."""
    case = case_for_staff(staff=staff, case_id=case_id)
    chat_file = file_get(file_id)
    if chat_file.conversation_id != case.conversation_id:
        raise ApplicationError(ErrorCode.NOT_FOUND, "No such file in this case's conversation.")
    _conversation_opened(
        staff=staff, case=case, why=why, what=EvidenceAccess.What.FILE, object_id=str(chat_file.pk)
    )
    return FileDelivery(chat_file=chat_file, name=file_name(chat_file), chunks=file_open(chat_file))


@transaction.atomic
def case_event_redact(*, staff: User, case_id: int, seq: int, reason: str, why: str) -> Redaction:
    """Remove the text of message ``seq`` of the case's conversation (``chatbox.redaction``),
    while the case is open; the case's notes say who did it and why."""
    case = case_for_staff(staff=staff, case_id=case_id)
    conversation_id = _open_case_conversation(
        case, closed="The case is closed: reopen it to redact."
    )
    why = text_check(why, field="why", max_length=WHY_MAX, missing="Say why you redact it.")
    redaction = event_redact(conversation_id=conversation_id, seq=seq, reason=reason)
    CaseNote.objects.create(
        case=case,
        author=staff,
        text=f"Redacted the text of message #{seq} ({REASONS[reason]}): {why}",
    )
    return redaction


def case_note_add(*, staff: User, case_id: int, text: str) -> CaseNote:
    case = case_for_staff(staff=staff, case_id=case_id)
    text = text_check(text, field="text", max_length=NOTE_MAX, missing="Write the note.")
    return CaseNote.objects.create(case=case, author=staff, text=text)


@transaction.atomic
def case_close(*, staff: User, case_id: int, resolution: str) -> Case:
    case = case_for_staff(staff=staff, case_id=case_id)
    resolution = text_check(
        resolution, field="resolution", max_length=NOTE_MAX, missing="Say how it ended."
    )
    closed = Case.objects.filter(pk=case.pk, status=Case.Status.OPEN).update(
        status=Case.Status.CLOSED,
        closed_at=timezone.now(),
        closed_by=staff,
        resolution=resolution,
    )
    if closed != 1:
        raise ApplicationError(ReportsErrorCode.ALREADY_DECIDED, "The case is closed already.")
    case.refresh_from_db()
    return case


@transaction.atomic
def message_hide(*, staff: User, case_id: int, reason: str) -> Case:
    """Hide a reported message from view. The record keeps it (the case file still reads
    it); a moderation event in the chain says it was hidden, and why."""
    case = case_for_staff(staff=staff, case_id=case_id)
    if case.target_type != Case.TargetType.MESSAGE or not case.is_open:
        raise ApplicationError(ErrorCode.CLOSED, "Only an open case on a message hides it.")
    reason = text_check(reason, field="reason", max_length=NOTE_MAX, missing="Say why.")
    assert case.conversation_id is not None and case.seq is not None
    moderation_hide(conversation_id=case.conversation_id, seq=case.seq)
    system_event_post(
        conversation_id=case.conversation_id,
        body=f"A message was hidden by support: {reason}",
        data={"event": "message_hidden", "seq": case.seq, "case": case.pk},
        kind=Event.Kind.SYSTEM,
    )
    return case


def messages_of_case(*, case: Case) -> list[dict[str, Any]]:
    """The reported message as its conversation shows it (for the queue's preview): only for
    an open case, and only by the case file's audited read."""
    if case.conversation_id is None or case.seq is None:
        return []
    events = list(Event.objects.filter(conversation_id=case.conversation_id, seq=case.seq))
    return messages_present(conversation_id=case.conversation_id, events=events)
