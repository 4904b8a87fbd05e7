"""Portfolio files on the web pages: the editor attaches and removes them, the profile shows
images and offers PDFs for download."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.models import User
from projects.models import PortfolioItem
from projects.services import portfolio_file_attach
from tests.factories import UserFactory
from tests.projects.profiles import provider_with_profile
from tests.projects.test_portfolio_files import PDF, PNG
from tests.projects.test_profile_pages import edit_form

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("taxonomy")]


def _provider_with_item(client: Client, **profile: Any) -> tuple[User, PortfolioItem]:
    provider = provider_with_profile(**profile)
    client.force_login(provider)
    return provider, PortfolioItem.objects.get(profile__user=provider)


def _attach(provider: User, item: PortfolioItem, content: bytes, name: str) -> None:
    portfolio_file_attach(
        provider=provider, item_id=item.pk, file=SimpleUploadedFile(name, content)
    )


def _post_file(client: Client, item: PortfolioItem, content: bytes, name: str) -> Any:
    return client.post(
        f"/profile/edit/portfolio/{item.pk}/file/", {"file": SimpleUploadedFile(name, content)}
    )


def test_the_editor_offers_a_labelled_file_field_per_saved_item(client: Client) -> None:
    # given
    _, item = _provider_with_item(client)
    # when
    html = client.get("/profile/edit/").content.decode()
    # then
    assert '<h2 id="portfolio-files-heading">Portfolio files</h2>' in html
    assert f'action="/profile/edit/portfolio/{item.pk}/file/"' in html
    assert 'enctype="multipart/form-data"' in html
    assert (
        f'<label class="field__label" for="portfolio-file-{item.pk}">File for Corner Bakery</label>'
    ) in html
    assert f'<input id="portfolio-file-{item.pk}" type="file" name="file"' in html
    assert 'accept="image/jpeg,image/png,image/webp,image/gif,application/pdf"' in html
    assert "at most 10 MB" in html
    # and the item's row keeps its id, so that saving the form keeps the item and its file
    assert f'<input type="hidden" name="portfolio-0-id" value="{item.pk}">' in html


def test_attaching_a_file_on_the_editor_stores_it(client: Client) -> None:
    # given
    _, item = _provider_with_item(client)
    # when
    response = _post_file(client, item, PNG, "shop.png")
    # then
    assert response.status_code == 302
    assert response["Location"] == "/profile/edit/?file=attached#portfolio-files"
    item.refresh_from_db()
    assert (item.file_name, item.file_content_type) == ("shop.png", "image/png")
    assert item.file_open() == PNG
    page = client.get(response["Location"]).content.decode()
    assert '<p class="notice" role="status">The file is saved.</p>' in page
    assert f'<a href="/api/profiles/provider/portfolio/{item.pk}/file/">shop.png</a>' in page
    assert 'aria-label="Remove file of Corner Bakery">Remove file</button>' in page


@pytest.mark.parametrize(
    ("content", "name", "status", "message"),
    [
        (b"just text", "shop.png", 415, "Upload a JPEG, PNG, WebP, GIF or PDF file."),
        (b"<html></html>", "menu.pdf", 415, "Upload a JPEG, PNG, WebP, GIF or PDF file."),
        (b"", "empty.png", 400, "The file is empty."),
    ],
)
def test_a_refused_file_is_shown_at_its_field_and_nothing_stored(
    client: Client, content: bytes, name: str, status: int, message: str
) -> None:
    # given
    _, item = _provider_with_item(client)
    # when
    response = _post_file(client, item, content, name)
    # then
    html = response.content.decode()
    assert response.status_code == status
    assert (
        f'<p class="field__error" id="portfolio-file-{item.pk}-error" role="alert">{message}</p>'
    ) in html
    assert 'aria-invalid="true"' in html
    item.refresh_from_db()
    assert not item.has_file
    assert item.ciphertext is None


def test_an_oversized_file_is_refused_on_the_editor(client: Client, settings: Any) -> None:
    settings.PORTFOLIO_FILE_MAX_BYTES = 1024
    _, item = _provider_with_item(client)
    response = _post_file(client, item, PNG + b"\x00" * 1024, "big.png")
    assert response.status_code == 413
    assert "At most 1 KB." in response.content.decode()
    item.refresh_from_db()
    assert item.ciphertext is None


def test_a_post_without_a_file_is_refused(client: Client) -> None:
    _, item = _provider_with_item(client)
    response = client.post(f"/profile/edit/portfolio/{item.pk}/file/")
    assert response.status_code == 400
    assert "Choose a file to upload." in response.content.decode()
    item.refresh_from_db()
    assert item.ciphertext is None


def test_removing_a_file_on_the_editor(client: Client) -> None:
    provider, item = _provider_with_item(client)
    _attach(provider, item, PNG, "shop.png")
    response = client.post(f"/profile/edit/portfolio/{item.pk}/file/remove/")
    assert response["Location"] == "/profile/edit/?file=removed#portfolio-files"
    item.refresh_from_db()
    assert (item.has_file, item.ciphertext, item.title) == (False, None, "Corner Bakery")


def test_another_providers_item_is_a_404_on_the_editor(client: Client) -> None:
    other = provider_with_profile("other")
    theirs = PortfolioItem.objects.get(profile__user=other)
    _provider_with_item(client)
    assert _post_file(client, theirs, PNG, "x.png").status_code == 404
    assert client.post(f"/profile/edit/portfolio/{theirs.pk}/file/remove/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.ciphertext is None


def test_only_providers_attach_files(client: Client) -> None:
    item = PortfolioItem.objects.get(profile__user=provider_with_profile())
    client.force_login(UserFactory(username="bea", is_buyer=True))
    assert _post_file(client, item, PNG, "x.png").status_code == 403
    item.refresh_from_db()
    assert item.ciphertext is None


def test_saving_the_editor_keeps_an_items_file(client: Client) -> None:
    # given an item with a file
    provider, item = _provider_with_item(client)
    _attach(provider, item, PDF, "menu.pdf")
    # when the form is saved with the item's row (and its hidden id) changed
    response = client.post(
        "/profile/edit/",
        edit_form(**{"portfolio-0-id": str(item.pk), "portfolio-0-title": "Corner Bakery 2"}),
    )
    # then
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.title, item.file_name) == ("Corner Bakery 2", "menu.pdf")
    assert item.file_open() == PDF


def test_the_profile_shows_images_and_offers_pdfs(client: Client) -> None:
    # given a public profile with an image and a PDF
    provider = provider_with_profile()
    image = PortfolioItem.objects.get(profile__user=provider)
    brochure = PortfolioItem.objects.create(
        profile=image.profile, title='Harbour "Café"', position=1
    )
    _attach(provider, image, PNG, "shop.png")
    _attach(provider, brochure, PDF, "brochure.pdf")
    # when an anonymous visitor opens it
    html = client.get("/profiles/provider/").content.decode()
    # then
    assert (
        f'<img class="portfolio-image" src="/api/profiles/provider/portfolio/{image.pk}/file/" '
        'alt="Corner Bakery" loading="lazy">'
    ) in html
    assert (
        f'<a href="/api/profiles/provider/portfolio/{brochure.pk}/file/" '
        'download="brochure.pdf">Download brochure.pdf</a>'
    ) in html
    assert "(PDF, " in html
