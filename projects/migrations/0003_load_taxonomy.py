"""Load the fixed skills taxonomy (projects/data/taxonomy.json). Idempotent."""

from django.db import migrations


def load(apps, schema_editor):
    from projects.taxonomy import taxonomy_sync

    taxonomy_sync(
        category_model=apps.get_model("projects", "Category"),
        skill_model=apps.get_model("projects", "Skill"),
    )


class Migration(migrations.Migration):
    dependencies = [("projects", "0002_provider_profiles")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
