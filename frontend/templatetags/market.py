"""Template helpers of the marketplace pages: money, the ARIA state of a form field, and the
contract of a conversation (for the conversation page's header)."""

from __future__ import annotations

import uuid
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from accounts.models import User
from projects.contracts import EngagementLinks, engagement_links
from projects.money import format_amount

register = template.Library()


@register.filter
def money(amount: int | None, currency: str) -> str:
    """``{{ 4500|money:"EUR" }}`` → ``45.00 EUR``; nothing for no amount."""
    return "" if amount is None else format_amount(amount, currency)


@register.simple_tag
def field_aria(
    field_id: str, errors: Any = None, hint: bool | str = False, invalid: bool = True
) -> SafeString:
    """The ``aria-describedby`` and ``aria-invalid`` of a field: its hint (``<id>-hint``, or
    the id given as ``hint``) and its error (``<id>-error``, only while it has errors).
    ``invalid=False`` for a fieldset, whose role (group) takes no ``aria-invalid``."""
    described = [hint if isinstance(hint, str) else f"{field_id}-hint"] if hint else []
    if errors:
        described.append(f"{field_id}-error")
    attributes = format_html(' aria-describedby="{}"', " ".join(described)) if described else ""
    if errors and invalid:
        attributes = format_html('{} aria-invalid="true"', attributes)
    return SafeString(attributes)


@register.simple_tag(takes_context=True)
def conversation_links(context: template.Context, conversation_id: uuid.UUID) -> EngagementLinks:
    """The project and latest contract of a conversation, as the viewer may see them."""
    viewer = context["request"].user
    assert isinstance(viewer, User)
    found = engagement_links(viewer=viewer, conversation_ids=[conversation_id])
    return found.get(conversation_id, EngagementLinks())
