"""Forms of the identity pages. Labels without a suffix: they are the accessible names."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest

from accounts.models import User
from accounts.services import terms_accept

TERMS_LABEL = "I accept the Terms of Service"


class SignupDetailsForm(forms.Form):
    """What allauth's sign-up form asks besides username, e-mail and password.

    allauth builds its sign-up form on this class (ACCOUNT_SIGNUP_FORM_CLASS) and calls
    ``signup`` once the user is saved.
    """

    label_suffix = ""

    display_name = forms.CharField(
        label="Display name",
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        help_text="The name others see in chats and on your profile.",
    )
    is_buyer = forms.BooleanField(label="I want to hire (buyer)", required=False)
    is_provider = forms.BooleanField(label="I want to work (provider)", required=False)
    accept_terms = forms.BooleanField(
        label=TERMS_LABEL,
        required=True,
        error_messages={"required": "You must accept the Terms of Service to sign up."},
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("is_buyer") and not cleaned.get("is_provider"):
            raise forms.ValidationError("Choose at least one role: buyer, provider or both.")
        return cleaned

    def signup(self, request: HttpRequest, user: User) -> None:
        user.display_name = self.cleaned_data["display_name"]
        user.is_buyer = self.cleaned_data["is_buyer"]
        user.is_provider = self.cleaned_data["is_provider"]
        user.save(update_fields=["display_name", "is_buyer", "is_provider"])
        terms_accept(user=user)


class TermsAcceptForm(forms.Form):
    label_suffix = ""

    accept_terms = forms.BooleanField(
        label=TERMS_LABEL,
        required=True,
        error_messages={"required": "Tick the box to accept the Terms of Service."},
    )


class PhoneForm(forms.Form):
    label_suffix = ""

    phone = forms.CharField(
        label="Phone number",
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
        help_text="In international format, e.g. +44 20 7946 0958.",
    )


class PhoneCodeForm(forms.Form):
    label_suffix = ""

    code = forms.CharField(
        label="Code",
        max_length=6,
        min_length=6,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
