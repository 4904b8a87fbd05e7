"""Files in the chat (docs/files.md): sending, sealing, the chain, previews, links, downloads,
samples, and every refusal keeping nothing."""

from __future__ import annotations

import hashlib
import io
import time
from pathlib import Path
from typing import Any

import pytest
from django.core import signing
from django.test import Client
from PIL import Image

from accounts.models import User
from chatbox import files
from chatbox.canonical import event_hash, rfc3339
from chatbox.models import ChatFile, Conversation, Event, FileDownload
from chatbox.services import conversation_chain_verify, data_keys, event_document, event_payload
from tests.chatbox.files_helpers import (
    jpeg_with_gps,
    png,
    png_header_only,
    small_zip,
    stored_files,
    upload,
    zip_bomb,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tasks_in_process")]


@pytest.fixture(autouse=True)
def _files_folder(settings: Any, tmp_path: Path) -> None:
    """Each test's files in a folder of its own, so that "nothing on disk" is exact."""
    settings.DATA_DIR = tmp_path


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def send(
    client: Client,
    conversation: Conversation,
    content: bytes,
    name: str = "file.bin",
    captured: Any = None,
    **fields: str,
) -> Any:
    return client.post(
        f"/api/conversations/{conversation.pk}/files/",
        {"file": upload(content, name), **fields},
    )


def sent(
    client: Client, conversation: Conversation, content: bytes, name: str, **fields: str
) -> ChatFile:
    response = send(client, conversation, content, name, **fields)
    assert response.status_code == 201, response.json()
    return ChatFile.objects.get(pk=response.json()["data"]["file"])


def error(response: Any) -> tuple[int, str]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    return response.status_code, body["error"]["code"]


def _decoded(response: Any) -> bytes:
    return b"".join(response.streaming_content)


# -- sending ----------------------------------------------------------------------------------


def test_a_png_is_sealed_on_disk_and_its_hash_size_and_name_enter_the_chain(
    conversation: Conversation, provider: User, django_capture_on_commit_callbacks: Any
) -> None:
    # given
    content = png()
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = send(client_of(provider), conversation, content, "logo draft.png", caption="v1")
    # then the answer is the file message
    assert response.status_code == 201
    message = response.json()
    assert message["kind"] == "file"
    assert message["body"] == "v1"
    chat_file = ChatFile.objects.get()
    assert message["data"]["file"] == str(chat_file.pk)
    assert message["data"]["name"] == "logo draft.png"
    # the previews were made after commit (the eager task): the history links them
    history = client_of(provider).get(f"/api/conversations/{conversation.pk}/messages/").json()
    assert history[-1]["data"]["preview"] == f"/api/files/{chat_file.pk}/preview/"
    assert history[-1]["data"]["thumbnail"] == f"/api/files/{chat_file.pk}/thumbnail/"
    # the event's stored data holds only ids and facts, never the name
    event = Event.objects.get(kind=Event.Kind.FILE)
    assert event.data == {
        "file": str(chat_file.pk),
        "content_type": "image/png",
        "size": len(content),
        "sample": False,
    }
    digest = hashlib.sha256(content).hexdigest()
    assert (chat_file.sha256, chat_file.size, chat_file.content_type) == (
        digest,
        len(content),
        "image/png",
    )
    # the sealed payload carries the file, and the chain's hash covers it
    payload = event_payload(event=event, keys=data_keys(conversation_id=conversation.pk))
    assert payload["files"] == [{"sha256": digest, "size": len(content), "name": "logo draft.png"}]
    document = event_document(
        conversation_id=conversation.pk,
        seq=event.seq,
        prev=event.prev,
        kind=event.kind,
        actor=event.sender_id,
        ts=rfc3339(event.created_at),
        body=payload["body"],
        salt=payload["salt"],
        body_commit=event.body_commit,
        files=payload["files"],
        data=event.data,
    )
    assert event_hash(document) == event.hash
    assert event_hash({**document, "files": []}) != event.hash
    assert conversation_chain_verify(conversation_id=conversation.pk).ok
    # on disk: the original, preview and thumbnail, none of them in the clear
    on_disk = [path for path in stored_files() if path.is_file()]
    assert len(on_disk) == 3
    original = (Path(files.files_dir()) / chat_file.storage_name).read_bytes()
    assert content[:64] not in original
    assert len(original) == 24 + len(content) + 17  # header, one chunk and its tag
    assert files.file_bytes(chat_file) == content


def test_a_file_sealed_for_one_file_does_not_open_as_another(
    conversation: Conversation, provider: User
) -> None:
    # given two files
    first = sent(client_of(provider), conversation, small_zip(), "a.zip")
    second = sent(client_of(provider), conversation, b"plain words\n", "b.txt")
    # when the second's row is pointed at the first's sealed bytes
    second.storage_name = first.storage_name
    # then it does not open
    with pytest.raises(files.crypto.CryptoError):
        files.file_bytes(second)


def test_a_large_file_streams_in_64_kib_chunks(conversation: Conversation, provider: User) -> None:
    # given text of 200,000 bytes (four chunks)
    content = b"0123456789abcdef\n" * 11765
    # when
    chat_file = sent(client_of(provider), conversation, content, "big.txt")
    # then
    chunks = list(files.file_open(chat_file))
    assert [len(chunk) for chunk in chunks] == [65536, 65536, 65536, len(content) - 3 * 65536]
    assert b"".join(chunks) == content


@pytest.mark.parametrize(
    ("content", "name", "content_type", "stored_name"),
    [
        (small_zip(), "sources.zip", "application/zip", "sources.zip"),
        (b"Line one\nLine two\n", "notes.txt", "text/plain", "notes.txt"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "brief.ai", "application/pdf", "brief.ai"),
        (png(), "photo.exe", "image/png", "photo.exe.png"),
    ],
)
def test_the_bytes_decide_the_type_not_the_name(
    conversation: Conversation,
    provider: User,
    content: bytes,
    name: str,
    content_type: str,
    stored_name: str,
) -> None:
    # when
    response = send(client_of(provider), conversation, content, name)
    # then
    assert response.status_code == 201
    assert response.json()["data"]["content_type"] == content_type
    assert response.json()["data"]["name"] == stored_name


@pytest.mark.parametrize(
    ("name", "cleaned"),
    [
        ("../../etc/passwd", "passwd.txt"),
        ("evil\x00name.txt", "evilname.txt"),
        ("a" * 500 + ".txt", "a" * 116 + ".txt"),
        ('..\\..\\"quoted"<b>.txt', "quotedb.txt"),
    ],
)
def test_path_tricks_in_names_are_cleaned(
    conversation: Conversation, provider: User, name: str, cleaned: str
) -> None:
    # when
    chat_file = sent(client_of(provider), conversation, b"just text\n", name)
    # then the stored name is clean, and only generated names are on disk
    assert files.file_name(chat_file) == cleaned
    assert [path.name for path in stored_files()] == [chat_file.storage_name]


# -- refusals: nothing kept -------------------------------------------------------------------


def _nothing_kept(conversation: Conversation, head_before: int) -> None:
    conversation.refresh_from_db()
    assert ChatFile.objects.count() == 0
    assert conversation.head_seq == head_before
    assert not Event.objects.filter(kind=Event.Kind.FILE).exists()
    assert [path for path in stored_files() if path.is_file()] == []


@pytest.mark.parametrize(
    ("content", "name", "status", "code"),
    [
        (
            b"<!DOCTYPE html><html><script>alert(1)</script></html>",
            "cat.png",
            415,
            "file_type_unsupported",
        ),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "logo.svg",
            415,
            "file_type_unsupported",
        ),
        (
            b'<?xml version="1.0"?>\n<svg onload="alert(1)"/>',
            "logo.txt",
            415,
            "file_type_unsupported",
        ),
        (b"\x7fELF\x02\x01\x01" + b"\x00" * 200, "tool.zip", 415, "file_type_unsupported"),
        (b"text with a \x00 NUL byte", "notes.txt", 415, "file_type_unsupported"),
        (zip_bomb(), "fonts.zip", 415, "file_unsafe"),
        (png_header_only(20_000, 20_000), "huge.png", 415, "file_unsafe"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "broken.png", 415, "file_type_unsupported"),
        (b"", "empty.txt", 400, "file_missing"),
    ],
)
def test_disguised_unsafe_and_empty_files_are_refused_and_nothing_is_kept(
    conversation: Conversation, provider: User, content: bytes, name: str, status: int, code: str
) -> None:
    # given
    head = conversation.head_seq
    # when
    response = send(client_of(provider), conversation, content, name)
    # then
    assert error(response) == (status, code)
    _nothing_kept(conversation, head)


def test_a_file_over_the_limit_is_refused_413_and_nothing_is_kept(
    conversation: Conversation, provider: User, settings: Any
) -> None:
    # given a limit of 1,000 bytes
    settings.CHATBOX_FILE_MAX_BYTES = 1000
    head = conversation.head_seq
    # when 1,001 bytes of text are sent
    response = send(client_of(provider), conversation, b"x" * 1001, "a.txt")
    # then
    assert error(response) == (413, "file_too_large")
    assert response.json()["error"]["fields"] == {
        "file": ["At most 1,000 bytes."],
        "max_bytes": 1000,
    }
    _nothing_kept(conversation, head)


def test_a_file_larger_than_it_declared_is_refused_while_sealing(
    conversation: Conversation, provider: User, settings: Any
) -> None:
    # given an upload whose declared size is below the limit but whose bytes are not
    settings.CHATBOX_FILE_MAX_BYTES = 100_000
    head = conversation.head_seq
    lying = upload(b"y" * 150_000, "a.txt")
    lying.size = 10
    # when
    with pytest.raises(files.ApplicationError) as refused:
        files.file_send(
            conversation_id=conversation.pk, sender=conversation_provider(conversation), file=lying
        )
    # then
    assert refused.value.code == "file_too_large"
    _nothing_kept(conversation, head)


def conversation_provider(conversation: Conversation) -> User:
    return User.objects.get(
        participations__conversation=conversation, participations__role="provider"
    )


def test_an_outsider_cannot_send_and_a_buyer_cannot_mark_a_sample(
    conversation: Conversation, buyer: User, outsider: User
) -> None:
    head = conversation.head_seq
    assert error(send(client_of(outsider), conversation, b"hi\n", "a.txt")) == (404, "not_found")
    refused = send(client_of(buyer), conversation, b"hi\n", "a.txt", sample="true")
    assert error(refused) == (400, "invalid")
    _nothing_kept(conversation, head)


def test_no_file_field_is_a_clear_400(conversation: Conversation, provider: User) -> None:
    response = client_of(provider).post(
        f"/api/conversations/{conversation.pk}/files/", {"caption": "x"}
    )
    assert error(response) == (400, "file_missing")


# -- previews ---------------------------------------------------------------------------------


def _image(response: Any) -> Image.Image:
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    return Image.open(io.BytesIO(_decoded(response)))


def test_previews_are_re_encoded_without_exif_or_gps(
    conversation: Conversation,
    provider: User,
    buyer: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given a photo with a GPS position in its EXIF, sent through the eager preview task
    content = jpeg_with_gps()
    assert Image.open(io.BytesIO(content)).getexif().get_ifd(0x8825)
    with django_capture_on_commit_callbacks(execute=True):
        chat_file = sent(client_of(provider), conversation, content, "site.jpg")
    chat_file.refresh_from_db()
    assert chat_file.preview_state == ChatFile.Preview.READY
    # when the buyer looks at them
    preview = _image(client_of(buyer).get(f"/api/files/{chat_file.pk}/preview/"))
    thumbnail = _image(client_of(buyer).get(f"/api/files/{chat_file.pk}/thumbnail/"))
    # then
    for image in (preview, thumbnail):
        assert dict(image.getexif()) == {}
        assert "exif" not in image.info
    assert preview.size == (640, 480)
    assert thumbnail.size == (480, 360)
    # and the original keeps its bytes (its SHA-256 is evidence)
    assert files.file_bytes(chat_file) == content


def test_a_sample_preview_is_small_and_watermarked(
    conversation: Conversation,
    provider: User,
    buyer: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given a 2000 by 1500 plain red picture sent as a sample
    with django_capture_on_commit_callbacks(execute=True):
        chat_file = sent(
            client_of(provider), conversation, png(2000, 1500), "art.png", sample="true"
        )
    # when
    preview = _image(client_of(buyer).get(f"/api/files/{chat_file.pk}/preview/")).convert("RGB")
    # then it is at most 640 px, and not plain red any more: the watermark is drawn over it
    assert preview.size == (640, 480)
    colours = {colour for _, colour in preview.getcolors(maxcolors=1_000_000) or []}
    assert len(colours) > 50


def test_the_preview_task_is_idempotent_and_skips_files_that_are_gone(
    conversation: Conversation, provider: User, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        chat_file = sent(client_of(provider), conversation, png(), "a.png")
    made = sorted(stored_files())
    # when it runs again, and for a file that does not exist
    files.file_previews_make(file_id=chat_file.pk)
    assert files.file_previews_make(file_id="00000000-0000-0000-0000-000000000000") is None
    # then nothing new was made
    assert sorted(stored_files()) == made


def test_a_pdf_has_no_preview_but_an_icon(
    conversation: Conversation,
    provider: User,
    buyer: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        chat_file = sent(client_of(provider), conversation, b"%PDF-1.7\n1 0 obj\n", "a.pdf")
    chat_file.refresh_from_db()
    assert chat_file.preview_state == ChatFile.Preview.NONE
    response = client_of(buyer).get(f"/api/files/{chat_file.pk}/preview/")
    assert error(response) == (404, "preview_unavailable")


# -- links and downloads ----------------------------------------------------------------------


def link(client: Client, chat_file: ChatFile) -> Any:
    return client.get(f"/api/files/{chat_file.pk}/link/")


def test_a_party_downloads_through_a_short_lived_link(
    conversation: Conversation, provider: User, buyer: User
) -> None:
    # given a file the provider sent
    content = "Größe: 12\n".encode()
    chat_file = sent(client_of(provider), conversation, content, "maße ü.txt")
    # when the buyer asks for a link and follows it
    before = time.time()
    answer = link(client_of(buyer), chat_file)
    assert answer.status_code == 200
    expires = answer.json()["expires_at"]
    response = client_of(buyer).get(answer.json()["url"])
    # then
    from datetime import datetime

    assert 295 <= datetime.fromisoformat(expires).timestamp() - before <= 301
    assert response.status_code == 200
    assert _decoded(response) == content
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == (
        "attachment; filename*=utf-8''ma%C3%9Fe%20%C3%BC.txt"
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert "default-src 'none'" in response["Content-Security-Policy"]


def test_the_buyers_first_download_is_posted_once_and_every_one_is_recorded(
    conversation: Conversation, provider: User, buyer: User
) -> None:
    # given
    chat_file = sent(client_of(provider), conversation, small_zip(), "src.zip")
    bea = client_of(buyer)
    # when the buyer downloads twice, and the provider once
    for client in (bea, bea, client_of(provider)):
        assert client.get(link(client, chat_file).json()["url"]).status_code == 200
    # then two rows, one chain event, and the provider sees the receipt on the message
    downloads = list(FileDownload.objects.order_by("at"))
    assert [(d.user_id, d.first) for d in downloads] == [(buyer.pk, True), (buyer.pk, False)]
    posted = Event.objects.get(data__event="file_downloaded")
    assert posted.data == {
        "event": "file_downloaded",
        "file": str(chat_file.pk),
        "seq": chat_file.event.seq,
        "user": buyer.pk,
    }
    assert downloads[0].event == posted
    body = event_payload(event=posted, keys=data_keys(conversation_id=conversation.pk))["body"]
    assert body.startswith("Downloaded by the buyer at ")
    history = client_of(provider).get(f"/api/conversations/{conversation.pk}/messages/").json()
    [message] = [m for m in history if m["kind"] == "file"]
    assert message["data"]["downloaded_at"] == downloads[0].at.isoformat()
    assert conversation_chain_verify(conversation_id=conversation.pk).ok


def test_someone_elses_expired_or_forged_links_are_refused(
    conversation: Conversation, provider: User, buyer: User, outsider: User
) -> None:
    # given a link made for the buyer
    chat_file = sent(client_of(provider), conversation, b"text\n", "a.txt")
    url = link(client_of(buyer), chat_file).json()["url"]
    token = url.rstrip("/").rsplit("/", 1)[1]

    class SixMinutesAgo(signing.TimestampSigner):
        def timestamp(self) -> str:
            return signing.b62_encode(int(time.time()) - 360)

    expired = SixMinutesAgo(salt=files.LINK_SALT).sign_object(
        {"file": str(chat_file.pk), "user": buyer.pk}
    )
    # when / then
    assert error(client_of(provider).get(url)) == (403, "link_invalid")
    assert error(client_of(outsider).get(url)) == (403, "link_invalid")
    assert error(client_of(buyer).get(f"/api/files/download/{expired}/")) == (403, "link_expired")
    forged = token[:-2] + ("aa" if not token.endswith("aa") else "bb")
    assert error(client_of(buyer).get(f"/api/files/download/{forged}/")) == (403, "link_invalid")
    assert error(link(client_of(outsider), chat_file)) == (404, "not_found")
    assert error(client_of(outsider).get(f"/api/files/{chat_file.pk}/thumbnail/")) == (
        404,
        "not_found",
    )
    assert Client().get(url).status_code in (401, 403)
    # and nothing was recorded
    assert FileDownload.objects.count() == 0
    assert not Event.objects.filter(data__event="file_downloaded").exists()


# -- samples ----------------------------------------------------------------------------------


def test_a_sample_unlocks_when_an_invoice_raised_after_it_is_paid(
    taxonomy: None, django_capture_on_commit_callbacks: Any
) -> None:
    from invoices.services import invoice_pay
    from tests.invoices.snapshot import buyer_of, contract_of, fund, invoice_on, provider_of

    # given a funded contract, an invoice raised before the sample, and the sample
    bea, pia = buyer_of(), provider_of()
    contract = contract_of(bea, pia)
    fund(contract, 50000)
    conversation = contract.engagement.conversation
    earlier = invoice_on(contract, 1000)
    with django_capture_on_commit_callbacks(execute=True):
        chat_file = sent(client_of(pia), conversation, png(), "art.png", sample="true")
    buyer = client_of(bea)
    # then the buyer sees the preview, not the original; the provider may download
    assert error(link(buyer, chat_file)) == (403, "file_locked")
    assert buyer.get(f"/api/files/{chat_file.pk}/preview/").status_code == 200
    assert link(client_of(pia), chat_file).status_code == 200
    # when the invoice raised before it is paid: still locked
    invoice_pay(buyer=bea, invoice_id=earlier.pk)
    assert error(link(buyer, chat_file)) == (403, "file_locked")
    # when an invoice raised after it is paid
    later = invoice_on(contract, 2000)
    assert error(link(buyer, chat_file)) == (403, "file_locked")
    invoice_pay(buyer=bea, invoice_id=later.pk)
    # then the original is the buyer's
    answer = link(buyer, chat_file)
    assert answer.status_code == 200
    assert _decoded(buyer.get(answer.json()["url"])) == files.file_bytes(chat_file)
    history = buyer.get(f"/api/conversations/{conversation.pk}/messages/").json()
    [message] = [m for m in history if m["kind"] == "file"]
    assert (message["data"]["sample"], message["data"]["unlocked"]) == (True, True)
