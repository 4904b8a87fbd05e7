from __future__ import annotations

from collections.abc import Iterator

import pytest

from config.celery import app as celery_app
from projects.taxonomy import taxonomy_sync
from tests.live import LiveServer, running_daphne
from tests.services import cache_clear_own


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Rate-limit windows and other cached counters never leak from one test to the next."""
    cache_clear_own()
    yield
    cache_clear_own()


@pytest.fixture
def daphne_server(transactional_db: None) -> Iterator[LiveServer]:
    """A real daphne process serving the app against the test database."""
    yield from running_daphne()


@pytest.fixture
def taxonomy(db: None) -> None:
    """The shipped taxonomy, also after a transactional test has flushed the migration's rows."""
    taxonomy_sync()


@pytest.fixture
def tasks_in_process() -> Iterator[None]:
    """Celery tasks (file previews) run in this process, as in the embedded default: the
    services pass has a Redis broker but no worker to take them."""
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = eager
