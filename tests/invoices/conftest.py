from tests.projects.conftest import taxonomy

__all__ = ["taxonomy"]
