"""One-time tokens of the server-side forms that move money.

The form carries a signed token naming its user and purpose; a post spends it once (an atomic
``cache.add``, shared by every server process when the cache is Redis). A double click, or the
browser sending the page again, is then told that the first post went through, and nothing is
charged twice. The post/redirect/get pattern keeps Reload from posting at all.
"""

from __future__ import annotations

import uuid
from enum import Enum

from django.core import signing
from django.core.cache import cache

from accounts.models import User

SALT = "frontend.form-token"
MAX_AGE_SECONDS = 24 * 60 * 60


class Spent(Enum):
    FRESH = "fresh"  # the first post with this token: go ahead
    AGAIN = "again"  # posted before: do nothing again
    INVALID = "invalid"  # forged, expired, or another user's or form's


def form_token_issue(*, user: User, purpose: str) -> str:
    return signing.dumps(
        {"user": user.pk, "purpose": purpose, "nonce": uuid.uuid4().hex}, salt=SALT
    )


def form_token_spend(*, user: User, purpose: str, token: str) -> Spent:
    try:
        claims = signing.loads(token, salt=SALT, max_age=MAX_AGE_SECONDS)
    except signing.BadSignature:  # also SignatureExpired
        return Spent.INVALID
    if claims.get("user") != user.pk or claims.get("purpose") != purpose:
        return Spent.INVALID
    first = cache.add(f"form-token:{claims['nonce']}", True, timeout=MAX_AGE_SECONDS)
    return Spent.FRESH if first else Spent.AGAIN
