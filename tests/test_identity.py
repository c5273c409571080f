"""The per-request user load: from the database (default) or from the cache (CACHE_USERS)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from jwt_cookie_auth.identity import user_cache_key
from jwt_cookie_auth.revocation import get_cache
from tests.conftest import login, make_user

CACHED = {"CACHE_USERS": True}


@pytest.fixture
def cached_users(settings: Any) -> None:
    settings.JWT_COOKIE_AUTH = CACHED


def queries_for(client: Client, url: str) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    return len(queries), response


@pytest.mark.django_db
def test_default_mode_loads_the_user_with_one_query(client: Client, user: Any) -> None:
    """Warm cache, default mode: exactly one SQL query per authenticated request."""
    login(client, user)
    client.get(reverse("me"))
    count, response = queries_for(client, reverse("me"))
    assert response.status_code == 200
    assert count == 1


@pytest.mark.django_db
def test_cached_users_make_no_sql_query(cached_users: None, client: Client, user: Any) -> None:
    """CACHE_USERS: the user and the revocation marker come from the cache, no SQL."""
    login(client, user)
    count, response = queries_for(client, reverse("me"))
    assert response.status_code == 200
    assert count == 2  # cold: session row + user row, then both are cached
    count, response = queries_for(client, reverse("me"))
    assert response.status_code == 200
    assert response.json()["user"] == user.get_username()
    assert count == 0


@pytest.mark.django_db
def test_cached_user_is_dropped_when_the_row_changes(
    cached_users: None, client: Client, user: Any
) -> None:
    """A saved change to the user is seen on the next request, not after a timeout."""
    login(client, user)
    client.get(reverse("me"))
    assert get_cache().get(user_cache_key(user.pk)) is not None
    user.is_staff = True
    user.save()
    assert get_cache().get(user_cache_key(user.pk)) is None
    client.get(reverse("me"))
    assert get_cache().get(user_cache_key(user.pk)).is_staff is True


@pytest.mark.django_db
@pytest.mark.parametrize("change", ["deactivate", "password", "delete"])
def test_cached_users_still_end_sessions_on_next_request(
    cached_users: None, client: Client, change: str
) -> None:
    """Deactivation, password change and deletion act on the very next request."""
    victim = make_user("victim")
    login(client, victim)
    assert client.get(reverse("me")).status_code == 200
    assert client.get(reverse("me")).status_code == 200  # served from the cache
    if change == "deactivate":
        victim.is_active = False
        victim.save()
    elif change == "password":
        victim.set_password("another password 123")
        victim.save()
    else:
        victim.delete()
    assert client.get(reverse("me")).status_code == 401


@pytest.mark.django_db
def test_cached_users_respect_logout(cached_users: None, client: Client, user: Any) -> None:
    login(client, user)
    stolen = dict(client.cookies.items())
    assert client.get(reverse("me")).status_code == 200
    assert client.post(reverse("jwt_cookie_auth:logout")).status_code == 204
    replay = Client()
    for name, morsel in stolen.items():
        replay.cookies[name] = morsel.value
    assert replay.get(reverse("me")).status_code == 401


@pytest.mark.django_db
def test_cached_user_of_another_id_is_ignored(
    cached_users: None, client: Client, user: Any
) -> None:
    """A cache entry that does not match the token's subject is never trusted."""
    login(client, user)
    intruder = make_user("intruder")
    get_cache().set(user_cache_key(user.pk), intruder)
    response = client.get(reverse("me"))
    assert response.json()["user"] == user.get_username()
