"""The fixed skills taxonomy, shipped as data in ``projects/data/taxonomy.json``.

Loaded into ``Category`` and ``Skill`` by a data migration and, for a database flushed by
tests, by ``seed_demo``. Loading is idempotent: rows are matched by slug, names and order
follow the file, and nothing is deleted (profiles and projects may still name a skill that
a later version of the file drops; such a change needs its own migration).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TAXONOMY_FILE = Path(__file__).resolve().parent / "data" / "taxonomy.json"


def taxonomy_read() -> list[dict[str, Any]]:
    with TAXONOMY_FILE.open(encoding="utf-8") as file:
        categories: list[dict[str, Any]] = json.load(file)["categories"]
    return categories


def taxonomy_sync(*, category_model: Any = None, skill_model: Any = None) -> None:
    """Create or update every category and skill of the file.

    A migration passes its historical models; everyone else calls it without arguments.
    """
    if category_model is None or skill_model is None:
        from projects.models import Category, Skill

        category_model, skill_model = Category, Skill
    for category_position, entry in enumerate(taxonomy_read()):
        category, _ = category_model.objects.update_or_create(
            slug=entry["slug"], defaults={"name": entry["name"], "position": category_position}
        )
        for skill_position, skill in enumerate(entry["skills"]):
            skill_model.objects.update_or_create(
                slug=skill["slug"],
                defaults={
                    "name": skill["name"],
                    "category": category,
                    "position": skill_position,
                },
            )
