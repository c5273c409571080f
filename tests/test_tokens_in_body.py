"""TOKENS_IN_BODY serves native clients only (SECURITY.md item 38, issue 9 item 11).

With the setting on, a browser page must still never see a token: one XSS would take
the long-lived refresh token. Browsers add ``Origin`` to every POST and ``Sec-Fetch-*``
to every request, and page script can remove neither; a native client sends neither,
or refreshes with the refresh token as a Bearer header (it holds the token already).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from tests.conftest import credentials

LOGIN = "jwt_cookie_auth:login"
REFRESH = "jwt_cookie_auth:refresh"


@pytest.fixture(autouse=True)
def _tokens_in_body(settings: Any) -> None:
    settings.JWT_COOKIE_AUTH = {"TOKENS_IN_BODY": True}


# What a browser adds by itself: a same-origin fetch() and a cross-site one.
BROWSER_HEADERS = [
    pytest.param({"HTTP_ORIGIN": "http://testserver"}, id="origin"),
    pytest.param(
        {
            "HTTP_ORIGIN": "http://testserver",
            "HTTP_SEC_FETCH_SITE": "same-origin",
            "HTTP_SEC_FETCH_MODE": "cors",
            "HTTP_SEC_FETCH_DEST": "empty",
        },
        id="origin-and-sec-fetch",
    ),
    pytest.param({"HTTP_SEC_FETCH_SITE": "same-origin"}, id="sec-fetch-only"),
]


def post_login(client: Client, user: Any, **headers: str) -> Any:
    response = client.post(
        reverse(LOGIN), credentials(user), content_type="application/json", **headers
    )
    assert response.status_code == 200, response.content
    return response


def assert_no_token(body: dict[str, Any], client: Client) -> None:
    assert "access" not in body
    assert "refresh" not in body
    text = str(body)
    for name in (access_cookie_name(), refresh_cookie_name()):
        assert client.cookies[name].value not in text


@pytest.mark.parametrize("headers", BROWSER_HEADERS)
def test_browser_cookie_refresh_gets_no_token_in_the_body(
    client: Client, user: Any, headers: dict[str, str]
) -> None:
    post_login(client, user)
    response = client.post(reverse(REFRESH), **headers)
    assert response.status_code == 200
    assert response.cookies[refresh_cookie_name()].value
    assert_no_token(response.json(), client)


@pytest.mark.parametrize("headers", BROWSER_HEADERS)
def test_browser_login_gets_no_token_in_the_body(
    client: Client, user: Any, headers: dict[str, str]
) -> None:
    response = post_login(client, user, **headers)
    assert response.json()["user"]
    assert_no_token(response.json(), client)


def test_native_login_and_cookie_refresh_get_the_tokens(client: Client, user: Any) -> None:
    """No Origin, no Sec-Fetch-*: a native client with a cookie jar."""
    body = post_login(client, user).json()
    assert body["access"] == client.cookies[access_cookie_name()].value
    assert body["refresh"] == client.cookies[refresh_cookie_name()].value
    refreshed = client.post(reverse(REFRESH)).json()
    assert refreshed["refresh"] == client.cookies[refresh_cookie_name()].value
    assert refreshed["refresh"] != body["refresh"]


@pytest.mark.parametrize("headers", [{}, {"HTTP_ORIGIN": "http://testserver"}])
def test_bearer_refresh_gets_the_tokens(user: Any, headers: dict[str, str]) -> None:
    """A client that presents the refresh token as Bearer holds it already."""
    native = Client()
    refresh = post_login(native, user).json()["refresh"]
    response = Client().post(reverse(REFRESH), HTTP_AUTHORIZATION=f"Bearer {refresh}", **headers)
    assert response.status_code == 200
    body = response.json()
    assert body["access"]
    assert body["refresh"] not in ("", refresh)
    # The next one goes on from the successor, as a native client would.
    again = Client().post(reverse(REFRESH), HTTP_AUTHORIZATION=f"Bearer {body['refresh']}")
    assert again.status_code == 200


@override_settings(JWT_COOKIE_AUTH={"TOKENS_IN_BODY": False})
def test_without_the_setting_nobody_gets_tokens(client: Client, user: Any) -> None:
    body = post_login(client, user).json()
    assert_no_token(body, client)
    assert_no_token(client.post(reverse(REFRESH)).json(), client)
