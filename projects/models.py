"""The marketplace side of a chat: a project and the engagements it opens.

Only the minimum the chat needs for now; listings, bids and contracts come later.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Project(models.Model):
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="projects"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.title


class Engagement(models.Model):
    """A buyer and a provider on one project, and the one conversation between them."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="engagements")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    provider = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="engagements"
    )
    conversation = models.OneToOneField(
        "chatbox.Conversation", on_delete=models.PROTECT, related_name="engagement"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "provider"], name="one_engagement_per_provider"
            ),
            models.CheckConstraint(
                name="provider_is_not_buyer", condition=~models.Q(provider=models.F("buyer"))
            ),
        ]
