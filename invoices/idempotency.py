"""``Idempotency-Key`` for unsafe money requests (PROTOCOL.md §2).

The key, the requester and a hash of the request (method, path, canonical JSON body) are
stored before the work runs, in a transaction of their own; the first answer is stored with
them. A replay gets that answer; the same key with another request is 409
``idempotency_key_reused``; a replay while the first is still running is 409
``idempotency_in_progress`` (concurrent requests with one key run the work once). An answer
that is a server error is not kept, so the client may retry it with the same key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.errors import error_body, http_status
from accounts.models import User
from chatbox.canonical import canonical
from chatbox.errors import ApplicationError, api_exception_handler
from invoices.errors import MoneyErrorCode
from invoices.models import IdempotentRequest

HEADER = "Idempotency-Key"
KEY_MAX = 255


def _request_hash(request: Request) -> str:
    body = request.data if isinstance(request.data, dict) else {}
    return hashlib.sha256(
        canonical({"method": request.method, "path": request.path, "body": dict(body)})
    ).hexdigest()


def idempotent(request: Request, user: User, work: Callable[[], Response]) -> Response:
    key = (request.headers.get(HEADER) or "").strip()
    if not key or len(key) > KEY_MAX:
        raise ApplicationError(
            MoneyErrorCode.IDEMPOTENCY_KEY_REQUIRED,
            f"Send an {HEADER} header (at most {KEY_MAX} characters) with every money request.",
            {HEADER: ["Required."]},
        )
    fingerprint = _request_hash(request)
    try:
        with transaction.atomic():
            record = IdempotentRequest.objects.create(user=user, key=key, request_hash=fingerprint)
    except IntegrityError:
        return _replay(user=user, key=key, fingerprint=fingerprint)
    try:
        response = work()
    except ApplicationError as refused:
        response = Response(
            error_body(refused.code, refused.message, refused.extra),
            status=refused.status or http_status(refused.code),
        )
    except APIException as refused:
        # A serializer's refusal is an answer like a service's: stored, so that a replay gets
        # it and the key cannot be reused for another request.
        if refused.status_code >= 500:
            record.delete()
            raise
        answer = api_exception_handler(refused, {})
        assert answer is not None
        response = answer
    except Exception:
        record.delete()  # a server error: the client may retry with the same key
        raise
    IdempotentRequest.objects.filter(pk=record.pk).update(
        status=response.status_code, body=response.data
    )
    return response


def _replay(*, user: User, key: str, fingerprint: str) -> Response:
    record = IdempotentRequest.objects.get(user=user, key=key)
    if record.request_hash != fingerprint:
        raise ApplicationError(
            MoneyErrorCode.IDEMPOTENCY_KEY_REUSED,
            "This Idempotency-Key was used for another request.",
            {HEADER: [key]},
        )
    if record.status is None:
        raise ApplicationError(
            MoneyErrorCode.IDEMPOTENCY_IN_PROGRESS,
            "A request with this Idempotency-Key is still running; retry in a moment.",
            {HEADER: [key]},
        )
    body: Any = record.body
    return Response(body, status=record.status, headers={"Idempotent-Replayed": "true"})
