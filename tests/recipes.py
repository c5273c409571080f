"""The README's "Custom login flows" recipes, as a project would write them.

- ``magic_link``: a plain Django view that verifies a one-time ``django.core.signing``
  link, then calls ``jwt_cookie_auth.login``.
- ``PasswordStepView`` / ``OTPStepView``: a two-step login with django-otp (TOTP), in
  DRF views. The password step sets no token cookie, only a signed, short-lived
  "pending" cookie; the OTP step calls ``jwt_cookie_auth.login``.

django-allauth's recipe is ``jwt_cookie_auth.contrib.allauth`` (tests/test_recipe_allauth.py).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.template import engines
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods
from django_otp import devices_for_user, verify_token
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

import jwt_cookie_auth
from jwt_cookie_auth.throttling import LoginAttempt

# --- magic link ------------------------------------------------------------------------

MAGIC_LINK_SALT = "tests.recipes.magic-link"
MAGIC_LINK_MAX_AGE = 15 * 60  # seconds
INVALID_LINK = "This login link is invalid, used or expired."

CONFIRM_PAGE = engines["django"].from_string(
    # A GET only shows this: mail scanners and link previews fetch links, and must not
    # use up (or use) a one-time login.
    '<form method="post">{% csrf_token %}<button>Log in</button></form>'
)


def login_state(user: Any) -> str:
    """Return what changes at every login of ``user`` (``user_logged_in`` sets last_login)."""
    return user.last_login.isoformat() if user.last_login else ""


def magic_link_token(user: Any) -> str:
    """Return a signed token that logs ``user`` in once, within ``MAGIC_LINK_MAX_AGE``."""
    return signing.dumps({"u": str(user.pk), "l": login_state(user)}, salt=MAGIC_LINK_SALT)


def magic_link_user(token: str) -> Any:
    """Return the active user a valid, unused, unexpired token names, or None."""
    try:
        data = signing.loads(token, salt=MAGIC_LINK_SALT, max_age=MAGIC_LINK_MAX_AGE)
    except signing.BadSignature:  # tampered, or SignatureExpired
        return None
    if not isinstance(data, dict):
        return None
    user = get_user_model()._default_manager.filter(pk=data.get("u")).first()
    if user is None or not user.is_active or data.get("l") != login_state(user):
        return None  # unknown, deactivated, or the link was used (a login since)
    return user


@never_cache
@require_http_methods(["GET", "POST"])
def magic_link(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "GET":
        return HttpResponse(CONFIRM_PAGE.render(request=request))
    # CsrfViewMiddleware has checked this POST: no login CSRF with someone else's link.
    user = magic_link_user(token)
    if user is None:
        return HttpResponseBadRequest(INVALID_LINK)
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = "/"
    response = HttpResponseRedirect(next_url)
    # Sends user_logged_in, which moves last_login on: the link is now used up.
    jwt_cookie_auth.login(request, user, response)
    return response


# --- two steps: password, then a TOTP code (django-otp) ------------------------------------

PENDING_COOKIE = "otp_pending"
PENDING_SALT = "tests.recipes.otp-pending"
PENDING_MAX_AGE = 5 * 60  # seconds to type the code
LOGIN_FAILED = "Unable to log in with the provided credentials."
OTP_FAILED = "Invalid code."
START_AGAIN = "Log in with your password first."


class PasswordSerializer(serializers.Serializer[Any]):
    username = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)


class OTPSerializer(serializers.Serializer[Any]):
    token = serializers.RegexField(r"^[0-9]{6,8}$")


def totp_device(user: Any) -> TOTPDevice | None:
    return next(
        (d for d in devices_for_user(user, confirmed=True) if isinstance(d, TOTPDevice)), None
    )


@method_decorator(csrf_protect, name="dispatch")  # login CSRF: DRF exempts by default
class PasswordStepView(APIView):
    """POST {username, password}: 200 and a pending cookie, never a token cookie."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def post(self, request: Request) -> Response:
        data = PasswordSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        username = data.validated_data["username"]
        # The login endpoint's own failure buckets (per IP, per username, per device),
        # counted before the password is checked.
        attempt = LoginAttempt(request._request, username)
        wait = attempt.reserve()
        if wait is not None:
            raise exceptions.Throttled(wait)
        user = authenticate(
            request._request,
            **{get_user_model().USERNAME_FIELD: username},
            password=data.validated_data["password"],
        )
        if user is None or not user.is_active:
            return Response({"detail": LOGIN_FAILED}, status=status.HTTP_401_UNAUTHORIZED)
        attempt.release()
        device = totp_device(user)
        if device is None:
            # No second factor enrolled: this recipe logs in on the password alone.
            response = Response({"otp_required": False})
            jwt_cookie_auth.login(request, user, response, amr=["pwd"])
            return response
        response = Response({"otp_required": True})
        # Signed, short-lived, bound to the login state: no token, and dead after a login.
        response.set_cookie(
            PENDING_COOKIE,
            signing.dumps({"u": str(user.pk), "l": login_state(user)}, salt=PENDING_SALT),
            max_age=PENDING_MAX_AGE,
            httponly=True,
            secure=settings.SESSION_COOKIE_SECURE,
            samesite="Lax",
        )
        return response


@method_decorator(csrf_protect, name="dispatch")
class OTPStepView(APIView):
    """POST {token} with the pending cookie: 200 and the token cookies, or 401/429."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def post(self, request: Request) -> Response:
        data = OTPSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = self._pending_user(request)
        device = totp_device(user) if user is not None else None
        if user is None or device is None:
            return Response({"detail": START_AGAIN}, status=status.HTTP_401_UNAUTHORIZED)
        allowed, _ = device.verify_is_allowed()
        if not allowed:
            # django-otp's own throttle: 1, 2, 4, 8... seconds after each wrong code.
            return Response({"detail": OTP_FAILED}, status=status.HTTP_429_TOO_MANY_REQUESTS)
        # In a transaction with the device row locked; a code is never accepted twice.
        if verify_token(user, device.persistent_id, data.validated_data["token"]) is None:
            return Response({"detail": OTP_FAILED}, status=status.HTTP_401_UNAUTHORIZED)
        response = Response({"otp_required": False})
        response.delete_cookie(PENDING_COOKIE, samesite="Lax")
        jwt_cookie_auth.login(request, user, response, amr=["pwd", "otp", "mfa"])
        return response

    def _pending_user(self, request: Request) -> Any:
        value = request.COOKIES.get(PENDING_COOKIE, "")
        try:
            data = signing.loads(value, salt=PENDING_SALT, max_age=PENDING_MAX_AGE)
        except signing.BadSignature:  # missing, tampered, or SignatureExpired
            return None
        if not isinstance(data, dict):
            return None
        user = get_user_model()._default_manager.filter(pk=data.get("u")).first()
        if user is None or not user.is_active or data.get("l") != login_state(user):
            return None
        return user
