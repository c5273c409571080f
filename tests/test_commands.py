"""The management commands: ``jwt_force_logout`` and ``jwt_flush_expired``."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from jwt_cookie_auth import revocation, tokens
from jwt_cookie_auth.cookie_names import refresh_cookie_name
from jwt_cookie_auth.issuing import start_session
from jwt_cookie_auth.models import BlacklistedToken, LoginSession, RevokeReason
from tests.conftest import FakeClock, api_status, make_user, new_session

SESSION_TABLE = LoginSession._meta.db_table
BLACKLIST_TABLE = BlacklistedToken._meta.db_table


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


# --- jwt_force_logout ------------------------------------------------------------------


def test_force_logout_command_revokes_every_session_of_the_named_users(db: None) -> None:
    """jwt_force_logout A B ends all sessions of A and B at their next request, not C's."""
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    held = {u.pk: [new_session(u), new_session(u)] for u in (alice, bob, carol)}
    for pair in held.values():
        assert all(api_status(access) == 200 for access in pair)

    output = run("jwt_force_logout", alice.get_username(), bob.get_username())

    assert f"{alice.get_username()}: 2 session(s) revoked;" in output
    assert "their Django sessions end on their next request." in output
    for user in (alice, bob):
        assert all(api_status(access) == 401 for access in held[user.pk])
        reasons = set(
            LoginSession.objects.filter(user=user).values_list("revoke_reason", flat=True)
        )
        assert reasons == {RevokeReason.COMMAND}
    assert all(api_status(access) == 200 for access in held[carol.pk])


def test_force_logout_command_with_unknown_username_revokes_nothing(db: None) -> None:
    """One wrong name is a CommandError and nobody is logged out."""
    alice = make_user("alice")
    access = new_session(alice)
    with pytest.raises(CommandError, match="nobody-here"):
        run("jwt_force_logout", alice.get_username(), "nobody-here")
    assert LoginSession.objects.filter(revoked_at__isnull=False).count() == 0
    assert api_status(access) == 200


def test_force_logout_command_requires_a_username(db: None) -> None:
    with pytest.raises(CommandError):
        run("jwt_force_logout")


def test_force_logout_command_for_user_without_sessions(db: None) -> None:
    """A known user with no sessions is fine: zero revoked."""
    alice = make_user("alice")
    assert "0 session(s) revoked" in run("jwt_force_logout", alice.get_username())


# --- jwt_flush_expired -----------------------------------------------------------------


def make_row(user: Any, now: Any, *, expires_in: timedelta, revoked: bool = False) -> LoginSession:
    return LoginSession.objects.create(
        user=user,
        created_at=now - timedelta(days=2),
        last_used_at=now - timedelta(days=2),
        expires_at=now + expires_in,
        absolute_expires_at=now + timedelta(days=12),
        refresh_jti=tokens.new_jti(),
        refresh_issued_at=now - timedelta(days=2),
        revoked_at=now - timedelta(hours=1) if revoked else None,
        revoke_reason=RevokeReason.LOGOUT if revoked else "",
    )


def blacklist(session: LoginSession, now: Any, *, expires_in: timedelta) -> BlacklistedToken:
    return BlacklistedToken.objects.create(
        jti=tokens.new_jti(),
        session=session,
        expires_at=now + expires_in,
        blacklisted_at=now - timedelta(days=1),
        reason="rotated",
    )


@pytest.fixture
def rows(user: Any, clock: FakeClock) -> dict[str, list[Any]]:
    """7 expired sessions, 7 expired blacklist rows, and rows that must survive."""
    now = clock.now()
    live = make_row(user, now, expires_in=timedelta(hours=3))
    keep = [
        live,
        make_row(user, now, expires_in=timedelta(hours=3), revoked=True),
        # Expired, but within LEEWAY: a token may still be accepted, keep the row.
        make_row(user, now, expires_in=-timedelta(seconds=5)),
    ]
    keep_blacklist = [blacklist(live, now, expires_in=timedelta(hours=2))]
    expired = [make_row(user, now, expires_in=-timedelta(hours=i + 1)) for i in range(7)]
    expired_blacklist = [blacklist(live, now, expires_in=-timedelta(hours=i + 1)) for i in range(7)]
    return {
        "keep": keep,
        "keep_blacklist": keep_blacklist,
        "expired": expired,
        "expired_blacklist": expired_blacklist,
    }


def deletes_from(table: str, queries: list[dict[str, str]]) -> int:
    return sum(1 for q in queries if q["sql"].startswith(f'DELETE FROM "{table}"'))


def test_flush_deletes_expired_rows_in_batches(rows: dict[str, list[Any]]) -> None:
    """--batch-size 2 with 7 expired rows: 4 DELETEs per table, live rows untouched."""
    with CaptureQueriesContext(connection) as ctx:
        output = run("jwt_flush_expired", "--batch-size", "2")

    assert set(LoginSession.objects.values_list("pk", flat=True)) == {r.pk for r in rows["keep"]}
    assert set(BlacklistedToken.objects.values_list("pk", flat=True)) == {
        r.pk for r in rows["keep_blacklist"]
    }
    assert "login sessions: 7 deleted." in output
    assert "blacklisted tokens: 7 deleted." in output
    queries = ctx.captured_queries
    assert deletes_from(SESSION_TABLE, queries) == 4, [q["sql"] for q in queries]
    # The blacklist's own pass is batched too (cascades from sessions may add more).
    assert deletes_from(BLACKLIST_TABLE, queries) >= 4


def test_flush_never_deletes_live_or_revoked_unexpired_rows(user: Any, clock: FakeClock) -> None:
    """Rows that can still matter stay: live sessions and revoked-but-unexpired ones."""
    live_access = new_session(user)
    revoked_access = new_session(user)
    revocation.revoke_session(tokens.decode(revoked_access, tokens.ACCESS).sid, RevokeReason.LOGOUT)
    run("jwt_flush_expired")
    assert LoginSession.objects.count() == 2
    assert api_status(live_access) == 200
    assert api_status(revoked_access) == 401


def test_flush_dry_run_deletes_nothing(rows: dict[str, list[Any]]) -> None:
    """--dry-run reports the counts and deletes nothing."""
    sessions, blacklisted = LoginSession.objects.count(), BlacklistedToken.objects.count()
    with CaptureQueriesContext(connection) as ctx:
        output = run("jwt_flush_expired", "--dry-run", "--batch-size", "2")
    assert LoginSession.objects.count() == sessions
    assert BlacklistedToken.objects.count() == blacklisted
    assert "7 would be deleted" in output
    assert not [q for q in ctx.captured_queries if q["sql"].startswith("DELETE")]


def test_flush_rejects_a_zero_batch_size(db: None) -> None:
    with pytest.raises(CommandError):
        run("jwt_flush_expired", "--batch-size", "0")


def test_token_of_a_flushed_session_is_rejected(user: Any, clock: FakeClock) -> None:
    """A session row that is gone counts as revoked: its tokens never come back to life."""
    issued = start_session(RequestFactory().post("/auth/login/"), user)
    sid = str(issued.session.pk)
    clock.advance(days=2)
    run("jwt_flush_expired")
    assert not LoginSession.objects.filter(pk=sid).exists()
    # A token for the flushed family that would otherwise verify (signed, unexpired).
    unexpired_access = tokens.encode(
        tokens.ACCESS,
        sub=str(user.pk),
        sid=sid,
        jti=tokens.new_jti(),
        issued_at=clock.now(),
        expires_at=clock.now() + timedelta(minutes=5),
    )
    revocation.get_cache().clear()
    assert revocation.is_session_revoked(sid) is True
    assert api_status(unexpired_access) == 401
    refresh = Client()
    refresh.cookies[refresh_cookie_name()] = issued.refresh
    assert refresh.post(reverse("jwt_cookie_auth:refresh")).status_code == 401
