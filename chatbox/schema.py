"""OpenAPI extensions: describe our session authentication like DRF's own."""

from drf_spectacular.authentication import SessionScheme


class SessionScheme401(SessionScheme):
    target_class = "chatbox.authentication.SessionAuthentication401"
