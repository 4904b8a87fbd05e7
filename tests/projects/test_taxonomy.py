from __future__ import annotations

import json

import pytest
from django.test import Client

from projects.models import Category, Skill
from projects.taxonomy import TAXONOMY_FILE, taxonomy_sync

pytestmark = pytest.mark.django_db


def test_the_categories_endpoint_is_the_shipped_taxonomy_for_anyone(
    client: Client, taxonomy: None
) -> None:
    # given an anonymous visitor
    shipped = json.loads(TAXONOMY_FILE.read_text(encoding="utf-8"))["categories"]
    # when
    response = client.get("/api/categories/")
    # then exactly the file's categories and skills, in its order, in the PROTOCOL.md shape
    assert response.status_code == 200
    assert response.json() == [
        {
            "slug": category["slug"],
            "name": category["name"],
            "skills": [{"slug": s["slug"], "name": s["name"]} for s in category["skills"]],
        }
        for category in shipped
    ]
    assert [c["slug"] for c in response.json()] == [
        "design",
        "development",
        "writing",
        "marketing",
        "video",
        "translation",
        "data",
        "admin-support",
    ]


def test_every_category_has_five_to_ten_skills_with_unique_slugs() -> None:
    shipped = json.loads(TAXONOMY_FILE.read_text(encoding="utf-8"))["categories"]
    slugs = [skill["slug"] for category in shipped for skill in category["skills"]]
    assert all(5 <= len(category["skills"]) <= 10 for category in shipped)
    assert len(slugs) == len(set(slugs))


def test_loading_the_taxonomy_again_changes_nothing(taxonomy: None) -> None:
    # given the migration has loaded it (and the fixture once more)
    before = list(Skill.objects.values_list("pk", "slug", "name", "category__slug"))
    # when
    taxonomy_sync()
    # then
    assert list(Skill.objects.values_list("pk", "slug", "name", "category__slug")) == before
    assert Category.objects.count() == 8
