from rest_framework import authentication
from rest_framework.request import Request


class SessionAuthentication401(authentication.SessionAuthentication):
    """Session auth whose refusal is a 401 (DRF answers 403 when no challenge is named)."""

    def authenticate_header(self, request: Request) -> str:
        return 'Session realm="api"'
