"""Uploaded files, the one way: what the bytes are (sniffed), never what the name or the client
says; how big an upload may be; and what it may be called when it is given back.

Every app that takes a file (ID documents, portfolio files) sniffs it here against its own
allowlist and raises the same codes. A view that takes one file declares it with
``upload_view`` so that ``config.bodylimit`` refuses a larger request body while it streams in,
before Django reads it; the service still checks the file's size itself.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Collection, Mapping
from typing import TypeVar

import filetype
from django.core.files.base import File

from accounts.errors import http_status_register

# Enough for the magic numbers of every type we accept (filetype reads at most 8 KiB).
SNIFF_BYTES = 8192
# What a multipart body may hold besides the file: boundaries, part headers, small fields.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
FILE_NAME_MAX = 120

JPEG, PNG, WEBP, GIF, PDF = "image/jpeg", "image/png", "image/webp", "image/gif", "application/pdf"
IMAGE_TYPES = frozenset({JPEG, PNG, WEBP, GIF})
# The extensions a file of each type may carry; the first is the one given to a file without.
EXTENSIONS = {
    JPEG: (".jpg", ".jpeg"),
    PNG: (".png",),
    WEBP: (".webp",),
    GIF: (".gif",),
    PDF: (".pdf",),
}


class UploadErrorCode:
    FILE_TOO_LARGE = "file_too_large"
    FILE_TYPE_UNSUPPORTED = "file_type_unsupported"
    FILE_MISSING = "file_missing"


http_status_register(
    {
        UploadErrorCode.FILE_TOO_LARGE: 413,
        UploadErrorCode.FILE_TYPE_UNSUPPORTED: 415,
        UploadErrorCode.FILE_MISSING: 400,
    }
)


def sniff(content: bytes, allowed: Collection[str]) -> str | None:
    """The content type of ``content`` by its leading bytes, if it is one of ``allowed``."""
    found = filetype.guess(content[:SNIFF_BYTES])
    mime = found.mime if found is not None else None
    return mime if mime in allowed else None


def read_at_most(file: File, max_bytes: int) -> bytes | None:
    """The whole of ``file``, or ``None`` when it holds more than ``max_bytes`` (whatever size
    the client declared: only what is read counts)."""
    if file.size is not None and file.size > max_bytes:
        return None
    file.seek(0)
    content = file.read(max_bytes + 1)
    return content if len(content) <= max_bytes else None


def size_text(size: int) -> str:
    """``10 MB`` for 10 MiB: how the limits are written to people."""
    if size >= 1024 * 1024 and size % (1024 * 1024) == 0:
        return f"{size // (1024 * 1024)} MB"
    if size >= 1024 and size % 1024 == 0:
        return f"{size // 1024} KB"
    return f"{size:,} bytes"


def file_name_clean(
    name: str, content_type: str, extensions: Mapping[str, tuple[str, ...]] = EXTENSIONS
) -> str:
    """A name safe to show and to send back in ``Content-Disposition``: no folders, control or
    format characters, quotes or slashes; at most ``FILE_NAME_MAX`` characters; and ending in an
    extension of the sniffed type (one is added when the given one does not fit it), so that
    a PDF called ``cv.exe`` goes back out as ``cv.exe.pdf``. ``extensions``: an app's own map
    of types to extensions, for types beyond ``EXTENSIONS``."""
    base = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(
        " " if char.isspace() else char
        for char in base
        if char.isspace()
        or (not unicodedata.category(char).startswith("C") and char not in "\"'<>:|?*")
    )
    stem = " ".join(kept.split()).strip(" .")
    fitting = extensions[content_type]
    if stem.lower().endswith(fitting):
        stem, _, given = stem.rpartition(".")
        extension = f".{given}"
    else:
        extension = fitting[0]
    stem = stem.strip(" .")[: FILE_NAME_MAX - len(extension)].rstrip(" .") or "file"
    return f"{stem}{extension}"


View = TypeVar("View")


def upload_view(*, max_file_bytes: int | Callable[[], int]) -> Callable[[View], View]:
    """Declare that a view (a function, or a class-based view's class) takes one file of at
    most ``max_file_bytes`` (a number, or a function that reads a setting when asked).

    ``config.bodylimit`` then refuses a request body over the file's limit plus
    ``MULTIPART_OVERHEAD_BYTES`` while it streams in, with 413 ``file_too_large`` naming the
    file's limit. Django's own decorators copy the attributes, so the order does not matter.
    """

    def max_body_bytes() -> int:
        return file_limit() + MULTIPART_OVERHEAD_BYTES

    def file_limit() -> int:
        return max_file_bytes() if callable(max_file_bytes) else max_file_bytes

    def declare(view: View) -> View:
        # setattr: a function or class grows the attributes that config.bodylimit reads.
        setattr(view, "max_body_bytes", max_body_bytes)  # noqa: B010
        setattr(view, "max_file_bytes", file_limit)  # noqa: B010
        return view

    return declare
