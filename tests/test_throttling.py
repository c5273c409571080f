"""Login throttling: project DRF throttles, atomic counting, device cookies, cache faults.

What a user sees is the status of ``POST /auth/login/``: 200, 401 (a counted failure)
or 429 (refused before the password is checked).
"""

from __future__ import annotations

import json
import threading
import time
import unicodedata
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend
from django.core import signing
from django.core.cache import caches
from django.http import HttpRequest
from django.test import Client, override_settings
from django.urls import reverse
from rest_framework.throttling import SimpleRateThrottle

from jwt_cookie_auth import devices, tokens
from jwt_cookie_auth.conf import app_settings
from jwt_cookie_auth.throttling import LoginFailureThrottle
from tests.conftest import (
    credentials,
    login,
    new_session,
    on_django_redis,
    redis_commands,
    username_for,
)

LOGIN = "jwt_cookie_auth:login"
TEST_IP = "127.0.0.1"


def post_login(client: Client, data: dict[str, Any], ip: str = TEST_IP, **extra: Any) -> Any:
    return client.post(
        reverse(LOGIN), json.dumps(data), content_type="application/json", REMOTE_ADDR=ip, **extra
    )


def wrong(user: Any, **extra: Any) -> dict[str, Any]:
    return credentials(user, password="wrong password", **extra)


def rates(**values: str | None) -> dict[str, Any]:
    return {"LOGIN_THROTTLE_RATES": {"ip": "100/min", "username": "3/min", **values}}


def device_cookie_name() -> str:
    return devices.device_cookie_name()


# --- 3. the project's own DRF throttles -------------------------------------------------

PROJECT_RATES = {"anon": "3/min", "user": "3/min"}
PROJECT_THROTTLES = {
    **settings.REST_FRAMEWORK,
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": PROJECT_RATES,
}


@pytest.fixture
def project_throttles(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A project's REST_FRAMEWORK with DRF's anon and user throttles at 3/min.

    DRF copies DEFAULT_THROTTLE_RATES into a class attribute at import, as it would
    from the project's settings module; the test sets that attribute the same way.
    """
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", PROJECT_RATES)
    with override_settings(REST_FRAMEWORK=PROJECT_THROTTLES):
        yield


def anonymous_requests() -> dict[str, Any]:
    return {
        "login": lambda c: post_login(c, {"password": "x"}),
        "refresh": lambda c: c.post(reverse("jwt_cookie_auth:refresh")),
        "logout": lambda c: c.post(reverse("jwt_cookie_auth:logout")),
        "session": lambda c: c.get(reverse("jwt_cookie_auth:session")),
    }


@pytest.mark.parametrize("endpoint", list(anonymous_requests()))
def test_project_anon_throttle_applies_to_anonymous_auth_endpoints(
    db: None, project_throttles: None, endpoint: str
) -> None:
    request = anonymous_requests()[endpoint]
    statuses = [request(Client()).status_code for _ in range(4)]
    assert 429 not in statuses[:3], statuses
    assert statuses[3] == 429


def bearer(access: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {access}"}


@pytest.mark.parametrize("endpoint", ["sessions", "logout_all", "session_detail"])
def test_project_user_throttle_applies_to_authenticated_auth_endpoints(
    user: Any, project_throttles: None, endpoint: str
) -> None:
    statuses = []
    for _ in range(4):
        # A fresh session per request: logout_all and session_detail end sessions.
        access = new_session(user)
        client = Client()
        if endpoint == "sessions":
            response = client.get(reverse("jwt_cookie_auth:sessions"), **bearer(access))
        elif endpoint == "logout_all":
            response = client.post(reverse("jwt_cookie_auth:logout_all"), **bearer(access))
        else:
            sid = tokens.decode(new_session(user), tokens.ACCESS).sid
            url = reverse("jwt_cookie_auth:session_detail", args=[sid])
            response = client.delete(url, **bearer(access))
        statuses.append(response.status_code)
    assert statuses[:3] == [200 if endpoint == "sessions" else 204] * 3, statuses
    assert statuses[3] == 429


def test_without_project_throttles_only_the_login_throttle_applies(user: Any) -> None:
    """The suite's REST_FRAMEWORK has no DEFAULT_THROTTLE_CLASSES: nothing is read early."""
    for _ in range(10):
        assert Client().get(reverse("jwt_cookie_auth:session")).status_code == 200


# --- 7. atomic counting under concurrency -----------------------------------------------


class GatedBackend(BaseBackend):
    """Count the attempts that reach the password check; hold them until released.

    Every caller waits at the gate, so all concurrent requests are in flight together:
    the test opens the gate once each request has either reached ``authenticate()``
    or been answered, which makes the race deterministic without any sleep.
    """

    lock = threading.Lock()
    gate = threading.Event()
    calls = 0

    def authenticate(self, request: HttpRequest | None, **credentials: Any) -> Any:
        with GatedBackend.lock:
            GatedBackend.calls += 1
        GatedBackend.gate.wait(timeout=30)
        return None

    @classmethod
    def reset(cls) -> None:
        cls.calls = 0
        cls.gate = threading.Event()


GATED = ["tests.test_throttling.GatedBackend"]


def concurrent_logins(bodies: list[dict[str, Any]]) -> list[int]:
    """POST every body at once from its own client; return the statuses."""
    GatedBackend.reset()
    done = 0
    done_lock = threading.Lock()

    def one(body: dict[str, Any]) -> int:
        nonlocal done
        try:
            return int(post_login(Client(), body).status_code)
        finally:
            with done_lock:
                done += 1

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        futures = [pool.submit(one, body) for body in bodies]
        deadline = time.monotonic() + 30
        while GatedBackend.calls + done < len(bodies) and time.monotonic() < deadline:
            time.sleep(0.01)
        GatedBackend.gate.set()
        return [future.result() for future in futures]


# Every cache the README names as atomic: the suite's own (local memory, or django-redis
# in the PostgreSQL + Redis pass) and Django's built-in RedisCache.
THROTTLE_CACHES = [
    pytest.param(None, id="suite-cache"),
    pytest.param(
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": settings.REDIS_URL},
        id="django-RedisCache",
        marks=[pytest.mark.postgres, pytest.mark.redis],
    ),
]


@contextmanager
def throttle_cache(cache: dict[str, Any] | None, **config: Any) -> Iterator[None]:
    """Run with ``config`` as JWT_COOKIE_AUTH, counting in ``cache`` if one is given."""
    if cache is None:
        with override_settings(AUTHENTICATION_BACKENDS=GATED, JWT_COOKIE_AUTH=config):
            yield
        return
    with override_settings(
        AUTHENTICATION_BACKENDS=GATED,
        CACHES={**settings.CACHES, "throttle": cache},
        JWT_COOKIE_AUTH={**config, "CACHE_ALIAS": "throttle"},
    ):
        caches["throttle"].clear()
        try:
            yield
        finally:
            caches["throttle"].clear()


@pytest.mark.parametrize("cache", THROTTLE_CACHES)
def test_concurrent_wrong_passwords_for_one_user_reach_authenticate_at_most_the_limit(
    cache: dict[str, Any] | None,
) -> None:
    body = {get_user_model().USERNAME_FIELD: username_for("alice"), "password": "guess"}
    with throttle_cache(cache, **rates(username="5/min")):
        statuses = concurrent_logins([body] * 20)
        assert GatedBackend.calls == 5
        assert sorted(statuses) == [401] * 5 + [429] * 15
        # And the window stays full: the next sequential guess is refused too.
        assert post_login(Client(), body).status_code == 429
        assert GatedBackend.calls == 5


@pytest.mark.parametrize("cache", THROTTLE_CACHES)
def test_concurrent_wrong_passwords_from_one_ip_reach_authenticate_at_most_the_limit(
    cache: dict[str, Any] | None,
) -> None:
    field = get_user_model().USERNAME_FIELD
    bodies = [{field: username_for(f"user{i}"), "password": "guess"} for i in range(30)]
    with throttle_cache(cache, LOGIN_THROTTLE_RATES={"ip": "20/min", "username": "5/min"}):
        statuses = concurrent_logins(bodies)
        assert GatedBackend.calls == 20
        assert sorted(statuses) == [401] * 20 + [429] * 10
        late = {field: username_for("late"), "password": "x"}
        assert post_login(Client(), late).status_code == 429


def fullwidth(text: str) -> str:
    """``alice`` in full-width forms (U+FF41...): NFKC maps it back."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@override_settings(JWT_COOKIE_AUTH=rates())
def test_compatibility_forms_of_a_username_share_one_bucket(user: Any) -> None:
    field = get_user_model().USERNAME_FIELD
    variant = fullwidth(user.get_username())
    assert variant != user.get_username()
    assert unicodedata.normalize("NFKC", variant) == user.get_username()
    for _ in range(3):
        assert post_login(Client(), wrong(user, **{field: variant})).status_code == 401
    assert post_login(Client(), credentials(user)).status_code == 429


def test_normalize_username_is_nfkc_and_casefolded() -> None:
    from jwt_cookie_auth.throttling import normalize_username

    assert normalize_username("\uff41\uff4c\uff49\uff43\uff45") == "alice"
    assert normalize_username("Alice") == normalize_username("ALICE") == "alice"
    assert normalize_username("Straße") == normalize_username("STRASSE")
    # Casefolding can leave a string that is not NFKC (U+0130 -> i + combining dot).
    assert normalize_username("İ") == unicodedata.normalize("NFKC", "İ".casefold())


@override_settings(JWT_COOKIE_AUTH=rates())
def test_success_gives_its_slot_back(user: Any) -> None:
    """Only failures count: logins of the right password never fill the window."""
    for _ in range(2):
        assert post_login(Client(), wrong(user)).status_code == 401
    for _ in range(10):
        assert post_login(Client(), credentials(user)).status_code == 200
    assert post_login(Client(), wrong(user)).status_code == 401
    assert post_login(Client(), credentials(user)).status_code == 429


@override_settings(JWT_COOKIE_AUTH=rates(ip="3/min"))
def test_refused_attempts_do_not_fill_the_ip_bucket(user: Any, other_user: Any) -> None:
    """A 429 reached no password check: it counts in no bucket."""
    lock_out(user)
    for _ in range(5):
        assert post_login(Client(), credentials(user), ip="10.0.0.1").status_code == 429
    assert post_login(Client(), credentials(other_user), ip="10.0.0.1").status_code == 200


@override_settings(JWT_COOKIE_AUTH=rates())
def test_retry_after_is_the_rest_of_the_window(user: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    start = 1_000_040.0  # 20 s into a one-minute window
    monkeypatch.setattr(LoginFailureThrottle, "timer", staticmethod(lambda: start))
    for _ in range(3):
        post_login(Client(), wrong(user))
    assert post_login(Client(), credentials(user))["Retry-After"] == "40"


class BrokenCache:
    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise ConnectionError("cache down")

        return fail


@override_settings(JWT_COOKIE_AUTH=rates(username="1/min", ip="1/min"))
def test_a_failing_cache_neither_locks_out_nor_breaks_login(
    user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("jwt_cookie_auth.throttling.caches", {"default": BrokenCache()})
    for _ in range(3):
        assert post_login(Client(), wrong(user)).status_code == 401
    assert post_login(Client(), credentials(user)).status_code == 200


@override_settings(JWT_COOKIE_AUTH={"LOGIN_THROTTLE_RATES": {"ip": "3/min"}})
def test_a_rate_left_out_keeps_its_default(user: Any) -> None:
    """Leaving "username" out must not switch the per-username limit off."""
    for n in range(5):
        assert post_login(Client(), wrong(user), ip=f"10.0.0.{n}").status_code == 401
    assert post_login(Client(), credentials(user), ip="10.0.1.1").status_code == 429


# --- 8. device cookies ------------------------------------------------------------------


def lock_out(user: Any, count: int = 3) -> None:
    """Someone else fails ``count`` times on the user's name, from elsewhere."""
    for n in range(count):
        assert post_login(Client(), wrong(user), ip=f"203.0.113.{n}").status_code == 401


@override_settings(JWT_COOKIE_AUTH=rates())
def test_owner_on_a_known_device_is_not_locked_out_by_someone_elses_failures(
    user: Any,
) -> None:
    owner = Client()
    login(owner, user)
    assert owner.cookies[device_cookie_name()].value
    lock_out(user)
    # A browser the user never logged in from is locked out, as before ...
    assert post_login(Client(), credentials(user)).status_code == 429
    # ... but the owner's browser is not.
    assert post_login(owner, credentials(user)).status_code == 200


@override_settings(JWT_COOKIE_AUTH={"LOGIN_THROTTLE_RATES": {"ip": "3/min", "username": None}})
def test_known_device_behind_a_locked_out_nat_address_logs_in(user: Any, other_user: Any) -> None:
    owner = Client()
    login(owner, user)
    for _ in range(3):
        assert post_login(Client(), wrong(other_user), ip="198.51.100.7").status_code == 401
    assert post_login(Client(), credentials(user), ip="198.51.100.7").status_code == 429
    assert post_login(owner, credentials(user), ip="198.51.100.7").status_code == 200


@override_settings(JWT_COOKIE_AUTH=rates(device="3/min"))
def test_guessing_with_a_device_cookie_stays_limited(user: Any) -> None:
    """A stolen device cookie buys its own small budget, then the usual lockout applies."""
    owner = Client()
    login(owner, user)
    thief = Client()
    thief.cookies[device_cookie_name()] = owner.cookies[device_cookie_name()].value
    statuses = [post_login(thief, wrong(user)).status_code for _ in range(7)]
    # 3 in the device's bucket, then 3 in the username's, then refused.
    assert statuses == [401] * 6 + [429]
    assert post_login(thief, credentials(user)).status_code == 429
    assert post_login(Client(), credentials(user)).status_code == 429


@override_settings(JWT_COOKIE_AUTH=rates())
def test_device_cookie_is_bound_to_its_username(user: Any, other_user: Any) -> None:
    browser = Client()
    login(browser, user)
    lock_out(other_user)
    assert post_login(browser, credentials(other_user)).status_code == 429


@override_settings(JWT_COOKIE_AUTH=rates())
def test_forged_or_tampered_device_cookie_is_ignored(user: Any) -> None:
    owner = Client()
    login(owner, user)
    genuine = owner.cookies[device_cookie_name()].value
    lock_out(user)
    forged = signing.dumps({"u": "x", "n": "y"}, key="not the secret key", salt="x")
    for value in (genuine[:-2] + "xx", forged, "garbage", "a" * 5000):
        browser = Client()
        browser.cookies[device_cookie_name()] = value
        assert post_login(browser, credentials(user)).status_code == 429


@override_settings(JWT_COOKIE_AUTH=rates())
def test_expired_device_cookie_is_ignored(user: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    owner = Client()
    max_age = app_settings.DEVICE_COOKIE_MAX_AGE.total_seconds()
    long_ago = time.time() - max_age - 10
    with monkeypatch.context() as patch:
        patch.setattr(signing.time, "time", lambda: long_ago)
        login(owner, user)
    lock_out(user)
    assert post_login(owner, credentials(user)).status_code == 429


def test_device_cookie_attributes(client: Client, user: Any) -> None:
    response = login(client, user)
    morsel = response.cookies[device_cookie_name()]
    assert morsel["httponly"]
    assert morsel["secure"]
    assert morsel["samesite"] == app_settings.COOKIE_SAMESITE
    assert morsel["path"] == "/"
    assert int(morsel["max-age"]) == int(app_settings.DEVICE_COOKIE_MAX_AGE.total_seconds())
    assert int(morsel["max-age"]) > 30 * 24 * 3600
    # Signed, and the username is not readable from it.
    payload = signing.b64_decode(morsel.value.split(":")[0].encode()).decode()
    assert user.get_username().split("@")[0] not in payload


@override_settings(JWT_COOKIE_AUTH={"COOKIE_SECURE": False, "COOKIE_SAMESITE": "Strict"})
def test_device_cookie_follows_the_cookie_settings(client: Client, user: Any) -> None:
    morsel = login(client, user).cookies[device_cookie_name()]
    assert not morsel["secure"]
    assert morsel["samesite"] == "Strict"


def test_failed_login_sets_no_device_cookie(client: Client, user: Any) -> None:
    response = post_login(client, wrong(user))
    assert response.status_code == 401
    assert device_cookie_name() not in response.cookies


@override_settings(JWT_COOKIE_AUTH=rates(device=None))
def test_device_rate_none_turns_device_cookies_off(user: Any) -> None:
    owner = Client()
    response = login(owner, user)
    assert device_cookie_name() not in response.cookies
    lock_out(user)
    assert post_login(owner, credentials(user)).status_code == 429


def test_a_new_login_renews_the_device_cookie(client: Client, user: Any) -> None:
    first = login(client, user).cookies[device_cookie_name()].value
    second = login(client, user).cookies[device_cookie_name()].value
    assert first != second


@override_settings(JWT_COOKIE_AUTH=rates())
def test_device_cookie_survives_logout(client: Client, user: Any) -> None:
    login(client, user)
    response = client.post(reverse("jwt_cookie_auth:logout"), content_type="application/json")
    assert response.status_code == 204
    assert device_cookie_name() not in response.cookies
    lock_out(user)
    assert post_login(client, credentials(user)).status_code == 200


@override_settings(JWT_COOKIE_AUTH=rates())
def test_typos_on_a_known_device_do_not_lock_the_account_elsewhere(user: Any) -> None:
    owner = Client()
    login(owner, user)
    for _ in range(3):
        assert post_login(owner, wrong(user)).status_code == 401
    assert post_login(Client(), credentials(user), ip="10.0.0.9").status_code == 200


@pytest.mark.postgres
@pytest.mark.redis
def test_login_throttle_round_trips_on_django_redis(user: Any) -> None:
    """The README's figures: one round trip per bucket, plus one per slot given back."""
    if not on_django_redis():
        pytest.skip("django-redis only: the README's figures are django-redis's")
    with redis_commands() as first_failure:
        assert post_login(Client(), wrong(user)).status_code == 401
    with redis_commands() as next_failure:
        assert post_login(Client(), wrong(user)).status_code == 401
    with redis_commands() as success:
        assert post_login(Client(), credentials(user)).status_code == 200
    caches["default"].clear()
    with redis_commands() as first_success:
        assert post_login(Client(), credentials(user)).status_code == 200
    counts = [len(c) for c in (first_failure, next_failure, success, first_success)]
    assert counts == [2, 4, 6, 4], [first_failure, next_failure, success, first_success]
