"""Make the JWT cookie user ``request.user`` for plain Django views, and renew tokens.

Place after ``django.contrib.auth.middleware.AuthenticationMiddleware``. A valid
access cookie wins; otherwise ``request.user`` is whatever Django's session
authentication found, so the admin's own session login keeps working beside it.

A bad, expired-beyond-renewal or revoked token makes the request anonymous (and its
cookies are deleted on the response), never a 500.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import patch_vary_headers
from django.utils.functional import SimpleLazyObject

from jwt_cookie_auth import clock, tokens, verified_tokens
from jwt_cookie_auth.async_request_auth import aresolve
from jwt_cookie_auth.conf import app_settings
from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from jwt_cookie_auth.cookies import (
    delete_legacy_cookies,
    delete_token_cookies,
    mark_private,
    set_token_cookies,
    sets_token_cookies,
)
from jwt_cookie_auth.django_sessions import ENDED_ATTR, checked_session_user
from jwt_cookie_auth.password_change import keep_if_django_kept
from jwt_cookie_auth.reporting import protect
from jwt_cookie_auth.request_auth import (
    EXEMPT_ATTR,
    EXEMPT_URL_NAMES,
    MIDDLEWARE_ATTR,
    STATE_ATTR,
    CookieAuth,
    resolve,
)

Response = HttpResponseBase


def _user(request: HttpRequest, fallback: Any) -> Any:
    state = resolve(request)
    return state.user if state.user is not None else checked_session_user(request, fallback)


def _renews_before_view(request: HttpRequest, view_func: Callable[..., Any]) -> bool:
    """Mark an exempt view's request; return whether its tokens must be renewed now."""
    match = getattr(request, "resolver_match", None)
    if getattr(view_func, "jwt_cookie_auth_exempt", False) or (
        match is not None and match.url_name in EXEMPT_URL_NAMES
    ):
        setattr(request, EXEMPT_ATTR, True)
        return False
    if not app_settings.AUTO_REFRESH or STATE_ATTR in request.__dict__:
        return False
    if refresh_cookie_name() not in request.COOKIES:
        return False
    access = request.COOKIES.get(access_cookie_name())
    if not access:
        return True
    # A token verified before: its exp is known without parsing the payload again.
    exp = verified_tokens.known_exp(access)
    if exp is None:
        return tokens.seems_expired(access)
    return exp <= clock.timestamp(clock.now())


class JWTCookieMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(
        self, get_response: Callable[[HttpRequest], Response | Awaitable[Response]]
    ) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(self.get_response)
        if self.async_mode:
            markcoroutinefunction(self)
            # Django runs a sync process_view of an async chain in a thread: give it a
            # coroutine, so an async request hops only where I/O has no async form.
            self.process_view = self._aprocess_view  # type: ignore[method-assign,assignment]

    def __call__(self, request: HttpRequest) -> Response | Awaitable[Response]:
        if self.async_mode:
            return self.__acall__(request)
        self.process_request(request)
        response = self.get_response(request)
        assert isinstance(response, HttpResponseBase)
        return self.process_response(request, response)

    async def __acall__(self, request: HttpRequest) -> Response:
        self.process_request(request)
        response = await self.get_response(request)  # type: ignore[misc]
        session = getattr(request, "session", None)
        if getattr(session, "modified", False):
            # keep_if_django_kept may read the user row (a password changed in this
            # request): only then is process_response more than cookie headers.
            return await sync_to_async(self.process_response)(request, response)
        return self.process_response(request, response)

    def process_request(self, request: HttpRequest) -> None:
        if not hasattr(request, "user"):
            raise ImproperlyConfigured(
                "JWTCookieMiddleware requires Django's authentication middleware. Put "
                "'django.contrib.auth.middleware.AuthenticationMiddleware' before "
                "'jwt_cookie_auth.middleware.JWTCookieMiddleware' in MIDDLEWARE."
            )
        setattr(request, MIDDLEWARE_ATTR, True)
        # Django's error e-mails and debug page must not print the tokens.
        protect(request)
        fallback = request.user
        fallback_auser = request.auser

        request.user = SimpleLazyObject(lambda: _user(request, fallback))  # type: ignore[assignment]

        async def auser() -> Any:
            state = await aresolve(request)
            if state.user is not None:
                return state.user
            user = await fallback_auser()
            if not getattr(user, "is_authenticated", False):
                return user  # what checked_session_user returns, without its hop
            return await sync_to_async(checked_session_user)(request, user)

        request.auser = auser

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: Any,
        view_kwargs: Any,
    ) -> None:
        if _renews_before_view(request, view_func):
            # Renew before the view runs, so plain and DRF views alike see the user.
            resolve(request)

    async def _aprocess_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: Any,
        view_kwargs: Any,
    ) -> None:
        if _renews_before_view(request, view_func):
            await aresolve(request)

    def process_response(self, request: HttpRequest, response: Response) -> Response:
        if response.status_code < 500:
            delete_legacy_cookies(request, response)
        state: CookieAuth | None = request.__dict__.get(STATE_ATTR)
        if getattr(request, ENDED_ATTR, False):
            # Django's login() or logout() ended this browser's JWT session
            # (django_sessions.py): its signal had no response to delete the cookies on.
            state = CookieAuth(clear_cookies=True)
        if state is None:
            return response
        patch_vary_headers(response, ("Cookie",))
        if state.user is not None:
            # A page built for a signed-in user must not come back after a logout, from
            # the HTTP cache or from the browser's back/forward cache: Chromium keeps
            # no-store pages out of it once cookies change (tests/test_no_store.py).
            mark_private(response)
        # Never override cookies an auth view has set or deleted itself.
        if sets_token_cookies(response):
            return response
        if response.status_code < 500 and keep_if_django_kept(request, state, response):
            return response  # Django's update_session_auth_hash ran (password_change.py)
        if state.issued is not None:
            # Even on a server error: the rotation is committed, and a browser left
            # with the consumed token would look like a thief once the grace period
            # is over.
            set_token_cookies(response, state.issued)
        elif state.clear_cookies and response.status_code < 500:
            # Deleting is not urgent; don't do it on an error page (contrib.sessions).
            delete_token_cookies(response)
        return response
