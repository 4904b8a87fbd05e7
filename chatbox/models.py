"""Conversations and their append-only event log.

The log is the record: support staff settle disputes on it, so rows are only ever added.
An edit or a delete is a new event naming its target ``seq``.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from chatbox.canonical import GENESIS_PREV
from chatbox.crypto import KeyRing, SealedBlob, blob_open, blob_rewrap, blob_seal


class Conversation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    # The head of the chain: updated in the same transaction that appends an event.
    head_seq = models.PositiveIntegerField(default=0)
    head_hash = models.CharField(max_length=64, default=GENESIS_PREV)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    # Read-only from then on (reports.retention closes idle conversations of ended work).
    closed_at = models.DateTimeField(null=True, blank=True)
    # Its data keys destroyed at the end of retention: the chain's hashes stay, the text and
    # files can never be read again (chatbox.retention).
    shredded_at = models.DateTimeField(null=True, blank=True)
    key_version = models.PositiveIntegerField(default=1, help_text="The data key that seals.")
    contacts_unlocked_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When a contract on this conversation was funded: contact details show from "
        "then on (off-platform payment details never do). Set by the money side.",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="head_hash_is_hex64", condition=Q(head_hash__regex=r"^[0-9a-f]{64}$")
            ),
        ]

    def __str__(self) -> str:
        return self.title


class ConversationKey(models.Model):
    """A conversation's data key, wrapped by a master key. Rotation re-wraps it in place."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="keys")
    version = models.PositiveIntegerField()
    kek_id = models.CharField(max_length=64)
    wrapped = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "version"], name="one_key_per_version"),
        ]


class Participant(models.Model):
    class Role(models.TextChoices):
        BUYER = "buyer", "Buyer"
        PROVIDER = "provider", "Provider"
        SUPPORT = "support", "Support"
        MEMBER = "member", "Member"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="participants"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="participations"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    last_read_seq = models.PositiveIntegerField(default=0)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="one_participation"),
        ]


class Event(models.Model):
    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        FILE = "file", "File"
        INVOICE = "invoice", "Invoice"
        PAYMENT = "payment", "Payment"
        SYSTEM = "system", "System"
        EDIT = "edit", "Edit"
        DELETE = "delete", "Delete"
        DISPUTE = "dispute", "Dispute"

    conversation = models.ForeignKey(Conversation, on_delete=models.PROTECT, related_name="events")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    client_id = models.UUIDField(null=True, blank=True)
    target_seq = models.PositiveIntegerField(null=True, blank=True)
    # Structured, non-secret facts of the event (edit target, amounts, states); part of the chain.
    data = models.JSONField(default=dict)
    key_version = models.PositiveIntegerField()
    # Sealed {"body", "salt", "html"}: no message text is stored in the clear.
    ciphertext = models.BinaryField()
    body_commit = models.CharField(max_length=64)
    prev = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    # Outside the chain: support hid it from view (a moderation event in the chain says so).
    # The record keeps it; a case file still reads it.
    hidden_at = models.DateTimeField(null=True, blank=True)
    # Support removed its text (chatbox.redaction): re-sealed without body and salt, the
    # commitment and hash unchanged, so the chain still verifies; a "redacted" event says so.
    redacted_at = models.DateTimeField(null=True, blank=True)
    # A keyed hash of a text message's words (chatbox.services._fingerprint): equal texts match,
    # the text cannot be read from it. For the fraud signal of one text sent to many.
    fingerprint = models.CharField(max_length=32, blank=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="gapless_seq_unique"),
            models.UniqueConstraint(
                fields=["conversation", "sender", "client_id"],
                name="client_id_once",
                condition=Q(client_id__isnull=False),
            ),
            models.CheckConstraint(name="seq_from_one", condition=Q(seq__gte=1)),
            models.CheckConstraint(
                name="edit_and_delete_name_a_target",
                condition=~Q(kind__in=["edit", "delete"])
                | Q(target_seq__isnull=False, target_seq__lt=F("seq")),
            ),
        ]
        indexes = [models.Index(fields=["conversation", "target_seq"], name="event_target")]
        ordering = ["conversation", "seq"]


class Connection(models.Model):
    """One open websocket; a user with any fresh connection is online."""

    channel_name = models.CharField(max_length=200, primary_key=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="connections"
    )
    connected_at = models.DateTimeField(auto_now_add=True)
    seen_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["user", "seen_at"], name="connection_user_seen")]


class SealedFile(models.Model):
    """A file sealed in its row with a data key of its own (``chatbox.crypto.blob_seal``).

    Concrete models name their ``blob_purpose``; the subject bound to the ciphertext is the
    row's primary key, so a sealed file copied to another row does not open.
    ``rotate_master_key`` re-wraps the key of every such row that still holds a file.
    """

    blob_purpose: ClassVar[str]

    kek_id = models.CharField(max_length=64, blank=True)
    wrapped_key = models.BinaryField(null=True, blank=True)
    ciphertext = models.BinaryField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def sealed(self) -> SealedBlob | None:
        if self.wrapped_key is None or self.ciphertext is None:
            return None
        return SealedBlob(self.kek_id, bytes(self.wrapped_key), bytes(self.ciphertext))

    def file_seal(self, content: bytes) -> None:
        """Seal ``content`` into this row (not saved). The primary key must be set first."""
        assert self.pk is not None, "the primary key is the subject of the seal"
        self._sealed_set(
            blob_seal(purpose=self.blob_purpose, subject=str(self.pk), plaintext=content)
        )

    def file_open(self) -> bytes:
        sealed = self.sealed
        if sealed is None:
            raise ValueError(f"{self._meta.label} {self.pk} holds no file")
        return blob_open(purpose=self.blob_purpose, subject=str(self.pk), sealed=sealed)

    def file_clear(self) -> None:
        """Forget the file (not saved): the bytes go, the row stays."""
        self.kek_id, self.wrapped_key, self.ciphertext = "", None, None

    def file_rewrap(self, ring: KeyRing) -> None:
        """Wrap this row's data key with the ring's primary master key (not saved)."""
        sealed = self.sealed
        if sealed is not None:
            self._sealed_set(
                blob_rewrap(
                    purpose=self.blob_purpose, subject=str(self.pk), sealed=sealed, ring=ring
                )
            )

    def _sealed_set(self, sealed: SealedBlob) -> None:
        self.kek_id, self.wrapped_key, self.ciphertext = (
            sealed.kek_id,
            sealed.wrapped_key,
            sealed.ciphertext,
        )


class ContactAttempt(models.Model):
    """A message or a draft with contact or off-platform payment details that were masked
    (or would be): a fraud signal. Kinds only, never the text."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    kinds = models.JSONField(help_text='The kinds masked, e.g. ["phone", "payment"].')
    sent = models.BooleanField(help_text="Sent as a message (else a draft the composer checked).")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["user", "at"], name="contact_attempt_user")]


class ChatFile(models.Model):
    """A file sent in a conversation. The bytes live outside the web root under
    ``DATA_DIR/files/<storage_name>``, sealed in 64 KiB chunks with the conversation's data key
    (``chatbox.crypto.stream_seal``); its name, SHA-256 and size are in the ``file`` event's
    sealed payload and hashed into the chain. Nothing here says what the file is called."""

    class Preview(models.TextChoices):
        PENDING = "pending", "Being made"
        READY = "ready", "Ready"
        NONE = "none", "None for this type"
        FAILED = "failed", "Could not be made"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(Conversation, on_delete=models.PROTECT, related_name="files")
    event = models.OneToOneField(Event, on_delete=models.PROTECT, related_name="file")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100, help_text="Sniffed from the bytes.")
    key_version = models.PositiveIntegerField()
    storage_name = models.CharField(max_length=64, unique=True)
    sample = models.BooleanField(
        default=False, help_text="The buyer sees a watermarked preview until a covering payment."
    )
    created_at = models.DateTimeField(default=timezone.now)
    preview_state = models.CharField(max_length=8, choices=Preview.choices, default=Preview.PENDING)
    # Sealed like the file, each in its own stored file (empty: none).
    preview_name = models.CharField(max_length=64, blank=True)
    thumbnail_name = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="chat_file_sha256_hex64", condition=Q(sha256__regex=r"^[0-9a-f]{64}$")
            ),
        ]


class FileDownload(models.Model):
    """A download of a file by a member other than the one who sent it (proof of delivery).
    The first one per member and file is also posted in the chain (``event``)."""

    file = models.ForeignKey(ChatFile, on_delete=models.PROTECT, related_name="downloads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    first = models.BooleanField(default=False)
    event = models.OneToOneField(
        Event, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["file", "user"], condition=Q(first=True), name="one_first_download"
            ),
        ]


class Checkpoint(models.Model):
    """A signed statement of a conversation's head (PROTOCOL.md §5): ``sig`` is Ed25519 by key
    ``key_id`` over the canonical ``{conversation, seq, head, ts, key_id}``. Never changed."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.PROTECT, related_name="checkpoints"
    )
    seq = models.PositiveIntegerField()
    head = models.CharField(max_length=64)
    ts = models.DateTimeField()
    key_id = models.CharField(max_length=64)
    sig = models.CharField(max_length=128)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "seq", "key_id"], name="one_checkpoint_per_seq_and_key"
            ),
            models.CheckConstraint(name="checkpoint_seq_from_one", condition=Q(seq__gte=1)),
        ]
        ordering = ["conversation", "seq", "key_id"]

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise TypeError("A checkpoint is never changed.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]
