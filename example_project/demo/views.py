"""The demo's pages: plain Django views behind the JWT middleware, one DRF view, and a
single-page app that uses only the shipped JavaScript client."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import cache_control
from django.views.decorators.csrf import ensure_csrf_cookie
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from example_project.demo import signed_out
from jwt_cookie_auth import device_info
from jwt_cookie_auth.conf import app_settings
from jwt_cookie_auth.models import LoginSession
from jwt_cookie_auth.request_auth import get_claims
from jwt_cookie_auth.serializers import UserSerializer, serialize_user

DEMO_USERS = [
    ("admin", "admin", "superuser: the admin, and the Force logout action"),
    ("alice", "alice", "plain user"),
    ("bob", "bob", "plain user"),
]


@ensure_csrf_cookie
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "demo/home.html", {"demo_users": DEMO_USERS})


def safe_next(request: HttpRequest) -> str:
    """Return the ``next`` query parameter if it is a URL on this site, else the
    private page: where the login page sends the browser after a login.

    Django's own check, as its ``LoginView`` applies it: another host, a
    scheme-relative ``//host``, a scheme other than http(s) (``javascript:``), and
    the backslash and tab/newline variants that browsers normalise into another
    host (``/\\host``, ``/\\t/host``) are refused; a page served over HTTPS accepts
    only HTTPS targets. The page's JavaScript follows the result as it is.
    """
    next_url = request.GET.get("next", "")
    if url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return next_url
    return reverse("demo:private")


@ensure_csrf_cookie
def login_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "demo/login.html",
        {
            "username_field": get_user_model().USERNAME_FIELD,
            "demo_users": DEMO_USERS,
            "next": safe_next(request),
        },
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
    rows = [
        (session, str(session.pk) == current, device_info.label(session.user_agent))
        for session in sessions
    ]
    return render(request, "demo/sessions.html", {"sessions": rows})


def spa_page(request: HttpRequest) -> HttpResponse:
    """A static page driven by ``jwt_cookie_auth/client.js``: no server-side auth at all.

    It bootstraps the CSRF cookie through the client (``GET /auth/session/``), so it
    deliberately has no ``ensure_csrf_cookie``.
    """
    lifetime = app_settings.ACCESS_TOKEN_LIFETIME.total_seconds()
    return render(
        request,
        "demo/spa.html",
        {
            "username_field": get_user_model().USERNAME_FIELD,
            "auto_refresh": app_settings.AUTO_REFRESH,
            "access_lifetime": int(lifetime),
            # Renew 30 s ahead by default; the client never renews before half the
            # token's life, so a 5-second demo token is renewed after about 2.5 s.
            "refresh_ahead": 30,
            "signed_out_messages": signed_out.MESSAGES,
        },
    )


class MeSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """The body of ``GET /api/me/`` (for the OpenAPI schema; the view builds it itself)."""

    user = UserSerializer(read_only=True)
    session_id = serializers.UUIDField(read_only=True)
    access_expires_at = serializers.DateTimeField(read_only=True)


@cache_control(max_age=86400)
def favicon(request: HttpRequest) -> FileResponse:
    """/favicon.ico, for the pages that do not link the icon (the admin, DRF's pages):
    browsers ask for it on every site, and a 404 there fills the console."""
    found = finders.find("demo/favicon.svg")
    if not isinstance(found, str):
        raise Http404("no favicon")
    return FileResponse(open(found, "rb"), content_type="image/svg+xml")


class MeView(APIView):
    """GET /api/me/: the user, authenticated by the access cookie or a Bearer header."""

    permission_classes = [IsAuthenticated]
    # drf-spectacular reads the response shape from here (settings.OPENAPI).
    serializer_class = MeSerializer

    def get(self, request: Request) -> Response:
        claims: Any = request.auth
        return Response(
            {
                "user": serialize_user(request.user),
                "session_id": getattr(claims, "sid", None),
                "access_expires_at": claims.expires_at.isoformat() if claims else None,
            }
        )
