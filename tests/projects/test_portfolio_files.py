"""Portfolio files: sniffed uploads sealed in their item's row, served only to those who may
see the profile, kept across profile edits, and re-wrapped when the master key rotates."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from accounts.models import User
from chatbox.uploads import MULTIPART_OVERHEAD_BYTES, file_name_clean
from config.bodylimit import BodyLimit, body_limit_for
from projects.models import PortfolioItem
from tests.factories import UserFactory, conversation_between
from tests.projects.profiles import profile_body, provider_with_profile

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("taxonomy")]

MARKER = b"PORTFOLIO-PLAINTEXT-7f3a"
# The smallest headers the sniffer knows, each followed by a marker never to be stored in clear.
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 16 + MARKER
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 16 + MARKER
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 16 + MARKER
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00" + MARKER
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + MARKER + b"\n%%EOF\n"

NO_SUCH_PROFILE = {"error": {"code": "not_found", "message": "No such profile.", "fields": {}}}
UNSUPPORTED = {
    "code": "file_type_unsupported",
    "message": "The file must be a JPEG, PNG, WebP or GIF image or a PDF.",
    "fields": {"file": ["Upload a JPEG, PNG, WebP, GIF or PDF file."]},
}


def _item(provider: User) -> PortfolioItem:
    return PortfolioItem.objects.get(profile__user=provider)


def _signed_in_provider(client: Client, **profile: Any) -> tuple[User, PortfolioItem]:
    provider = provider_with_profile(**profile)
    client.force_login(provider)
    return provider, _item(provider)


def _upload(client: Client, item: PortfolioItem, content: bytes, name: str) -> Any:
    return client.post(
        f"/api/profiles/me/portfolio/{item.pk}/file/",
        {"file": SimpleUploadedFile(name, content, content_type="image/png")},
    )


def _stored(item: PortfolioItem) -> dict[str, Any]:
    """What the row holds of a file, read afresh."""
    return PortfolioItem.objects.filter(pk=item.pk).values(*PORTFOLIO_FILE_COLUMNS).get()


PORTFOLIO_FILE_COLUMNS = [
    "kek_id",
    "wrapped_key",
    "ciphertext",
    "file_name",
    "file_content_type",
    "file_size",
]
NOTHING_STORED = {
    "kek_id": "",
    "wrapped_key": None,
    "ciphertext": None,
    "file_name": "",
    "file_content_type": "",
    "file_size": None,
}


def _rows_hold(marker: bytes) -> bool:
    for row in PortfolioItem.objects.values():
        for value in row.values():
            raw = bytes(value) if isinstance(value, (bytes, memoryview)) else str(value).encode()
            if marker in raw:
                return True
    return False


# -- uploading -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "name", "content_type"),
    [
        (PNG, "shop.png", "image/png"),
        (JPEG, "shop.jpg", "image/jpeg"),
        (WEBP, "shop.webp", "image/webp"),
        (GIF, "shop.gif", "image/gif"),
        (PDF, "case study.pdf", "application/pdf"),
    ],
)
def test_an_uploaded_file_is_sealed_in_its_item(
    client: Client, content: bytes, name: str, content_type: str
) -> None:
    # given
    _, item = _signed_in_provider(client)
    # when
    response = _upload(client, item, content, name)
    # then
    assert response.status_code == 200
    assert response.json() == {
        "id": item.pk,
        "title": "Corner Bakery",
        "link": "https://example.com/corner",
        "description": "",
        "file": {
            "name": name,
            "content_type": content_type,
            "size": len(content),
            "url": f"/api/profiles/provider/portfolio/{item.pk}/file/",
        },
    }
    item.refresh_from_db()
    assert (item.file_name, item.file_content_type, item.file_size) == (
        name,
        content_type,
        len(content),
    )
    assert len(bytes(item.ciphertext)) == len(content) + 40  # nonce 24 + tag 16
    assert MARKER not in bytes(item.ciphertext)
    assert not _rows_hold(MARKER)
    assert item.file_open() == content


def test_the_type_is_what_the_bytes_are_not_the_name(client: Client) -> None:
    # given a PDF named like an image
    _, item = _signed_in_provider(client)
    # when
    response = _upload(client, item, PDF, "photo.png")
    # then it is a PDF, and its name ends like one
    assert response.json()["file"]["content_type"] == "application/pdf"
    assert response.json()["file"]["name"] == "photo.png.pdf"


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"just text, not an image " + MARKER, "shop.png"),
        (b"<html><script>alert(1)</script></html>" + MARKER, "shop.pdf"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "a.svg"),
        (b"PK\x03\x04" + b"\x00" * 30 + MARKER, "shop.zip"),
    ],
)
def test_a_disguised_or_unsupported_file_is_refused_and_nothing_stored(
    client: Client, content: bytes, name: str
) -> None:
    # given
    _, item = _signed_in_provider(client)
    # when
    response = _upload(client, item, content, name)
    # then
    assert response.status_code == 415
    assert response.json() == {"error": UNSUPPORTED}
    assert _stored(item) == NOTHING_STORED
    assert not _rows_hold(MARKER)


def test_an_upload_without_a_file_is_refused(client: Client) -> None:
    _, item = _signed_in_provider(client)
    response = client.post(f"/api/profiles/me/portfolio/{item.pk}/file/", {"title": "x"})
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "file_missing",
            "message": "No file was attached.",
            "fields": {"file": ["Choose a file to upload."]},
        }
    }
    assert _stored(item) == NOTHING_STORED


def test_an_empty_file_is_refused(client: Client) -> None:
    _, item = _signed_in_provider(client)
    response = _upload(client, item, b"", "empty.png")
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "file_missing",
            "message": "The file is empty.",
            "fields": {"file": ["The file is empty."]},
        }
    }
    assert _stored(item) == NOTHING_STORED


def test_an_oversized_file_is_refused_and_nothing_stored(client: Client, settings: Any) -> None:
    # given a limit of 2 KB and a real PNG header one byte over it
    settings.PORTFOLIO_FILE_MAX_BYTES = 2048
    _, item = _signed_in_provider(client)
    content = PNG + b"\x00" * (2048 + 1 - len(PNG))
    # when
    response = _upload(client, item, content, "big.png")
    # then
    assert response.status_code == 413
    assert response.json() == {
        "error": {
            "code": "file_too_large",
            "message": "The file is larger than 2 KB.",
            "fields": {"file": ["At most 2 KB."], "max_bytes": 2048},
        }
    }
    assert _stored(item) == NOTHING_STORED


def test_a_file_at_the_limit_is_accepted(client: Client, settings: Any) -> None:
    settings.PORTFOLIO_FILE_MAX_BYTES = 2048
    _, item = _signed_in_provider(client)
    response = _upload(client, item, PNG + b"\x00" * (2048 - len(PNG)), "full.png")
    assert response.status_code == 200
    assert response.json()["file"]["size"] == 2048


def test_the_default_limit_is_10_mb(client: Client) -> None:
    # given a real PNG header, one byte over 10 MiB
    _, item = _signed_in_provider(client)
    content = PNG + b"\x00" * (10 * 1024 * 1024 + 1 - len(PNG))
    # when
    response = _upload(client, item, content, "huge.png")
    # then
    assert response.status_code == 413
    assert response.json()["error"]["fields"] == {"file": ["At most 10 MB."], "max_bytes": 10485760}
    assert _stored(item) == NOTHING_STORED


def test_a_refused_replacement_keeps_the_file_there_was(client: Client) -> None:
    # given an item with a file
    _, item = _signed_in_provider(client)
    assert _upload(client, item, PNG, "shop.png").status_code == 200
    before = _stored(item)
    # when a disguised file is sent in its place
    response = _upload(client, item, b"<html></html>", "shop.png")
    # then
    assert response.status_code == 415
    assert _stored(item) == before


def test_a_new_file_replaces_the_old_one(client: Client) -> None:
    _, item = _signed_in_provider(client)
    _upload(client, item, PNG, "shop.png")
    response = _upload(client, item, PDF, "brochure.pdf")
    assert response.json()["file"]["content_type"] == "application/pdf"
    item.refresh_from_db()
    assert item.file_open() == PDF


def test_removing_a_file_keeps_the_item(client: Client) -> None:
    # given an item with a file
    _, item = _signed_in_provider(client)
    _upload(client, item, PNG, "shop.png")
    # when
    response = client.delete(f"/api/profiles/me/portfolio/{item.pk}/file/")
    # then
    assert response.status_code == 200
    assert response.json()["file"] is None
    assert _stored(item) == NOTHING_STORED
    assert PortfolioItem.objects.filter(pk=item.pk, title="Corner Bakery").exists()
    # and removing it again changes nothing
    again = client.delete(f"/api/profiles/me/portfolio/{item.pk}/file/")
    assert (again.status_code, again.json()["file"]) == (200, None)


def test_a_provider_cannot_touch_another_providers_item(client: Client) -> None:
    # given someone else's item with a file
    other = provider_with_profile("other")
    theirs = _item(other)
    client.force_login(other)
    _upload(client, theirs, PNG, "theirs.png")
    before = _stored(theirs)
    client.force_login(provider_with_profile("provider"))
    # when
    upload = _upload(client, theirs, JPEG, "mine.jpg")
    removal = client.delete(f"/api/profiles/me/portfolio/{theirs.pk}/file/")
    # then both are the 404 of a missing item, and their file is as it was
    missing = {"error": {"code": "not_found", "message": "No such portfolio item.", "fields": {}}}
    assert (upload.status_code, upload.json()) == (404, missing)
    assert (removal.status_code, removal.json()) == (404, missing)
    assert _stored(theirs) == before


def test_only_signed_in_providers_upload(client: Client) -> None:
    # given
    item = _item(provider_with_profile())
    # when an anonymous visitor, then a buyer, try
    anonymous = _upload(client, item, PNG, "a.png")
    client.force_login(UserFactory(username="bea", is_buyer=True))
    buyer = _upload(client, item, PNG, "a.png")
    # then
    assert anonymous.status_code == 401
    assert (buyer.status_code, buyer.json()["error"]["code"]) == (403, "forbidden")
    assert _stored(item) == NOTHING_STORED


@pytest.mark.parametrize(
    ("given", "content_type", "cleaned"),
    [
        ("../../etc/passwd.png", "image/png", "passwd.png"),
        ("C:\\Users\\pat\\My shop.JPG", "image/jpeg", "My shop.JPG"),
        ("cv.exe", "application/pdf", "cv.exe.pdf"),
        ('say "hi"\r\n<b>.gif', "image/gif", "say hi b.gif"),
        ("\u202egnp.exe", "image/png", "gnp.exe.png"),
        ("...", "image/webp", "file.webp"),
        ("x" * 300 + ".pdf", "application/pdf", "x" * 116 + ".pdf"),
    ],
)
def test_file_names_are_cleaned(given: str, content_type: str, cleaned: str) -> None:
    assert file_name_clean(given, content_type) == cleaned
    assert len(cleaned) <= 120


def test_a_long_file_name_is_stored_capped(client: Client) -> None:
    _, item = _signed_in_provider(client)
    response = _upload(client, item, PNG, "n" * 200 + ".png")
    assert response.json()["file"]["name"] == "n" * 116 + ".png"


# -- the body limit of the upload views -----------------------------------------------------------


def test_the_upload_views_declare_their_body_limit(settings: Any) -> None:
    settings.PORTFOLIO_FILE_MAX_BYTES = 5000
    expected = BodyLimit(5000 + MULTIPART_OVERHEAD_BYTES, 5000)
    assert body_limit_for("/api/profiles/me/portfolio/7/file/") == expected
    assert body_limit_for("/profile/edit/portfolio/7/file/") == expected
    # and other views take the default
    assert body_limit_for("/api/profiles/me/") == BodyLimit(settings.REQUEST_BODY_MAX_BYTES)
    assert body_limit_for("/no/such/path/") == BodyLimit(settings.REQUEST_BODY_MAX_BYTES)


# -- the profile JSON ------------------------------------------------------------------------------


def test_the_profile_shows_each_items_file_or_null(client: Client) -> None:
    # given two items, one with a file
    _, first = _signed_in_provider(client)
    body = profile_body(
        portfolio=[
            {"id": first.pk, "title": "Corner Bakery", "link": "", "description": ""},
            {"title": "Harbour Café", "link": "", "description": ""},
        ]
    )
    client.put("/api/profiles/me/", json.dumps(body), content_type="application/json")
    _upload(client, first, PDF, "menu.pdf")
    # when a visitor reads the profile
    client.logout()
    portfolio = client.get("/api/profiles/provider/").json()["portfolio"]
    # then
    second = PortfolioItem.objects.get(title="Harbour Café")
    assert [(entry["id"], entry["file"]) for entry in portfolio] == [
        (
            first.pk,
            {
                "name": "menu.pdf",
                "content_type": "application/pdf",
                "size": len(PDF),
                "url": f"/api/profiles/provider/portfolio/{first.pk}/file/",
            },
        ),
        (second.pk, None),
    ]


def test_saving_the_profile_with_an_items_id_keeps_its_file(client: Client) -> None:
    # given an item with a file
    _, item = _signed_in_provider(client)
    _upload(client, item, PNG, "shop.png")
    before = _stored(item)
    # when the profile is saved with the item's id and a new title
    body = profile_body(portfolio=[{"id": item.pk, "title": "Corner Bakery, again"}])
    response = client.put("/api/profiles/me/", json.dumps(body), content_type="application/json")
    # then the item is the same row, with its file
    assert response.status_code == 200
    assert response.json()["portfolio"][0]["id"] == item.pk
    assert response.json()["portfolio"][0]["title"] == "Corner Bakery, again"
    assert _stored(item) == before


def test_an_item_left_out_of_a_save_goes_with_its_file(client: Client) -> None:
    _, item = _signed_in_provider(client)
    _upload(client, item, PNG, "shop.png")
    body = profile_body(portfolio=[{"title": "Something else"}])
    response = client.put("/api/profiles/me/", json.dumps(body), content_type="application/json")
    assert response.status_code == 200
    assert not PortfolioItem.objects.filter(pk=item.pk).exists()
    assert list(PortfolioItem.objects.values_list("title", "file_content_type")) == [
        ("Something else", "")
    ]


def test_saving_with_an_id_that_is_not_ones_own_is_refused(client: Client) -> None:
    # given another provider's item, and one's own
    theirs = _item(provider_with_profile("other"))
    _, mine = _signed_in_provider(client)
    body = profile_body(
        headline="Changed",
        portfolio=[
            {"id": theirs.pk, "title": "Stolen"},
            {"id": mine.pk, "title": "Mine"},
            {"id": mine.pk, "title": "Mine twice"},
        ],
    )
    # when
    response = client.put("/api/profiles/me/", json.dumps(body), content_type="application/json")
    # then
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "portfolio": [
            {"id": ["No such portfolio item."]},
            {},
            {"id": ["No such portfolio item."]},
        ]
    }
    assert PortfolioItem.objects.get(pk=theirs.pk).title == "Corner Bakery"
    assert PortfolioItem.objects.get(pk=mine.pk).title == "Corner Bakery"
    assert PortfolioItem.objects.count() == 2


# -- reading a file --------------------------------------------------------------------------------


def test_a_public_profiles_image_is_served_inline_and_never_sniffed(client: Client) -> None:
    # given
    _, item = _signed_in_provider(client)
    _upload(client, item, PNG, "shop.png")
    client.logout()
    # when an anonymous visitor's browser asks for it as an image
    response = client.get(
        f"/api/profiles/provider/portfolio/{item.pk}/file/", HTTP_ACCEPT="image/avif,image/*"
    )
    # then
    assert response.status_code == 200
    assert response.content == PNG
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'inline; filename="shop.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; img-src 'self'; sandbox"
    assert response["Cache-Control"] == "private, max-age=300"


def test_a_pdf_is_a_download(client: Client) -> None:
    _, item = _signed_in_provider(client)
    _upload(client, item, PDF, "Case study \u2013 café.pdf")
    response = client.get(f"/api/profiles/provider/portfolio/{item.pk}/file/")
    assert response.content == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        "attachment; filename*=utf-8''Case%20study%20%E2%80%93%20caf%C3%A9.pdf"
    )
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_private_profiles_file_is_a_404_to_strangers_exactly_as_the_profile(
    client: Client,
) -> None:
    # given a private profile whose item has a file
    _, item = _signed_in_provider(client, visibility="private")
    _upload(client, item, PNG, "shop.png")
    url = f"/api/profiles/provider/portfolio/{item.pk}/file/"
    # when an anonymous visitor, then a buyer without a conversation, ask for it
    client.logout()
    anonymous = client.get(url)
    client.force_login(UserFactory(username="stranger", is_buyer=True))
    stranger = client.get(url)
    # then both get what they get for the profile itself
    profile = client.get("/api/profiles/provider/")
    for answer in (anonymous, stranger, profile):
        assert (answer.status_code, answer.json()) == (404, NO_SUCH_PROFILE)


@pytest.mark.parametrize("who", ["owner", "connected buyer", "support"])
def test_a_private_profiles_file_is_served_to_those_who_see_it_and_never_cached(
    client: Client, who: str
) -> None:
    # given
    provider, item = _signed_in_provider(client, visibility="private")
    _upload(client, item, PNG, "shop.png")
    if who == "connected buyer":
        buyer = UserFactory(username="bea", is_buyer=True)
        conversation_between(buyer, provider)
        client.force_login(buyer)
    elif who == "support":
        client.force_login(UserFactory(username="sam", is_support=True, is_staff=True))
    # when
    response = client.get(f"/api/profiles/provider/portfolio/{item.pk}/file/")
    # then
    assert response.status_code == 200
    assert response.content == PNG
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_an_item_without_a_file_and_a_missing_item_are_404(client: Client) -> None:
    _, item = _signed_in_provider(client)
    missing = {"error": {"code": "not_found", "message": "No such file.", "fields": {}}}
    for url in (
        f"/api/profiles/provider/portfolio/{item.pk}/file/",
        f"/api/profiles/provider/portfolio/{item.pk + 1000}/file/",
    ):
        response = client.get(url)
        assert (response.status_code, response.json()) == (404, missing)


def test_an_item_is_found_only_under_its_own_profile(client: Client) -> None:
    # given the other provider's item with a file
    other = provider_with_profile("other")
    client.force_login(other)
    theirs = _item(other)
    _upload(client, theirs, PNG, "theirs.png")
    provider_with_profile("provider")
    # when it is asked for under another profile
    response = client.get(f"/api/profiles/provider/portfolio/{theirs.pk}/file/")
    # then
    assert response.status_code == 404


def test_a_banned_providers_files_are_gone(client: Client) -> None:
    provider, item = _signed_in_provider(client)
    _upload(client, item, PNG, "shop.png")
    User.objects.filter(pk=provider.pk).update(standing=User.Standing.BANNED)
    client.logout()
    response = client.get(f"/api/profiles/provider/portfolio/{item.pk}/file/")
    assert (response.status_code, response.json()) == (404, NO_SUCH_PROFILE)


# -- keys ------------------------------------------------------------------------------------------


def test_rotating_the_master_key_rewraps_portfolio_files(
    client: Client, settings: Any, tmp_path: Any
) -> None:
    # given a file sealed under the current master key
    settings.KEYS_DIR = tmp_path
    settings.CHATBOX_MASTER_KEYS_FROM_ENV = False
    _, item = _signed_in_provider(client)
    _upload(client, item, PNG, "shop.png")
    item.refresh_from_db()
    old_kek, old_ciphertext = item.kek_id, bytes(item.ciphertext)
    # when the master key is rotated and the old one retired from the ring
    out = StringIO()
    call_command("rotate_master_key", stdout=out)
    settings.CHATBOX_MASTER_KEYS = settings.CHATBOX_MASTER_KEYS[:1]
    # then the file is wrapped by the new key alone, and opens with the same bytes
    item.refresh_from_db()
    assert item.kek_id == settings.CHATBOX_MASTER_KEYS[0]["id"] != old_kek
    assert bytes(item.ciphertext) == old_ciphertext
    assert item.file_open() == PNG
    assert "and 1 file data keys" in out.getvalue()
    assert client.get(f"/api/profiles/provider/portfolio/{item.pk}/file/").content == PNG
