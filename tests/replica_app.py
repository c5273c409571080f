"""URLs of the live test project on a primary + replica (``tests.replica_settings``)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.http import require_POST

import jwt_cookie_auth
from tests.live_app import urlpatterns as live_urlpatterns


@require_POST
@login_required
def change_password_keep_device(request: HttpRequest) -> HttpResponse:
    """A project's "change my password" page that keeps this browser logged in."""
    user: Any = request.user
    user.set_password(request.POST["password"])
    user.save()
    response = HttpResponse(status=204)
    jwt_cookie_auth.update_session_auth_hash(request, user, response)
    return response


urlpatterns = [
    *live_urlpatterns,
    path("replica/change-password/", change_password_keep_device),
]
