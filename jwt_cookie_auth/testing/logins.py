"""Log a test client in and out through the package's real login and logout code.

``login(client, user)`` calls ``jwt_cookie_auth.login()``, as a project's own login
view would: a new session row and token family, the sessions the client held before
revoked, ``user_logged_in``, a rotated CSRF token. The client then holds what a
browser would: both token cookies under their wire names (``__Host-jwt_access`` by
default; Django's test client sends Secure cookies over its plain-HTTP requests),
Django's CSRF cookie, and the matching CSRF header preset on every request, so unsafe
requests pass the CSRF check even on a client made with ``enforce_csrf_checks=True``.
``bearer_headers(user)`` gives a native client's ``Authorization: Bearer`` header.

Unlike ``Client.force_login``, nothing is faked: the tokens are signed, checked,
renewed and revoked by the same code as in production, so a test can move a
``frozen_clock`` past the access lifetime and see the transparent renewal, or revoke
the session and see the next request fail.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory

if TYPE_CHECKING:
    from jwt_cookie_auth.issuing import IssuedTokens
    from jwt_cookie_auth.models import LoginSession

#: The path of the requests the helpers make up; no view is called.
PATH = "/"


def _request(client: Client | None) -> HttpRequest:
    """Return a POST request as ``client`` would send it: its cookies, headers, address.

    A client with a Django session (``force_login``, a session login) brings it, as
    behind ``SessionMiddleware``: a login flushes another user's Django session and a
    logout flushes the browser's. ``CSRF_USE_SESSIONS`` keeps the CSRF secret there.
    """
    if client is None:
        return RequestFactory().post(PATH)
    factory = RequestFactory(headers=client.headers)
    factory.defaults = dict(client.defaults)
    factory.cookies = client.cookies
    request = factory.post(PATH)
    # DRF's APIClient.credentials(): a Bearer header the logout must see.
    request.META.update(getattr(client, "_credentials", {}))
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if session_key or settings.CSRF_USE_SESSIONS:
        engine = import_module(settings.SESSION_ENGINE)
        request.session = engine.SessionStore(session_key)
    return request


def _finish(client: Client, request: HttpRequest, response: HttpResponse) -> None:
    """Apply the response middleware a browser's response would pass, keep its cookies."""
    from django.contrib.sessions.middleware import SessionMiddleware
    from django.middleware.csrf import CsrfViewMiddleware

    def get_response(request: HttpRequest) -> HttpResponse:
        return response  # pragma: no cover: never called

    # CSRF first: with CSRF_USE_SESSIONS it writes the secret to the session.
    CsrfViewMiddleware(get_response).process_response(request, response)
    if hasattr(request, "session"):
        SessionMiddleware(get_response).process_response(request, response)
    client.cookies.update(response.cookies)


def _start(request: HttpRequest, user: Any, remember: bool) -> tuple[IssuedTokens, HttpResponse]:
    import jwt_cookie_auth

    response = HttpResponse()
    return jwt_cookie_auth.login(request, user, response, remember=remember), response


def login(client: Client, user: Any, *, remember: bool = True) -> LoginSession:
    """Log ``client`` in as ``user`` with token cookies; return the new session row.

    ``client`` is a ``django.test.Client`` or DRF ``APIClient`` (or a subclass).
    ``remember=False`` gives browser-session cookies (no Max-Age) as an unticked
    "remember me" does. Sessions the client held tokens of end (``superseded``), as
    on any login. ``user`` must be saved and active (else ``ValueError``). Needs
    database access.
    """
    from django.middleware.csrf import get_token

    request = _request(client)
    issued, response = _start(request, user, remember)
    # The rotated token, masked as a page would get it; CsrfViewMiddleware sets its
    # secret as the CSRF cookie (or in the session) in _finish.
    client.defaults[settings.CSRF_HEADER_NAME] = get_token(request)
    _finish(client, request, response)
    return issued.session


def logout(client: Client) -> bool:
    """End the session whose tokens ``client`` holds; delete its token cookies.

    Calls ``jwt_cookie_auth.logout()``: the session of the token cookies and of an
    ``APIClient.credentials()`` Bearer header ends server-side (its access token dies
    at once), ``user_logged_out`` is sent, and the client's Django session is
    flushed. Returns whether a live session ended; with no tokens it changes nothing
    but the cookies.
    """
    import jwt_cookie_auth

    request = _request(client)
    response = HttpResponse()
    ended = jwt_cookie_auth.logout(request, response)
    _finish(client, request, response)
    return ended


def bearer_tokens(user: Any, *, remember: bool = True) -> IssuedTokens:
    """Start a session for ``user`` without a client; return its tokens.

    ``.access`` is the access token, ``.session`` the session row.
    """
    return _start(_request(None), user, remember)[0]


def bearer_headers(user: Any, *, remember: bool = True) -> dict[str, str]:
    """Start a session for ``user``; return ``{"HTTP_AUTHORIZATION": "Bearer <access>"}``.

    For native clients: pass it as ``**extra`` to ``Client.get()`` and friends or to
    ``APIClient.credentials()``. A Bearer request needs no CSRF token. The access
    token lives ``ACCESS_TOKEN_LIFETIME`` and is not renewed transparently (only
    cookies are); ``logout(client)`` on an ``APIClient`` that sends it ends its
    session.
    """
    return {"HTTP_AUTHORIZATION": f"Bearer {bearer_tokens(user, remember=remember).access}"}
