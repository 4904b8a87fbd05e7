"""The HTTP API of files in the chat (docs/files.md): upload, download links, downloads,
previews. Thin: parse, call ``chatbox.files``, answer."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from django.http import StreamingHttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chatbox import files
from chatbox.api import MessageList, signed_in
from chatbox.errors import ApplicationError
from chatbox.models import ChatFile
from chatbox.presenters import messages_present
from chatbox.uploads import UploadErrorCode, upload_view

# What a served file may do in a browser that opens it anyway: nothing.
SANDBOX_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


class FileUpload(serializers.Serializer):
    file = serializers.FileField(required=False, allow_empty_file=True)
    sample = serializers.BooleanField(default=False)
    caption = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)


@upload_view(max_file_bytes=files.file_max_bytes)
class FileUploadView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": FileUpload},
        responses={201: MessageList},
        description="Send a file (at most `CHATBOX_FILE_MAX_BYTES`, 25 MB by default): its "
        "bytes decide its type. `sample`: the buyer sees a watermarked preview until an invoice "
        "issued after it is paid. Answers the stored file message.",
    )
    def post(self, request: Request, conversation_id: str) -> Response:
        form = FileUpload(data=request.data)
        form.is_valid(raise_exception=True)
        upload = form.validated_data.get("file")
        if upload is None:
            raise ApplicationError(
                UploadErrorCode.FILE_MISSING,
                "Attach the file as the multipart field `file`.",
                {"file": ["This field is required."]},
            )
        chat_file = files.file_send(
            conversation_id=conversation_id,
            sender=signed_in(request),
            file=upload,
            sample=form.validated_data["sample"],
            caption=form.validated_data.get("caption", ""),
        )
        chat_file.refresh_from_db()  # the preview task ran after commit, in eager mode
        [message] = messages_present(
            conversation_id=chat_file.conversation_id, events=[chat_file.event]
        )
        return Response(message, status=status.HTTP_201_CREATED)


FileLinkAnswer = inline_serializer(
    "FileLink", {"url": serializers.CharField(), "expires_at": serializers.DateTimeField()}
)


class FileLinkView(APIView):
    @extend_schema(responses={200: FileLinkAnswer})
    def get(self, request: Request, file_id: uuid.UUID) -> Response:
        link = files.file_link(user=signed_in(request), file_id=file_id)
        return Response({"url": link.url, "expires_at": link.expires_at.isoformat()})


def _served(chunks: Iterator[bytes], *, content_type: str) -> StreamingHttpResponse:
    if content_type == files.TEXT:
        content_type = "text/plain; charset=utf-8"
    response = StreamingHttpResponse(chunks, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = SANDBOX_CSP
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


class FileDownloadView(APIView):
    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request: Request, token: str) -> StreamingHttpResponse:
        return attachment_response(files.file_download(user=signed_in(request), token=token))


def attachment_response(delivery: files.FileDelivery) -> StreamingHttpResponse:
    """A file's original bytes as a download: attachment, nosniff, sandboxed, never cached."""
    response = _served(delivery.chunks, content_type=delivery.chat_file.content_type)
    response["Content-Length"] = str(delivery.chat_file.size)
    disposition = content_disposition_header(as_attachment=True, filename=delivery.name)
    assert disposition is not None
    response["Content-Disposition"] = disposition
    return response


class FilePreviewView(APIView):
    role = "preview"

    @extend_schema(responses={(200, "image/jpeg"): OpenApiTypes.BINARY})
    def get(self, request: Request, file_id: uuid.UUID) -> StreamingHttpResponse:
        chat_file: ChatFile = files.file_for_member(user=signed_in(request), file_id=file_id)
        response = _served(files.preview_open(chat_file, self.role), content_type="image/jpeg")
        response["Content-Disposition"] = "inline"
        return response


class FileThumbnailView(FilePreviewView):
    role = "thumbnail"
