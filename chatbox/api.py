"""The chat's HTTP API (PROTOCOL.md §2): sessions, conversations, message history."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import login, logout
from django.http import HttpResponse
from django.middleware.csrf import get_token
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.errors import AccountErrorCode
from accounts.models import User
from accounts.selectors import email_verification_pending, mfa_totp_enabled
from accounts.services import user_authenticate, user_mfa_check
from chatbox import realtime, selectors, services
from chatbox.errors import ApplicationError, ErrorCode
from chatbox.evidence_export import EvidenceBundle
from chatbox.presenters import messages_present
from chatbox.selectors import ConversationSummary


def signed_in(request: Request) -> User:
    """The request's user; only for views behind IsAuthenticated."""
    user = request.user
    assert isinstance(user, User)
    return user


def _user_payload(user: Any) -> dict[str, Any]:
    return {
        "id": user.pk,
        "username": user.username,
        "name": user.name,
        "is_support": user.is_support,
    }


class LoginSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)
    code = serializers.CharField(
        max_length=64, required=False, help_text="The TOTP or recovery code, for accounts with MFA."
    )


UserSerializer = inline_serializer(
    "User",
    {
        "id": serializers.IntegerField(),
        "username": serializers.CharField(),
        "name": serializers.CharField(),
        "is_support": serializers.BooleanField(),
    },
)


class LoginView(APIView):
    # No session yet, so no CSRF check to make; the response sets the csrftoken cookie.
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(request=LoginSerializer, responses={200: UserSerializer})
    def post(self, request: Request) -> Response:
        form = LoginSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        user = user_authenticate(
            request=request._request,
            username=form.validated_data["username"],
            password=form.validated_data["password"],
        )
        if user is None:
            raise ApplicationError(ErrorCode.INVALID_CREDENTIALS, "Wrong username or password.")
        if getattr(user, "is_banned", False):
            raise ApplicationError(ErrorCode.BANNED, "This account is banned.")
        if email_verification_pending(user=user):
            raise ApplicationError(
                AccountErrorCode.EMAIL_UNVERIFIED,
                "Verify your e-mail address first: follow the link we sent you.",
            )
        if mfa_totp_enabled(user=user):
            user_mfa_check(user=user, code=form.validated_data.get("code"))
        login(request._request, user)
        get_token(request._request)
        return Response(_user_payload(user))


class LogoutView(APIView):
    # Signed in is enough: a banned user may still end their session.
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        user_id = signed_in(request).pk
        logout(request._request)
        # The session is gone: its open sockets must not live on.
        realtime.close_user_sockets(user_id=user_id, code=realtime.CLOSE_UNAUTHENTICATED)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    @extend_schema(responses={200: UserSerializer})
    def get(self, request: Request) -> Response:
        return Response(_user_payload(signed_in(request)))


class ParticipantSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    role = serializers.CharField()
    last_read_seq = serializers.IntegerField()


class ConversationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField()
    participants = ParticipantSerializer(many=True)
    unread = serializers.IntegerField()
    last_activity = serializers.DateTimeField(allow_null=True)
    head = serializers.IntegerField(source="head_seq")


def conversation_payload(summary: ConversationSummary) -> dict[str, Any]:
    return dict(ConversationSerializer(summary).data)


class ConversationListView(APIView):
    @extend_schema(responses={200: ConversationSerializer(many=True)})
    def get(self, request: Request) -> Response:
        summaries = selectors.conversation_summaries_for_user(user=signed_in(request))
        return Response(ConversationSerializer(summaries, many=True).data)


# The ``MESSAGE`` shape of the websocket protocol, for the schema only ("data" cannot be a
# field of a Serializer class, where it names the output property).
MessageList = inline_serializer(
    "Message",
    {
        "conversation": serializers.UUIDField(),
        "seq": serializers.IntegerField(),
        "kind": serializers.ChoiceField(
            choices=["text", "file", "invoice", "payment", "system", "edit", "delete", "dispute"]
        ),
        "sender": inline_serializer(
            "Sender",
            {"id": serializers.IntegerField(), "name": serializers.CharField()},
            allow_null=True,
        ),
        "body": serializers.CharField(),
        "html": serializers.CharField(),
        "created_at": serializers.DateTimeField(),
        "client_id": serializers.UUIDField(allow_null=True),
        "hash": serializers.CharField(),
        "prev": serializers.CharField(),
        "redactions": serializers.ListField(child=serializers.DictField()),
        "data": serializers.DictField(),
    },
    many=True,
)


class HistoryQuery(serializers.Serializer):
    before = serializers.IntegerField(min_value=1, required=False)
    after = serializers.IntegerField(min_value=0, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=200, default=50)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "before" in attrs and "after" in attrs:
            raise serializers.ValidationError("Give 'before' or 'after', not both.")
        return attrs


class MessageListView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("before", int, description="Messages with seq below this."),
            OpenApiParameter("after", int, description="Messages with seq above this."),
            OpenApiParameter("limit", int, description="At most this many (1 to 200, default 50)."),
        ],
        responses={200: MessageList},
        description="Messages oldest first. Without a cursor: the latest `limit` messages.",
    )
    def get(self, request: Request, conversation_id: str) -> Response:
        query = HistoryQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        conversation = selectors.conversation_for_member(
            user=signed_in(request), conversation_id=conversation_id
        )
        limit = query.validated_data["limit"]
        if "after" in query.validated_data:
            events = selectors.events_after(
                conversation_id=conversation.pk, after=query.validated_data["after"], limit=limit
            )
        else:
            events = selectors.events_before(
                conversation_id=conversation.pk,
                before=query.validated_data.get("before"),
                limit=limit,
            )
        return Response(messages_present(conversation_id=conversation.pk, events=events))


class ContactCheckInput(serializers.Serializer):
    body = serializers.CharField(trim_whitespace=False, max_length=100_000)


ContactCheckResult = inline_serializer(
    "ContactCheck",
    {
        "redactions": serializers.ListField(child=serializers.DictField()),
        "masked": serializers.CharField(),
        "unlocked": serializers.BooleanField(),
    },
)


class ContactCheckView(APIView):
    """What sending a draft would hide (PROTOCOL.md §4), for the composer to explain before
    the message is sent. Each draft that would hide something is a fraud signal."""

    @extend_schema(request=ContactCheckInput, responses={200: ContactCheckResult})
    def post(self, request: Request, conversation_id: str) -> Response:
        draft = ContactCheckInput(data=request.data)
        draft.is_valid(raise_exception=True)
        checked = services.contact_check(
            conversation_id=conversation_id,
            user=signed_in(request),
            body=draft.validated_data["body"],
        )
        return Response(
            {
                "redactions": checked.redactions,
                "masked": checked.masked,
                "unlocked": checked.unlocked,
            }
        )


def evidence_response(bundle: EvidenceBundle) -> HttpResponse:
    """The bundle as a download (PROTOCOL.md §5)."""
    response = HttpResponse(bundle.content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{bundle.filename}"'
    response["Cache-Control"] = "no-store"
    return response
