"""The member's own data over HTTP (docs/privacy.md): ``GET /api/account/export/`` (a JSON
document, as an attachment) and ``POST /api/account/erase/`` ``{"password"}``."""

from __future__ import annotations

import json

from django.contrib.auth import logout
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from projects.api import signed_in
from reports.privacy import account_erase, member_data_export


class MyDataView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> HttpResponse:
        user = signed_in(request)
        document = json.dumps(member_data_export(user=user), ensure_ascii=False, indent=2)
        response = HttpResponse(document, content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="chatbox-my-data.json"'
        response["Cache-Control"] = "no-store"
        return response


class EraseView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        body = request.data if isinstance(request.data, dict) else {}
        password = body.get("password")
        erasure = account_erase(
            user=signed_in(request), password=password if isinstance(password, str) else ""
        )
        logout(request._request)
        return Response({"erased": True, "kept": erasure.kept})
