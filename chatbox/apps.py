from django.apps import AppConfig


class ChatboxConfig(AppConfig):
    name = "chatbox"

    def ready(self) -> None:
        from chatbox import schema  # noqa: F401 - registers the OpenAPI extension
