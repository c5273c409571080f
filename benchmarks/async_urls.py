"""The views of the async-vs-sync benchmark: the same answer, sync and async."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path


def sync_me(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if not user.is_authenticated:
        return HttpResponse(status=401)
    return JsonResponse({"id": str(user.pk)})


async def async_me(request: HttpRequest) -> HttpResponse:
    user: Any = await request.auser()
    if not user.is_authenticated:
        return HttpResponse(status=401)
    return JsonResponse({"id": str(user.pk)})


def sync_floor(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"id": None})


async def async_floor(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"id": None})


urlpatterns = [
    path("sync/", sync_me),
    path("async/", async_me),
    path("sync-floor/", sync_floor),
    path("async-floor/", async_floor),
]
