"""The evidence page of a conversation: export the bundle, see whether the chain holds, which
checkpoint signed it last, and whether the server's record still agrees with the checkpoint this
device holds. For the conversation's parties only."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from chatbox.api import evidence_response
from chatbox.checkpoints import checkpoint_latest
from chatbox.errors import ApplicationError
from chatbox.evidence_export import conversation_for_party, evidence_export_for_party
from chatbox.models import Checkpoint, Event
from chatbox.services import ChainVerdict, conversation_chain_verify
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
    verdict = conversation_chain_verify(conversation_id=conversation.pk)
    context = {
        "conversation": conversation,
        "verdict": verdict,
        "checkpoint": checkpoint_latest(conversation_id=conversation.pk),
        "record": _record_for_comparison(conversation_id=conversation.pk, verdict=verdict),
    }
    return render(request, "frontend/evidence.html", context)


def _record_for_comparison(*, conversation_id: uuid.UUID, verdict: ChainVerdict) -> dict[str, Any]:
    """What evidence.js compares the device's checkpoint with: the hash each signed seq's event
    has in the record now, and where the chain breaks, if it does.

    The event's hash, not the checkpoint's head: a server that rewrote an event and kept its old
    checkpoint rows would still be caught. A device holds one of the checkpoints the server
    pushed, so its seq is among these unless the server dropped that checkpoint since; the page
    then asks the messages API for that one event.
    """
    signed_seqs = Checkpoint.objects.filter(conversation_id=conversation_id).values("seq")
    signed = Event.objects.filter(conversation_id=conversation_id, seq__in=signed_seqs)
    return {
        "chain": {"ok": verdict.ok, "first_bad_seq": verdict.first_bad_seq},
        "signed": [
            {"seq": seq, "hash": event_hash}
            for seq, event_hash in signed.order_by("seq").values_list("seq", "hash")
        ],
    }


@never_cache
@require_GET
@member_page
def evidence_download(request: HttpRequest, conversation_id: uuid.UUID) -> HttpResponse:
    try:
        bundle = evidence_export_for_party(user=_viewer(request), conversation_id=conversation_id)
    except ApplicationError as error:
        raise Http404(error.message) from error
    return evidence_response(bundle)
