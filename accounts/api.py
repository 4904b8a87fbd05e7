"""The identity HTTP API: sign-up, the signed-in account, e-mail and phone verification, TOTP,
Terms, staff ping.

Errors are ``ApplicationError``s, which ``chatbox.errors.api_exception_handler`` turns into the
error shape of PROTOCOL.md §2.
"""

from __future__ import annotations

from typing import Any

from allauth.account.forms import SignupForm
from allauth.account.internal.flows.email_verification import (
    send_verification_email_to_address,
)
from allauth.account.models import EmailAddress
from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.errors import AccountErrorCode, ApplicationError
from accounts.models import User
from accounts.selectors import account_for_user
from accounts.services import (
    email_verification_resend,
    email_verify,
    mfa_totp_activate,
    mfa_totp_begin,
    mfa_totp_deactivate,
    phone_code_send,
    phone_code_verify,
    terms_accept,
)

# allauth's form field → the API's field.
_SIGNUP_FIELDS = {
    "username": "username",
    "email": "email",
    "password1": "password",
    "password2": "password",
    "display_name": "name",
    "accept_terms": "accept_terms",
    "__all__": "non_field_errors",
}


def _user(request: Request) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


AccountSerializer = inline_serializer(
    "Account",
    {
        "id": serializers.IntegerField(),
        "username": serializers.CharField(),
        "name": serializers.CharField(),
        "email": serializers.CharField(),
        "roles": serializers.ListField(child=serializers.CharField()),
        "verification": inline_serializer(
            "Verification",
            {
                "email_verified": serializers.BooleanField(),
                "phone_verified": serializers.BooleanField(),
                "id_verified": serializers.BooleanField(),
                "business_verified": serializers.BooleanField(),
                "vetted": serializers.BooleanField(),
            },
        ),
        "phone_number": serializers.CharField(),
        "mfa_enabled": serializers.BooleanField(),
        "terms_version_accepted": serializers.CharField(allow_null=True),
        "terms_version_current": serializers.CharField(),
    },
)


class SignupSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)
    name = serializers.CharField(max_length=150)
    roles = serializers.ListField(
        child=serializers.ChoiceField(choices=["buyer", "provider"]), min_length=1, max_length=2
    )
    accept_terms = serializers.BooleanField()


class SignupView(APIView):
    """Sign up through allauth's own form; a verification e-mail goes to the address.

    The account can sign in once the address is verified. An address already in use gets
    the same answer (and its owner an e-mail), so the API does not reveal who is a member.
    """

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=SignupSerializer,
        responses={
            201: inline_serializer(
                "SignupResult",
                {"email": serializers.CharField(), "verification_sent": serializers.BooleanField()},
            )
        },
    )
    def post(self, request: Request) -> Response:
        shape = SignupSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        data = shape.validated_data
        form = SignupForm(
            data={
                "username": data["username"],
                "email": data["email"],
                "password1": data["password"],
                "password2": data["password"],
                "display_name": data["name"],
                "is_buyer": "buyer" in data["roles"],
                "is_provider": "provider" in data["roles"],
                "accept_terms": data["accept_terms"],
            }
        )
        if not form.is_valid():
            fields: dict[str, list[str]] = {}
            for name, errors in form.errors.items():
                fields.setdefault(_SIGNUP_FIELDS.get(name, name), []).extend(errors)
            raise ApplicationError(AccountErrorCode.INVALID, "The sign-up is not valid.", fields)
        user, _ = form.try_save(request._request)
        if user is not None:
            # Through allauth's flow, so that its resend cooldown starts now, as on the web.
            address = EmailAddress.objects.get(user=user)
            send_verification_email_to_address(request._request, address, signup=True)
        return Response(
            {"email": form.cleaned_data["email"], "verification_sent": True},
            status=status.HTTP_201_CREATED,
        )


class AccountView(APIView):
    @extend_schema(responses={200: AccountSerializer})
    def get(self, request: Request) -> Response:
        return Response(account_for_user(user=_user(request)))


class PhoneSerializer(serializers.Serializer):
    phone = serializers.CharField(max_length=32)


class PhoneCodeSerializer(serializers.Serializer):
    code = serializers.RegexField(r"^\d{6}$", max_length=6)


class PhoneView(APIView):
    @extend_schema(
        request=PhoneSerializer,
        responses={
            202: inline_serializer("PhoneCodeSent", {"phone_number": serializers.CharField()})
        },
        description="Sends a 6-digit code by SMS to the number; it is valid for 10 minutes.",
    )
    def post(self, request: Request) -> Response:
        form = PhoneSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        verification = phone_code_send(user=_user(request), phone=form.validated_data["phone"])
        return Response({"phone_number": verification.phone_number}, status=202)


class PhoneVerifyView(APIView):
    @extend_schema(request=PhoneCodeSerializer, responses={200: AccountSerializer})
    def post(self, request: Request) -> Response:
        form = PhoneCodeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        user = phone_code_verify(user=_user(request), code=form.validated_data["code"])
        return Response(account_for_user(user=user))


class TermsSerializer(serializers.Serializer):
    version = serializers.CharField(max_length=32)

    def validate_version(self, value: str) -> str:
        if value != settings.TERMS_VERSION:
            raise serializers.ValidationError(f"The current version is {settings.TERMS_VERSION}.")
        return value


class TermsAcceptView(APIView):
    @extend_schema(request=TermsSerializer, responses={200: AccountSerializer})
    def post(self, request: Request) -> Response:
        form = TermsSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        terms_accept(user=_user(request), version=form.validated_data["version"])
        return Response(account_for_user(user=_user(request)))


class IsStaffMember(BasePermission):
    message = "Support staff only."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return isinstance(user, User) and user.is_staff_member and not user.is_banned


class StaffPingView(APIView):
    """A staff API endpoint: reached only by staff with MFA (accounts.middleware)."""

    permission_classes = [IsStaffMember]

    @extend_schema(responses={200: inline_serializer("Ping", {"ok": serializers.BooleanField()})})
    def get(self, request: Request) -> Response:
        return Response({"ok": True})


class EmailKeySerializer(serializers.Serializer):
    key = serializers.CharField(max_length=512)


class EmailVerifyView(APIView):
    """Confirm an address with the key from the e-mailed link (``/account/confirm-email/KEY/``).

    No sign-in needed, as for the link itself; it does not sign anyone in.
    """

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=EmailKeySerializer,
        responses={
            200: inline_serializer(
                "EmailVerified",
                {"email": serializers.CharField(), "verified": serializers.BooleanField()},
            )
        },
    )
    def post(self, request: Request) -> Response:
        form = EmailKeySerializer(data=request.data)
        form.is_valid(raise_exception=True)
        address = email_verify(request=request._request, key=form.validated_data["key"])
        return Response({"email": address.email, "verified": True})


class EmailResendView(APIView):
    @extend_schema(
        request=None,
        responses={
            202: inline_serializer("EmailVerificationSent", {"email": serializers.CharField()})
        },
        description="Sends the verification e-mail again; at most one per address per cooldown.",
    )
    def post(self, request: Request) -> Response:
        address = email_verification_resend(request=request._request, user=_user(request))
        return Response({"email": address.email}, status=status.HTTP_202_ACCEPTED)


class MFACodeSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=64)
    # Asked again before any change to the second factor, as allauth's pages do.
    password = serializers.CharField(max_length=4096, trim_whitespace=False)


class TOTPView(APIView):
    @extend_schema(
        request=None,
        responses={
            200: inline_serializer(
                "TOTPSetup",
                {"secret": serializers.CharField(), "otpauth_url": serializers.CharField()},
            )
        },
        description="Starts TOTP setup: a new secret, kept in the session until activated.",
    )
    def post(self, request: Request) -> Response:
        return Response(mfa_totp_begin(request=request._request, user=_user(request)))

    @extend_schema(request=MFACodeSerializer, responses={204: None})
    def delete(self, request: Request) -> Response:
        form = MFACodeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        mfa_totp_deactivate(
            request=request._request,
            user=_user(request),
            code=form.validated_data["code"],
            password=form.validated_data["password"],
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class TOTPActivateView(APIView):
    @extend_schema(
        request=MFACodeSerializer,
        responses={
            201: inline_serializer(
                "TOTPActivated",
                {"recovery_codes": serializers.ListField(child=serializers.CharField())},
            )
        },
    )
    def post(self, request: Request) -> Response:
        form = MFACodeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        codes = mfa_totp_activate(
            request=request._request,
            user=_user(request),
            code=form.validated_data["code"],
            password=form.validated_data["password"],
        )
        return Response({"recovery_codes": codes}, status=status.HTTP_201_CREATED)
