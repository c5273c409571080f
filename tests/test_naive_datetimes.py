"""``USE_TZ = False``: naive local datetimes in a non-UTC ``TIME_ZONE`` (issue 9, item 1).

Every test here runs with ``USE_TZ = False`` and ``TIME_ZONE = "America/New_York"``
(a zone with DST), whatever the pass: login, API calls, refresh (explicit and
transparent), the session endpoints, logout, the admin and the management commands
must all work, store naive local times as Django does, and still give the JSON
clients unambiguous times (ISO 8601 with an offset).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from jwt_cookie_auth import clock, tokens
from jwt_cookie_auth.conf import app_settings
from jwt_cookie_auth.models import BlacklistedToken, LoginSession, RevokeReason
from tests.conftest import (
    FakeClock,
    access_cookie,
    credentials,
    make_user,
    new_session,
    refresh_cookie,
    use_clock,
)

ZONE = "America/New_York"
NEW_YORK = ZoneInfo(ZONE)
# 2026-11-01 02:00 EDT: New York's clocks fall back to 01:00 EST.
BEFORE_FALL_BACK = datetime(2026, 11, 1, 1, 58)  # fold=0: 05:58 UTC, EDT
AFTER_SPRING_FORWARD = datetime(2026, 3, 8, 1, 58)  # 06:58 UTC, EST; 02:xx never exists


@pytest.fixture
def naive(settings: Any) -> None:
    """USE_TZ = False with a zone that has DST (a no-op in the JWT_TEST_USE_TZ=0 pass)."""
    settings.USE_TZ = False
    settings.TIME_ZONE = ZONE


@pytest.fixture
def naive_clock(naive: None, monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """A movable clock that gives what the database stores: naive local time."""
    fake = FakeClock(timezone.now().replace(microsecond=0))
    assert timezone.is_naive(fake.now())
    use_clock(monkeypatch, fake.now)
    return fake


def instant(naive_local: datetime) -> datetime:
    """The aware UTC instant a stored naive local time stands for."""
    assert timezone.is_naive(naive_local), naive_local
    return naive_local.replace(tzinfo=NEW_YORK).astimezone(UTC)


def parse(value: str) -> datetime:
    """An ISO 8601 time from a JSON response: it must carry an offset."""
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() is not None, f"no offset in {value!r}"
    return parsed


def post_login(client: Client, user: Any, **extra: Any) -> Any:
    return client.post(
        reverse("jwt_cookie_auth:login"),
        credentials(user, **extra),
        content_type="application/json",
    )


def max_age(response: Any, name: str) -> Any:
    return response.cookies[name]["max-age"]


def names() -> tuple[str, str]:
    """The token cookies' names on the wire (with their prefix, as conftest reads them)."""
    from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name

    return access_cookie_name(), refresh_cookie_name()


# --- login, API, refresh ---------------------------------------------------------------


@pytest.mark.parametrize("remember", [True, False])
def test_login_stores_naive_local_times_and_sets_right_max_age(
    naive_clock: FakeClock, user: Any, client: Client, remember: bool
) -> None:
    """Login is a 200 (was a 500), cookies live as long as their tokens, rows are local."""
    now = naive_clock.now()
    response = post_login(client, user, remember=remember)
    assert response.status_code == 200, response.content

    access_name, refresh_name = names()
    if remember:
        access_lifetime = app_settings.ACCESS_TOKEN_LIFETIME.total_seconds()
        assert max_age(response, access_name) == int(access_lifetime)
        refresh_lifetime = app_settings.REFRESH_TOKEN_LIFETIME.total_seconds()
        assert max_age(response, refresh_name) == int(refresh_lifetime)
    else:
        assert max_age(response, access_name) == ""
        assert max_age(response, refresh_name) == ""

    session = LoginSession.objects.get()
    assert session.persistent is remember
    # Stored as the project stores times: naive, local wall time in TIME_ZONE.
    assert session.created_at == now
    assert session.refresh_issued_at == now
    assert instant(session.expires_at) == instant(now) + app_settings.REFRESH_TOKEN_LIFETIME
    claims = tokens.decode(access_cookie(client), tokens.ACCESS)
    assert claims.iat == int(instant(now).timestamp())
    assert instant(claims.expires_at) == instant(now) + app_settings.ACCESS_TOKEN_LIFETIME
    # The JSON times carry an offset and name the same instants.
    body = response.json()
    assert parse(body["access_expires_at"]) == instant(claims.expires_at)
    assert parse(body["refresh_expires_at"]) == instant(session.expires_at)
    assert parse(body["session_expires_at"]) == instant(session.absolute_expires_at)

    assert client.get(reverse("me")).status_code == 200


@pytest.mark.parametrize("remember", [True, False])
def test_refresh_rotates_and_blacklists_with_naive_times(
    naive_clock: FakeClock, user: Any, client: Client, remember: bool
) -> None:
    """The explicit refresh is a 200 (was a 500 on SQLite) and blacklists the old token."""
    assert post_login(client, user, remember=remember).status_code == 200
    old_refresh = refresh_cookie(client)
    old_claims = tokens.decode(old_refresh, tokens.REFRESH)
    naive_clock.advance(minutes=6)

    response = client.post(reverse("jwt_cookie_auth:refresh"))
    assert response.status_code == 200, response.content
    assert refresh_cookie(client) != old_refresh
    blacklisted = BlacklistedToken.objects.get(jti=old_claims.jti)
    assert blacklisted.expires_at == old_claims.expires_at
    assert timezone.is_naive(blacklisted.expires_at)
    session = LoginSession.objects.get()
    assert session.rotated_at == naive_clock.now()
    if remember:
        lifetime = app_settings.REFRESH_TOKEN_LIFETIME.total_seconds()
        assert max_age(response, names()[1]) == int(lifetime)
    assert client.get(reverse("me")).status_code == 200


def test_transparent_renewal_with_naive_times(
    naive_clock: FakeClock, user: Any, client: Client
) -> None:
    """An expired access cookie is renewed by the middleware before the view runs."""
    assert post_login(client, user).status_code == 200
    old_access = access_cookie(client)
    naive_clock.advance(minutes=6)

    response = client.get(reverse("whoami"))
    assert response.status_code == 200
    assert response.json()["user"] == user.get_username()
    assert access_cookie(client) != old_access
    assert max_age(response, names()[0]) == int(app_settings.ACCESS_TOKEN_LIFETIME.total_seconds())
    assert LoginSession.objects.get().last_used_at == naive_clock.now()


# --- the session endpoints, logout -----------------------------------------------------


def test_session_and_sessions_endpoints_give_times_with_an_offset(
    naive_clock: FakeClock, user: Any, client: Client
) -> None:
    assert post_login(client, user).status_code == 200
    session = LoginSession.objects.get()

    current = client.get(reverse("jwt_cookie_auth:session")).json()
    assert current["session_id"] == str(session.pk)
    assert parse(current["refresh_expires_at"]) == instant(session.expires_at)
    assert parse(current["session_expires_at"]) == instant(session.absolute_expires_at)
    access = tokens.decode(access_cookie(client), tokens.ACCESS)
    assert parse(current["access_expires_at"]) == instant(access.expires_at)

    response = client.get(reverse("jwt_cookie_auth:sessions"))
    assert response.status_code == 200, response.content
    (row,) = response.json()
    assert row["current"] is True
    for field in ("created_at", "last_used_at", "expires_at", "absolute_expires_at"):
        assert parse(row[field]) == instant(getattr(session, field)), field


def test_logout_and_logout_all_with_naive_times(
    naive_clock: FakeClock, user: Any, client: Client
) -> None:
    assert post_login(client, user).status_code == 200
    access = access_cookie(client)
    other = new_session(user)

    response = client.post(reverse("jwt_cookie_auth:logout"))
    assert response.status_code == 204
    replay = Client()
    replay.cookies[names()[0]] = access
    assert replay.get(reverse("me")).status_code == 401
    session = LoginSession.objects.get(pk=tokens.decode(access, tokens.ACCESS).sid)
    assert session.revoked_at == naive_clock.now()

    assert post_login(client, user).status_code == 200
    assert client.post(reverse("jwt_cookie_auth:logout_all")).status_code == 204
    holder = Client()
    holder.cookies[names()[0]] = other
    assert holder.get(reverse("me")).status_code == 401
    assert not LoginSession.objects.filter(revoked_at__isnull=True).exists()


# --- the admin and the commands ----------------------------------------------------------


def test_admin_session_list_and_force_logout_with_naive_times(
    naive_clock: FakeClock, db: None
) -> None:
    root = make_user("root", is_staff=True, is_superuser=True)
    alice = make_user("alice")
    browser = Client()
    assert post_login(browser, alice).status_code == 200
    access = access_cookie(browser)
    admin = Client()
    admin.force_login(root)
    url = reverse("admin:jwt_cookie_auth_loginsession_changelist")

    for status in ("", "active", "expired", "revoked"):
        response = admin.get(url, {"status": status} if status else {})
        assert response.status_code == 200, status
    assert "Active" in admin.get(url).content.decode()

    session = LoginSession.objects.get(user=alice)
    response = admin.post(url, {"action": "revoke_selected", "_selected_action": [str(session.pk)]})
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.revoke_reason == RevokeReason.ADMIN
    assert session.revoked_at == naive_clock.now()
    holder = Client()
    holder.cookies[names()[0]] = access
    assert holder.get(reverse("me")).status_code == 401


def test_management_commands_with_naive_times(naive_clock: FakeClock, user: Any) -> None:
    """jwt_flush_expired deletes exactly what expired; jwt_force_logout revokes."""
    browser = Client()
    assert post_login(browser, user).status_code == 200
    naive_clock.advance(minutes=6)
    assert browser.post(reverse("jwt_cookie_auth:refresh")).status_code == 200
    expired_sid = tokens.decode(access_cookie(browser), tokens.ACCESS).sid
    naive_clock.advance(days=2)  # past REFRESH_TOKEN_LIFETIME (1 day) and LEEWAY
    live_access = new_session(user)
    live_sid = tokens.decode(live_access, tokens.ACCESS).sid

    out = StringIO()
    call_command("jwt_flush_expired", stdout=out)
    assert "login sessions: 1 deleted." in out.getvalue()
    assert "blacklisted tokens: 1 deleted." in out.getvalue()
    assert not LoginSession.objects.filter(pk=expired_sid).exists()
    assert [str(pk) for pk in LoginSession.objects.values_list("pk", flat=True)] == [live_sid]

    call_command("jwt_force_logout", user.get_username(), stdout=StringIO())
    holder = Client()
    holder.cookies[names()[0]] = live_access
    assert holder.get(reverse("me")).status_code == 401


# --- DST: lifetimes are elapsed time, not wall-clock time ------------------------------


def test_tokens_issued_just_before_clocks_fall_back_live_their_lifetime(
    naive: None, monkeypatch: pytest.MonkeyPatch, user: Any, client: Client
) -> None:
    """5 minutes after 01:58 EDT is 01:03 EST, not 02:03 EST (which is 65 minutes later)."""
    fake = FakeClock(BEFORE_FALL_BACK)
    use_clock(monkeypatch, fake.now)
    response = post_login(client, user)
    assert response.status_code == 200, response.content

    claims = tokens.decode(access_cookie(client), tokens.ACCESS)
    lifetime = int(app_settings.ACCESS_TOKEN_LIFETIME.total_seconds())
    assert claims.iat == int(BEFORE_FALL_BACK.replace(tzinfo=NEW_YORK).timestamp())
    assert claims.exp - claims.iat == lifetime
    assert max_age(response, names()[0]) == lifetime
    assert parse(response.json()["access_expires_at"]) - datetime.fromtimestamp(
        claims.iat, UTC
    ) == timedelta(seconds=lifetime)


def test_replay_after_clocks_fall_back_is_not_forgiven_as_a_race(
    naive: None, monkeypatch: pytest.MonkeyPatch, user: Any, client: Client
) -> None:
    """Rotated at 01:59:00 EDT, replayed at 01:00:30 EST: 90 s later, past the grace.

    Naive subtraction says -58.5 minutes, "within the grace period", and would hand a
    replayed parent token the successor for an hour.
    """
    fake = FakeClock(datetime(2026, 11, 1, 1, 57))
    use_clock(monkeypatch, fake.now)
    assert post_login(client, user).status_code == 200
    parent = refresh_cookie(client)
    fake.current = datetime(2026, 11, 1, 1, 59)
    assert client.post(reverse("jwt_cookie_auth:refresh")).status_code == 200

    fake.current = datetime(2026, 11, 1, 1, 0, 30, fold=1)
    replay = Client()
    replay.cookies[names()[1]] = parent
    assert replay.post(reverse("jwt_cookie_auth:refresh")).status_code == 401
    assert LoginSession.objects.get().revoke_reason == RevokeReason.REUSE_DETECTED


def test_sessions_list_in_the_repeated_hour(
    naive: None, monkeypatch: pytest.MonkeyPatch, user: Any, client: Client
) -> None:
    """A stored time from the hour clocks fall back is listed as its wall time."""
    fake = FakeClock(datetime(2026, 11, 1, 1, 30))
    use_clock(monkeypatch, fake.now)
    assert post_login(client, user).status_code == 200
    response = client.get(reverse("jwt_cookie_auth:sessions"))
    assert response.status_code == 200, response.content
    (row,) = response.json()
    assert parse(row["created_at"]).replace(tzinfo=None) == datetime(2026, 11, 1, 1, 30)


@pytest.mark.parametrize(("behind", "status"), [(5, 200), (60, 401)])
def test_grace_allows_a_rotation_in_the_future_by_leeway_only(
    naive_clock: FakeClock, user: Any, client: Client, behind: int, status: int
) -> None:
    """A host whose clock is behind by up to LEEWAY (10 s) still sees a race, not theft."""
    assert post_login(client, user).status_code == 200
    parent = refresh_cookie(client)
    naive_clock.advance(minutes=1)
    assert client.post(reverse("jwt_cookie_auth:refresh")).status_code == 200

    naive_clock.advance(seconds=-behind)
    replay = Client()
    replay.cookies[names()[1]] = parent
    assert replay.post(reverse("jwt_cookie_auth:refresh")).status_code == status


def test_clock_conversions_respect_time_zone_and_fold(naive: None) -> None:
    # The repeated hour: the same wall time twice, told apart by ``fold``.
    first = datetime(2026, 11, 1, 1, 30)
    second = first.replace(fold=1)
    assert clock.timestamp(second) - clock.timestamp(first) == 3600
    assert clock.from_timestamp(int(clock.timestamp(second))).fold == 1
    assert clock.from_timestamp(0) == datetime(1969, 12, 31, 19, 0)
    # Elapsed-time arithmetic across both DST changes.
    later = clock.after(BEFORE_FALL_BACK, timedelta(minutes=5))
    assert (later, later.fold) == (datetime(2026, 11, 1, 1, 3), 1)
    assert clock.after(AFTER_SPRING_FORWARD, timedelta(minutes=5)) == datetime(2026, 3, 8, 3, 3)
    assert clock.after(BEFORE_FALL_BACK, -timedelta(minutes=5)) == datetime(2026, 11, 1, 1, 53)
    # JSON: an instant with an offset, the same as with USE_TZ = True.
    assert clock.isoformat(BEFORE_FALL_BACK) == "2026-11-01T05:58:00+00:00"


def test_clock_keeps_aware_utc_with_use_tz(settings: Any) -> None:
    settings.USE_TZ = True
    moment = datetime(2026, 11, 1, 5, 58, tzinfo=UTC)
    assert clock.after(moment, timedelta(minutes=5)) == datetime(2026, 11, 1, 6, 3, tzinfo=UTC)
    assert clock.from_timestamp(int(moment.timestamp())) == moment
    assert clock.from_timestamp(0).tzinfo is not None
    assert clock.isoformat(moment) == "2026-11-01T05:58:00+00:00"
