"""Decorators for plain Django views.

``require_recent_authentication`` is the plain-view twin of
``permissions.RecentAuthentication`` (RFC 9470 step-up)::

    @login_required
    @require_recent_authentication(max_age=timedelta(minutes=5))
    def delete_account(request): ...

It reads the access token of the request's cookies (the middleware's answer): a user
known only through Django's session login has no ``auth_time`` and is asked to
re-authenticate too. The answer is 401 with the RFC 9470 challenge header and the JSON
body of ``step_up.Shortfall.body``; it is ``Cache-Control: no-store``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any, TypeVar, cast, overload

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponseBase, JsonResponse

from jwt_cookie_auth import step_up
from jwt_cookie_auth.conf import app_settings
from jwt_cookie_auth.cookies import mark_private
from jwt_cookie_auth.request_auth import get_claims

View = Callable[..., Any]
V = TypeVar("V", bound=View)


def _challenge(shortfall: step_up.Shortfall) -> JsonResponse:
    response = JsonResponse(shortfall.body(), status=401)
    response["WWW-Authenticate"] = shortfall.www_authenticate()
    mark_private(response)
    return response


@overload
def require_recent_authentication(
    view: V, *, max_age: timedelta | None = None, amr: Iterable[str] = ()
) -> V: ...


@overload
def require_recent_authentication(
    view: None = None, *, max_age: timedelta | None = None, amr: Iterable[str] = ()
) -> Callable[[V], V]: ...


def require_recent_authentication(
    view: View | None = None,
    *,
    max_age: timedelta | None = None,
    amr: Iterable[str] = (),
) -> Any:
    """Refuse (401, RFC 9470) a request whose authentication is older than ``max_age``.

    ``max_age`` None: ``STEP_UP_MAX_AGE``. Every value of ``amr`` (RFC 8176, e.g.
    ``["otp"]``) must be in the token's ``amr``. Works on sync and async views, with or
    without arguments (``@require_recent_authentication``). ``ValueError`` for a
    malformed ``amr``.
    """
    methods = tuple(step_up.normalize_amr(amr))

    def shortfall(request: HttpRequest) -> step_up.Shortfall | None:
        limit = max_age if max_age is not None else app_settings.STEP_UP_MAX_AGE
        return step_up.shortfall(get_claims(request), limit, methods)

    def decorate(func: V) -> V:
        if iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                missing = await sync_to_async(shortfall)(request)
                if missing is not None:
                    return _challenge(missing)
                return await func(request, *args, **kwargs)

            return cast(V, async_wrapper)

        @functools.wraps(func)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            missing = shortfall(request)
            if missing is not None:
                return _challenge(missing)
            return func(request, *args, **kwargs)  # type: ignore[no-any-return]

        return cast(V, wrapper)

    return decorate(view) if view is not None else decorate
