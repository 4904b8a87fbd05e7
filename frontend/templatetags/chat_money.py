"""Template helpers of the chat's money: what the invoice composer and cards need to know."""

from __future__ import annotations

import uuid
from typing import Any

from django import template

from accounts.models import User
from invoices.selectors import conversation_money

register = template.Library()


@register.simple_tag(takes_context=True)
def chat_money(context: template.Context, conversation_id: uuid.UUID) -> dict[str, Any]:
    """The viewer's role in the conversation's latest contract and its terms (for
    ``json_script``); the page has checked that the viewer is a member."""
    viewer = context["request"].user
    assert isinstance(viewer, User)
    return conversation_money(viewer=viewer, conversation_id=conversation_id)
