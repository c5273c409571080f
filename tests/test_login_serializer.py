"""LOGIN_SERIALIZER and LOGIN_RESPONSE_BODY (issue 10, item 6).

The serializer decides what ``authenticate()`` gets and which identifier the throttle
counts under; a 400 comes before any throttle slot or password check. The device
cookie and the per-identifier throttle keep working with a custom serializer.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings
from django.urls import reverse

from jwt_cookie_auth.cookie_names import access_cookie_name
from jwt_cookie_auth.devices import device_cookie_name
from tests.conftest import PASSWORD, capture, credentials, make_user

EMAIL_OR_USERNAME = "tests.serializers.EmailOrUsernameLoginSerializer"
CAPTCHA = "tests.serializers.CaptchaLoginSerializer"
COUNTING_BACKEND = "tests.test_login_serializer.CountingBackend"
# The username bucket only: the tests below are about identifiers, not addresses.
PER_IDENTIFIER = {"ip": None, "username": "3/min", "device": "3/min"}

AUTHENTICATE_CALLS: list[dict[str, Any]] = []


class CountingBackend(ModelBackend):
    """Django's ModelBackend, counting the calls that reach it."""

    def authenticate(self, request: Any, **credentials: Any) -> Any:
        AUTHENTICATE_CALLS.append(credentials)
        return super().authenticate(request, **credentials)


@pytest.fixture(autouse=True)
def _reset_calls() -> Iterator[None]:
    AUTHENTICATE_CALLS.clear()
    yield
    AUTHENTICATE_CALLS.clear()


def post_login(client: Client, body: dict[str, Any]) -> Any:
    return client.post(reverse("jwt_cookie_auth:login"), body, content_type="application/json")


def is_logged_in(client: Client) -> bool:
    return client.get(reverse("whoami")).json()["authenticated"] is True


@pytest.fixture
def carol(db: None) -> Any:
    """A user whose username and email differ (the custom user model logs in by email)."""
    if get_user_model().USERNAME_FIELD == "email":
        return make_user("carol")
    return make_user("carol", email="Carol@Example.com")


@override_settings(JWT_COOKIE_AUTH={"LOGIN_SERIALIZER": EMAIL_OR_USERNAME})
def test_email_or_username_logs_in_both_ways(carol: Any) -> None:
    by_email = Client()
    response = post_login(by_email, {"login": "carol@example.com", "password": PASSWORD})
    assert response.status_code == 200, response.content
    assert response.json()["user"]["id"] == str(carol.pk)
    assert is_logged_in(by_email)

    by_username = Client()
    response = post_login(by_username, {"login": carol.get_username(), "password": PASSWORD})
    assert response.status_code == 200, response.content
    assert is_logged_in(by_username)

    # The default body shape is refused now: the serializer decides the fields.
    assert post_login(Client(), credentials(carol)).status_code == 400


@override_settings(JWT_COOKIE_AUTH={"LOGIN_SERIALIZER": EMAIL_OR_USERNAME})
def test_email_or_username_refuses_a_wrong_password_either_way(carol: Any) -> None:
    for login in ("carol@example.com", carol.get_username()):
        response = post_login(Client(), {"login": login, "password": "wrong"})
        assert response.status_code == 401
        assert access_cookie_name() not in response.cookies


@override_settings(
    JWT_COOKIE_AUTH={"LOGIN_SERIALIZER": CAPTCHA}, AUTHENTICATION_BACKENDS=[COUNTING_BACKEND]
)
def test_a_captcha_serializer_refuses_before_any_password_check(user: Any) -> None:
    client = Client()
    with capture(user_login_failed) as failures:
        missing = post_login(client, credentials(user))
        wrong = post_login(client, credentials(user, captcha="5"))
    assert missing.status_code == 400
    assert "captcha" in missing.json()
    assert wrong.status_code == 400
    assert AUTHENTICATE_CALLS == []
    assert failures == []
    assert not is_logged_in(client)

    response = post_login(client, credentials(user, captcha="4"))
    assert response.status_code == 200
    assert len(AUTHENTICATE_CALLS) == 1
    # authenticate() got the credentials, not the captcha answer or "remember".
    assert set(AUTHENTICATE_CALLS[0]) == {get_user_model().USERNAME_FIELD, "password"}
    assert is_logged_in(client)


@override_settings(
    JWT_COOKIE_AUTH={"LOGIN_SERIALIZER": CAPTCHA, "LOGIN_THROTTLE_RATES": PER_IDENTIFIER}
)
def test_a_refused_body_takes_no_throttle_slot(user: Any) -> None:
    for _ in range(5):
        assert post_login(Client(), credentials(user, password="wrong")).status_code == 400
    assert post_login(Client(), credentials(user, captcha="4")).status_code == 200


@override_settings(
    JWT_COOKIE_AUTH={"LOGIN_SERIALIZER": EMAIL_OR_USERNAME, "LOGIN_THROTTLE_RATES": PER_IDENTIFIER}
)
def test_the_throttle_counts_per_identifier_with_a_custom_serializer(
    carol: Any, other_user: Any
) -> None:
    # Three failures naming carol by email fill carol's bucket ...
    for _ in range(3):
        assert (
            post_login(Client(), {"login": "carol@example.com", "password": "x"}).status_code == 401
        )
    # ... which her username shares: no second set of guesses by switching names.
    response = post_login(Client(), {"login": carol.get_username(), "password": PASSWORD})
    assert response.status_code == 429
    assert "Retry-After" in response
    # Another identifier is counted apart.
    response = post_login(Client(), {"login": other_user.get_username(), "password": PASSWORD})
    assert response.status_code == 200


@override_settings(
    JWT_COOKIE_AUTH={"LOGIN_SERIALIZER": EMAIL_OR_USERNAME, "LOGIN_THROTTLE_RATES": PER_IDENTIFIER}
)
def test_the_device_cookie_still_exempts_its_owner(carol: Any) -> None:
    owner = Client()
    response = post_login(owner, {"login": "carol@example.com", "password": PASSWORD})
    assert response.status_code == 200
    assert device_cookie_name() in response.cookies
    for _ in range(3):  # someone else fills carol's bucket
        assert (
            post_login(Client(), {"login": carol.get_username(), "password": "x"}).status_code
            == 401
        )
    assert (
        post_login(Client(), {"login": "carol@example.com", "password": PASSWORD}).status_code
        == 429
    )
    # The owner's browser, by email or by username, is a known device.
    for login in ("carol@example.com", carol.get_username()):
        response = post_login(owner, {"login": login, "password": PASSWORD})
        assert response.status_code == 200, (login, response.content)


@override_settings(JWT_COOKIE_AUTH={"LOGIN_SERIALIZER": "tests.serializers.NoContractSerializer"})
def test_a_serializer_without_the_contract_is_a_clear_configuration_error(user: Any) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"'credentials'.*'identifier'"):
        post_login(Client(), {"username": "alice", "password": PASSWORD})


@override_settings(JWT_COOKIE_AUTH={"LOGIN_RESPONSE_BODY": "tests.hooks.greeting_body"})
def test_the_login_response_body_hook_adds_fields(client: Client, user: Any) -> None:
    response = post_login(client, credentials(user))
    assert response.status_code == 200
    body = response.json()
    assert body["greeting"] == f"hello {user.get_username()}"
    assert body["same_session"] is True
    # The default body is all there too.
    assert {"user", "session_id", "access_expires_at", "csrf_token"} <= set(body)
    # Refresh keeps the default body (see the README: the hook is for the login answer).
    refreshed = client.post(reverse("jwt_cookie_auth:refresh")).json()
    assert "greeting" not in refreshed


@override_settings(JWT_COOKIE_AUTH={"LOGIN_RESPONSE_BODY": "tests.hooks.body_not_a_dict"})
def test_a_response_body_hook_returning_no_dict_is_a_configuration_error(user: Any) -> None:
    with pytest.raises(ImproperlyConfigured, match="LOGIN_RESPONSE_BODY"):
        post_login(Client(), credentials(user))
