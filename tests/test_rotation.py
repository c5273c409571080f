"""Refresh-token rotation and theft detection (SECURITY.md items 21-24, 27).

Each refresh consumes the token and issues a successor in the same family. A consumed
token replayed after ``ROTATION_GRACE_PERIOD`` is theft: the family dies, newest
tokens included. Inside the grace period only the immediate predecessor is forgiven,
and it gets the successor that was already issued, byte for byte.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.dispatch import Signal
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from jwt_cookie_auth import pk_lookup, rotation, tokens
from jwt_cookie_auth.conf import app_settings
from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from jwt_cookie_auth.models import BlacklistedToken, LoginSession, RevokeReason
from jwt_cookie_auth.signals import refresh_token_reused, session_revoked
from tests.conftest import FakeClock, access_cookie, login, make_user, refresh_cookie

GRACE = timedelta(seconds=15)  # the default ROTATION_GRACE_PERIOD


def capture(signal: Signal) -> Iterator[list[dict[str, Any]]]:
    received: list[dict[str, Any]] = []

    def handler(sender: Any, **kwargs: Any) -> None:
        received.append(kwargs)

    signal.connect(handler, weak=False)
    yield received
    signal.disconnect(handler)


@pytest.fixture
def reused() -> Iterator[list[dict[str, Any]]]:
    yield from capture(refresh_token_reused)


@pytest.fixture
def revoked() -> Iterator[list[dict[str, Any]]]:
    yield from capture(session_revoked)


def refresh_with(token: str) -> HttpResponse:
    """POST to the refresh endpoint from a fresh browser holding only ``token``."""
    client = Client()
    client.cookies[refresh_cookie_name()] = token
    return client.post(reverse("jwt_cookie_auth:refresh"))


def new_refresh(response: HttpResponse) -> str:
    assert response.status_code == 200, response.content
    return response.cookies[refresh_cookie_name()].value


def new_access(response: HttpResponse) -> str:
    assert response.status_code == 200, response.content
    return response.cookies[access_cookie_name()].value


def api_status(access: str) -> int:
    """Status of an API call from a browser holding only this access cookie."""
    client = Client()
    client.cookies[access_cookie_name()] = access
    return client.get(reverse("me")).status_code


def claims(token: str) -> tokens.Claims:
    return tokens.decode(token, tokens.REFRESH)


def session_of(token: str) -> LoginSession:
    return LoginSession.objects.get(pk=claims(token).sid)


def assert_family_dead(refresh: str, access: str) -> None:
    session = session_of(refresh)
    assert session.revoked_at is not None
    assert session.revoke_reason == RevokeReason.REUSE_DETECTED
    assert refresh_with(refresh).status_code == 401
    assert api_status(access) == 401


@pytest.fixture
def logged_in_tokens(client: Client, user: Any, clock: FakeClock) -> tuple[str, str]:
    """(access, refresh) of a fresh login at the fake clock's time."""
    login(client, user)
    return access_cookie(client), refresh_cookie(client)


def rf_request() -> Any:
    return RequestFactory().post("/auth/refresh/", REMOTE_ADDR="203.0.113.7")


# --- Rotation -------------------------------------------------------------------------


def test_refresh_issues_new_jti_in_same_family(
    client: Client, logged_in_tokens: tuple[str, str], clock: FakeClock
) -> None:
    """A refresh consumes the token: new jti, same session id, same subject."""
    _, r0 = logged_in_tokens
    clock.advance(minutes=1)
    response = client.post(reverse("jwt_cookie_auth:refresh"))
    r1 = new_refresh(response)
    old, new = claims(r0), claims(r1)
    assert new.jti != old.jti
    assert new.sid == old.sid
    assert new.sub == old.sub
    session = session_of(r1)
    assert session.refresh_jti == new.jti
    assert session.previous_jti == old.jti
    # The new access token belongs to the same family and works.
    assert tokens.decode(new_access(response), tokens.ACCESS).sid == old.sid
    assert api_status(new_access(response)) == 200


def test_refresh_renews_idle_expiry_but_not_absolute_expiry(
    client: Client, logged_in_tokens: tuple[str, str], clock: FakeClock
) -> None:
    """Rotation pushes the idle expiry forward; the absolute expiry never moves."""
    _, r0 = logged_in_tokens
    before = session_of(r0)
    clock.advance(hours=10)
    r1 = new_refresh(client.post(reverse("jwt_cookie_auth:refresh")))
    after = session_of(r1)
    assert after.absolute_expires_at == before.absolute_expires_at
    assert after.expires_at == clock.now() + app_settings.REFRESH_TOKEN_LIFETIME
    assert after.expires_at > before.expires_at
    assert after.last_used_at == clock.now()
    assert claims(r1).expires_at == after.expires_at


def test_refresh_expiry_is_capped_at_absolute_session_expiry(
    client: Client, logged_in_tokens: tuple[str, str], clock: FakeClock
) -> None:
    """Refreshing daily for two weeks never outlives SESSION_MAX_LIFETIME."""
    _, r0 = logged_in_tokens
    absolute = session_of(r0).absolute_expires_at
    assert absolute == clock.now() + app_settings.SESSION_MAX_LIFETIME
    token = r0
    step = timedelta(hours=23)
    while clock.now() + step < absolute:
        clock.advance(hours=23)
        token = new_refresh(client.post(reverse("jwt_cookie_auth:refresh")))
        assert claims(token).expires_at <= absolute
    # The last rotations were capped: the token expires exactly with the session.
    assert claims(token).expires_at == absolute
    assert session_of(token).expires_at == absolute
    assert session_of(token).absolute_expires_at == absolute
    access = new_access(refresh_with(token))
    assert tokens.decode(access, tokens.ACCESS).expires_at <= absolute
    clock.advance(seconds=(absolute - clock.now()).total_seconds() + 60)
    assert client.post(reverse("jwt_cookie_auth:refresh")).status_code == 401


def test_refresh_after_idle_expiry_is_rejected(
    logged_in_tokens: tuple[str, str], clock: FakeClock
) -> None:
    """A refresh token unused for longer than REFRESH_TOKEN_LIFETIME is dead."""
    _, r0 = logged_in_tokens
    clock.advance(days=1, minutes=1)
    assert refresh_with(r0).status_code == 401


# --- Theft detection ------------------------------------------------------------------


def test_replay_after_grace_revokes_whole_family(
    client: Client,
    logged_in_tokens: tuple[str, str],
    clock: FakeClock,
    reused: list[dict[str, Any]],
    revoked: list[dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A consumed token replayed after the grace window kills the newest tokens too."""
    _, r0 = logged_in_tokens
    r0_jti = claims(r0).jti
    response = client.post(reverse("jwt_cookie_auth:refresh"))
    r1, a1 = new_refresh(response), new_access(response)
    assert api_status(a1) == 200
    clock.advance(seconds=GRACE.total_seconds() + 1)
    caplog.set_level(logging.WARNING, logger="jwt_cookie_auth")

    replay = refresh_with(r0)

    assert replay.status_code == 401
    assert replay.cookies[refresh_cookie_name()].value == ""
    assert_family_dead(r1, a1)
    session = session_of(r1)
    assert len(reused) == 1
    assert reused[0]["user_id"] == session.user_id
    assert reused[0]["session_id"] == session.pk
    assert reused[0]["jti"] == r0_jti
    assert reused[0]["request"] is not None
    assert [(r["reason"], r["session_ids"]) for r in revoked] == [
        (RevokeReason.REUSE_DETECTED, [session.pk])
    ]
    warnings = [
        r for r in caplog.records if r.name == "jwt_cookie_auth" and r.levelno == logging.WARNING
    ]
    assert len(warnings) == 1, caplog.records
    assert str(session.pk) in warnings[0].getMessage()


def test_grace_window_boundary(
    client: Client, logged_in_tokens: tuple[str, str], clock: FakeClock
) -> None:
    """Exactly ROTATION_GRACE_PERIOD after the rotation is still forgiven."""
    _, r0 = logged_in_tokens
    r1 = new_refresh(client.post(reverse("jwt_cookie_auth:refresh")))
    clock.advance(seconds=GRACE.total_seconds())
    assert new_refresh(refresh_with(r0)) == r1
    clock.advance(seconds=1)
    assert refresh_with(r0).status_code == 401
    assert session_of(r1).revoke_reason == RevokeReason.REUSE_DETECTED


@pytest.mark.parametrize("grace_seconds", [0, 60])
def test_grace_period_setting_is_honoured(
    settings: Any, user: Any, clock: FakeClock, grace_seconds: int
) -> None:
    """ROTATION_GRACE_PERIOD decides how long the predecessor is forgiven."""
    settings.JWT_COOKIE_AUTH = {"ROTATION_GRACE_PERIOD": timedelta(seconds=grace_seconds)}
    client = Client()
    login(client, user)
    r0 = refresh_cookie(client)
    r1 = new_refresh(client.post(reverse("jwt_cookie_auth:refresh")))
    clock.advance(seconds=30)
    if grace_seconds == 0:
        assert refresh_with(r0).status_code == 401
        assert refresh_with(r1).status_code == 401
    else:
        assert new_refresh(refresh_with(r0)) == r1


def test_replay_inside_grace_gets_the_same_successor(
    client: Client,
    logged_in_tokens: tuple[str, str],
    clock: FakeClock,
    reused: list[dict[str, Any]],
    revoked: list[dict[str, Any]],
) -> None:
    """Two tabs refreshing at once: the loser gets the winner's refresh token."""
    _, r0 = logged_in_tokens
    response = client.post(reverse("jwt_cookie_auth:refresh"))
    r1, a1 = new_refresh(response), new_access(response)
    row_after_first = session_of(r1)
    clock.advance(seconds=5)

    second = refresh_with(r0)

    assert new_refresh(second) == r1
    second_access = new_access(second)
    assert tokens.decode(second_access, tokens.ACCESS).sid == claims(r1).sid
    # No second live chain: the row still names the first successor.
    row = session_of(r1)
    assert row.refresh_jti == row_after_first.refresh_jti == claims(r1).jti
    assert row.previous_jti == claims(r0).jti
    assert row.revoked_at is None
    assert BlacklistedToken.objects.filter(session=row).count() == 1
    # The family is live: every token still works and rotates on.
    assert api_status(a1) == 200
    assert api_status(second_access) == 200
    r2 = new_refresh(refresh_with(r1))
    assert claims(r2).jti not in {claims(r0).jti, claims(r1).jti}
    assert reused == []
    assert revoked == []


def test_grandparent_inside_grace_is_theft(
    client: Client,
    logged_in_tokens: tuple[str, str],
    clock: FakeClock,
    reused: list[dict[str, Any]],
) -> None:
    """Only the immediate predecessor is forgiven; two rotations back is theft."""
    _, r0 = logged_in_tokens
    client.post(reverse("jwt_cookie_auth:refresh"))
    clock.advance(seconds=2)
    response = client.post(reverse("jwt_cookie_auth:refresh"))
    r2, a2 = new_refresh(response), new_access(response)
    clock.advance(seconds=2)

    assert refresh_with(r0).status_code == 401

    assert_family_dead(r2, a2)
    assert [r["jti"] for r in reused] == [claims(r0).jti]


def test_replay_against_revoked_family_is_plain_rejection(
    client: Client,
    logged_in_tokens: tuple[str, str],
    clock: FakeClock,
    reused: list[dict[str, Any]],
) -> None:
    """Once the family is dead, more replays are 401 without new alarms."""
    _, r0 = logged_in_tokens
    client.post(reverse("jwt_cookie_auth:refresh"))
    clock.advance(minutes=1)
    assert refresh_with(r0).status_code == 401
    assert refresh_with(r0).status_code == 401
    assert len(reused) == 1


def test_each_consumed_jti_is_blacklisted_with_its_expiry(
    client: Client, logged_in_tokens: tuple[str, str], clock: FakeClock
) -> None:
    """Every rotation leaves a blacklist row for the consumed token, until its exp."""
    _, r0 = logged_in_tokens
    consumed = [r0]
    for _ in range(3):
        clock.advance(minutes=10)
        consumed.append(new_refresh(client.post(reverse("jwt_cookie_auth:refresh"))))
    current = consumed.pop()
    rows = {row.jti: row for row in BlacklistedToken.objects.all()}
    assert set(rows) == {claims(t).jti for t in consumed}
    for token in consumed:
        row = rows[claims(token).jti]
        assert row.expires_at == claims(token).expires_at
        assert str(row.session_id) == claims(token).sid
    assert claims(current).jti not in rows


def test_the_database_stores_no_usable_token(
    client: Client, logged_in_tokens: tuple[str, str]
) -> None:
    """Session and blacklist rows hold ids and times, never a token."""
    access, r0 = logged_in_tokens
    r1 = new_refresh(client.post(reverse("jwt_cookie_auth:refresh")))
    with connection.cursor() as cursor:
        dumped = ""
        for model in (LoginSession, BlacklistedToken):
            cursor.execute(f"SELECT * FROM {model._meta.db_table}")
            dumped += repr(cursor.fetchall())
    for token in (access, r0, r1):
        assert token not in dumped
        assert token.split(".")[2] not in dumped


# --- Users and sessions that are gone -------------------------------------------------


def test_refresh_for_inactive_user_is_rejected(
    user: Any, logged_in_tokens: tuple[str, str]
) -> None:
    """CVE-2024-22513: an inactive user's refresh token is refused even if the session lives."""
    access, r0 = logged_in_tokens
    # update() skips the signals: only the refresh-time user check can catch this.
    get_user_model()._default_manager.filter(pk=user.pk).update(is_active=False)
    assert session_of(r0).revoked_at is None
    assert refresh_with(r0).status_code == 401
    assert api_status(access) == 401


def test_refresh_for_deactivated_user_is_rejected(
    user: Any, logged_in_tokens: tuple[str, str]
) -> None:
    """Deactivating through save() ends the user's sessions."""
    _, r0 = logged_in_tokens
    user.is_active = False
    user.save()
    assert refresh_with(r0).status_code == 401


def test_refresh_for_deleted_user_is_rejected(user: Any, logged_in_tokens: tuple[str, str]) -> None:
    """A deleted user's refresh and access tokens are refused."""
    access, r0 = logged_in_tokens
    user.delete()
    assert refresh_with(r0).status_code == 401
    assert api_status(access) == 401


def test_refresh_of_logged_out_session_is_rejected(
    client: Client, logged_in_tokens: tuple[str, str], reused: list[dict[str, Any]]
) -> None:
    """After logout the refresh token is dead, and that is not reported as theft."""
    _, r0 = logged_in_tokens
    assert client.post(reverse("jwt_cookie_auth:logout")).status_code == 204
    response = refresh_with(r0)
    assert response.status_code == 401
    assert response.cookies[access_cookie_name()].value == ""
    assert reused == []


def test_access_token_cannot_refresh(logged_in_tokens: tuple[str, str]) -> None:
    """An access token in the refresh cookie is refused."""
    access, _ = logged_in_tokens
    assert refresh_with(access).status_code == 401


# --- rotate() directly: the subtle branches ---------------------------------------------


def test_rotate_twice_within_grace_returns_same_successor(
    logged_in_tokens: tuple[str, str], clock: FakeClock
) -> None:
    """Calling rotate() twice with one token re-mints the same successor."""
    _, r0 = logged_in_tokens
    first = rotation.rotate(r0, rf_request())
    clock.advance(seconds=3)
    second = rotation.rotate(r0, rf_request())
    assert second.refresh == first.refresh
    assert second.refresh_expires_at == first.refresh_expires_at
    assert second.access != first.access
    assert second.session.pk == first.session.pk
    assert BlacklistedToken.objects.count() == 1


def test_rotate_lost_race_returns_winners_successor(
    logged_in_tokens: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request that loses the conditional UPDATE serves the winner's token, no sibling."""
    _, r0 = logged_in_tokens
    real_load = rotation._load
    winner: list[Any] = []

    def load_then_lose(session_id: Any) -> Any:
        session = real_load(session_id)
        if not winner:
            # Another request consumes r0 between our SELECT and our UPDATE.
            monkeypatch.setattr(rotation, "_load", real_load)
            winner.append(rotation.rotate(r0, rf_request()))
            monkeypatch.setattr(rotation, "_load", load_then_lose)
        return session

    monkeypatch.setattr(rotation, "_load", load_then_lose)
    loser = rotation.rotate(r0, rf_request())

    assert len(winner) == 1
    assert loser.refresh == winner[0].refresh
    row = LoginSession.objects.get(pk=claims(r0).sid)
    assert row.refresh_jti == claims(winner[0].refresh).jti
    assert row.revoked_at is None
    assert list(BlacklistedToken.objects.values_list("jti", flat=True)) == [claims(r0).jti]


def test_rotate_raises_reuse_detected_after_grace(
    logged_in_tokens: tuple[str, str], clock: FakeClock
) -> None:
    """After the grace window rotate() raises RefreshReuseDetected and revokes."""
    _, r0 = logged_in_tokens
    successor = rotation.rotate(r0, rf_request())
    clock.advance(seconds=GRACE.total_seconds() + 1)
    with pytest.raises(rotation.RefreshReuseDetected):
        rotation.rotate(r0, rf_request())
    with pytest.raises(rotation.RefreshRejected):
        rotation.rotate(successor.refresh, rf_request())


def test_rotate_refuses_subject_that_does_not_own_session(
    logged_in_tokens: tuple[str, str],
) -> None:
    """A token whose sub differs from the session's user is refused (and not theft)."""
    _, r0 = logged_in_tokens
    other = make_user("mallory")
    original = claims(r0)
    forged = tokens.encode(
        tokens.REFRESH,
        sub=str(other.pk),
        sid=original.sid,
        jti=original.jti,
        issued_at=original.issued_at,
        expires_at=original.expires_at,
    )
    with pytest.raises(rotation.RefreshRejected) as excinfo:
        rotation.rotate(forged, rf_request())
    assert not isinstance(excinfo.value, rotation.RefreshReuseDetected)
    assert session_of(r0).revoked_at is None


def test_rotate_treats_a_user_deleted_between_the_two_reads_as_no_session(
    logged_in_tokens: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session row is read, then the user row is gone: refused, nothing rotated."""
    _, r0 = logged_in_tokens
    user_model = get_user_model()
    real = pk_lookup.get_by_pk

    def user_gone(model: Any, pk: Any, using: str | None = None) -> Any:
        return None if model is user_model else real(model, pk, using)

    monkeypatch.setattr(pk_lookup, "get_by_pk", user_gone)
    with pytest.raises(rotation.RefreshRejected, match="unknown session"):
        rotation.rotate(r0, rf_request())
    monkeypatch.undo()
    assert session_of(r0).refresh_jti == claims(r0).jti


@pytest.mark.parametrize("sid", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_rotate_refuses_malformed_or_unknown_session(
    logged_in_tokens: tuple[str, str], sid: str
) -> None:
    """A signed token naming a malformed or unknown session id is refused."""
    _, r0 = logged_in_tokens
    original = claims(r0)
    token = tokens.encode(
        tokens.REFRESH,
        sub=original.sub,
        sid=sid,
        jti=original.jti,
        issued_at=original.issued_at,
        expires_at=original.expires_at,
    )
    with pytest.raises(rotation.RefreshRejected):
        rotation.rotate(token, rf_request())


def test_rotate_records_client_ip(logged_in_tokens: tuple[str, str]) -> None:
    """The session row shows where it was last refreshed from."""
    _, r0 = logged_in_tokens
    rotation.rotate(r0, rf_request())
    assert session_of(r0).ip_address == "203.0.113.7"


# --- Cost -----------------------------------------------------------------------------


def test_refresh_uses_a_small_fixed_number_of_queries(
    client: Client, logged_in_tokens: tuple[str, str], clock: FakeClock
) -> None:
    """One refresh is one short transaction: 4 statements between BEGIN and COMMIT.

    Two primary-key SELECTs (session, user), the consuming UPDATE and the blacklist
    INSERT: with BEGIN and COMMIT, the 6 statements the benchmark's target allows.
    """
    counts = []
    for _ in range(3):
        clock.advance(minutes=1)
        with CaptureQueriesContext(connection) as ctx:
            response = client.post(reverse("jwt_cookie_auth:refresh"))
        assert response.status_code == 200
        sql = [
            q["sql"]
            for q in ctx.captured_queries
            if q["sql"].split()[0].upper() not in {"BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"}
        ]
        assert len(sql) <= 4, "\n".join(sql)
        counts.append(len(sql))
    assert len(set(counts)) == 1, counts
    writes = [s for s in sql if s.split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}]
    assert len(writes) == 2, "\n".join(sql)  # consume (UPDATE) + blacklist (INSERT)
    print(f"SQL statements per refresh: {counts[0]}\n" + "\n".join(sql))
