"""Files the file tests send: real images made with Pillow, crafted bombs and disguises."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image


def png(width: int = 800, height: int = 600, *, gps: bool = False) -> bytes:
    """A real PNG; with ``gps``, EXIF that holds a GPS position."""
    image = Image.new("RGB", (width, height), (200, 40, 40))
    out = io.BytesIO()
    if gps:
        exif = Image.Exif()
        exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}
        exif[0x010F] = "SpyCam"
        image.save(out, "PNG", exif=exif.tobytes())
    else:
        image.save(out, "PNG")
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (640, 480), (10, 120, 200))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` by ``height`` pixels, with one tiny data chunk: what a
    decompression bomb looks like before anyone decodes it."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _chunk(b"IEND", b"")
    )


def zip_bomb() -> bytes:
    """A zip of one entry that unpacks to 64 MiB of zeros (ratio about 1000:1)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("zeros.bin", "w", force_zip64=True) as entry,
    ):
        for _ in range(64):
            entry.write(b"\x00" * (1024 * 1024))
    return out.getvalue()


def small_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("readme.txt", "Hello, here are the sources.\n" * 20)
    return out.getvalue()


def upload(content: bytes, name: str = "file.bin") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def stored_files() -> list[Path]:
    """Everything in the files folder (sealed files and leftovers of a failed write)."""
    folder = Path(settings.DATA_DIR) / "files"
    return sorted(folder.rglob("*")) if folder.exists() else []
