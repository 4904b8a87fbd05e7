"""The client frames of the websocket protocol (PROTOCOL.md §3), validated with DRF serializers."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from chatbox.errors import ApplicationError, ErrorCode


class StrictIntegerField(serializers.IntegerField):
    """An integer in the JSON, not a string or a bool that happens to convert."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictUUIDField(serializers.UUIDField):
    """A UUID spelled as a string: DRF would also take an integer and make a UUID of it."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


def _conversation() -> StrictCharField:
    return StrictCharField(max_length=64)


class SubscribeFrame(serializers.Serializer):
    conversation = _conversation()
    after = StrictIntegerField(min_value=0, default=0)


class ConversationFrame(serializers.Serializer):
    conversation = _conversation()


class SendFrame(serializers.Serializer):
    conversation = _conversation()
    client_id = StrictUUIDField()
    # Length is the service's rule (too_large); here only the type.
    body = StrictCharField(trim_whitespace=False, allow_blank=True)


class EditFrame(SendFrame):
    seq = StrictIntegerField(min_value=1)


class DeleteFrame(serializers.Serializer):
    conversation = _conversation()
    client_id = StrictUUIDField()
    seq = StrictIntegerField(min_value=1)


class ReadFrame(serializers.Serializer):
    conversation = _conversation()
    seq = StrictIntegerField(min_value=0)


FRAMES: dict[str, type[serializers.Serializer] | None] = {
    "subscribe": SubscribeFrame,
    "unsubscribe": ConversationFrame,
    "send": SendFrame,
    "edit": EditFrame,
    "delete": DeleteFrame,
    "typing": ConversationFrame,
    "read": ReadFrame,
    "ping": None,
}


# One serializer per frame type, made once: validating a frame with ``run_validation`` keeps
# no state on the serializer, and making one deep-copies its fields (most of the cost).
_VALIDATORS = {kind: frame() for kind, frame in FRAMES.items() if frame is not None}


def frame_validate(frame: dict[str, Any]) -> dict[str, Any]:
    """The frame's fields, typed; ``invalid_frame`` naming the bad fields otherwise."""
    kind = frame.get("type")
    if not isinstance(kind, str):
        raise ApplicationError(
            ErrorCode.INVALID_FRAME, "A frame needs a string 'type'.", {"type": ["required"]}
        )
    if kind not in FRAMES:
        raise ApplicationError(ErrorCode.UNKNOWN_TYPE, f"Unknown frame type {kind!r}.")
    if kind not in _VALIDATORS:
        return {}
    try:
        return dict(_VALIDATORS[kind].run_validation(frame))
    except serializers.ValidationError as exc:
        assert isinstance(exc.detail, dict)  # a serializer's errors are by field
        fields = {name: [str(e) for e in errors] for name, errors in exc.detail.items()}
        raise ApplicationError(
            ErrorCode.INVALID_FRAME,
            f"Invalid '{kind}' frame: " + ", ".join(sorted(fields)) + ".",
            fields,
        ) from exc
