"""The payment gateway behind one interface, and the built-in sandbox (the default).

A gateway charges a payment method and refunds a charge, each under an idempotency key the
caller stored first: the same key is the same operation, done once. It answers at once and
also confirms asynchronously, webhook-style (``Confirmation``); ``invoices.services.
confirmation_apply`` applies a confirmation once, however often and in whatever order it comes.

The sandbox is deterministic and offline: ``pm_sandbox_ok`` succeeds, ``pm_sandbox_declined``
is declined, ``pm_sandbox_insufficient`` fails for insufficient funds (PROTOCOL.md §2); any
other method is unknown to it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

DECLINED = "card_declined"
INSUFFICIENT = "insufficient_funds"
UNKNOWN_METHOD = "unknown_payment_method"


@dataclass(frozen=True)
class Confirmation:
    """What a gateway posts back about an operation: the event id is unique per delivery
    subject, so a repeat is recognisable; ``operation`` is the caller's idempotency key."""

    event_id: str
    operation: str
    succeeded: bool
    reference: str
    failure_code: str = ""


class PaymentGateway(Protocol):
    def knows(self, payment_method: str) -> bool: ...

    def charge(
        self, *, key: str, payment_method: str, amount: int, currency: str
    ) -> Confirmation: ...

    def refund(
        self, *, key: str, charge_reference: str, amount: int, currency: str
    ) -> Confirmation: ...


class SandboxGateway:
    METHODS = {
        "pm_sandbox_ok": "",
        "pm_sandbox_declined": DECLINED,
        "pm_sandbox_insufficient": INSUFFICIENT,
    }

    def knows(self, payment_method: str) -> bool:
        return payment_method in self.METHODS

    @staticmethod
    def _reference(prefix: str, key: str) -> str:
        # The same key always names the same operation: a retry is not a second charge.
        return f"{prefix}_{hashlib.sha256(key.encode()).hexdigest()[:24]}"

    def charge(self, *, key: str, payment_method: str, amount: int, currency: str) -> Confirmation:
        failure = self.METHODS.get(payment_method, UNKNOWN_METHOD)
        reference = self._reference("ch", key)
        return Confirmation(
            event_id=f"evt_{reference}",
            operation=key,
            succeeded=not failure,
            reference=reference,
            failure_code=failure,
        )

    def refund(
        self, *, key: str, charge_reference: str, amount: int, currency: str
    ) -> Confirmation:
        reference = self._reference("re", key)
        return Confirmation(
            event_id=f"evt_{reference}", operation=key, succeeded=True, reference=reference
        )


@cache
def payment_gateway() -> PaymentGateway:
    """The configured gateway (``PAYMENT_GATEWAY``, a dotted class path)."""
    gateway: PaymentGateway = import_string(settings.PAYMENT_GATEWAY)()
    return gateway
