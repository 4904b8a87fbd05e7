"""The provider's vetting and verification panel, shown on the profile editor."""

from __future__ import annotations

from typing import Any

from django import template

from accounts.models import User
from reports.selectors import vetting_latest_of

register = template.Library()


@register.inclusion_tag("frontend/verification/vetting_panel.html", takes_context=True)
def vetting_panel(context: template.Context) -> dict[str, Any]:
    provider = context["request"].user
    assert isinstance(provider, User)
    return {
        "provider": provider,
        "latest": vetting_latest_of(user=provider),
        "messages": context.get("messages"),
        "csrf_token": context.get("csrf_token"),
    }
