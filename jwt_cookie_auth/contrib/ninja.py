"""django-ninja integration: security classes and a router of the package's endpoints.

``pip install django-jwt-cookie-auth[ninja]``::

    from ninja import NinjaAPI
    from jwt_cookie_auth.contrib.ninja import (
        AsyncJWTCookieAuth, JWTCookieAuth, add_exception_handlers, auth_router,
    )

    api = NinjaAPI(auth=JWTCookieAuth())
    add_exception_handlers(api)        # 401 {"detail", "code", "reason"}, CSRF 403
    api.add_router("/auth/", auth_router())

    @api.get("/me")
    def me(request):
        return {"sid": request.auth.sid}   # request.auth: the verified claims

The security classes follow the DRF class (``authentication.py``) rule for rule:

- ``Authorization: Bearer <access token>`` needs no CSRF check (a browser never
  attaches it by itself); a Bearer header that fails is a 401 even next to a valid
  cookie, so a bogus header never skips the cookie's CSRF check;
- the access cookie is CSRF-checked for unsafe methods with Django's own check (as
  DRF's ``SessionAuthentication``), since browsers attach it cross-site: a failure is
  a 403 ``csrf_failed``;
- the cookie answer is ``request_auth``'s per-request result, shared with the
  middleware and the DRF class: the token is verified once per request, and an
  expired access cookie is renewed by the middleware's ``AUTO_REFRESH`` as anywhere;
- a refused token (revoked, expired, unknown user...) is a 401 naming the ``reason``
  (``refusals``), never an anonymous pass.

``request.auth`` holds the ``tokens.Claims`` (``.sid``, ``.sub``, ``["role"]``), and
``request.user`` the user. ``AsyncJWTCookieAuth`` does the same on the event loop
(``async_request_auth``: no thread hop with a native-async cache and
``CACHE_USERS``); use it on async operations, where ninja would run the sync class
in a thread.

``auth_router()`` serves the package's own views (login, refresh, logout, logout
all, session, sessions) under ninja with request and response schemas in the
OpenAPI document. Each operation delegates to the same DRF view as
``jwt_cookie_auth.urls``, so throttling, CSRF, cookies and error bodies are the
same; its request body is documented, not parsed again by ninja.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext
from ninja import NinjaAPI, Router, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.security import APIKeyCookie
from pydantic import ConfigDict
from rest_framework import exceptions

from jwt_cookie_auth import identity, refusals, tokens, views
from jwt_cookie_auth.async_identity import aauthenticate_access_token, arefusal_reason
from jwt_cookie_auth.async_request_auth import aresolve
from jwt_cookie_auth.authentication import bearer_token
from jwt_cookie_auth.cookie_names import access_cookie_name
from jwt_cookie_auth.csrf import CSRF_FAILED_CODE, csrf_failure
from jwt_cookie_auth.reporting import protect
from jwt_cookie_auth.request_auth import EXEMPT_URL_NAMES, CookieAuth, resolve

logger = logging.getLogger("jwt_cookie_auth")

__all__ = [
    "AsyncJWTCookieAuth",
    "BodyUnreadable",
    "CsrfFailed",
    "JWTCookieAuth",
    "TokenRefused",
    "add_exception_handlers",
    "auth_router",
]


class TokenRefused(AuthenticationError):
    """401 for a token refused for ``reason`` (``refusals``).

    Without ``add_exception_handlers`` ninja answers ``{"detail": ...}``; with it the
    body is the DRF class's ``{"detail", "code", "reason"}``.
    """

    def __init__(self, reason: str, message: str | None = None) -> None:
        super().__init__(401, message or gettext("Session expired or revoked."))
        self.reason = reason
        self.code = refusals.code_for(reason)


class CsrfFailed(HttpError):
    """403: a cookie-authenticated unsafe request failed Django's CSRF check."""

    def __init__(self, why: str) -> None:
        super().__init__(403, f"CSRF Failed: {why}")


class BodyUnreadable(HttpError):
    """400 ``parse_error``: the CSRF check could not read the body (e.g. a broken multipart).

    Without ``add_exception_handlers`` ninja answers ``{"detail": ...}``; with it the
    body is the package's ``{"detail", "code": "parse_error"}`` (``errors.py``).
    """

    code = exceptions.ParseError.default_code

    def __init__(self, detail: str) -> None:
        super().__init__(400, detail)


#: Django's body errors that reading ``request.POST`` raises (the CSRF check reads the
#: form field of a POST): a client's fault, answered 400 ``parse_error``, never a 500
#: (ninja re-raises them under DEBUG) nor Django's HTML 400 page.
_BODY_ERRORS = (MultiPartParserError, RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)


def _check_csrf(request: HttpRequest) -> None:
    try:
        why = csrf_failure(request)
    except exceptions.ParseError as exc:
        raise BodyUnreadable(str(exc.detail)) from None
    except _BODY_ERRORS as exc:
        # The same detail as csrf.py gives the JSON parse errors (the class name only:
        # Django's message may quote the client's boundary or a limit).
        logger.debug("Unreadable request body: %r", exc)
        raise BodyUnreadable(f"Malformed request body: {type(exc).__name__}.") from None
    if why:
        raise CsrfFailed(why)


def _cookie_answer(request: HttpRequest, state: CookieAuth) -> tokens.Claims | None:
    """The DRF class's rules on the request's shared cookie result (pure but the CSRF check)."""
    if state.user is None:
        if state.csrf_failed:
            # The renewal waited for CSRF and the request failed it: 403, as with a
            # live access cookie (nothing was rotated).
            _check_csrf(request)
        if state.error is not None:
            raise TokenRefused(state.reason or refusals.INVALID_TOKEN)
        return None
    _check_csrf(request)
    request.user = state.user
    return state.claims


def _bearer_refused(exc: tokens.TokenError, reason: str) -> TokenRefused:
    logger.debug("Bearer token refused: %s", exc)
    return TokenRefused(reason, gettext("Invalid or expired token."))


class JWTCookieAuth(APIKeyCookie):
    """Authenticate a ninja operation with the access cookie (CSRF-checked) or Bearer.

    The OpenAPI scheme is the cookie (named from ``ACCESS_COOKIE_NAME`` when the
    instance is made); Bearer is accepted as well.
    """

    def __init__(self) -> None:
        # Read when the API is built (after settings), not at import.
        self.param_name = access_cookie_name()
        # csrf=False: ninja's own check would run even for Bearer; ours follows the
        # DRF class (cookie credentials only, Django's check with its error reason).
        super().__init__(csrf=False)

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.COOKIES.get(self.param_name)

    def __call__(self, request: HttpRequest) -> tokens.Claims | None:
        return self.authenticate(request, None)

    def authenticate(self, request: HttpRequest, key: str | None) -> tokens.Claims | None:
        """Return the verified claims, None (no credentials), or raise a 401/403."""
        protect(request)  # keep the tokens out of Django's error reports
        bearer = bearer_token(request)  # type: ignore[arg-type]  # reads META only
        if bearer is not None:
            if not bearer:
                raise TokenRefused(refusals.INVALID_TOKEN, gettext("Invalid Authorization header."))
            try:
                user, claims = identity.authenticate_access_token(bearer)
            except tokens.TokenError as exc:
                raise _bearer_refused(exc, identity.refusal_reason(exc)) from None
            request.user = user
            return claims
        return _cookie_answer(request, resolve(request))


class AsyncJWTCookieAuth(JWTCookieAuth):
    """``JWTCookieAuth`` for async operations, awaited on the event loop."""

    async def __call__(self, request: HttpRequest) -> tokens.Claims | None:  # type: ignore[override]
        return await self.authenticate(request, None)

    async def authenticate(  # type: ignore[override]
        self, request: HttpRequest, key: str | None
    ) -> tokens.Claims | None:
        protect(request)
        bearer = bearer_token(request)  # type: ignore[arg-type]
        if bearer is not None:
            if not bearer:
                raise TokenRefused(refusals.INVALID_TOKEN, gettext("Invalid Authorization header."))
            try:
                user, claims = await aauthenticate_access_token(bearer)
            except tokens.TokenError as exc:
                raise _bearer_refused(exc, await arefusal_reason(exc)) from None
            request.user = user
            return claims
        return _cookie_answer(request, await aresolve(request))


def add_exception_handlers(api: NinjaAPI) -> None:
    """Answer refusals as the DRF class does: 401 ``{"detail", "code", "reason"}``
    with ``WWW-Authenticate``, CSRF failures 403 ``{"detail", "code"}``, and a body the
    CSRF check cannot read 400 ``{"detail", "code": "parse_error"}``."""

    def refused(request: HttpRequest, exc: Any) -> HttpResponse:
        body = {"detail": exc.message, "code": exc.code, "reason": exc.reason}
        response = api.create_response(request, body, status=401)
        response["WWW-Authenticate"] = views.WWW_AUTHENTICATE
        return response

    def csrf_failed(request: HttpRequest, exc: Any) -> HttpResponse:
        body = {"detail": exc.message, "code": CSRF_FAILED_CODE}
        return api.create_response(request, body, status=403)

    def unreadable(request: HttpRequest, exc: Any) -> HttpResponse:
        body = {"detail": exc.message, "code": exc.code}
        return api.create_response(request, body, status=400)

    api.add_exception_handler(TokenRefused, refused)
    api.add_exception_handler(CsrfFailed, csrf_failed)
    api.add_exception_handler(BodyUnreadable, unreadable)


# --- the router ------------------------------------------------------------------------


class _Open(Schema):
    model_config = ConfigDict(extra="allow")


class UserOut(_Open):
    """``USER_SERIALIZER``'s output: ``id`` and the login field, by default."""

    id: str


class LoginIn(_Open):
    """``LOGIN_SERIALIZER``'s input: the ``USERNAME_FIELD`` (e.g. ``username``),
    ``password`` and ``remember``."""

    password: str
    remember: bool = True


class TokensOut(_Open):
    user: UserOut
    session_id: str
    access_expires_at: str
    refresh_expires_at: str
    session_expires_at: str
    csrf_token: str
    #: Only with ``TOKENS_IN_BODY``, for clients that are not browsers.
    access: str | None = None
    refresh: str | None = None


class SessionOut(Schema):
    user: UserOut | None
    csrf_token: str
    session_id: str | None = None
    access_expires_at: str | None = None
    refresh_expires_at: str | None = None
    session_expires_at: str | None = None


class DeviceOut(Schema):
    browser: str
    os: str
    device: str


class LoginSessionOut(Schema):
    id: str
    current: bool
    created_at: str
    last_used_at: str | None
    expires_at: str
    absolute_expires_at: str
    persistent: bool
    user_agent: str
    device: DeviceOut
    ip_address: str | None


class ErrorOut(_Open):
    """``{"detail"}``, and for refusals ``code`` and ``reason`` (``refusals``)."""

    detail: str
    code: str | None = None
    reason: str | None = None


def _errors(*statuses: int) -> dict[int, Any]:
    return dict.fromkeys(statuses, ErrorOut)


# The statuses each operation answers, as contrib/spectacular.py documents them: every
# unsafe one may answer 400 (a body the CSRF check cannot read), 403 (CSRF), 415 (a
# body that is not JSON) and 429 (throttled) before its own logic.
UNSAFE = (400, 403, 415, 429)
ERRORS: dict[int, Any] = _errors(400, 401, 403, 429)  # kept for projects importing it


class _ViewAuthenticates(JWTCookieAuth):
    """Documentation only: the operation's ``security`` is the access cookie.

    The DRF view behind a router operation authenticates the request itself (its 401
    and 403 bodies are the package's), so ninja must not; this callback lets every
    request through to it. It exists because ninja writes an operation's ``security``
    and the ``securitySchemes`` component only from its ``auth`` callbacks, under the
    class name: the name is ``JWTCookieAuth``'s, so the scheme is the one an API with
    ``auth=JWTCookieAuth()`` defines, and is defined even when the API has no auth.
    Never use it on an operation of your own.
    """

    def __call__(self, request: HttpRequest) -> bool:  # type: ignore[override]
        return True


_ViewAuthenticates.__name__ = _ViewAuthenticates.__qualname__ = JWTCookieAuth.__name__


# The middleware treats routes of these names like the login, refresh and logout views
# (no transparent refresh before them: they read and write the cookies themselves).
EXEMPT_NAMES = {name.removeprefix("jwt_cookie_auth_"): name for name in EXEMPT_URL_NAMES}


def _delegate(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    def operation(request: HttpRequest) -> HttpResponseBase:
        return view(request)

    operation.__name__ = getattr(view, "__name__", "operation")
    return operation


def _json_body(schema: type[Schema]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema.model_json_schema()}},
        }
    }


def auth_router(**router_kwargs: Any) -> Router:
    """Return a ninja ``Router`` of the package's endpoints (``tags=["auth"]`` by default).

    Mount it once per API: ``api.add_router("/auth/", auth_router())``. The
    operations authenticate as the DRF views behind them do, whatever the API's
    default ``auth``: ninja checks nothing. Each has a stable ``operationId`` (the
    drf-spectacular ones: ``jwt_login``, ``jwt_refresh``, ``jwt_logout``,
    ``jwt_logout_all``, ``jwt_session``, ``jwt_sessions_list``,
    ``jwt_session_revoke``), the error statuses its view answers, and those that need
    a logged-in user (logout all, sessions, revoke one) carry ``security``: the
    ``JWTCookieAuth`` cookie scheme.
    """
    router_kwargs.setdefault("tags", ["auth"])
    router = Router(**router_kwargs)
    # The operation ids are contrib/spectacular.py's, so both schemas name them alike.
    router.post(
        "/login/",
        auth=None,
        response={200: TokensOut, **_errors(401, 500, *UNSAFE)},
        url_name=EXEMPT_NAMES["login"],
        operation_id="jwt_login",
        summary="Log in with credentials; sets the token cookies",
        openapi_extra=_json_body(LoginIn),
    )(_delegate(views.login))
    router.post(
        "/refresh/",
        auth=None,
        response={200: TokensOut, **_errors(401, 500, *UNSAFE)},
        url_name=EXEMPT_NAMES["refresh"],
        operation_id="jwt_refresh",
        summary="Rotate the refresh cookie",
    )(_delegate(views.refresh))
    router.post(
        "/logout/",
        auth=None,
        response={204: None, **_errors(401, *UNSAFE)},
        url_name=EXEMPT_NAMES["logout"],
        operation_id="jwt_logout",
        summary="Revoke this session and delete the cookies",
    )(_delegate(views.logout))
    router.post(
        "/logout/all/",
        auth=_ViewAuthenticates(),
        response={204: None, **_errors(401, *UNSAFE)},
        url_name="jwt_cookie_auth_logout_all",
        operation_id="jwt_logout_all",
        summary="Revoke every session of the user",
    )(_delegate(views.logout_all))
    router.get(
        "/session/",
        auth=None,
        response={200: SessionOut, **_errors(429)},
        url_name="jwt_cookie_auth_session",
        operation_id="jwt_session",
        summary="Who is logged in; sets the CSRF cookie",
    )(_delegate(views.session))
    router.get(
        "/sessions/",
        auth=_ViewAuthenticates(),
        response={200: list[LoginSessionOut], **_errors(401, 403, 429)},
        url_name="jwt_cookie_auth_sessions",
        operation_id="jwt_sessions_list",
        summary="The user's live sessions",
    )(_delegate(views.sessions))

    def session_detail(request: HttpRequest, session_id: str) -> HttpResponseBase:
        return views.session_detail(request, session_id=session_id)

    router.delete(
        "/sessions/{session_id}/",
        auth=_ViewAuthenticates(),
        response={204: None, **_errors(401, 404, *UNSAFE)},
        url_name="jwt_cookie_auth_session_detail",
        operation_id="jwt_session_revoke",
        summary="Revoke one of the user's sessions",
    )(session_detail)
    return router
