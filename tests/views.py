"""Views the tests call: a plain Django view and DRF views behind the package."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


@login_required
def private_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"hello {request.user.get_username()}")


def whoami_page(request: HttpRequest) -> JsonResponse:
    user: Any = request.user
    return JsonResponse(
        {"authenticated": user.is_authenticated, "user": user.get_username() or None}
    )


async def async_whoami(request: HttpRequest) -> JsonResponse:
    user: Any = await request.auser()
    return JsonResponse(
        {"authenticated": user.is_authenticated, "user": user.get_username() or None}
    )


class MeView(APIView):
    def get(self, request: Request) -> Response:
        return Response({"user": request.user.get_username(), "auth": type(request.auth).__name__})

    def post(self, request: Request) -> Response:
        return Response({"changed": True, "user": request.user.get_username()})


class OpenView(APIView):
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        return Response({"authenticated": bool(request.user and request.user.is_authenticated)})
