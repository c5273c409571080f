"""``jwt_cookie_auth.testing`` and its pytest plugin, used the way a project's tests would."""

from __future__ import annotations

import copy
import importlib.metadata
import io
import os
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client, TestCase, override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from jwt_cookie_auth import clock
from jwt_cookie_auth.conf import app_settings
from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from jwt_cookie_auth.models import LoginSession, RevokeReason
from jwt_cookie_auth.testing import (
    FrozenClock,
    JWTAPIClient,
    JWTTestClient,
    bearer_headers,
    frozen_clock,
    login,
    logout,
)
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent


def past_access_lifetime() -> timedelta:
    """Far enough for the access token to be expired, leeway included."""
    return app_settings.ACCESS_TOKEN_LIFETIME + app_settings.LEEWAY + timedelta(seconds=1)


def force_logout(user: Any) -> None:
    """End every session of ``user`` as an admin would, from the shell."""
    call_command("jwt_force_logout", user.get_username(), stdout=io.StringIO())


def whoami(client: Client) -> Any:
    return client.get(reverse("whoami")).json()["user"]


# --- cookie login with the plugin's fixtures ----------------------------------------------


def test_jwt_login_sets_the_wire_named_cookies_of_a_real_session(
    jwt_client: JWTTestClient, user: Any
) -> None:
    session = jwt_client.jwt_login(user)

    assert access_cookie_name().startswith("__Host-")
    assert jwt_client.cookies[access_cookie_name()].value
    assert jwt_client.cookies[refresh_cookie_name()].value
    assert jwt_client.cookies[settings.CSRF_COOKIE_NAME].value
    assert LoginSession.objects.get(user=user) == session
    assert session.revoked_at is None
    assert session.persistent
    # Secure __Host- cookies travel over the test client's plain HTTP.
    assert jwt_client.get(reverse("me")).json()["user"] == user.get_username()
    assert whoami(jwt_client) == user.get_username()


def test_remember_false_gives_browser_session_cookies(jwt_client: JWTTestClient, user: Any) -> None:
    session = jwt_client.jwt_login(user, remember=False)

    assert not session.persistent
    assert jwt_client.cookies[access_cookie_name()]["max-age"] == ""
    assert jwt_client.get(reverse("me")).status_code == 200


@pytest.mark.parametrize("client_class", [JWTTestClient, JWTAPIClient])
def test_unsafe_requests_pass_csrf_on_an_enforcing_client(client_class: Any, user: Any) -> None:
    client = client_class(enforce_csrf_checks=True)
    client.jwt_login(user)

    assert client.post(reverse("me")).status_code == 200  # DRF view
    assert client.post(reverse("whoami")).status_code == 200  # plain view, CsrfViewMiddleware

    del client.defaults[settings.CSRF_HEADER_NAME]
    assert client.post(reverse("me")).status_code == 403  # the preset header is what passed


@override_settings(CSRF_USE_SESSIONS=True)
def test_csrf_header_works_with_csrf_in_sessions(user: Any) -> None:
    client = JWTTestClient(enforce_csrf_checks=True)
    client.jwt_login(user)

    assert settings.CSRF_COOKIE_NAME not in client.cookies
    assert client.post(reverse("me")).status_code == 200
    assert client.post(reverse("whoami")).status_code == 200


def test_login_function_works_on_plain_django_and_drf_clients(user: Any) -> None:
    django_client, api_client = Client(enforce_csrf_checks=True), APIClient()

    first = login(django_client, user)
    second = login(api_client, user)

    assert first.pk != second.pk
    assert django_client.post(reverse("me")).json()["user"] == user.get_username()
    assert api_client.get(reverse("me")).json()["user"] == user.get_username()


# --- the clock: real renewal --------------------------------------------------------------


def test_advancing_the_clock_past_the_access_lifetime_renews_transparently(
    jwt_api_client: JWTAPIClient, jwt_clock: FrozenClock, user: Any
) -> None:
    session = jwt_api_client.jwt_login(user)
    first_access = jwt_api_client.cookies[access_cookie_name()].value
    first_refresh = jwt_api_client.cookies[refresh_cookie_name()].value

    jwt_clock.advance(minutes=1)
    response = jwt_api_client.get(reverse("me"))
    assert response.status_code == 200
    assert access_cookie_name() not in response.cookies  # still fresh: no renewal

    jwt_clock.advance(past_access_lifetime())
    response = jwt_api_client.get(reverse("me"))

    assert response.status_code == 200
    assert response.json()["user"] == user.get_username()
    assert response.cookies[access_cookie_name()].value not in ("", first_access)
    assert response.cookies[refresh_cookie_name()].value not in ("", first_refresh)
    session.refresh_from_db()
    assert session.rotated_at == jwt_clock.now()
    # The client keeps the renewed cookies: the next request needs no renewal.
    assert access_cookie_name() not in jwt_api_client.get(reverse("me")).cookies


def test_a_replayed_refresh_token_past_the_grace_period_ends_the_family(
    jwt_client: JWTTestClient, jwt_clock: FrozenClock, user: Any
) -> None:
    jwt_client.jwt_login(user)
    thief = Client()
    thief.cookies = copy.deepcopy(jwt_client.cookies)
    jwt_clock.advance(past_access_lifetime())
    assert jwt_client.get(reverse("me")).status_code == 200  # rotated

    jwt_clock.advance(app_settings.ROTATION_GRACE_PERIOD + app_settings.LEEWAY)
    assert thief.get(reverse("me")).status_code == 401  # the consumed refresh token

    assert jwt_client.get(reverse("me")).status_code == 401  # the whole family is revoked
    assert LoginSession.objects.get().revoke_reason == RevokeReason.REUSE_DETECTED


def test_an_unsafe_request_renews_on_an_enforcing_client(jwt_clock: FrozenClock, user: Any) -> None:
    client = JWTTestClient(enforce_csrf_checks=True)
    client.jwt_login(user)
    jwt_clock.advance(past_access_lifetime())

    response = client.post(reverse("me"))

    assert response.status_code == 200
    assert response.cookies[access_cookie_name()].value


def test_past_the_refresh_lifetime_the_session_is_over(
    jwt_client: JWTTestClient, jwt_clock: FrozenClock, user: Any
) -> None:
    jwt_client.jwt_login(user)
    jwt_clock.advance(app_settings.REFRESH_TOKEN_LIFETIME + app_settings.LEEWAY + timedelta(1))

    assert jwt_client.get(reverse("me")).status_code == 401
    assert whoami(jwt_client) is None


# --- revocation and logout ----------------------------------------------------------------


def test_force_logout_makes_the_next_request_401(jwt_api_client: JWTAPIClient, user: Any) -> None:
    jwt_api_client.jwt_login(user)
    assert jwt_api_client.get(reverse("me")).status_code == 200

    force_logout(user)

    response = jwt_api_client.get(reverse("me"))
    assert response.status_code == 401
    assert response.cookies[access_cookie_name()].value == ""  # deleted


def test_jwt_logout_revokes_the_session_and_deletes_the_cookies(
    jwt_client: JWTTestClient, user: Any
) -> None:
    session = jwt_client.jwt_login(user)
    old_access = jwt_client.cookies[access_cookie_name()].value

    jwt_client.jwt_logout()

    session.refresh_from_db()
    assert session.revoke_reason == RevokeReason.LOGOUT
    assert jwt_client.cookies[access_cookie_name()].value == ""
    assert jwt_client.get(reverse("me")).status_code == 401
    assert whoami(jwt_client) is None
    replay = Client()
    replay.cookies[access_cookie_name()] = old_access
    assert replay.get(reverse("me")).status_code == 401


def test_jwt_login_and_logout_take_the_clients_django_session_along(
    jwt_client: JWTTestClient, user: Any, other_user: Any
) -> None:
    jwt_client.force_login(other_user)
    jwt_client.jwt_login(user)  # as any login: another user's Django session ends
    jwt_client.jwt_logout()

    assert whoami(jwt_client) is None
    jwt_client.force_login(user)
    jwt_client.jwt_login(user)
    jwt_client.jwt_logout()  # as the package's logout: the Django session ends too

    assert whoami(jwt_client) is None


def test_logout_function_without_a_session_changes_nothing(user: Any) -> None:
    client = Client()
    logout(client)
    assert client.get(reverse("me")).status_code == 401


# --- Bearer -------------------------------------------------------------------------------


def test_bearer_login_on_the_api_client(jwt_api_client: JWTAPIClient, user: Any) -> None:
    jwt_api_client.enforce_csrf_checks = True
    session = jwt_api_client.jwt_bearer_login(user)

    assert access_cookie_name() not in jwt_api_client.cookies
    response = jwt_api_client.post(reverse("me"))  # no CSRF token: a Bearer needs none
    assert response.status_code == 200
    assert response.json()["user"] == user.get_username()

    jwt_api_client.jwt_logout()

    session.refresh_from_db()
    assert session.revoke_reason == RevokeReason.LOGOUT
    assert jwt_api_client.get(reverse("me")).status_code == 401


def test_bearer_fixture_gives_headers_for_any_client(
    jwt_bearer: Any, jwt_clock: FrozenClock, user: Any
) -> None:
    headers = jwt_bearer(user)

    assert headers["HTTP_AUTHORIZATION"].startswith("Bearer ")
    assert Client().get(reverse("me"), **headers).status_code == 200
    api_client = APIClient()
    api_client.credentials(**headers)
    assert api_client.get(reverse("me")).status_code == 200

    jwt_clock.advance(past_access_lifetime())
    assert api_client.get(reverse("me")).status_code == 401  # Bearer tokens are not renewed


def test_bearer_headers_end_with_a_force_logout(user: Any) -> None:
    headers = bearer_headers(user)
    force_logout(user)
    assert Client().get(reverse("me"), **headers).status_code == 401


# --- Django's force_login -----------------------------------------------------------------


def test_force_login_still_works_for_plain_views(client: Client, user: Any) -> None:
    client.force_login(user)

    response = client.get(reverse("private"))

    assert response.status_code == 200
    assert response.content.decode() == f"hello {user.get_username()}"
    assert whoami(client) == user.get_username()


# --- the clock on its own -----------------------------------------------------------------


def test_frozen_clock_holds_moves_nests_and_restores() -> None:
    real_now = clock.now
    with frozen_clock() as outer:
        start = clock.now()
        assert clock.now() == start == outer.now()
        assert outer.advance(timedelta(minutes=5), seconds=30) == clock.after(
            start, timedelta(minutes=5, seconds=30)
        )
        with frozen_clock() as inner:
            assert inner.now() == outer.now()
            inner.advance(hours=1)
            assert clock.now() == inner.now() != outer.now()
        assert clock.now() == outer.now()
        outer.move_to(start)
        assert clock.now() == start
    assert clock.now is real_now


def test_frozen_clock_refuses_misuse() -> None:
    stopped = FrozenClock()
    with pytest.raises(RuntimeError, match="Start the FrozenClock"):
        stopped.now()
    running = stopped.start()
    try:
        with pytest.raises(RuntimeError, match="already running"):
            running.start()
    finally:
        running.stop()
    running.stop()  # idempotent


# --- Django TestCase style, no pytest fixtures --------------------------------------------


class TestCaseStyleTests(TestCase):
    client_class = JWTTestClient

    def setUp(self) -> None:
        self.clock = self.enterContext(frozen_clock())
        self.user = make_user("carol")

    def test_login_renewal_and_logout(self) -> None:
        client: Any = self.client
        session = client.jwt_login(self.user)
        assert client.get(reverse("me")).status_code == 200

        self.clock.advance(past_access_lifetime())
        response = client.get(reverse("whoami"))

        assert response.json()["user"] == self.user.get_username()
        assert response.cookies[access_cookie_name()].value  # renewed
        assert client.jwt_logout()
        session.refresh_from_db()
        assert session.revoke_reason == RevokeReason.LOGOUT
        assert client.get(reverse("me")).status_code == 401


# --- packaging: the entry point, and no pytest at run time --------------------------------


def test_the_plugin_is_registered_and_loaded(request: pytest.FixtureRequest) -> None:
    entry_points = importlib.metadata.entry_points(group="pytest11")
    assert {ep.value for ep in entry_points if ep.name == "jwt_cookie_auth"} == {
        "jwt_cookie_auth.contrib.pytest"
    }
    assert request.config.pluginmanager.hasplugin("jwt_cookie_auth")


def test_the_helpers_do_not_import_pytest() -> None:
    code = textwrap.dedent(
        """
        import sys, django
        django.setup()
        import jwt_cookie_auth.testing as testing
        for name in testing.__all__:
            getattr(testing, name)
        assert "pytest" not in sys.modules, "imports pytest"
        """
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)


def test_the_plugin_leaves_projects_without_pytest_django_alone(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text("def test_plain():\n    assert True\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:django"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
