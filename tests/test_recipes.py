"""The README's "Custom login flows" recipes: magic link and two steps with django-otp."""

from __future__ import annotations

import time
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from jwt_cookie_auth.models import LoginSession
from tests import recipes
from tests.conftest import PASSWORD

TOKEN_COOKIES = (access_cookie_name(), refresh_cookie_name())


def sets_token_cookie(response: Any) -> bool:
    return any(name in response.cookies for name in TOKEN_COOKIES)


def whoami(client: Client) -> Any:
    return client.get(reverse("whoami")).json()["user"]


# --- magic link ------------------------------------------------------------------------


def magic_url(user: Any, next_url: str = "") -> str:
    url = reverse("magic_link", args=[recipes.magic_link_token(user)])
    return f"{url}?next={next_url}" if next_url else url


@pytest.mark.django_db
def test_magic_link_logs_in_with_cookies(client: Client, user: Any) -> None:
    response = client.post(magic_url(user, "/private/"))
    assert response.status_code == 302
    assert response["Location"] == "/private/"
    assert response.cookies[access_cookie_name()]["httponly"]
    assert response.cookies[refresh_cookie_name()].value
    assert whoami(client) == user.get_username()
    assert client.get(reverse("me")).status_code == 200


@pytest.mark.django_db
def test_magic_link_get_only_shows_a_form_with_csrf(user: Any) -> None:
    browser = Client(enforce_csrf_checks=True)
    url = magic_url(user)
    page = browser.get(url)
    assert page.status_code == 200
    assert not sets_token_cookie(page)
    assert LoginSession.objects.count() == 0
    # Without the form's CSRF token (a cross-site POST: login CSRF) nothing happens.
    assert browser.post(url).status_code == 403
    token = page.context["csrf_token"] if page.context else browser.cookies["csrftoken"].value
    response = browser.post(url, {"csrfmiddlewaretoken": str(token)})
    assert response.status_code == 302
    assert whoami(browser) == user.get_username()


@pytest.mark.django_db
def test_magic_link_works_once(user: Any) -> None:
    url = magic_url(user)
    assert Client().post(url).status_code == 302
    reused = Client().post(url)
    assert reused.status_code == 400
    assert not sets_token_cookie(reused)
    assert LoginSession.objects.count() == 1


@pytest.mark.django_db
def test_expired_magic_link_is_400_without_cookies(
    client: Client, user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued_at = time.time() - recipes.MAGIC_LINK_MAX_AGE - 5
    monkeypatch.setattr(signing.time, "time", lambda: issued_at)
    url = magic_url(user)
    monkeypatch.undo()
    response = client.post(url)
    assert response.status_code == 400
    assert not sets_token_cookie(response)
    assert whoami(client) is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        lambda token: signing.dumps({"u": "1", "l": ""}, salt="another-salt"),
        lambda token: "garbage",
    ],
)
def test_tampered_magic_link_is_400_without_cookies(
    client: Client, user: Any, other_user: Any, tamper: Any
) -> None:
    token = tamper(recipes.magic_link_token(user))
    response = client.post(reverse("magic_link", args=[token]))
    assert response.status_code == 400
    assert not sets_token_cookie(response)
    assert not LoginSession.objects.exists()


@pytest.mark.django_db
def test_magic_link_of_a_deactivated_user_is_400(client: Client, user: Any) -> None:
    url = magic_url(user)
    user.is_active = False
    user.save()
    assert client.post(url).status_code == 400


@pytest.mark.django_db
def test_magic_link_refuses_an_offsite_next(client: Client, user: Any) -> None:
    response = client.post(magic_url(user, "https://evil.example/"))
    assert response["Location"] == "/"


# --- two steps: password, then TOTP ------------------------------------------------------


@pytest.fixture
def device(user: Any) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():0{device.digits}d}"


def wrong_code(device: TOTPDevice) -> str:
    right = int(code(device))
    return f"{(right + 500_000) % 1_000_000:06d}"


def password_step(client: Client, user: Any, password: str = PASSWORD) -> Any:
    return client.post(
        reverse("otp_password"),
        {"username": user.get_username(), "password": password},
        content_type="application/json",
    )


def otp_step(client: Client, token: str) -> Any:
    return client.post(reverse("otp_verify"), {"token": token}, content_type="application/json")


@pytest.mark.django_db
def test_password_alone_sets_no_token_cookie_and_the_api_is_401(
    client: Client, user: Any, device: TOTPDevice
) -> None:
    response = password_step(client, user)
    assert response.status_code == 200
    assert response.json() == {"otp_required": True}
    assert not sets_token_cookie(response)
    assert response.cookies[recipes.PENDING_COOKIE]["httponly"]
    assert client.get(reverse("me")).status_code == 401
    assert whoami(client) is None
    assert not LoginSession.objects.exists()


@pytest.mark.django_db
def test_correct_code_after_the_password_logs_in_with_cookies(
    client: Client, user: Any, device: TOTPDevice
) -> None:
    password_step(client, user)
    response = otp_step(client, code(device))
    assert response.status_code == 200
    assert response.cookies[access_cookie_name()].value
    assert response.cookies[recipes.PENDING_COOKIE]["max-age"] == 0
    assert client.get(reverse("me")).json()["user"] == user.get_username()
    assert LoginSession.objects.get().amr == ["pwd", "otp", "mfa"]


@pytest.mark.django_db
def test_wrong_code_sets_no_cookie(client: Client, user: Any, device: TOTPDevice) -> None:
    password_step(client, user)
    response = otp_step(client, wrong_code(device))
    assert response.status_code == 401
    assert not sets_token_cookie(response)
    assert client.get(reverse("me")).status_code == 401


@pytest.mark.django_db
def test_code_without_the_password_step_is_401(
    client: Client, user: Any, device: TOTPDevice
) -> None:
    response = otp_step(client, code(device))
    assert response.status_code == 401
    assert not sets_token_cookie(response)


@pytest.mark.django_db
def test_wrong_password_is_401_without_pending_cookie(
    client: Client, user: Any, device: TOTPDevice
) -> None:
    response = password_step(client, user, "wrong")
    assert response.status_code == 401
    assert recipes.PENDING_COOKIE not in response.cookies


@pytest.mark.django_db
def test_pending_state_expires_and_cannot_be_forged(
    client: Client, user: Any, device: TOTPDevice, monkeypatch: pytest.MonkeyPatch
) -> None:
    past = time.time() - recipes.PENDING_MAX_AGE - 5
    monkeypatch.setattr(signing.time, "time", lambda: past)
    password_step(client, user)
    monkeypatch.undo()
    assert otp_step(client, code(device)).status_code == 401
    client.cookies[recipes.PENDING_COOKIE] = signing.dumps({"u": str(user.pk), "l": ""})
    assert otp_step(client, code(device)).status_code == 401
    assert not LoginSession.objects.exists()


@pytest.mark.django_db
def test_a_code_is_accepted_once_and_the_pending_state_dies_with_the_login(
    user: Any, device: TOTPDevice
) -> None:
    browser = Client()
    password_step(browser, user)
    pending = browser.cookies[recipes.PENDING_COOKIE].value
    token = code(device)
    assert otp_step(browser, token).status_code == 200
    replay = Client()
    replay.cookies[recipes.PENDING_COOKIE] = pending
    response = otp_step(replay, token)
    assert response.status_code == 401
    assert not sets_token_cookie(response)
    assert LoginSession.objects.count() == 1


@pytest.mark.django_db
def test_wrong_codes_are_throttled_by_django_otp(
    client: Client, user: Any, device: TOTPDevice, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = timezone.now()
    import django_otp.models

    monkeypatch.setattr(django_otp.models, "timezone", SimpleNamespace(now=lambda: now))
    password_step(client, user)
    assert otp_step(client, wrong_code(device)).status_code == 401
    # Within the back-off even the right code is refused, and sets nothing.
    response = otp_step(client, code(device))
    assert response.status_code == 429
    assert not sets_token_cookie(response)
    now += timedelta(seconds=2)
    assert otp_step(client, code(device)).status_code == 200


@pytest.mark.django_db
def test_password_step_is_throttled_like_the_login_endpoint(
    client: Client, user: Any, device: TOTPDevice
) -> None:
    for _ in range(5):
        assert password_step(client, user, "wrong").status_code == 401
    response = password_step(client, user)
    assert response.status_code == 429
    assert recipes.PENDING_COOKIE not in response.cookies


@pytest.mark.django_db
def test_password_step_is_csrf_protected(user: Any, device: TOTPDevice) -> None:
    browser = Client(enforce_csrf_checks=True)
    assert password_step(browser, user).status_code == 403
    assert otp_step(browser, code(device)).status_code == 403


@pytest.mark.django_db
def test_user_without_a_device_logs_in_at_the_password_step(client: Client, user: Any) -> None:
    response = password_step(client, user)
    assert response.json() == {"otp_required": False}
    assert response.cookies[access_cookie_name()].value
    assert LoginSession.objects.get().amr == ["pwd"]
