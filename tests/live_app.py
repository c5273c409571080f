"""URLs and middleware of the test project when it runs under gunicorn (live_settings)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.http import require_POST

from tests.urls import urlpatterns as test_urlpatterns


def worker_pid_middleware(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """Say which worker process answered: the proof that requests reached every worker."""

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        response["X-Worker-Pid"] = str(os.getpid())
        return response

    return middleware


@require_POST
@login_required
def set_password(request: HttpRequest) -> HttpResponse:
    """A project's own "change my password" page: set_password() and save()."""
    user: Any = request.user
    user.set_password(request.POST["password"])
    user.save()
    return HttpResponse(status=204)


urlpatterns = [
    *test_urlpatterns,
    path("live/set-password/", set_password, name="live_set_password"),
]
