from __future__ import annotations

from django.conf import settings
from django.db import models


class Message(models.Model):
    """A chat message as tutorials store it: the room's name, the author and the text."""

    room = models.CharField(max_length=64, db_index=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
