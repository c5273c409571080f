"""LOCAL_REVOCATION_CACHE's default (None): on wherever the cache can serve it.

A project on django-redis's ``DefaultClient`` with ``hiredis`` installed (the ``redis``
extra) gets the per-process revocation cache without setting anything: an authenticated
request whose session the process has seen costs no Redis round trip. Elsewhere the
default is simply the normal path, with no check error; ``True`` asks for it by name
(check E165 when it cannot work) and ``False`` turns it off. The Django-session cutoff
(force logout of admin sessions) is read through the same tracked copy.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from jwt_cookie_auth import checks, django_sessions, local_revocation, resp3, revocation
from jwt_cookie_auth.models import DjangoSessionCutoff
from tests import local_cache
from tests.conftest import login, make_user, on_django_redis, redis_commands
from tests.servers import RedisServer

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # Private servers: the builtin-RedisCache pass would run the same tests again.
    pytest.mark.skipif(not on_django_redis(), reason="runs once, in the django-redis pass"),
]


# django-redis on a private server, every LOCAL_REVOCATION_CACHE* at its default.
redis = local_cache.redis


def round_trips_of(client: Client, path: str) -> list[tuple[Any, ...]]:
    with redis_commands() as sent:
        assert client.get(path).status_code == 200
    return sent


def test_on_by_default_with_django_redis_and_hiredis(redis: RedisServer, user: Any) -> None:
    client = Client()
    login(client, user)
    for _ in range(2):  # the first fills the marker, the second reads it into the tracker
        assert client.get(reverse("me")).status_code == 200
    assert round_trips_of(client, reverse("me")) == []
    assert local_revocation.tracker(revocation.get_cache()) is not None
    assert checks.check_local_revocation_cache() == []


def test_a_default_revocation_is_refused_on_the_next_request(redis: RedisServer, user: Any) -> None:
    client = Client()
    login(client, user)
    for _ in range(3):
        assert client.get(reverse("me")).status_code == 200
    stolen = client.cookies
    call_command("jwt_force_logout", user.get_username(), stdout=None)
    replay = Client()
    replay.cookies = stolen
    assert replay.get(reverse("me")).status_code == 401


def test_false_turns_it_off(redis: RedisServer, user: Any, settings: Any) -> None:
    settings.JWT_COOKIE_AUTH = {**settings.JWT_COOKIE_AUTH, "LOCAL_REVOCATION_CACHE": False}
    client = Client()
    login(client, user)
    assert client.get(reverse("me")).status_code == 200
    assert [c[0] for c in round_trips_of(client, reverse("me"))] == [b"MGET"]
    assert local_revocation.tracker(revocation.get_cache()) is None


def test_without_hiredis_the_default_is_the_normal_path_and_no_error(
    redis: RedisServer, user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_revocation, "hiredis_available", lambda: False)
    monkeypatch.setattr(resp3, "hiredis_available", lambda: False)
    client = Client()
    login(client, user)
    assert client.get(reverse("me")).status_code == 200
    assert [c[0] for c in round_trips_of(client, reverse("me"))] == [b"MGET"]
    assert checks.check_local_revocation_cache() == []


def test_true_without_hiredis_is_check_e165(
    redis: RedisServer, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resp3, "hiredis_available", lambda: False)
    settings.JWT_COOKIE_AUTH = {**settings.JWT_COOKIE_AUTH, "LOCAL_REVOCATION_CACHE": True}
    ids = [m.id for m in checks.check_local_revocation_cache()]
    assert ids == ["jwt_cookie_auth.E165"]


def test_default_with_another_cache_is_the_normal_path_and_no_error(settings: Any) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    config = dict(settings.JWT_COOKIE_AUTH)
    config.pop("LOCAL_REVOCATION_CACHE", None)
    settings.JWT_COOKIE_AUTH = config
    assert local_revocation.tracker(revocation.get_cache()) is None
    assert checks.check_local_revocation_cache() == []


# --- the Django-session cutoff (force logout of admin sessions) -----------------------


def test_a_django_session_request_reads_the_cutoff_without_a_round_trip(
    redis: RedisServer,
) -> None:
    """On the old code every request of a Django session sent a GET of the cutoff key."""
    staff = make_user("admin", is_staff=True)
    member = Client()
    member.force_login(staff)
    for _ in range(2):
        assert member.get(reverse("whoami")).json()["user"] == "admin"
    with redis_commands() as sent:
        assert member.get(reverse("whoami")).json()["user"] == "admin"
    cutoff_key = django_sessions._cutoff_key(staff.pk)
    assert not any(cutoff_key.encode() in b" ".join(map(bytes, c)) for c in sent), sent
    assert not [c for c in sent if c[:2] == (b"MGET", b"(tracking)")], sent


def test_force_logout_reaches_a_django_session_held_locally(redis: RedisServer) -> None:
    staff = make_user("admin", is_staff=True)
    member = Client()
    member.force_login(staff)
    for _ in range(3):
        assert member.get(reverse("whoami")).json()["user"] == "admin"
    call_command("jwt_force_logout", "admin", stdout=None)
    assert member.get(reverse("whoami")).json()["user"] is None


def test_a_cutoff_key_changed_by_another_client_is_read_again(redis: RedisServer) -> None:
    """Another client deletes the cached "no cutoff" (here a raw DEL on the server) after
    the row got a cutoff: the tracker drops its copy, the database answers, and the
    session ends. Holding the old copy would have kept the session."""
    staff = make_user("admin", is_staff=True)
    member = Client()
    member.force_login(staff)
    for _ in range(3):
        assert member.get(reverse("whoami")).json()["user"] == "admin"
    key = revocation.get_cache().make_key(django_sessions._cutoff_key(staff.pk))
    assert any(
        key.encode() == held for held in local_revocation.tracker(revocation.get_cache()).entries
    ), "the cutoff is held locally"
    DjangoSessionCutoff.objects.create(user=staff, valid_from=django_sessions.session_time())
    assert redis.command("DEL", key) == "1"
    assert member.get(reverse("whoami")).json()["user"] is None
