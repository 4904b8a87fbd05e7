"""The Django admin's view of trust and safety's records, for administrators: read-only. The
evidence log and account actions are audit records; nothing here changes them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from reports.models import AccountAction, Appeal, Case, EvidenceAccess, LegalHold


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(EvidenceAccess)
class EvidenceAccessAdmin(ReadOnlyAdmin):
    """Who read which evidence, when, for which case and why."""

    list_display = ("at", "staff", "what", "object_id", "case", "why")
    list_filter = ("what", "staff")
    search_fields = ("object_id", "why", "staff__username")
    date_hierarchy = "at"


@admin.register(AccountAction)
class AccountActionAdmin(ReadOnlyAdmin):
    list_display = ("at", "user", "kind", "until", "by", "lifted_at", "reason")
    list_filter = ("kind",)
    search_fields = ("user__username", "by__username", "reason")


@admin.register(Appeal)
class AppealAdmin(ReadOnlyAdmin):
    list_display = ("at", "action", "state", "decided_by", "decided_at")
    list_filter = ("state",)


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = (
        "opened_at",
        "kind",
        "target_key",
        "subject",
        "reason",
        "report_count",
        "status",
    )
    list_filter = ("kind", "status", "reason")
    search_fields = ("target_key", "subject__username")


@admin.register(LegalHold)
class LegalHoldAdmin(ReadOnlyAdmin):
    """Conversations kept past retention; placed and released with ``manage.py legal_hold``."""

    list_display = ("placed_at", "conversation", "placed_by", "why", "released_at")
    list_filter = ("released_at",)
