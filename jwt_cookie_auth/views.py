"""The auth endpoints: login, refresh, logout, logout everywhere, and sessions.

Every response of these views is ``Cache-Control: no-store`` and ``Vary: Cookie``.
Tokens travel only in HttpOnly cookies unless ``TOKENS_IN_BODY`` opts in for native
clients. Every error is JSON ``{"detail", "code"}`` (``errors.py``); a refused
refresh adds the ``reason`` its session ended (``refusals.py``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from django.contrib.auth import user_logged_out
from django.db import transaction
from django.middleware.csrf import get_token
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, generics, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from jwt_cookie_auth import (
    auth_api,
    clock,
    django_sessions,
    errors,
    refusals,
    revocation,
    rotation,
    tokens,
)
from jwt_cookie_auth.authentication import JWTCookieAuthentication, bearer_token
from jwt_cookie_auth.conf import app_settings
from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from jwt_cookie_auth.cookie_paths import sees_refresh_cookie
from jwt_cookie_auth.cookie_size import CookieTooLarge
from jwt_cookie_auth.cookies import (
    delete_token_cookies,
    duplicated_token_cookies,
    mark_private,
    set_token_cookies,
)
from jwt_cookie_auth.csrf import enforce_csrf
from jwt_cookie_auth.devices import set_device_cookie
from jwt_cookie_auth.identity import authenticate_access_token
from jwt_cookie_auth.issuing import IssuedTokens
from jwt_cookie_auth.models import LoginSession, RevokeReason
from jwt_cookie_auth.parsers import JSONParser
from jwt_cookie_auth.request_auth import resolve
from jwt_cookie_auth.serializers import (
    LoginSessionSerializer,
    login_response_body,
    read_login,
    serialize_user,
)
from jwt_cookie_auth.step_up import PASSWORD_AMR
from jwt_cookie_auth.throttling import authenticate_counted

if TYPE_CHECKING:
    ListAPIView = generics.ListAPIView[LoginSession]
else:
    ListAPIView = generics.ListAPIView

logger = logging.getLogger("jwt_cookie_auth")

LOGIN_FAILED = _("Unable to log in with the provided credentials.")
REFRESH_FAILED = _("Your session has expired. Please log in again.")
LOGOUT_UNSEEN = _("The session cannot be seen from here: refresh it, then log out again.")
WWW_AUTHENTICATE = 'Bearer realm="api"'
TOKEN_TOO_LARGE = _(
    "The server could not issue a session token (it would be too large for a cookie). "
    "Please tell the site's administrators."
)


def exempt_from_auto_refresh(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view that reads and writes the token cookies itself."""
    view.jwt_cookie_auth_exempt = True  # type: ignore[attr-defined]
    return view


def _bearer_token(request: Request) -> str | None:
    # A malformed Bearer header counts as none here: the CSRF check then applies.
    return bearer_token(request) or None


def _has_token_cookie(request: Request) -> bool:
    cookies = request.COOKIES
    return access_cookie_name() in cookies or refresh_cookie_name() in cookies


def sent_by_browser(request: Request) -> bool:
    """Return whether a browser sent this request.

    Browsers add ``Origin`` to every POST (same-origin included) and ``Sec-Fetch-*``
    to every request, and page script can neither remove them nor set ``Sec-``
    headers (Fetch "forbidden request headers"). A native client sends neither.
    """
    meta = request.META
    return "HTTP_ORIGIN" in meta or any(key.startswith("HTTP_SEC_FETCH_") for key in meta)


def _tokens_body(issued: IssuedTokens, request: Request, *, bearer: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "user": serialize_user(issued.session.user),
        "session_id": str(issued.session.pk),
        **issued.expiry_times(),
        "csrf_token": get_token(request._request),
    }
    # TOKENS_IN_BODY serves native clients only: a client that refreshed with a Bearer
    # token (it holds one already), or one that is not a browser. A browser page gets
    # cookies only, so one XSS cannot read the long-lived refresh token.
    if app_settings.TOKENS_IN_BODY and (bearer or not sent_by_browser(request)):
        data.update(access=issued.access, refresh=issued.refresh)
    return data


def tokens_response(issued: IssuedTokens, request: Request, *, bearer: bool = False) -> Response:
    response = Response(_tokens_body(issued, request, bearer=bearer))
    set_token_cookies(response, issued)
    return response


def _token_too_large(exc: CookieTooLarge, user_id: Any) -> Response:
    """Answer a login or refresh whose token would not fit in its cookie.

    A server-side failure, so 500, but a deliberate one: the reason goes to the log,
    the client gets a JSON ``detail``, and no cookie is written or deleted (a refresh
    was rolled back, so the browser's refresh cookie is still good once the claims
    shrink). Sending the cookie anyway would be worse: browsers drop it silently.
    """
    logger.error("Token not issued (user %s): %s", user_id if user_id is not None else "?", exc)
    return Response(
        errors.error_body(TOKEN_TOO_LARGE, errors.TOKEN_TOO_LARGE),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def unauthorized(
    detail: Any,
    *,
    code: str = exceptions.AuthenticationFailed.default_code,
    delete_cookies: bool = True,
    **extra: Any,
) -> Response:
    response = Response(
        errors.error_body(detail, code, **extra),
        status=status.HTTP_401_UNAUTHORIZED,
        headers={"WWW-Authenticate": WWW_AUTHENTICATE},
    )
    if delete_cookies:
        delete_token_cookies(response)
    return response


def _refresh_refused(reason: str, *, delete_cookies: bool = True) -> Response:
    """401 for a refresh refused for ``reason`` (``refusals``): the client's logout reason."""
    code = refusals.code_for(reason)
    return unauthorized(REFRESH_FAILED, code=code, reason=reason, delete_cookies=delete_cookies)


class AuthAPIView(APIView):
    """Base for endpoints that handle the token cookies themselves."""

    # Refresh and logout read no body, but the CSRF check reads a form body's token:
    # a plain HTML form with csrfmiddlewaretoken must work (e.g. a logout button).
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @property
    def throttle_classes(self) -> list[Any]:  # type: ignore[override]
        # The project's REST_FRAMEWORK DEFAULT_THROTTLE_CLASSES apply here as on any
        # DRF view (read per request, so override_settings works); the login view's
        # failure throttle comes on top.
        return list(api_settings.DEFAULT_THROTTLE_CLASSES)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        mark_private(response)
        return response

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], Any]:
        # The error bodies of the auth endpoints are the package's contract, whatever
        # the project's REST_FRAMEWORK EXCEPTION_HANDLER does to its own API's.
        return errors.exception_handler


class LoginView(AuthAPIView):
    """POST credentials; on success start a new session and set both cookies.

    Login CSRF is prevented: the request must pass Django's CSRF check (get the
    token from the ``session`` endpoint first), and only JSON bodies are accepted, so
    a cross-site HTML form cannot post here. Any planted cookies are ignored: a login
    always starts a new token family (``jwt_cookie_auth.login``), and the family of
    every token cookie the browser sent is revoked. The body is read by
    ``LOGIN_SERIALIZER`` (``read_login`` gives the contract) and answered through
    ``LOGIN_RESPONSE_BODY`` if set.
    """

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]

    def post(self, request: Request) -> Response:
        enforce_csrf(request)
        # LOGIN_SERIALIZER: a 400 here comes before any throttle slot or password check.
        login_data = read_login(request, self)
        # Counted before the password is checked, so concurrent guesses cannot pass.
        user, attempt = authenticate_counted(
            request._request,
            login_data.identifier,
            login_data.credentials,
            cleansed_credentials=login_data.cleansed_credentials(),
        )
        if user is None:
            # A mistyped password must not log this browser out of its session.
            return unauthorized(LOGIN_FAILED, delete_cookies=False)
        # The public login API: supersedes the planted or previous session of this
        # browser, rotates CSRF, sends user_logged_in and sets the cookies.
        response = Response()
        try:
            issued = auth_api.login(
                request,
                user,
                response,
                remember=login_data.remember,
                amr=PASSWORD_AMR,
            )
        except CookieTooLarge as exc:
            return _token_too_large(exc, user.pk)
        response.data = login_response_body(
            request, user, issued.session, _tokens_body(issued, request)
        )
        set_device_cookie(response, attempt.username, user.pk)
        return response


class RefreshView(AuthAPIView):
    """POST with the refresh cookie: rotate it. Any failure is a 401 and no cookies.

    Without a Bearer header the CSRF check applies even when no cookie came: a
    cross-site form POST arrives without the SameSite=Lax cookies, and the cookie
    deletion of its 401 would log the user out (browsers apply it).
    """

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def post(self, request: Request) -> Response:
        token = request.COOKIES.get(refresh_cookie_name())
        bearer = _bearer_token(request)
        if token or bearer is None:
            enforce_csrf(request)
        duplicated = duplicated_token_cookies(request._request)
        if duplicated:
            # Cookie tossing: rotating either value could hand the victim the attacker's
            # session, and any Set-Cookie would replace the victim's host-only cookies.
            logger.warning("Refresh refused: token cookie %s sent more than once.", duplicated)
            return _refresh_refused(refusals.DUPLICATE_COOKIES, delete_cookies=False)
        from_bearer = not token and app_settings.TOKENS_IN_BODY
        if from_bearer:
            # Native clients without a cookie jar send the refresh token as Bearer.
            token = bearer
        if not token:
            # Browsers drop the cookie when it expires: this is what a timeout looks like.
            return _refresh_refused(refusals.EXPIRED)
        try:
            issued = rotation.rotate(token, request._request)
        except rotation.RefreshRejected as exc:
            return _refresh_refused(exc.reason)
        except tokens.TokenError:
            return _refresh_refused(refusals.INVALID_TOKEN)
        except CookieTooLarge as exc:
            # Rolled back: the refresh cookie is still the session's current one.
            return _token_too_large(exc, None)
        return tokens_response(issued, request, bearer=from_bearer)


class LogoutView(AuthAPIView):
    """POST: revoke the current session (its access token dies too), delete cookies.

    Idempotent: without cookies, or with dead ones, it still answers 204 and deletes
    the cookies. Every request without a Bearer header must pass the CSRF check, with
    or without token cookies, so a cross-site page cannot log a user out: a
    cross-site form POST arrives without the SameSite=Lax cookies, yet browsers apply
    the cookie deletion of its response (seen in Chromium, tests/e2e).
    """

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def post(self, request: Request) -> Response:
        bearer = _bearer_token(request)
        if bearer is None or _has_token_cookie(request):
            enforce_csrf(request)
        session_ids = auth_api.request_session_ids(request)
        if not session_ids and bearer is None and not sees_refresh_cookie(request.path):
            # Outside REFRESH_COOKIE_PATH (check E052) with no access token: a session
            # may be live that this view cannot see. A 204 would claim it ended, and
            # deleting the cookies would take away the browser's only way to end it.
            logger.warning(
                "Logout at %s cannot see the refresh cookie (REFRESH_COOKIE_PATH=%r).",
                request.path,
                app_settings.REFRESH_COOKIE_PATH,
            )
            return unauthorized(
                LOGOUT_UNSEEN, code=errors.SESSION_NOT_VISIBLE, delete_cookies=False
            )
        response = Response(status=status.HTTP_204_NO_CONTENT)
        # The public logout API: revokes every session the request holds tokens of,
        # flushes the browser's Django session, sends user_logged_out, deletes cookies.
        auth_api.logout(request, response)
        return response


class AuthenticatedAuthView(AuthAPIView):
    authentication_classes = [JWTCookieAuthentication]
    permission_classes = [IsAuthenticated]


class LogoutAllView(AuthenticatedAuthView):
    """POST: revoke every session of the user, on every device."""

    def post(self, request: Request) -> Response:
        revocation.revoke_user_sessions(
            [request.user.pk], RevokeReason.LOGOUT_ALL, request._request
        )
        django_sessions.end_browser_session(request._request)
        django_sessions.end_django_sessions([request.user.pk])
        user_logged_out.send(
            sender=request.user.__class__, request=request._request, user=request.user
        )
        response = Response(status=status.HTTP_204_NO_CONTENT)
        delete_token_cookies(response)
        return response


class SessionView(AuthAPIView):
    """GET: who is logged in, and until when. Also sets Django's CSRF cookie.

    Works anonymously (``{"user": null}``), so an SPA calls it first to bootstrap CSRF.
    Dead cookies make the answer anonymous, not an error.
    """

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        csrf_token = get_token(request._request)
        user, claims = self._identify(request)
        if user is None or claims is None:
            return Response({"user": None, "csrf_token": csrf_token})
        times: Any = (
            LoginSession.objects.filter(pk=claims.sid)
            .values("expires_at", "absolute_expires_at")
            .first()
        ) or {}
        refresh_expires = times.get("expires_at")
        session_expires = times.get("absolute_expires_at")
        return Response(
            {
                "user": serialize_user(user),
                "session_id": claims.sid,
                "access_expires_at": clock.isoformat(claims.expires_at),
                "refresh_expires_at": clock.isoformat(refresh_expires) if refresh_expires else None,
                "session_expires_at": clock.isoformat(session_expires) if session_expires else None,
                "csrf_token": csrf_token,
            }
        )

    def _identify(self, request: Request) -> tuple[Any, tokens.Claims | None]:
        bearer = _bearer_token(request)
        if bearer is not None:
            try:
                return authenticate_access_token(bearer)
            except tokens.TokenError:
                return None, None
        state = resolve(request._request)
        return state.user, state.claims


class SessionListView(AuthenticatedAuthView, ListAPIView):
    """GET: the user's live sessions, the current one marked."""

    serializer_class = LoginSessionSerializer

    @property
    def pagination_class(self) -> Any:  # type: ignore[override]
        # Read per request, not at import: a project's REST_FRAMEWORK (and
        # override_settings) decides whether the list is paginated.
        return api_settings.DEFAULT_PAGINATION_CLASS

    def get_queryset(self) -> Any:
        return (
            LoginSession.objects.live(clock.now())
            .filter(user_id=cast(Any, self.request.user).pk)
            .order_by("-last_used_at", "-created_at")
        )

    def get_serializer_context(self) -> dict[str, Any]:
        context = dict(super().get_serializer_context())
        context["current_session_id"] = getattr(self.request.auth, "sid", None)
        return context


class SessionDetailView(AuthenticatedAuthView):
    """DELETE: revoke one of the user's own sessions at once.

    Someone else's session, an unknown one and an id that is no UUID all answer the
    same JSON 404, so the answer tells nothing about other users' sessions.
    """

    def delete(self, request: Request, session_id: str) -> Response:
        try:
            pk = uuid.UUID(str(session_id))
        except ValueError:
            raise exceptions.NotFound() from None
        session = LoginSession.objects.filter(pk=pk, user_id=cast(Any, request.user).pk).first()
        if session is None:
            raise exceptions.NotFound()
        revocation.revoke_session(session.pk, RevokeReason.USER_REVOKED, request._request)
        response = Response(status=status.HTTP_204_NO_CONTENT)
        if str(session.pk) == getattr(request.auth, "sid", None):
            delete_token_cookies(response)
        return response


# The views that write commit their own short transactions (rotation.py, revocation.py),
# never the request's: under ATOMIC_REQUESTS a refresh would hold its row lock until the
# response, and on SQLite the request's transaction reads first, so its write fails with
# "database is locked" whenever another request is writing (transactions.py).
login = exempt_from_auto_refresh(transaction.non_atomic_requests(LoginView.as_view()))
refresh = exempt_from_auto_refresh(transaction.non_atomic_requests(RefreshView.as_view()))
logout = exempt_from_auto_refresh(transaction.non_atomic_requests(LogoutView.as_view()))
logout_all = transaction.non_atomic_requests(LogoutAllView.as_view())
session = SessionView.as_view()
sessions = SessionListView.as_view()
session_detail = transaction.non_atomic_requests(SessionDetailView.as_view())
