"""The chat's file upload is refused while it streams in (``config.bodylimit``), by the limit
``CHATBOX_FILE_MAX_BYTES`` names, before the view reads it: nothing is kept."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator
from channels.db import database_sync_to_async

from chatbox.models import ChatFile
from chatbox.uploads import MULTIPART_OVERHEAD_BYTES
from config.asgi import application
from tests.chatbox.files_helpers import stored_files
from tests.config.test_body_limit_asgi import TIMEOUT, _answer, _scope

MIB = 1024 * 1024
PATH = f"/api/conversations/{uuid.uuid4()}/files/"


def _refusal(max_bytes: int, size: str) -> dict[str, Any]:
    return {
        "error": {
            "code": "file_too_large",
            "message": f"The file is larger than {size}.",
            "fields": {"file": [f"At most {size}."], "max_bytes": max_bytes},
        }
    }


@pytest.mark.django_db(transaction=True)
async def test_a_declared_length_over_25_mb_is_refused_before_the_body_is_read(
    settings: Any, tmp_path: Path
) -> None:
    # given the default limit, and a request that announces 30 MB with a first chunk ready
    settings.DATA_DIR = tmp_path
    communicator = ApplicationCommunicator(
        application,
        _scope(
            "POST",
            PATH,
            [
                (b"content-type", b"multipart/form-data; boundary=b"),
                (b"content-length", str(30 * MIB).encode()),
            ],
        ),
    )
    await communicator.send_input({"type": "http.request", "body": b"x" * 1000, "more_body": True})
    # when
    status, _, body = await _answer(communicator)
    # then refused with the file's limit, the waiting chunk never read, nothing kept
    assert (status, body) == (413, _refusal(25 * MIB, "25 MB"))
    assert communicator.input_queue.qsize() == 1
    await communicator.wait(TIMEOUT)
    assert await database_sync_to_async(ChatFile.objects.count)() == 0
    assert stored_files() == []


@pytest.mark.django_db(transaction=True)
async def test_a_streamed_upload_is_refused_as_soon_as_it_passes_the_limit(
    settings: Any, tmp_path: Path
) -> None:
    # given a limit of 100,000 bytes and a body without a length, arriving in chunks
    settings.DATA_DIR = tmp_path
    settings.CHATBOX_FILE_MAX_BYTES = 100_000
    limit = 100_000 + MULTIPART_OVERHEAD_BYTES
    communicator = ApplicationCommunicator(
        application,
        _scope("POST", PATH, [(b"content-type", b"multipart/form-data; boundary=b")]),
    )
    sent = 0
    while sent < limit:
        piece = b"x" * min(64 * 1024, limit - sent)
        await communicator.send_input({"type": "http.request", "body": piece, "more_body": True})
        sent += len(piece)
    # when one byte more arrives, and the body is not over
    await communicator.send_input({"type": "http.request", "body": b"x", "more_body": True})
    status, _, body = await _answer(communicator)
    # then
    assert (status, body) == (413, _refusal(100_000, "100,000 bytes"))
    await communicator.wait(TIMEOUT)
    assert await database_sync_to_async(ChatFile.objects.count)() == 0
    assert stored_files() == []
