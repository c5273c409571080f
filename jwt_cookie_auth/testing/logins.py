"""Log a test client in and out through the package's real login and logout code.

``login(client, user)`` starts a session the way the login view does (a new session
row and token family, ``user_logged_in``, a rotated CSRF token) and gives the client
what a browser would hold afterwards: both token cookies under their wire names
(``__Host-jwt_access`` by default; Django's test client sends Secure cookies over its
plain-HTTP requests), Django's CSRF cookie, and the matching CSRF header preset on
every request, so unsafe requests pass the CSRF check even on a client made with
``enforce_csrf_checks=True``. ``bearer_headers(user)`` gives a native client's
``Authorization: Bearer`` header instead.

Unlike ``Client.force_login``, nothing is faked: the tokens are signed, checked,
renewed and revoked by the same code as in production, so a test can move a
``frozen_clock`` past the access lifetime and see the transparent renewal, or revoke
the session and see the next request fail.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory

if TYPE_CHECKING:
    from jwt_cookie_auth.models import LoginSession

LOGIN_PATH = "/"


def _request(client: Client | None, path: str = LOGIN_PATH) -> HttpRequest:
    """Return a POST request as ``client`` would send it (its cookies, headers, address)."""
    if client is None:
        return RequestFactory().post(path)
    factory = RequestFactory(headers=client.headers, **client.defaults)
    factory.cookies = client.cookies
    request = factory.post(path)
    credentials = getattr(client, "_credentials", None)  # DRF APIClient.credentials()
    if credentials:
        request.META.update(credentials)
    return request


def _start(request: HttpRequest, user: Any, response: HttpResponse, remember: bool) -> None:
    """Start a session with the package's login code and put its cookies on ``response``."""
    try:
        from jwt_cookie_auth.auth_api import login as package_login
    except ImportError:
        package_login = None
    if package_login is not None:
        package_login(request, user, response, remember=remember)
        return
    # Until the public login() exists: what LoginView does after authenticate().
    from django.contrib.auth import user_logged_in
    from django.middleware.csrf import rotate_token

    from jwt_cookie_auth.cookies import set_token_cookies
    from jwt_cookie_auth.issuing import start_session

    issued = start_session(request, user, persistent=remember)
    user_logged_in.send(sender=user.__class__, request=request, user=user)
    rotate_token(request)
    set_token_cookies(response, issued)


def _session_of(response: HttpResponse) -> tuple[LoginSession, str]:
    """Return the session whose access cookie ``response`` sets, and the access token."""
    from jwt_cookie_auth import tokens
    from jwt_cookie_auth.cookie_names import access_cookie_name
    from jwt_cookie_auth.models import LoginSession

    access = response.cookies[access_cookie_name()].value
    sid = tokens.decode(access, tokens.ACCESS).sid
    return LoginSession.objects.select_related("user").get(pk=sid), access


def _preset_csrf(client: Client, request: HttpRequest, response: HttpResponse) -> None:
    """Give ``client`` the request's (rotated) CSRF cookie and send its token as header."""
    from django.middleware.csrf import CsrfViewMiddleware, get_token

    token = get_token(request)
    if settings.CSRF_USE_SESSIONS:
        request.session = client.session  # type: ignore[attr-defined]
    CsrfViewMiddleware(lambda r: response).process_response(request, response)
    if settings.CSRF_USE_SESSIONS:
        request.session.save()  # type: ignore[attr-defined]
    client.defaults[settings.CSRF_HEADER_NAME] = token


def login(client: Client, user: Any, *, remember: bool = True) -> LoginSession:
    """Log ``client`` in as ``user`` with token cookies; return the new session row.

    ``client`` is a ``django.test.Client`` or DRF ``APIClient`` (or a subclass).
    ``remember=False`` gives browser-session cookies (no Max-Age) as an unticked
    "remember me" does. A session the client held before is left to the package's
    login code, as for a browser that logs in again. Needs database access.
    """
    request = _request(client)
    response = HttpResponse()
    _start(request, user, response, remember)
    _preset_csrf(client, request, response)
    client.cookies.update(response.cookies)
    return _session_of(response)[0]


def logout(client: Client) -> None:
    """End the session whose tokens ``client`` holds, and delete its token cookies.

    The package's logout code revokes the session server-side (its access token dies
    at once) and sends ``user_logged_out``; a client without tokens is left as it is.
    """
    request = _request(client)
    response = HttpResponse()
    try:
        from jwt_cookie_auth.auth_api import logout as package_logout
    except ImportError:
        _logout(request, response)
    else:
        package_logout(request, response)
    client.cookies.update(response.cookies)


def _logout(request: HttpRequest, response: HttpResponse) -> None:
    """Until the public logout() exists: what LogoutView does after its CSRF check."""
    from django.contrib.auth import user_logged_out
    from rest_framework.request import Request

    from jwt_cookie_auth import revocation, tokens
    from jwt_cookie_auth.authentication import bearer_token
    from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
    from jwt_cookie_auth.cookies import delete_token_cookies
    from jwt_cookie_auth.models import LoginSession, RevokeReason

    candidates = [
        (request.COOKIES.get(refresh_cookie_name()), tokens.REFRESH),
        (request.COOKIES.get(access_cookie_name()), tokens.ACCESS),
        (bearer_token(Request(request)), tokens.ACCESS),
    ]
    for token, token_type in candidates:
        try:
            sid = tokens.decode(token, token_type, allow_expired=True).sid
        except tokens.TokenError:
            continue
        session = LoginSession.objects.select_related("user").filter(pk=sid).first()
        if session and revocation.revoke_session(session.pk, RevokeReason.LOGOUT, request):
            user = session.user
            user_logged_out.send(sender=user.__class__, request=request, user=user)
    delete_token_cookies(response)


def bearer_headers(user: Any, *, remember: bool = True) -> dict[str, str]:
    """Start a session for ``user``; return ``{"HTTP_AUTHORIZATION": "Bearer <access>"}``.

    For native clients: pass it as ``**extra`` to ``Client.get()`` and friends or to
    ``APIClient.credentials()``. A Bearer request needs no CSRF token. The access
    token lives ``ACCESS_TOKEN_LIFETIME`` and is not renewed transparently (only
    cookies are); ``logout(client)`` on a client that sends it ends its session.
    """
    return {"HTTP_AUTHORIZATION": f"Bearer {_bearer(user, remember)[1]}"}


def _bearer(user: Any, remember: bool) -> tuple[LoginSession, str]:
    response = HttpResponse()
    _start(_request(None), user, response, remember)
    return _session_of(response)
