"""The re-authenticate endpoint (RFC 9470 step-up): prove it again, keep the session.

``POST reauthenticate/`` with ``{"password": ...}`` and the CSRF header, as a logged-in
user: the password is checked with ``authenticate()`` for the request's own user (any
backend, ``user_login_failed`` on failure), counted by the login-failure throttle
before the check, and on success the session's ``auth_time`` becomes now and its
``amr`` ``["pwd"]``. The same session goes on (same ``session_id``, same refresh
token); only a new access token carrying the new claims is issued and set.

A project whose second factor is not a password (an OTP step, a passkey) records it
with ``record_reauthentication`` from its own view.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from jwt_cookie_auth import clock, step_up, tokens
from jwt_cookie_auth.authentication import JWTCookieAuthentication, bearer_token
from jwt_cookie_auth.issuing import IssuedTokens, issue_tokens, whole_seconds
from jwt_cookie_auth.parsers import JSONParser
from jwt_cookie_auth.serializers import MAX_PASSWORD_LENGTH
from jwt_cookie_auth.throttling import authenticate_counted
from jwt_cookie_auth.views import REFRESH_FAILED, AuthAPIView, tokens_response, unauthorized

REAUTHENTICATION_FAILED = _("The password is not correct.")


class ReauthenticateSerializer(serializers.Serializer[Any]):
    """``{"password": ...}``: the current user's password."""

    password = serializers.CharField(
        max_length=MAX_PASSWORD_LENGTH, trim_whitespace=False, allow_blank=False
    )


def record_reauthentication(
    request: HttpRequest, claims: tokens.Claims, amr: Iterable[str]
) -> IssuedTokens | None:
    """Record a fresh authentication for the session of ``claims``; return new tokens.

    Call it once your view has verified the user again (``amr``: RFC 8176 values of
    what was verified, e.g. ``["otp"]``), then put the tokens on the response with
    ``cookies.set_token_cookies``. None: the session ended meanwhile (revoked or
    expired), so nothing was recorded. ``ValueError`` for a malformed ``amr``.
    """
    now = whole_seconds(clock.now())
    session = step_up.record_authentication(claims.sid, amr, now, user_id=claims.sub)
    if session is None:
        return None
    return issue_tokens(session, now, request)


class ReauthenticateView(AuthAPIView):
    """POST the password again: a recent ``auth_time`` for the same session."""

    authentication_classes = [JWTCookieAuthentication]
    permission_classes = [IsAuthenticated]
    # JSON only, like login: a cross-site HTML form cannot post here (CSRF applies too).
    parser_classes = [JSONParser]

    def post(self, request: Request) -> Response:
        serializer = ReauthenticateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user: Any = request.user
        claims = request.auth
        if not isinstance(claims, tokens.Claims):
            raise exceptions.NotAuthenticated()
        username = user.get_username()
        # Counted before the password is checked, in the login's buckets: re-authentication
        # is no side door for guessing the password of a stolen session's user.
        credentials = {
            get_user_model().USERNAME_FIELD: username,
            "password": serializer.validated_data["password"],
        }
        checked, _ = authenticate_counted(request._request, username, credentials)
        if checked is None or checked.pk != user.pk:
            # A wrong password leaves the session as it was (no cookie change).
            return unauthorized(REAUTHENTICATION_FAILED, delete_cookies=False)
        issued = record_reauthentication(request._request, claims, step_up.PASSWORD_AMR)
        if issued is None:
            return unauthorized(REFRESH_FAILED)
        return tokens_response(issued, request, bearer=bearer_token(request) is not None)


# Commits its own one-statement UPDATE, never the request's transaction (views.py).
reauthenticate = transaction.non_atomic_requests(ReauthenticateView.as_view())
