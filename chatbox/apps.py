from django.apps import AppConfig


class ChatboxConfig(AppConfig):
    name = "chatbox"
