"""Revocation takes effect on the very next request (SECURITY.md items 25, 28-30).

Every way of ending a session kills its unexpired access token at once, through the
cache when it is warm and through the database when the cache is cold, flushed or
failing. These tests use whatever cache tests/settings.py configures (local memory or
real Redis with JWT_TEST_CACHE=redis).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from io import StringIO
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.cache import caches
from django.core.management import call_command
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from jwt_cookie_auth import overlap, revocation, tokens
from jwt_cookie_auth.conf import app_settings
from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from jwt_cookie_auth.issuing import start_session
from jwt_cookie_auth.models import LoginSession, RevokeReason
from tests.conftest import (
    FakeClock,
    access_cookie,
    login,
    make_user,
    on_django_redis,
    redis_commands,
    refresh_cookie,
)


@dataclass
class Device:
    """A browser logged in as one user: its client and the token values it holds."""

    client: Client
    access: str
    refresh: str

    @property
    def session_id(self) -> str:
        return tokens.decode(self.access, tokens.ACCESS).sid


def log_in(user: Any) -> Device:
    client = Client()
    login(client, user)
    return Device(client, access_cookie(client), refresh_cookie(client))


def browser(access: str, refresh: str | None = None) -> Client:
    client = Client()
    client.cookies[access_cookie_name()] = access
    if refresh is not None:
        client.cookies[refresh_cookie_name()] = refresh
    return client


def api_status(device: Device) -> int:
    """Status of the API call a browser holding the device's cookies makes next."""
    return browser(device.access, device.refresh).get(reverse("me")).status_code


def page_user(device: Device) -> Any:
    """Who a plain Django view sees for the device's cookies (None: anonymous)."""
    return browser(device.access, device.refresh).get(reverse("whoami")).json()["user"]


def bearer_status(device: Device) -> int:
    return Client().get(reverse("me"), HTTP_AUTHORIZATION=f"Bearer {device.access}").status_code


def assert_dead(device: Device) -> None:
    # "Before the access token expires": it still verifies, only revocation stops it.
    tokens.decode(device.access, tokens.ACCESS)
    assert api_status(device) == 401
    assert bearer_status(device) == 401
    assert page_user(device) is None
    assert browser(device.access).get(reverse("private")).status_code == 302
    refresh = browser("", device.refresh).post(reverse("jwt_cookie_auth:refresh"))
    assert refresh.status_code == 401


def assert_alive(device: Device, user: Any) -> None:
    assert api_status(device) == 200
    assert page_user(device) == user.get_username()


@pytest.fixture
def cache() -> Any:
    return revocation.get_cache()


# --- Every way to end a session ------------------------------------------------------


def do_logout(victim: Any, device: Device, other_device: Device) -> None:
    assert device.client.post(reverse("jwt_cookie_auth:logout")).status_code == 204


def do_logout_all(victim: Any, device: Device, other_device: Device) -> None:
    assert other_device.client.post(reverse("jwt_cookie_auth:logout_all")).status_code == 204


def do_session_revoke(victim: Any, device: Device, other_device: Device) -> None:
    url = reverse("jwt_cookie_auth:session_detail", args=[device.session_id])
    assert other_device.client.delete(url).status_code == 204


def do_admin_force_logout(victim: Any, device: Device, other_device: Device) -> None:
    client = Client()
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    opts = get_user_model()._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    response = client.post(
        url, {"action": "force_logout", "_selected_action": [str(victim.pk)], "index": "0"}
    )
    assert response.status_code == 302, response.content


def do_command(victim: Any, device: Device, other_device: Device) -> None:
    call_command("jwt_force_logout", victim.get_username(), stdout=StringIO())


def do_password_change(victim: Any, device: Device, other_device: Device) -> None:
    victim.set_password("a new password entirely")
    victim.save()


def do_deactivation(victim: Any, device: Device, other_device: Device) -> None:
    victim.is_active = False
    victim.save()


def do_deletion(victim: Any, device: Device, other_device: Device) -> None:
    victim.delete()


PATHS: dict[str, tuple[Callable[[Any, Device, Device], None], RevokeReason, bool]] = {
    # name: (action, reason, whether the victim's other device dies too)
    "logout": (do_logout, RevokeReason.LOGOUT, False),
    "logout_all": (do_logout_all, RevokeReason.LOGOUT_ALL, True),
    "session_revoke": (do_session_revoke, RevokeReason.USER_REVOKED, False),
    "admin": (do_admin_force_logout, RevokeReason.ADMIN, True),
    "command": (do_command, RevokeReason.COMMAND, True),
    "password_change": (do_password_change, RevokeReason.PASSWORD_CHANGE, True),
    "deactivation": (do_deactivation, RevokeReason.DEACTIVATED, True),
    "deletion": (do_deletion, RevokeReason.USER_DELETED, True),
}


@pytest.mark.parametrize("path", list(PATHS))
def test_revocation_takes_effect_on_the_very_next_request(
    path: str, user: Any, other_user: Any, clock: FakeClock, revoked_signals: list[Any]
) -> None:
    """Each way of ending a session makes the very next request 401, access token included."""
    action, reason, all_devices = PATHS[path]
    if path == "admin" and not admin.site.is_registered(get_user_model()):
        pytest.skip("no ModelAdmin registered for this user model (test_admin.py covers it)")
    device, other_device = log_in(user), log_in(user)
    bystander = log_in(other_user)
    for d in (device, other_device):
        assert_alive(d, user)  # warms the cache with a "live" marker
    marker = revocation.get_cache().get(revocation.cache_key(device.session_id))
    assert marker == revocation.live_marker(user.pk)
    session_ids = {
        device.session_id,
        *([other_device.session_id] if all_devices else []),
    }
    user_pk = str(user.pk)  # delete() clears it on the instance

    action(user, device, other_device)

    assert_dead(device)
    if all_devices:
        assert_dead(other_device)
    else:
        assert_alive(other_device, user)
    assert_alive(bystander, other_user)
    assert [s["reason"] for s in revoked_signals] == [reason]
    assert {str(sid) for sid in revoked_signals[0]["session_ids"]} == session_ids
    assert str(revoked_signals[0]["user_id"]) == user_pk
    if path != "deletion":
        rows = LoginSession.objects.filter(pk__in=session_ids)
        assert {row.revoke_reason for row in rows} == {reason}
    else:
        assert not LoginSession.objects.filter(pk__in=session_ids).exists()


def test_logout_is_idempotent(user: Any, revoked_signals: list[Any]) -> None:
    """Logging out twice, or with no cookies, is 204 and revokes once."""
    device = log_in(user)
    url = reverse("jwt_cookie_auth:logout")
    assert browser(device.access, device.refresh).post(url).status_code == 204
    assert browser(device.access, device.refresh).post(url).status_code == 204
    assert Client().post(reverse("jwt_cookie_auth:logout")).status_code == 204
    assert len(revoked_signals) == 1


def test_saving_an_active_user_revokes_nothing(user: Any, revoked_signals: list[Any]) -> None:
    """Only password changes and deactivation end sessions, not every save."""
    device = log_in(user)
    user.last_login = timezone.now()
    user.save()
    assert_alive(device, user)
    assert revoked_signals == []


def test_session_detail_refuses_another_users_session(user: Any, other_user: Any) -> None:
    """DELETE on someone else's session id is 404 and revokes nothing."""
    victim = log_in(user)
    attacker = log_in(other_user)
    url = reverse("jwt_cookie_auth:session_detail", args=[victim.session_id])
    assert attacker.client.delete(url).status_code == 404
    assert_alive(victim, user)


# --- Cost of the check ---------------------------------------------------------------


def count_cache_calls(cache: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    calls: dict[str, int] = {}
    for name in ("get", "get_many", "add", "set", "set_many", "delete", "delete_many"):
        real = getattr(cache, name)

        def spy(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            calls[_name] = calls.get(_name, 0) + 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(cache, name, spy)
    return calls


@pytest.mark.parametrize("local_cache", [None, False], ids=["default", "local-cache-off"])
def test_warm_cache_request_costs_one_query_and_one_cache_get(
    logged_in: Client, cache: Any, monkeypatch: pytest.MonkeyPatch, settings: Any, local_cache: Any
) -> None:
    """With a warm cache an authenticated API call makes 1 SQL query (the user) and 1 get.

    On django-redis the get is an ``MGET`` sent straight on a pooled connection, so that
    it overlaps the user query (``overlap``): one Redis command, no cache API call. By
    default there (LOCAL_REVOCATION_CACHE None, hiredis installed) not even that: the
    marker comes from this process's tracked copy, no round trip at all.
    """
    settings.JWT_COOKIE_AUTH = {**settings.JWT_COOKIE_AUTH, "LOCAL_REVOCATION_CACHE": local_cache}
    assert logged_in.get(reverse("me")).status_code == 200  # may fill the cache
    assert logged_in.get(reverse("me")).status_code == 200  # the tracker's first read
    calls = count_cache_calls(cache, monkeypatch)
    with CaptureQueriesContext(connection) as ctx, redis_commands() as commands:
        response = logged_in.get(reverse("me"))
    assert response.status_code == 200
    assert len(ctx) == 1, [q["sql"] for q in ctx.captured_queries]
    if on_django_redis():
        assert calls == {}
        expected = [b"MGET"] if local_cache is False else []
        assert [c[0] for c in commands] == expected, commands
    else:
        assert calls == {"get": 1}


def test_cold_cache_request_costs_two_queries_and_refills(logged_in: Client, cache: Any) -> None:
    """A flushed cache costs one extra query (the session row), then is warm again."""
    assert logged_in.get(reverse("me")).status_code == 200
    cache.clear()
    with CaptureQueriesContext(connection) as ctx:
        response = logged_in.get(reverse("me"))
    assert response.status_code == 200
    assert len(ctx) == 2, [q["sql"] for q in ctx.captured_queries]
    with CaptureQueriesContext(connection) as ctx:
        assert logged_in.get(reverse("me")).status_code == 200
    assert len(ctx) == 1


def sessions_for(user: Any, count: int) -> list[str]:
    """Give ``user`` ``count`` sessions; return the access tokens of the first two."""
    request = RequestFactory().post("/auth/login/")
    access = [start_session(request, user).access for _ in range(min(count, 2))]
    if count > 2:
        template = LoginSession.objects.filter(user=user).first()
        assert template is not None
        LoginSession.objects.bulk_create(
            LoginSession(
                user=user,
                created_at=template.created_at,
                last_used_at=template.last_used_at,
                expires_at=template.expires_at,
                absolute_expires_at=template.absolute_expires_at,
                refresh_jti=tokens.new_jti(),
                refresh_issued_at=template.refresh_issued_at,
            )
            for _ in range(count - 2)
        )
    return access


def test_force_logout_costs_the_same_for_1_or_200_sessions(
    user: Any, other_user: Any, clock: FakeClock, cache: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Revoking every session of a user is a fixed number of queries and one cache write."""
    sessions_for(user, 1)
    many = sessions_for(other_user, 200)
    counts = []
    for target in (user, other_user):
        calls = count_cache_calls(cache, monkeypatch)
        with CaptureQueriesContext(connection) as ctx, redis_commands() as commands:
            revoked = revocation.revoke_user_sessions([target.pk], RevokeReason.ADMIN)
        counts.append(len(ctx))
        if on_django_redis():
            # One script call (redis_bulk) for up to 1,000 markers, no cache API call;
            # then, with the local revocation cache (on by default here), the PING that
            # confirms every tracking process has its invalidations.
            assert calls == {}
            assert [c[0] for c in commands] == [b"EVALSHA", b"PING"]
        else:
            # One cache write whatever the count (locmem's set_many loops over set itself).
            assert calls["set_many"] == 1
            assert not {"get", "get_many", "delete", "delete_many"} & set(calls), calls
        monkeypatch.undo()
    assert len(revoked[other_user.pk]) == 200
    assert counts[0] == counts[1], counts
    assert counts[0] <= 4, counts  # UPDATE + SELECT, plus a savepoint pair
    assert LoginSession.objects.filter(user=other_user, revoked_at__isnull=True).count() == 0
    for access in many:
        assert browser(access).get(reverse("me")).status_code == 401


# --- A cold, flushed or failing cache --------------------------------------------------


class CacheDown(ConnectionError):
    pass


def break_cache(cache: Any, monkeypatch: pytest.MonkeyPatch, *, silently: bool) -> None:
    """Make the cache fail: raise (IGNORE_EXCEPTIONS off) or answer nothing (on)."""

    def fail(*args: Any, **kwargs: Any) -> Any:
        if silently:
            return None
        raise CacheDown("cache unavailable")

    for name in ("get", "get_many", "add", "set", "set_many", "delete", "delete_many"):
        monkeypatch.setattr(cache, name, fail)
    # The overlapped MGET (django-redis) cannot reach a dead server either; it then
    # gives way to the cache API, as here.
    monkeypatch.setattr(overlap, "send_get_many", lambda cache, keys: None)


@pytest.mark.parametrize("silently", [False, True], ids=["raises", "returns-none"])
@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
def test_failing_cache_still_enforces_revocation(
    user: Any,
    other_user: Any,
    cache: Any,
    monkeypatch: pytest.MonkeyPatch,
    silently: bool,
    warm: bool,
) -> None:
    """A dead cache falls back to the database: revoked is 401, live is 200, never 500."""
    victim, bystander = log_in(user), log_in(other_user)
    if warm:
        assert_alive(victim, user)
        assert_alive(bystander, other_user)
    break_cache(cache, monkeypatch, silently=silently)

    revocation.revoke_user_sessions([user.pk], RevokeReason.ADMIN)

    assert api_status(victim) == 401
    assert page_user(victim) is None
    assert_alive(bystander, other_user)


def test_revoked_while_cache_down_is_enforced_after_it_recovers(
    user: Any, cache: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A revocation whose cache write failed holds once the (cold) cache is back."""
    victim = log_in(user)
    break_cache(cache, monkeypatch, silently=False)
    revocation.revoke_user_sessions([user.pk], RevokeReason.ADMIN)
    monkeypatch.undo()
    assert api_status(victim) == 401
    assert cache.get(revocation.cache_key(victim.session_id)) == revocation.REVOKED


def test_flushed_cache_after_revocation_still_401(user: Any, cache: Any) -> None:
    """cache.clear() after a revocation cannot bring the session back."""
    victim = log_in(user)
    assert_alive(victim, user)
    revocation.revoke_user_sessions([user.pk], RevokeReason.ADMIN)
    cache.clear()
    assert api_status(victim) == 401
    cache.clear()
    assert bearer_status(victim) == 401


def test_revocation_overwrites_a_live_marker(user: Any, cache: Any) -> None:
    """A warm "live" marker is replaced by a revoked one, not left to expire."""
    victim = log_in(user)
    assert_alive(victim, user)
    key = revocation.cache_key(victim.session_id)
    assert cache.get(key) == revocation.live_marker(user.pk)
    revocation.revoke_session(victim.session_id, RevokeReason.LOGOUT)
    assert cache.get(key) == revocation.REVOKED


def test_cache_fill_never_overwrites_a_newer_revocation(
    user: Any, cache: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fill racing a revocation uses add(): the revoked marker written meanwhile wins."""
    victim = log_in(user)
    sid = victim.session_id
    real_lookup = revocation._owner_in_database

    def lookup_then_revoked(session_id: str) -> str | None:
        owner = real_lookup(session_id)  # the database said "live"...
        revocation.revoke_session(session_id, RevokeReason.ADMIN)  # ...then a revocation
        return owner

    monkeypatch.setattr(revocation, "_owner_in_database", lookup_then_revoked)
    assert revocation.is_session_revoked(sid) is False  # the stale read answers once
    monkeypatch.undo()

    assert cache.get(revocation.cache_key(sid)) == revocation.REVOKED
    assert revocation.is_session_revoked(sid) is True
    assert api_status(victim) == 401


def test_preset_revoked_marker_is_honoured(user: Any, cache: Any) -> None:
    """The cache's revoked marker is trusted without asking the database."""
    victim = log_in(user)
    cache.set(revocation.cache_key(victim.session_id), revocation.REVOKED)
    with CaptureQueriesContext(connection) as ctx:
        assert revocation.is_session_revoked(victim.session_id) is True
    assert len(ctx) == 0


@pytest.mark.parametrize("sid", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_unknown_or_malformed_session_counts_as_revoked(sid: str, db: None) -> None:
    """A session id with no row (flushed, deleted, forged) is revoked."""
    assert revocation.is_session_revoked(sid) is True


def test_revocation_reaches_other_workers_through_the_cache(user: Any, cache: Any) -> None:
    """Revocation state lives in the shared cache, not in process memory."""
    victim = log_in(user)
    assert_alive(victim, user)
    revocation.revoke_session(victim.session_id, RevokeReason.LOGOUT)
    # Another worker: a new cache client (for Redis, a new connection to the server).
    other = caches.create_connection(app_settings.CACHE_ALIAS)
    assert other.get(revocation.cache_key(victim.session_id)) == revocation.REVOKED


def test_force_logout_permission_exists(db: None) -> None:
    """The force_logout permission is a real, assignable permission."""
    assert Permission.objects.filter(
        content_type__app_label="jwt_cookie_auth", codename="force_logout"
    ).exists()


# --- A subject that does not own its session (issue 9, item 14) ------------------------


def forged_access(owner_device: Device, subject: Any) -> str:
    """An access token signed with our key: the owner's session id, another user's ``sub``."""
    genuine = tokens.decode(owner_device.access, tokens.ACCESS)
    token, _ = tokens.mint(
        tokens.ACCESS,
        sub=str(subject.pk),
        sid=genuine.sid,
        jti=tokens.new_jti(),
        issued_at=genuine.issued_at,
        expires_at=genuine.expires_at,
    )
    return token


@pytest.mark.parametrize("cache_users", [False, True], ids=["default", "cache-users"])
@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
def test_access_token_whose_sub_does_not_own_its_sid_is_refused(
    user: Any, other_user: Any, cache: Any, settings: Any, cache_users: bool, warm: bool
) -> None:
    """sid of alice's session, sub of bob: 401 as cookie and Bearer, anonymous page.

    Refused from the cached marker (warm) and from the database (cold), and the refusal
    leaves alice's session alone: no revoked marker, no revoked row.
    """
    settings.JWT_COOKIE_AUTH = {"CACHE_USERS": cache_users}
    alice = log_in(user)
    log_in(other_user)  # bob is a real, active user with a session of his own
    if warm:
        assert_alive(alice, user)
    else:
        cache.clear()
    forged = Device(Client(), forged_access(alice, other_user), "")
    for status in (api_status, bearer_status):
        if not warm:
            cache.clear()
        assert status(forged) == 401
    if not warm:
        cache.clear()
    assert page_user(forged) is None
    assert_alive(alice, user)
    assert LoginSession.objects.get(pk=alice.session_id).revoked_at is None


def test_forged_subject_costs_no_extra_query_on_a_warm_cache(
    logged_in: Client, other_user: Any, cache: Any
) -> None:
    """The owner comes with the revocation marker: a warm refusal costs what a request costs."""
    alice = Device(logged_in, access_cookie(logged_in), refresh_cookie(logged_in))
    assert logged_in.get(reverse("me")).status_code == 200
    forged = Device(Client(), forged_access(alice, other_user), "")
    with CaptureQueriesContext(connection) as ctx:
        assert api_status(forged) == 401
    assert len(ctx) <= 1, [q["sql"] for q in ctx.captured_queries]


def test_refresh_token_whose_sub_does_not_own_its_sid_is_401(user: Any, other_user: Any) -> None:
    """The refresh endpoint refuses it too, and it is not taken for theft."""
    alice = log_in(user)
    genuine = tokens.decode(alice.refresh, tokens.REFRESH)
    forged = tokens.encode(
        tokens.REFRESH,
        sub=str(other_user.pk),
        sid=genuine.sid,
        jti=genuine.jti,
        issued_at=genuine.issued_at,
        expires_at=genuine.expires_at,
    )
    assert browser("", forged).post(reverse("jwt_cookie_auth:refresh")).status_code == 401
    assert LoginSession.objects.get(pk=alice.session_id).revoked_at is None
    assert browser("", alice.refresh).post(reverse("jwt_cookie_auth:refresh")).status_code == 200


def test_live_marker_written_before_the_upgrade_is_read_as_a_miss(
    user: Any, other_user: Any, cache: Any
) -> None:
    """A marker of the old format (``1``, no owner) is never trusted: the database answers.

    ``add`` cannot replace it (the ordering rules forbid overwriting a marker), so it is
    read as a miss until it expires, at most ``REVOCATION_CACHE_TIMEOUT`` after the
    upgrade; then the next request writes the owner's marker.
    """
    alice = log_in(user)
    key = revocation.cache_key(alice.session_id)
    cache.set(key, revocation.LEGACY_LIVE)  # what the previous version wrote for "live"
    forged = Device(Client(), forged_access(alice, other_user), "")
    assert api_status(forged) == 401
    assert bearer_status(forged) == 401
    with CaptureQueriesContext(connection) as ctx:
        assert api_status(alice) == 200
    assert len(ctx) == 2  # the session row answers, as on a miss
    assert cache.get(key) == revocation.LEGACY_LIVE
    cache.delete(key)  # it expires
    assert api_status(alice) == 200
    assert cache.get(key) == revocation.live_marker(user.pk)
    assert api_status(forged) == 401
