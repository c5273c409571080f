"""The demo's pages: plain Django views behind the JWT middleware, and one DRF view."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import ensure_csrf_cookie
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jwt_cookie_auth.models import LoginSession
from jwt_cookie_auth.request_auth import get_claims
from jwt_cookie_auth.serializers import serialize_user

DEMO_USERS = [
    ("admin", "admin", "superuser: the admin, and the Force logout action"),
    ("alice", "alice", "plain user"),
    ("bob", "bob", "plain user"),
]


@ensure_csrf_cookie
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "demo/home.html", {"demo_users": DEMO_USERS})


@ensure_csrf_cookie
def login_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "demo/login.html",
        {"username_field": get_user_model().USERNAME_FIELD, "demo_users": DEMO_USERS},
    )


@login_required
@ensure_csrf_cookie
def private_page(request: HttpRequest) -> HttpResponse:
    """A plain ``login_required`` view: the middleware makes the JWT user request.user."""
    return render(request, "demo/private.html")


@login_required
@ensure_csrf_cookie
def sessions_page(request: HttpRequest) -> HttpResponse:
    """The user's live sessions (token families), the one of this browser marked."""
    claims = get_claims(request)
    current = claims.sid if claims is not None else None
    user: Any = request.user  # login_required: never anonymous here
    sessions = LoginSession.objects.live(timezone.now()).filter(user=user)
    rows = [(session, str(session.pk) == current) for session in sessions]
    return render(request, "demo/sessions.html", {"sessions": rows})


class MeView(APIView):
    """GET /api/me/: the user, authenticated by the access cookie or a Bearer header."""

    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        claims: Any = request.auth
        return Response(
            {
                "user": serialize_user(request.user),
                "session_id": getattr(claims, "sid", None),
                "access_expires_at": claims.expires_at.isoformat() if claims else None,
            }
        )
