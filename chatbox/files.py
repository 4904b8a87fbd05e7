"""Files in the chat (docs/files.md): sending one, reading it back, previews, and who may do
which.

A file is what its bytes are (sniffed against ``FILE_TYPES``), never what its name or the client
says. Its bytes are sealed in chunks with the conversation's data key under
``DATA_DIR/files``; its SHA-256, size and cleaned name enter the chain in the ``file`` event's
sealed payload. A sample file is shown to the others as a watermarked preview until a payment
covers it (``sample_unlocked``).
"""

from __future__ import annotations

import codecs
import hashlib
import io
import os
import secrets
import uuid
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import filetype
from django.conf import settings
from django.core import signing
from django.core.files.base import File
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from accounts.errors import http_status_register
from accounts.models import User
from chatbox import contacts, crypto, uploads
from chatbox.errors import ApplicationError, ErrorCode
from chatbox.models import ChatFile, Event, FileDownload, Participant
from chatbox.services import (
    _append,
    _conversation_of_member,
    _locked_conversation,
    _require_writer,
    _validated_body,
    data_keys,
)

# -- what may be sent -----------------------------------------------------------------------

TEXT = "text/plain"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
DOC, XLS, PPT = "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint"
ZIP, SEVEN_Z = "application/zip", "application/x-7z-compressed"
GZIP, TAR = "application/gzip", "application/x-tar"
PSD, EPS = "image/vnd.adobe.photoshop", "application/postscript"

# The types a chat file may be (by its bytes), and the extensions its name may end in; the
# first is given to a name that ends in none of them. Illustrator files are PDF inside (.ai).
FILE_TYPES: dict[str, tuple[str, ...]] = {
    uploads.JPEG: (".jpg", ".jpeg"),
    uploads.PNG: (".png",),
    uploads.GIF: (".gif",),
    uploads.WEBP: (".webp",),
    uploads.PDF: (".pdf", ".ai"),
    DOCX: (".docx",),
    XLSX: (".xlsx",),
    PPTX: (".pptx",),
    DOC: (".doc",),
    XLS: (".xls",),
    PPT: (".ppt",),
    ZIP: (".zip",),
    SEVEN_Z: (".7z",),
    GZIP: (".gz", ".tgz"),
    TAR: (".tar",),
    PSD: (".psd",),
    EPS: (".eps", ".ps", ".ai"),
    TEXT: (".txt", ".md", ".csv", ".log", ".json"),
}
ZIP_TYPES = frozenset({ZIP, DOCX, XLSX, PPTX})
# Markup that a browser would run or render, refused at the start of a "text" file.
MARKUP_MARKERS = (b"<!doctype", b"<html", b"<svg", b"<?xml", b"<script", b"<head", b"<body")
MARKUP_WINDOW = 1024

# Archives are never unpacked; what their headers declare must stay sane.
ARCHIVE_MAX_UNPACKED = 2 * 1024 * 1024 * 1024
ARCHIVE_MAX_ENTRIES = 10_000
ARCHIVE_MAX_RATIO = 200  # unpacked / packed, for an entry of more than 1 MiB
ARCHIVE_RATIO_FLOOR = 1024 * 1024

IMAGE_MAX_PIXELS = 64_000_000
# Pillow refuses what it would decode beyond this (DecompressionBombError at twice it, and
# ``_image_open`` turns the warning below that into an error too).
Image.MAX_IMAGE_PIXELS = IMAGE_MAX_PIXELS

THUMBNAIL_PX = 480
PREVIEW_PX = 1280
SAMPLE_PREVIEW_PX = 640
WATERMARK = "SAMPLE — Chatbox"

LINK_SECONDS = 5 * 60
LINK_SALT = "chatbox.files.download"


class FileErrorCode:
    FILE_UNSAFE = "file_unsafe"
    FILE_LOCKED = "file_locked"
    LINK_INVALID = "link_invalid"
    LINK_EXPIRED = "link_expired"
    PREVIEW_UNAVAILABLE = "preview_unavailable"


http_status_register(
    {
        FileErrorCode.FILE_UNSAFE: 415,
        FileErrorCode.FILE_LOCKED: 403,
        FileErrorCode.LINK_INVALID: 403,
        FileErrorCode.LINK_EXPIRED: 403,
        FileErrorCode.PREVIEW_UNAVAILABLE: 404,
    }
)


def file_max_bytes() -> int:
    return int(settings.CHATBOX_FILE_MAX_BYTES)


def _too_large() -> ApplicationError:
    size = uploads.size_text(file_max_bytes())
    return ApplicationError(
        uploads.UploadErrorCode.FILE_TOO_LARGE,
        f"The file is larger than {size}.",
        {"file": [f"At most {size}."], "max_bytes": file_max_bytes()},
    )


def _unsupported(why: str = "") -> ApplicationError:
    return ApplicationError(
        uploads.UploadErrorCode.FILE_TYPE_UNSUPPORTED,
        why or "This kind of file cannot be sent.",
        {
            "file": [
                "Send an image (JPEG, PNG, GIF, WebP), a PDF, an office document, an archive "
                "(zip, 7z, gz, tar), plain text or a design file (PSD, EPS)."
            ]
        },
    )


def _unsafe(why: str) -> ApplicationError:
    return ApplicationError(FileErrorCode.FILE_UNSAFE, why, {"file": [why]})


def file_type_sniff(head: bytes) -> str | None:
    """The type of a file by its first bytes, if it is one a chat file may be. Bytes that no
    signature knows are plain text only when they look like it; the whole file is checked
    again as it is stored (``_TextCheck``)."""
    found = uploads.sniff(head, FILE_TYPES)
    if found is not None:
        return found
    if filetype.guess(head[: uploads.SNIFF_BYTES]) is None and _looks_like_text(head):
        return TEXT
    return None


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    start = head[:MARKUP_WINDOW].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith(b"<") or any(marker in start for marker in MARKUP_MARKERS):
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


class _TextCheck:
    """UTF-8 and no NUL byte, over the whole file as it streams by."""

    def __init__(self) -> None:
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.ok = True

    def feed(self, chunk: bytes, *, final: bool = False) -> None:
        if not self.ok:
            return
        try:
            self.decoder.decode(chunk, final=final)
        except UnicodeDecodeError:
            self.ok = False
        if b"\x00" in chunk:
            self.ok = False


def _zip_check(file: BinaryIO) -> None:
    """Refuse a zip whose central directory declares a bomb. Nothing is unpacked."""
    try:
        with zipfile.ZipFile(file) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _unsupported("The archive is damaged.") from exc
    if len(entries) > ARCHIVE_MAX_ENTRIES:
        raise _unsafe(f"The archive holds more than {ARCHIVE_MAX_ENTRIES:,} files.")
    if sum(entry.file_size for entry in entries) > ARCHIVE_MAX_UNPACKED:
        raise _unsafe("The archive would unpack to more than 2 GB.")
    for entry in entries:
        if entry.file_size > ARCHIVE_RATIO_FLOOR and (
            entry.compress_size == 0 or entry.file_size / entry.compress_size > ARCHIVE_MAX_RATIO
        ):
            raise _unsafe("The archive is compressed too far to be safe to unpack.")


def _gzip_check(file: BinaryIO, size: int) -> None:
    """A gzip stream's last four bytes declare its unpacked size (modulo 4 GiB)."""
    file.seek(max(size - 4, 0))
    declared = int.from_bytes(file.read(4), "little")
    if declared > ARCHIVE_RATIO_FLOOR and declared / size > ARCHIVE_MAX_RATIO:
        raise _unsafe("The archive is compressed too far to be safe to unpack.")


def _image_open(source: BinaryIO) -> Image.Image:
    """Open an image, refusing decompression bombs (Pillow's warning is an error here)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(source)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _unsafe("The image is too large (at most 64 megapixels).") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise _unsupported("The image cannot be read.") from exc
    width, height = image.size
    if width * height > IMAGE_MAX_PIXELS:
        raise _unsafe("The image is too large (at most 64 megapixels).")
    return image


def _inspect(file: File, content_type: str, size: int) -> None:
    """Look inside the types that can hide a bomb, without unpacking them."""
    file.seek(0)
    if content_type in ZIP_TYPES:
        _zip_check(file)  # type: ignore[arg-type]
    elif content_type == GZIP:
        _gzip_check(file, size)  # type: ignore[arg-type]
    elif content_type in uploads.IMAGE_TYPES:
        _image_open(file)  # type: ignore[arg-type]


# -- storage ----------------------------------------------------------------------------------


def files_dir() -> Path:
    folder = Path(settings.DATA_DIR) / "files"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _stored_path(storage_name: str) -> Path:
    if len(storage_name) != 32 or not all(c in "0123456789abcdef" for c in storage_name):
        raise ValueError(f"not a storage name: {storage_name!r}")
    return files_dir() / storage_name


def _aad(chat_file: ChatFile, role: str) -> bytes:
    return crypto.file_aad(
        conversation_id=str(chat_file.conversation_id),
        file_id=str(chat_file.pk),
        key_version=chat_file.key_version,
        role=role,
    )


def _seal_to_storage(
    *, data_key: bytes, associated_data: bytes, pieces: Iterator[bytes]
) -> tuple[str, Path]:
    """Seal ``pieces`` into a new stored file; returns its storage name and path."""
    storage_name = secrets.token_hex(16)
    path = _stored_path(storage_name)
    partial = path.with_suffix(".part")
    try:
        with open(partial, "xb") as sink:
            os.chmod(partial, 0o600)
            crypto.stream_seal(
                data_key=data_key, associated_data=associated_data, pieces=pieces, sink=sink
            )
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return storage_name, path


def _data_key(chat_file: ChatFile) -> bytes:
    return data_keys(conversation_id=chat_file.conversation_id)[chat_file.key_version]


def _stored_chunks(chat_file: ChatFile, storage_name: str, role: str) -> Iterator[bytes]:
    data_key, aad = _data_key(chat_file), _aad(chat_file, role)
    with open(_stored_path(storage_name), "rb") as source:
        yield from crypto.stream_open(data_key=data_key, associated_data=aad, source=source)


def file_open(chat_file: ChatFile) -> Iterator[bytes]:
    """The decrypted bytes of ``chat_file``, chunk by chunk (a truncated or tampered file
    raises ``chatbox.crypto.CryptoError`` when reached)."""
    return _stored_chunks(chat_file, chat_file.storage_name, "original")


def file_bytes_destroy(chat_file: ChatFile) -> None:
    """Delete the stored original and previews of ``chat_file`` (redaction, retention). The row
    stays, with the SHA-256 and size the chain names."""
    for name in (chat_file.storage_name, chat_file.preview_name, chat_file.thumbnail_name):
        if name:
            _stored_path(name).unlink(missing_ok=True)
    ChatFile.objects.filter(pk=chat_file.pk).update(
        preview_state=ChatFile.Preview.NONE, preview_name="", thumbnail_name=""
    )


def file_bytes(chat_file: ChatFile) -> bytes:
    """The whole decrypted file, checked against the SHA-256 and size it was sent with."""
    content = b"".join(file_open(chat_file))
    if len(content) != chat_file.size or hashlib.sha256(content).hexdigest() != chat_file.sha256:
        raise crypto.CryptoError(f"file {chat_file.pk} does not match its SHA-256")
    return content


# -- sending ----------------------------------------------------------------------------------


def _pieces(file: File) -> Iterator[bytes]:
    file.seek(0)
    yield from file.chunks(crypto.FILE_CHUNK_BYTES)


@dataclass
class _Tally:
    size: int = 0
    sha256: Any = None

    def __post_init__(self) -> None:
        self.sha256 = hashlib.sha256()


def file_send(
    *,
    conversation_id: uuid.UUID | str,
    sender: User,
    file: File,
    sample: bool = False,
    caption: str = "",
) -> ChatFile:
    """Send a file into a conversation: a ``file`` event and its sealed bytes.

    Refused (nothing kept: no row, no event, no bytes on disk) when it is too large, empty,
    of a type not in ``FILE_TYPES`` whatever its name says, or a bomb.
    """
    conversation = _conversation_of_member(conversation_id, sender)
    role = Participant.objects.get(conversation=conversation, user=sender).role
    _require_writer(conversation, sender)
    if sample and role != Participant.Role.PROVIDER:
        raise ApplicationError(
            ErrorCode.INVALID,
            "Only the provider sends samples.",
            {"sample": ["Only the provider marks a file as a sample."]},
        )
    caption = _validated_body(caption) if caption.strip() else ""
    if file.size is not None and file.size > file_max_bytes():
        raise _too_large()
    file.seek(0)
    head = file.read(uploads.SNIFF_BYTES)
    if not head:
        raise ApplicationError(
            uploads.UploadErrorCode.FILE_MISSING, "The file is empty.", {"file": ["Empty."]}
        )
    content_type = file_type_sniff(head)
    if content_type is None:
        raise _unsupported()
    _inspect(file, content_type, file.size or 0)

    key_version = conversation.key_version
    file_id = uuid.uuid4()
    tally, text = _Tally(), _TextCheck()

    def counted() -> Iterator[bytes]:
        for piece in _pieces(file):
            tally.size += len(piece)
            if tally.size > file_max_bytes():
                raise _too_large()  # the client's declared size was wrong
            tally.sha256.update(piece)
            if content_type == TEXT:
                text.feed(piece)
            yield piece

    associated = crypto.file_aad(
        conversation_id=str(conversation.pk),
        file_id=str(file_id),
        key_version=key_version,
        role="original",
    )
    storage_name, path = _seal_to_storage(
        data_key=data_keys(conversation_id=conversation.pk)[key_version],
        associated_data=associated,
        pieces=counted(),
    )
    try:
        if content_type == TEXT:
            text.feed(b"", final=True)
            if not text.ok:
                raise _unsupported("The file is neither text nor a type that can be sent.")
        name = uploads.file_name_clean(file.name or "file", content_type, FILE_TYPES)
        return _file_record(
            conversation_id=conversation.pk,
            sender=sender,
            file_id=file_id,
            storage_name=storage_name,
            key_version=key_version,
            content_type=content_type,
            size=tally.size,
            sha256=tally.sha256.hexdigest(),
            name=name,
            sample=sample,
            caption=caption,
        )
    except BaseException:
        path.unlink(missing_ok=True)
        raise


@transaction.atomic
def _file_record(
    *,
    conversation_id: uuid.UUID,
    sender: User,
    file_id: uuid.UUID,
    storage_name: str,
    key_version: int,
    content_type: str,
    size: int,
    sha256: str,
    name: str,
    sample: bool,
    caption: str,
) -> ChatFile:
    """The ``file`` event and its row, in one transaction under the conversation's lock."""
    conversation = _locked_conversation(conversation_id)
    _require_writer(conversation, sender)
    if conversation.key_version != key_version:  # sealed with a key that no longer seals
        raise RuntimeError(f"conversation {conversation.pk} changed its data key meanwhile")
    spans = contacts.scan(caption) if caption else []
    event = _append(
        conversation=conversation,
        kind=Event.Kind.FILE,
        sender=sender,
        body=caption,
        data={"file": str(file_id), "content_type": content_type, "size": size, "sample": sample},
        spans=spans,
        files=[{"sha256": sha256, "size": size, "name": name}],
    )
    chat_file = ChatFile.objects.create(
        id=file_id,
        conversation=conversation,
        event=event,
        uploaded_by=sender,
        sha256=sha256,
        size=size,
        content_type=content_type,
        key_version=key_version,
        storage_name=storage_name,
        sample=sample,
        created_at=event.created_at,
    )
    Participant.objects.filter(conversation=conversation, user=sender).update(
        last_read_seq=event.seq
    )
    from chatbox import tasks  # the task module imports this one

    transaction.on_commit(lambda: tasks.file_previews_make.delay(str(file_id)))
    return chat_file


# -- previews ---------------------------------------------------------------------------------


def _flattened(image: Image.Image) -> Image.Image:
    """The first frame, upright, in RGB on white: what a preview shows. Re-encoding from the
    pixels drops EXIF (GPS included) and every other chunk of the original."""
    image.seek(0)
    image = ImageOps.exif_transpose(image) or image
    if image.mode in ("RGBA", "LA", "P", "PA"):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def _watermarked(image: Image.Image) -> Image.Image:
    """``WATERMARK`` tiled diagonally over ``image``."""
    width, height = image.size
    side = int((width**2 + height**2) ** 0.5) + 1
    layer = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    font = ImageFont.load_default(size=max(14, min(width, height) // 14))
    left, top, right, bottom = draw.textbbox((0, 0), WATERMARK, font=font)
    step_x, step_y = int(right - left) + 40, int(bottom - top) * 3
    for row, y in enumerate(range(0, side, step_y)):
        for x in range(-(row % 2) * step_x // 2, side, step_x):
            draw.text((x, y), WATERMARK, font=font, fill=(255, 255, 255, 150))
            draw.text((x + 1, y + 1), WATERMARK, font=font, fill=(0, 0, 0, 90))
    layer = layer.rotate(30, resample=Image.Resampling.BICUBIC)
    offset = ((side - width) // 2, (side - height) // 2)
    layer = layer.crop((offset[0], offset[1], offset[0] + width, offset[1] + height))
    return Image.alpha_composite(image.convert("RGBA"), layer).convert("RGB")


def _jpeg(image: Image.Image, max_px: int) -> bytes:
    copy = image.copy()
    copy.thumbnail((max_px, max_px), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    copy.save(out, "JPEG", quality=82, optimize=True)
    return out.getvalue()


def file_previews_make(*, file_id: uuid.UUID | str) -> ChatFile | None:
    """Make a pending file's preview and thumbnail (images only; other types show an icon).

    Idempotent: a file whose previews are made (or were found impossible) is left alone, and
    a file that is gone is quietly skipped. A sample's preview and thumbnail are low-resolution
    and watermarked: they are all the buyer sees until a payment covers it.
    """
    chat_file = ChatFile.objects.filter(pk=file_id).first()
    if chat_file is None or chat_file.preview_state != ChatFile.Preview.PENDING:
        return chat_file
    if chat_file.content_type not in uploads.IMAGE_TYPES:
        ChatFile.objects.filter(pk=chat_file.pk, preview_state=ChatFile.Preview.PENDING).update(
            preview_state=ChatFile.Preview.NONE
        )
        chat_file.refresh_from_db()
        return chat_file
    made: list[Path] = []
    try:
        picture = _flattened(_image_open(io.BytesIO(file_bytes(chat_file))))
        if chat_file.sample:
            preview = _watermarked(_image_scaled(picture, SAMPLE_PREVIEW_PX))
            previews = {"preview": _jpeg(preview, SAMPLE_PREVIEW_PX)}
            previews["thumbnail"] = _jpeg(preview, THUMBNAIL_PX)
        else:
            previews = {
                "preview": _jpeg(picture, PREVIEW_PX),
                "thumbnail": _jpeg(picture, THUMBNAIL_PX),
            }
        names = {}
        for role, content in previews.items():
            names[role], path = _seal_to_storage(
                data_key=_data_key(chat_file),
                associated_data=_aad(chat_file, role),
                pieces=iter([content]),
            )
            made.append(path)
    except (ApplicationError, OSError, ValueError, crypto.CryptoError):
        for path in made:
            path.unlink(missing_ok=True)
        ChatFile.objects.filter(pk=chat_file.pk, preview_state=ChatFile.Preview.PENDING).update(
            preview_state=ChatFile.Preview.FAILED
        )
        chat_file.refresh_from_db()
        return chat_file
    moved = ChatFile.objects.filter(pk=chat_file.pk, preview_state=ChatFile.Preview.PENDING).update(
        preview_state=ChatFile.Preview.READY,
        preview_name=names["preview"],
        thumbnail_name=names["thumbnail"],
    )
    if moved != 1:  # another run made them first: ours are spare
        for path in made:
            path.unlink(missing_ok=True)
    chat_file.refresh_from_db()
    return chat_file


def _image_scaled(image: Image.Image, max_px: int) -> Image.Image:
    copy = image.copy()
    copy.thumbnail((max_px, max_px), Image.Resampling.LANCZOS)
    return copy


def preview_open(chat_file: ChatFile, role: str) -> Iterator[bytes]:
    """The decrypted preview (``role`` ``preview`` or ``thumbnail``), a JPEG."""
    name = chat_file.preview_name if role == "preview" else chat_file.thumbnail_name
    if chat_file.preview_state != ChatFile.Preview.READY or not name:
        raise ApplicationError(
            FileErrorCode.PREVIEW_UNAVAILABLE,
            "This file has no preview.",
            {"file": str(chat_file.pk)},
        )
    return _stored_chunks(chat_file, name, role)


# -- who may see what -------------------------------------------------------------------------


def file_for_member(*, user: User, file_id: uuid.UUID | str) -> ChatFile:
    """The one door to a file for the members of its conversation. A file support hid or
    removed, or one destroyed at the end of retention, is not served. (Support staff read files
    through their case: ``reports.cases.case_chat_file``.)"""
    chat_file = file_get(file_id)
    member = Participant.objects.filter(
        conversation_id=chat_file.conversation_id, user=user
    ).exists()
    if not member:
        raise ApplicationError(ErrorCode.NOT_FOUND, "No such file.")
    if chat_file.event.hidden_at is not None:
        raise ApplicationError(ErrorCode.NOT_FOUND, "This file was hidden by support.")
    return chat_file


def file_get(file_id: uuid.UUID | str) -> ChatFile:
    """The file ``file_id`` whose bytes are still kept: not removed by support, nor destroyed
    at the end of retention. No check of who asks: callers make it."""
    try:
        chat_file = ChatFile.objects.select_related("event", "conversation").get(
            pk=uuid.UUID(str(file_id))
        )
    except (ValueError, ChatFile.DoesNotExist) as exc:
        raise ApplicationError(ErrorCode.NOT_FOUND, "No such file.") from exc
    if chat_file.event.redacted_at is not None:
        raise ApplicationError(ErrorCode.NOT_FOUND, "This file was removed by support.")
    if chat_file.conversation.shredded_at is not None:
        raise ApplicationError(
            ErrorCode.NOT_FOUND, "This file was destroyed at the end of its retention period."
        )
    return chat_file


def sample_unlocked(chat_file: ChatFile) -> bool:
    """A sample is covered once an invoice issued after it in the same conversation is paid.

    Read from the chain, which the money side writes into (``invoice_issued`` then
    ``invoice_paid`` events naming the invoice): the chatbox knows nothing above it.
    """
    if not chat_file.sample:
        return True
    issued_after = {
        data.get("invoice")
        for data in Event.objects.filter(
            conversation_id=chat_file.conversation_id,
            kind=Event.Kind.INVOICE,
            seq__gt=chat_file.event.seq,
        ).values_list("data", flat=True)
        if data.get("event") == "invoice_issued"
    }
    if not issued_after:
        return False
    return any(
        data.get("event") == "invoice_paid" and data.get("invoice") in issued_after
        for data in Event.objects.filter(
            conversation_id=chat_file.conversation_id,
            kind=Event.Kind.PAYMENT,
            seq__gt=chat_file.event.seq,
        ).values_list("data", flat=True)
    )


def file_locked_for(*, chat_file: ChatFile, user: User) -> bool:
    """Whether ``user`` sees only the preview: a sample, sent by someone else, not yet paid."""
    return (
        chat_file.sample and chat_file.uploaded_by_id != user.pk and not sample_unlocked(chat_file)
    )


@dataclass(frozen=True)
class FileLink:
    url: str
    expires_at: datetime


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=LINK_SALT)


def file_link(*, user: User, file_id: uuid.UUID | str) -> FileLink:
    """A download link for ``user`` alone, valid for ``LINK_SECONDS``."""
    chat_file = file_for_member(user=user, file_id=file_id)
    if file_locked_for(chat_file=chat_file, user=user):
        raise ApplicationError(
            FileErrorCode.FILE_LOCKED,
            "This is a sample: the original unlocks when the invoice is paid.",
            {"file": str(chat_file.pk)},
        )
    token = _signer().sign_object({"file": str(chat_file.pk), "user": user.pk})
    return FileLink(
        url=reverse("api-file-download", args=[token]),
        expires_at=timezone.now() + timedelta(seconds=LINK_SECONDS),
    )


@dataclass(frozen=True)
class FileDelivery:
    chat_file: ChatFile
    name: str
    chunks: Iterator[bytes]


def file_name(chat_file: ChatFile) -> str:
    """The cleaned name the file was sent with (from the event's sealed payload)."""
    from chatbox.services import event_payload  # a read of the sealed payload

    payload = event_payload(
        event=chat_file.event, keys=data_keys(conversation_id=chat_file.conversation_id)
    )
    described = payload.get("files") or [{}]
    return str(described[0].get("name") or "file")


def file_download(*, user: User, token: str) -> FileDelivery:
    """The file a link names, for the user it was made for; a buyer's download is recorded
    (and the first one posted in the chain as proof of delivery)."""
    try:
        claims = _signer().unsign_object(token, max_age=LINK_SECONDS)
    except signing.SignatureExpired as exc:
        raise ApplicationError(
            FileErrorCode.LINK_EXPIRED, "This download link has expired: ask for a new one."
        ) from exc
    except signing.BadSignature as exc:
        raise ApplicationError(
            FileErrorCode.LINK_INVALID, "This download link is not valid."
        ) from exc
    if not isinstance(claims, dict) or claims.get("user") != user.pk:
        raise ApplicationError(FileErrorCode.LINK_INVALID, "This download link is not yours.")
    # Checked again now: membership may have ended, support may have hidden the file.
    chat_file = file_for_member(user=user, file_id=str(claims.get("file")))
    if file_locked_for(chat_file=chat_file, user=user):
        raise ApplicationError(FileErrorCode.FILE_LOCKED, "This sample is not unlocked.")
    _download_record(chat_file=chat_file, user=user)
    return FileDelivery(chat_file=chat_file, name=file_name(chat_file), chunks=file_open(chat_file))


@transaction.atomic
def _download_record(*, chat_file: ChatFile, user: User) -> FileDownload | None:
    """A buyer's download of a file someone else sent. Under the conversation's lock, so the
    first download is posted in the chain exactly once."""
    if chat_file.uploaded_by_id == user.pk:
        return None
    conversation = _locked_conversation(chat_file.conversation_id)
    role = (
        Participant.objects.filter(conversation=conversation, user=user)
        .values_list("role", flat=True)
        .first()
    )
    if role != Participant.Role.BUYER:
        return None
    now = timezone.now()
    first = not FileDownload.objects.filter(file=chat_file, user=user, first=True).exists()
    event = None
    if first:
        event = _append(
            conversation=conversation,
            kind=Event.Kind.SYSTEM,
            sender=None,
            body=f"Downloaded by the buyer at {now:%Y-%m-%d %H:%M} UTC: {file_name(chat_file)}.",
            data={
                "event": "file_downloaded",
                "file": str(chat_file.pk),
                "seq": chat_file.event.seq,
                "user": user.pk,
            },
        )
    return FileDownload.objects.create(file=chat_file, user=user, at=now, first=first, event=event)


# -- how a file message is shown ----------------------------------------------------------------


def file_message_data(*, event: Event, payload: dict[str, Any]) -> dict[str, Any]:
    """What a viewer's ``data`` of a ``file`` message adds to the chain's ids: the name, the
    preview and thumbnail URLs, whether a sample is unlocked, and the buyer's first download
    (the provider's proof of delivery). The same for every viewer: the client compares the
    sender with itself to tell a locked sample."""
    chat_file = ChatFile.objects.filter(event=event).first()
    if chat_file is None:
        return {}
    described = (payload.get("files") or [{}])[0]
    ready = chat_file.preview_state == ChatFile.Preview.READY
    first = FileDownload.objects.filter(file=chat_file, first=True).order_by("at").first()
    return {
        "name": described.get("name", "file"),
        "sha256": chat_file.sha256,
        "preview_state": chat_file.preview_state,
        "preview": reverse("api-file-preview", args=[chat_file.pk]) if ready else None,
        "thumbnail": reverse("api-file-thumbnail", args=[chat_file.pk]) if ready else None,
        "unlocked": sample_unlocked(chat_file),
        "downloaded_at": first.at.isoformat() if first else None,
    }
