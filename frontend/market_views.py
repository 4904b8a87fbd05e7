"""The marketplace's pages: listings, proposals, offers, contracts and the track record.

Reads go through the selectors of ``projects.listings``, ``projects.contracts`` and
``projects.track_record``, writes through their services, as the API does.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from chatbox.errors import ApplicationError
from projects import track_record


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def endorse(request: HttpRequest, token: str) -> HttpResponse:
    """The endorser's page, reached by the e-mailed link; no account needed."""
    try:
        endorsement = track_record.endorsement_by_token(token=token)
    except ApplicationError as error:
        raise Http404(error.message) from error
    errors: list[str] = []
    text = ""
    if request.method == "POST" and endorsement.given_at is None:
        text = request.POST.get("text", "")
        try:
            endorsement = track_record.endorsement_give(token=token, text=text)
        except ApplicationError as error:
            fields = error.extra.get("text")
            errors = [str(line) for line in fields] if isinstance(fields, list) else [error.message]
    context = {"endorsement": endorsement, "errors": errors, "text": text}
    return render(request, "frontend/market/endorse.html", context, status=400 if errors else 200)
