"""How the HTTP API knows who is asking, and whether they may still ask."""

from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request


class SessionAuthentication401(authentication.SessionAuthentication):
    """Session auth whose refusal is a 401 (DRF answers 403 when no challenge is named)."""

    def authenticate_header(self, request: Request) -> str:
        return 'Session realm="api"'


class InGoodStanding(IsAuthenticated):
    """Signed in and not banned: a ban ends API access at once, whatever sessions are open.

    The default permission of every API view (settings.REST_FRAMEWORK).
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        if getattr(request.user, "is_banned", False):
            # A DRF exception, not ApplicationError: this module loads with DRF's settings,
            # before DRF's views, which chatbox.errors needs.
            raise exceptions.PermissionDenied("This account is banned.", code="banned")
        return True
