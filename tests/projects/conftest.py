from __future__ import annotations

import pytest

from projects.taxonomy import taxonomy_sync


@pytest.fixture
def taxonomy(db: None) -> None:
    """The shipped taxonomy, also after a transactional test has flushed the migration's rows."""
    taxonomy_sync()
