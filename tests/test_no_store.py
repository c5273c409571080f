"""Pages built for a signed-in user are ``Cache-Control: no-store`` (issue 11).

After a logout, the browser's back button must not show a signed-in page again: not
from the HTTP cache, and not from Chromium's back/forward cache, which keeps no-store
pages out once cookies change (measured in tests/e2e/test_demo_polish.py). The
middleware marks every response whose request it authenticated by the token cookies;
anonymous responses keep whatever caching the view chose.
"""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, Client
from django.urls import include, path, reverse
from django.views.decorators.cache import cache_control

from tests import views


@cache_control(public=True, max_age=600)
def cacheable_page(request: HttpRequest) -> HttpResponse:
    """A view that asks for shared caching and still shows who is signed in."""
    return HttpResponse(f"hello {request.user.get_username() or 'stranger'}")


def static_page(request: HttpRequest) -> HttpResponse:
    """A view that never looks at the user."""
    return HttpResponse("the same for everyone")


urlpatterns = [
    path("auth/", include("jwt_cookie_auth.urls")),
    path("private/", views.private_page, name="private"),
    path("async-whoami/", views.async_whoami, name="async_whoami"),
    path("api/me/", views.MeView.as_view(), name="me"),
    path("cacheable/", cacheable_page, name="cacheable"),
    path("static/", static_page, name="static"),
]

pytestmark = pytest.mark.urls(__name__)


def directives(response: HttpResponse) -> set[str]:
    return {part.strip() for part in response.get("Cache-Control", "").split(",") if part.strip()}


def test_a_signed_in_page_is_no_store_and_varies_on_cookie(logged_in: Client, user: Any) -> None:
    response = logged_in.get(reverse("private"))
    assert response.status_code == 200
    assert response.content == f"hello {user.get_username()}".encode()
    assert "no-store" in directives(response)
    assert "Cookie" in response["Vary"]


def test_a_signed_in_api_answer_is_no_store(logged_in: Client) -> None:
    response = logged_in.get(reverse("me"))
    assert response.status_code == 200
    assert "no-store" in directives(response)


def test_an_async_view_signed_in_is_no_store(logged_in: Client) -> None:
    client = AsyncClient()
    for name, cookie in logged_in.cookies.items():
        client.cookies[name] = cookie.value
    response = async_to_sync(client.get)(reverse("async_whoami"))
    assert response.json()["authenticated"] is True
    assert "no-store" in directives(response)


def test_no_store_wins_over_the_views_own_public_caching_when_signed_in(
    logged_in: Client,
) -> None:
    response = logged_in.get(reverse("cacheable"))
    assert response.content.startswith(b"hello ")
    assert "no-store" in directives(response)
    # An anonymous visitor of the same view keeps the view's caching.
    anonymous = Client().get(reverse("cacheable"))
    assert anonymous.content == b"hello stranger"
    assert directives(anonymous) == {"public", "max-age=600"}


def test_anonymous_and_user_blind_responses_keep_their_caching(logged_in: Client) -> None:
    redirect = Client().get(reverse("private"))
    assert redirect.status_code == 302
    assert "no-store" not in directives(redirect)
    # The view never read request.user: nothing on the page depends on the cookies.
    blind = logged_in.get(reverse("static"))
    assert blind.status_code == 200
    assert "no-store" not in directives(blind)
