"""The evidence page of a conversation: export the bundle, see whether the chain holds and
which checkpoint signed it last. For the conversation's parties only."""

from __future__ import annotations

import uuid

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from chatbox.api import evidence_response
from chatbox.checkpoints import checkpoint_latest
from chatbox.errors import ApplicationError
from chatbox.evidence_export import conversation_for_party, evidence_export_for_party
from chatbox.services import conversation_chain_verify
from frontend.market_views import _viewer, member_page


@never_cache
@require_GET
@member_page
def evidence(request: HttpRequest, conversation_id: uuid.UUID) -> HttpResponse:
    try:
        conversation = conversation_for_party(
            user=_viewer(request), conversation_id=conversation_id
        )
    except ApplicationError as error:
        raise Http404(error.message) from error  # non-parties learn nothing
    context = {
        "conversation": conversation,
        "verdict": conversation_chain_verify(conversation_id=conversation.pk),
        "checkpoint": checkpoint_latest(conversation_id=conversation.pk),
    }
    return render(request, "frontend/evidence.html", context)


@never_cache
@require_GET
@member_page
def evidence_download(request: HttpRequest, conversation_id: uuid.UUID) -> HttpResponse:
    try:
        bundle = evidence_export_for_party(user=_viewer(request), conversation_id=conversation_id)
    except ApplicationError as error:
        raise Http404(error.message) from error
    return evidence_response(bundle)
