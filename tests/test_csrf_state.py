"""A request that fails CSRF changes nothing (issue 9 item 12, SECURITY.md item 36).

The transparent renewal (AUTO_REFRESH) rotates the refresh token, writes
``last_used_at`` and can revoke a family on reuse. For an unsafe method it must not run
before the CSRF check has passed, whichever view (DRF, plain, ``csrf_exempt``) or code
path (middleware, ``request.user``, a CSRF failure view) asks for the user first.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.test import Client, override_settings
from django.urls import path, reverse
from django.views.decorators.csrf import csrf_exempt

from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from jwt_cookie_auth.models import LoginSession
from tests.conftest import csrf_login, refresh_cookie
from tests.urls import urlpatterns as base_urlpatterns

JSON = "application/json"


@csrf_exempt
def exempt_post(request: HttpRequest) -> HttpResponse:
    """A plain view that opted out of CSRF and still looks at the user."""
    return HttpResponse(request.user.get_username() or "anonymous")


def failure_view_reading_user(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A CSRF_FAILURE_VIEW that renders the user, as a RequestContext template would."""
    return HttpResponseForbidden(f"csrf failed for {request.user.get_username() or 'anonymous'}")


urlpatterns = [
    *base_urlpatterns,
    path("exempt/", exempt_post, name="exempt"),
]

pytestmark = pytest.mark.urls(__name__)


def row_state(session: LoginSession) -> tuple[Any, ...]:
    session.refresh_from_db()
    return (
        session.refresh_jti,
        session.previous_jti,
        session.rotated_at,
        session.last_used_at,
        session.expires_at,
        session.revoked_at,
    )


def token_cookies_set(response: Any) -> list[str]:
    names = (access_cookie_name(), refresh_cookie_name())
    return [name for name in names if name in response.cookies]


@pytest.fixture
def expired(clock: Any, csrf_client: Client, user: Any) -> tuple[Client, str, LoginSession]:
    """A browser whose access cookie has expired next to a valid refresh cookie."""
    token = csrf_login(csrf_client, user)
    clock.advance(minutes=6)
    return csrf_client, token, LoginSession.objects.get()


def assert_refresh_still_works(client: Client, token: str, session: LoginSession) -> None:
    """The old refresh cookie renews normally afterwards: no theft judged, no revocation."""
    response = client.post(reverse("jwt_cookie_auth:refresh"), HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200, response.content
    session.refresh_from_db()
    assert session.revoked_at is None
    assert session.rotated_at is not None


@pytest.mark.parametrize(
    ("method", "name", "args"),
    [
        ("post", "me", ()),
        ("put", "me", ()),
        ("patch", "me", ()),
        ("delete", "me", ()),
        ("post", "jwt_cookie_auth:logout_all", ()),
        ("delete", "jwt_cookie_auth:session_detail", ("sid",)),
    ],
)
def test_unsafe_drf_request_without_csrf_and_expired_access_changes_nothing(
    expired: tuple[Client, str, LoginSession], method: str, name: str, args: tuple[str, ...]
) -> None:
    client, token, session = expired
    before = row_state(session)
    old_refresh = refresh_cookie(client)
    url = reverse(name, args=[session.pk] if args else [])

    response = getattr(client, method)(url, content_type=JSON)

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert token_cookies_set(response) == []
    assert row_state(session) == before
    assert refresh_cookie(client) == old_refresh
    assert_refresh_still_works(client, token, session)


def test_unsafe_drf_request_with_csrf_is_still_renewed(
    expired: tuple[Client, str, LoginSession],
) -> None:
    client, token, _ = expired
    old_refresh = refresh_cookie(client)
    response = client.post(reverse("me"), content_type=JSON, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200
    assert set(token_cookies_set(response)) == {
        access_cookie_name(),
        refresh_cookie_name(),
    }
    assert refresh_cookie(client) != old_refresh


def test_safe_request_is_still_renewed_without_csrf(
    expired: tuple[Client, str, LoginSession],
) -> None:
    client, _, session = expired
    response = client.get(reverse("me"))
    assert response.status_code == 200
    assert token_cookies_set(response)
    session.refresh_from_db()
    assert session.rotated_at is not None


def assert_refused_and_unchanged(
    client: Client, path: str, token: str, session: LoginSession
) -> Any:
    """POST without a CSRF token: 403, no token cookie, the row as it was, and the
    old refresh token still refreshes (nothing rotated, nothing judged theft)."""
    before = row_state(session)
    response = client.post(path)
    assert response.status_code == 403
    assert token_cookies_set(response) == []
    assert row_state(session) == before
    assert_refresh_still_works(client, token, session)
    return response


def test_plain_view_post_without_csrf_changes_nothing(
    expired: tuple[Client, str, LoginSession],
) -> None:
    client, token, session = expired
    assert_refused_and_unchanged(client, reverse("whoami"), token, session)


def test_plain_view_post_without_csrf_changes_nothing_whatever_the_middleware_order(
    expired: tuple[Client, str, LoginSession], settings: Any
) -> None:
    """With the JWT middleware before CsrfViewMiddleware, it renews first: it must
    not rotate on a request that Django's CSRF middleware then refuses."""
    middleware = list(settings.MIDDLEWARE)
    middleware.remove("django.middleware.csrf.CsrfViewMiddleware")
    middleware.insert(
        middleware.index("jwt_cookie_auth.middleware.JWTCookieMiddleware") + 1,
        "django.middleware.csrf.CsrfViewMiddleware",
    )
    settings.MIDDLEWARE = middleware
    browser, token, session = expired
    client = Client(enforce_csrf_checks=True)  # a client's handler loads MIDDLEWARE once
    client.cookies = browser.cookies
    assert_refused_and_unchanged(client, reverse("whoami"), token, session)


@override_settings(CSRF_FAILURE_VIEW=f"{__name__}.failure_view_reading_user")
def test_csrf_failure_view_that_reads_the_user_changes_nothing(
    expired: tuple[Client, str, LoginSession],
) -> None:
    client, token, session = expired
    response = assert_refused_and_unchanged(client, reverse("private"), token, session)
    assert response.content == b"csrf failed for anonymous"


def test_csrf_exempt_plain_view_gets_no_renewal_without_a_csrf_token(
    expired: tuple[Client, str, LoginSession],
) -> None:
    """A view that opted out of CSRF sees an anonymous user instead of renewing a
    cookie session on a request that a cross-site page could have sent."""
    client, token, session = expired
    before = row_state(session)
    response = client.post(reverse("exempt"))
    assert response.status_code == 200
    assert response.content == b"anonymous"
    assert token_cookies_set(response) == []
    assert row_state(session) == before

    renewed = client.post(reverse("exempt"), HTTP_X_CSRFTOKEN=token)
    assert renewed.content.decode() == session.user.get_username()
    assert token_cookies_set(renewed)


def test_replayed_refresh_cookie_without_csrf_revokes_nothing(
    expired: tuple[Client, str, LoginSession], clock: Any
) -> None:
    """Reuse detection revokes the family; a forged request must not trigger it."""
    client, token, session = expired
    stale = refresh_cookie(client)
    assert_refresh_still_works(client, token, session)
    clock.advance(minutes=1)  # beyond the rotation grace period
    client.cookies[refresh_cookie_name()] = stale
    del client.cookies[access_cookie_name()]

    response = client.post(reverse("me"), content_type=JSON)

    assert response.status_code == 403
    assert token_cookies_set(response) == []
    session.refresh_from_db()
    assert session.revoked_at is None
