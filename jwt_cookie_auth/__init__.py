"""Cookie-based JWT sessions for Django and Django REST framework.

``login()`` and ``logout()`` are the public API for custom login flows. They are thin
wrappers that import on call, so this package imports before Django's apps are ready
(no model import at module level).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponseBase
    from rest_framework.request import Request

    from jwt_cookie_auth.issuing import IssuedTokens

__version__ = "0.1.0"


def login(
    request: HttpRequest | Request,
    user: Any,
    response: HttpResponseBase,
    *,
    remember: bool = True,
    amr: Sequence[str] | None = None,
    send_signal: bool = True,
) -> IssuedTokens:
    """Start a JWT session for an already authenticated ``user``; set cookies on ``response``.

    See ``jwt_cookie_auth.auth_api.login``.
    """
    from jwt_cookie_auth import auth_api

    return auth_api.login(
        request, user, response, remember=remember, amr=amr, send_signal=send_signal
    )


def logout(request: HttpRequest | Request, response: HttpResponseBase) -> bool:
    """End the request's JWT session; delete the cookies on ``response``.

    See ``jwt_cookie_auth.auth_api.logout``.
    """
    from jwt_cookie_auth import auth_api

    return auth_api.logout(request, response)


def update_session_auth_hash(
    request: HttpRequest | Request, user: Any, response: HttpResponseBase | None = None
) -> IssuedTokens | None:
    """Keep this browser's session after ``user``'s new password was saved; end all others.

    See ``jwt_cookie_auth.password_change.update_session_auth_hash``.
    """
    from jwt_cookie_auth import password_change

    return password_change.update_session_auth_hash(request, user, response)
