"""Whom a login attempt is counted as: device cookies bound to one account, IPv6 prefixes.

What a user sees is the status of ``POST /auth/login/`` (401 counted, 429 refused
before the password is checked) and how many guesses reach ``authenticate()``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_login_failed
from django.core import checks
from django.test import Client, override_settings
from django.urls import reverse

from jwt_cookie_auth import devices
from tests.conftest import PASSWORD, make_user, username_for


def post_login(client: Client, username: str, password: str, ip: str = "127.0.0.1") -> int:
    body = {get_user_model().USERNAME_FIELD: username, "password": password}
    response = client.post(
        reverse("jwt_cookie_auth:login"),
        json.dumps(body),
        content_type="application/json",
        REMOTE_ADDR=ip,
    )
    return int(response.status_code)


@pytest.fixture
def failed_checks() -> Iterator[list[str]]:
    """The usernames of the attempts that reached the password check and failed."""
    seen: list[str] = []

    def count(credentials: dict[str, Any], **kwargs: Any) -> None:
        seen.append(credentials.get(get_user_model().USERNAME_FIELD, ""))

    user_login_failed.connect(count, dispatch_uid="test_throttle_identity")
    try:
        yield seen
    finally:
        user_login_failed.disconnect(dispatch_uid="test_throttle_identity")


# --- device cookies belong to the account that earned them ------------------------------


@pytest.mark.parametrize(
    ("attacker", "victim"),
    [("straße", "strasse"), ("Alice", "alice")],
    ids=["casefold-sharp-s", "case-variant"],
)
def test_own_device_cookies_buy_no_guesses_against_a_look_alike_account(
    db: None, failed_checks: list[str], attacker: str, victim: str
) -> None:
    """The review's attack: 10 own logins, then 5 guesses per collected device cookie."""
    own = make_user(attacker)
    target = make_user(victim)
    owner = Client()
    assert post_login(owner, target.get_username(), PASSWORD) == 200
    cookies = []
    for _ in range(10):
        browser = Client()
        assert post_login(browser, own.get_username(), PASSWORD) == 200
        cookies.append(browser.cookies[devices.device_cookie_name()].value)
    statuses = []
    for value in cookies:
        browser = Client()
        browser.cookies[devices.device_cookie_name()] = value
        statuses += [post_login(browser, target.get_username(), "guess") for _ in range(5)]
    reached = [name for name in failed_checks if name == target.get_username()]
    # The per-username limit (5/min by default), not 5 per device cookie.
    assert len(reached) == 5, statuses
    assert statuses.count(429) == 45
    # A new browser is locked out like anyone; the victim's own browser is not.
    assert post_login(Client(), target.get_username(), PASSWORD) == 429
    assert post_login(owner, target.get_username(), PASSWORD) == 200


@override_settings(JWT_COOKIE_AUTH={"LOGIN_THROTTLE_RATES": {"username": "3/min"}})
def test_device_cookie_names_the_exact_username(db: None) -> None:
    """A case variant of the name that earned the cookie is an untrusted attempt."""
    name = username_for("carol")
    make_user("carol")
    owner = Client()
    assert post_login(owner, name, PASSWORD) == 200
    for _ in range(3):
        assert post_login(Client(), name, "wrong", ip="203.0.113.9") == 401
    assert post_login(owner, name.upper(), "wrong") == 429
    assert post_login(owner, name, PASSWORD) == 200


@override_settings(
    JWT_COOKIE_AUTH={
        "LOGIN_THROTTLE_RATES": {"username": "3/min", "device": "5/min", "known_devices": "6/min"}
    }
)
def test_many_device_cookies_of_one_account_share_one_allowance(
    user: Any, failed_checks: list[str]
) -> None:
    """known_devices caps the device buckets of one username together."""
    cookies = []
    for _ in range(4):
        browser = Client()
        assert post_login(browser, user.get_username(), PASSWORD) == 200
        cookies.append(browser.cookies[devices.device_cookie_name()].value)
    for value in cookies:
        browser = Client()
        browser.cookies[devices.device_cookie_name()] = value
        for _ in range(5):
            post_login(browser, user.get_username(), "guess")
    # 6 on the known devices together, then the username's 3: not 4 x 5.
    assert len(failed_checks) == 6 + 3


@pytest.mark.django_db
def test_device_cookie_of_a_recreated_account_is_not_honoured() -> None:
    """The name now belongs to another account (another pk): the cookie is not its."""
    with override_settings(JWT_COOKIE_AUTH={"LOGIN_THROTTLE_RATES": {"username": "3/min"}}):
        first = make_user("dave")
        owner = Client()
        assert post_login(owner, first.get_username(), PASSWORD) == 200
        first.delete()
        second = make_user("dave")
        for _ in range(3):
            assert post_login(Client(), second.get_username(), "wrong", ip="203.0.113.9") == 401
        # Earned by the deleted account: no exemption for the new one.
        statuses = [post_login(owner, second.get_username(), "wrong") for _ in range(3)]
        assert 429 in statuses


def test_known_devices_rate_is_validated() -> None:
    with override_settings(JWT_COOKIE_AUTH={"LOGIN_THROTTLE_RATES": {"known_devices": "lots"}}):
        ids = [message.id for message in checks.run_checks(tags=[checks.Tags.security])]
    assert "jwt_cookie_auth.E080" in ids


# --- IPv6: one client holds a /64 -------------------------------------------------------


@override_settings(JWT_COOKIE_AUTH={"LOGIN_THROTTLE_RATES": {"ip": "20/min", "username": "5/min"}})
def test_addresses_of_one_ipv6_64_share_the_ip_bucket(db: None, failed_checks: list[str]) -> None:
    """The review's figures: 60 wrong logins, 12 usernames, 2001:db8:1:2::0..3b."""
    statuses = [
        post_login(Client(), username_for(f"user{n % 12}"), "guess", ip=f"2001:db8:1:2::{n:x}")
        for n in range(60)
    ]
    assert len(failed_checks) == 20, statuses
    # Another /64 is another client.
    assert post_login(Client(), username_for("late"), "guess", ip="2001:db8:1:3::1") == 401


@override_settings(
    JWT_COOKIE_AUTH={
        "LOGIN_THROTTLE_RATES": {"ip": "3/min", "username": None},
        "LOGIN_THROTTLE_IPV6_PREFIX_LENGTH": 48,
    }
)
def test_ipv6_prefix_length_is_a_setting(db: None) -> None:
    for n in range(3):
        assert post_login(Client(), username_for("x"), "guess", ip=f"2001:db8:1:{n}::1") == 401
    assert post_login(Client(), username_for("x"), "guess", ip="2001:db8:1:ff::1") == 429
    assert post_login(Client(), username_for("x"), "guess", ip="2001:db8:2::1") == 401


@override_settings(JWT_COOKIE_AUTH={"LOGIN_THROTTLE_RATES": {"ip": "3/min", "username": None}})
def test_ipv4_counts_per_address_and_mapped_ipv6_as_ipv4(db: None) -> None:
    for _ in range(2):
        assert post_login(Client(), username_for("x"), "guess", ip="192.0.2.1") == 401
    assert post_login(Client(), username_for("x"), "guess", ip="::ffff:192.0.2.1") == 401
    assert post_login(Client(), username_for("x"), "guess", ip="192.0.2.1") == 429
    # The neighbour in the same /24 is another client.
    assert post_login(Client(), username_for("x"), "guess", ip="192.0.2.2") == 401


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, "E085"), (129, "E085"), ("64", "E085"), (True, "E085"), (96, "W085"), (128, "W085")],
)
def test_ipv6_prefix_length_is_checked(value: Any, expected: str) -> None:
    with override_settings(JWT_COOKIE_AUTH={"LOGIN_THROTTLE_IPV6_PREFIX_LENGTH": value}):
        ids = [message.id for message in checks.run_checks(tags=[checks.Tags.security])]
    assert f"jwt_cookie_auth.{expected}" in ids


@pytest.mark.parametrize("value", [48, 56, 64])
def test_usual_ipv6_prefix_lengths_pass_the_checks(value: int) -> None:
    with override_settings(JWT_COOKIE_AUTH={"LOGIN_THROTTLE_IPV6_PREFIX_LENGTH": value}):
        ids = [message.id for message in checks.run_checks(tags=[checks.Tags.security])]
    assert not {"jwt_cookie_auth.E085", "jwt_cookie_auth.W085"} & set(ids)
