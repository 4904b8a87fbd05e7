from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import User


@admin.register(User)
class ChatboxUserAdmin(UserAdmin):
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        (
            "Marketplace",
            {
                "fields": (
                    "display_name",
                    "is_buyer",
                    "is_provider",
                    "is_support",
                    "standing",
                    "suspended_until",
                )
            },
        ),
    )
    list_display = ("username", "display_name", "is_support", "standing")
