"""CHIPS (issue 11): ``COOKIE_PARTITIONED`` puts ``Partitioned`` on every cookie the package
sets and deletes, and ``PartitionedCsrfViewMiddleware`` on Django's CSRF cookie.

What a browser receives is checked on the ``Set-Cookie`` lines Django's WSGI handler
writes. The browser side (an embed with third-party cookies blocked) is
``tests/e2e/test_partitioned_embed.py``.
"""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.http import HttpResponse
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from jwt_cookie_auth.devices import device_cookie_name
from jwt_cookie_auth.partitioned import PartitionedCsrfViewMiddleware, partition
from tests.conftest import credentials, login, make_user
from tests.test_checks import CSRF_MW, PARTITIONED_CSRF_MW, fired, partitioned, run
from tests.test_cookies import _deleting_responses, assert_deletes_like_set, attributes


class ProjectCsrfMiddleware(PartitionedCsrfViewMiddleware):
    """A project's own subclass: accepted by checks E031 and E122."""


def embed_settings(**jwt: Any) -> dict[str, Any]:
    """The settings of ``partitioned()`` that a request needs (no CACHES, DEBUG change)."""
    config = partitioned(jwt)
    return {
        key: config[key]
        for key in ("JWT_COOKIE_AUTH", "MIDDLEWARE", "CSRF_COOKIE_SAMESITE", "CSRF_COOKIE_SECURE")
    }


def token_names() -> list[str]:
    return [access_cookie_name(), refresh_cookie_name()]


def wire(response: Any) -> dict[str, str]:
    """Each cookie's ``Set-Cookie`` value, written as Django's WSGI handler writes it."""
    return {name: m.output(header="").strip() for name, m in response.cookies.items()}


def is_partitioned(set_cookie: str) -> bool:
    attrs = [part.strip().lower() for part in set_cookie.split(";")[1:]]
    return attrs.count("partitioned") == 1


# --- Off by default --------------------------------------------------------------------------


def test_default_sets_and_deletes_no_partitioned_cookie(client: Client, user: Any) -> None:
    """COOKIE_PARTITIONED=False: login, refresh and logout write no Partitioned attribute,
    even with PartitionedCsrfViewMiddleware installed (it is then Django's middleware)."""
    config = embed_settings(COOKIE_PARTITIONED=False)
    with override_settings(**config):
        responses = [
            login(client, user),
            client.post(reverse("jwt_cookie_auth:refresh")),
            client.post(reverse("jwt_cookie_auth:logout")),
        ]
    seen = set()
    for response in responses:
        for name, line in wire(response).items():
            seen.add(name)
            assert "partitioned" not in line.lower(), line
    assert {*token_names(), device_cookie_name(), settings.CSRF_COOKIE_NAME} <= seen


# --- Set: login, refresh, transparent renewal -------------------------------------------------


def test_login_partitions_token_device_and_csrf_cookies(client: Client, user: Any) -> None:
    """One login sets four cookies, each Secure; SameSite=None; Partitioned; the token
    names keep their __Host- prefix (CHIPS allows and recommends it)."""
    with override_settings(**embed_settings()):
        response = login(client, user)
        lines = wire(response)
        expected = [*token_names(), device_cookie_name(), settings.CSRF_COOKIE_NAME]
        assert set(expected) <= set(lines)
        for name in expected:
            assert is_partitioned(lines[name]), lines[name]
            attrs = attributes(response, name)
            assert (attrs["secure"], attrs["samesite"], attrs["path"]) == (True, "None", "/")
        assert all(name.startswith("__Host-") for name in token_names())
        # The cookies still work: the client sends them back and is logged in.
        assert client.get(reverse("me")).status_code == 200


def test_refresh_and_transparent_renewal_keep_the_attribute(
    client: Client, user: Any, clock: Any
) -> None:
    """POST refresh and the middleware's renewal write the same partitioned cookies."""
    with override_settings(**embed_settings()):
        login(client, user)
        refreshed = client.post(reverse("jwt_cookie_auth:refresh"))
        assert refreshed.status_code == 200
        clock.advance(minutes=6)
        renewed = client.get(reverse("whoami"))
        assert renewed.json()["authenticated"] is True
        for response in (refreshed, renewed):
            lines = wire(response)
            for name in token_names():
                assert is_partitioned(lines[name]), lines[name]


def test_csrf_cookie_from_the_session_endpoint_is_partitioned(db: None) -> None:
    """The SPA's first call (GET session) sets the CSRF cookie: partitioned, so the
    embed's login can pass Django's CSRF check; then the login works with CSRF enforced."""
    client = Client(enforce_csrf_checks=True)
    with override_settings(**embed_settings()):
        response = client.get(reverse("jwt_cookie_auth:session"))
        assert is_partitioned(wire(response)[settings.CSRF_COOKIE_NAME])
        user = make_user("embedded")
        login_response = client.post(
            reverse("jwt_cookie_auth:login"),
            credentials(user),
            content_type="application/json",
            HTTP_X_CSRFTOKEN=response.json()["csrf_token"],
        )
        assert login_response.status_code == 200, login_response.content
        # login rotates the CSRF token: the new cookie is partitioned too.
        assert is_partitioned(wire(login_response)[settings.CSRF_COOKIE_NAME])


# --- Delete: every path that expires the token cookies ----------------------------------------


def test_every_deletion_is_partitioned_like_the_set(client: Client, user: Any) -> None:
    """Logout, logout-all, failed refresh and dead cookies delete with Partitioned and the
    other set attributes: a deletion without it would not reach the partitioned cookie."""
    with override_settings(**embed_settings()):
        response = login(Client(), user)
        set_attrs = {name: attributes(response, name) for name in token_names()}
        assert all(attrs["partitioned"] is True for attrs in set_attrs.values())
        for label, deleting in _deleting_responses(client, user).items():
            assert_deletes_like_set(deleting, set_attrs, label)
            for name in token_names():
                assert is_partitioned(wire(deleting)[name]), (label, name)


# --- The real WSGI handler ---------------------------------------------------------------------


def wsgi_set_cookies(path: str, cookie: str = "") -> dict[str, str]:
    """GET ``path`` through Django's WSGI handler; its Set-Cookie headers by cookie name."""
    environ = RequestFactory().get(path, HTTP_COOKIE=cookie).environ
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        captured["status"], captured["headers"] = status, headers

    # As Django's test client does: the handler's close_old_connections would close the
    # connection that holds the test's transaction (PostgreSQL pass).
    signals = (request_started, request_finished)
    for signal in signals:
        signal.disconnect(close_old_connections)
    try:
        WSGIHandler()(environ, start_response).close()
    finally:
        for signal in signals:
            signal.connect(close_old_connections)
    assert captured["status"].startswith("200"), captured
    lines = [value for header, value in captured["headers"] if header == "Set-Cookie"]
    return {line.strip().split("=", 1)[0]: line for line in lines}


def test_wsgi_handler_sends_the_attribute(client: Client, user: Any) -> None:
    """Through Django's WSGI handler (what runserver and gunicorn call), the headers
    handed to the server carry Partitioned once per cookie: the CSRF cookie of the
    session endpoint, and the token cookies the middleware renews from a refresh cookie."""
    with override_settings(**embed_settings()):
        csrf = wsgi_set_cookies(reverse("jwt_cookie_auth:session"))
        login(client, user)
        refresh = client.cookies[refresh_cookie_name()].value
        renewed = wsgi_set_cookies(reverse("whoami"), f"{refresh_cookie_name()}={refresh}")
        names = token_names()
    assert is_partitioned(csrf[settings.CSRF_COOKIE_NAME]), csrf
    assert set(names) <= set(renewed), renewed
    for name in names:
        assert is_partitioned(renewed[name]), renewed[name]


# --- partition() itself -----------------------------------------------------------------------


def test_partition_keeps_value_and_attributes_and_is_idempotent() -> None:
    response = HttpResponse()
    response.set_cookie("c", "v a", max_age=60, path="/x/", secure=True, samesite="None")
    before = response.cookies["c"].output(header="")
    partition(response, "c")
    partition(response, "c")
    after = response.cookies["c"].output(header="")
    assert after.strip() == f"{before.strip()}; Partitioned"
    assert response.cookies["c"].value == "v a"


def test_partition_survives_a_later_set_cookie_and_pickling() -> None:
    """A second set_cookie of the name (Python reuses the Morsel) and a pickled response
    (the cache middleware stores responses) both keep the attribute."""
    response = HttpResponse()
    response.set_cookie("c", "1", secure=True, samesite="None")
    partition(response, "c")
    response.set_cookie("c", "2", secure=True, samesite="None")
    assert is_partitioned(wire(response)["c"])
    assert response.cookies["c"].value == "2"
    restored = pickle.loads(pickle.dumps(response))
    assert is_partitioned(wire(restored)["c"])


def test_partition_of_a_cookie_not_set_raises() -> None:
    with pytest.raises(KeyError):
        partition(HttpResponse(), "absent")


# --- System checks (ids in tests/test_checks.py BAD_CONFIGS: E120-E123) -----------------------


def test_a_sound_partitioned_deployment_passes_every_check() -> None:
    assert run(partitioned()) == []


def test_a_subclass_of_the_partitioned_csrf_middleware_is_accepted() -> None:
    """E031 (no CSRF middleware) and E122 look at classes, not at one dotted path."""
    own = f"{__name__}.ProjectCsrfMiddleware"
    middleware = [own if m == CSRF_MW else m for m in settings.MIDDLEWARE]
    assert run(partitioned(MIDDLEWARE=middleware)) == []


def test_partitioned_csrf_middleware_alone_satisfies_e031_with_the_setting_off() -> None:
    config = partitioned({"COOKIE_PARTITIONED": False, "COOKIE_SAMESITE": "Lax"})
    assert PARTITIONED_CSRF_MW in config["MIDDLEWARE"]
    assert CSRF_MW not in config["MIDDLEWARE"]
    assert "jwt_cookie_auth.E031" not in fired(config)
