"""Rotation's grace window on app hosts whose clocks disagree (issue 14, item 4).

One host consumes a refresh token (writes ``rotated_at``), another serves the late
request that presents the predecessor. Each host's clock is ``clock.now`` shifted by
its skew; the database's clock is the ``clock`` fixture's (``db_clock``). Skews stay
within ``LEEWAY`` (10 s by default), so every token the other host issued is valid.

With each host judging on its own clock, a host 9 s behind the one that rotated
shrank the window by 9 s (a two-tab race 14 s later was theft, and revoked the
session), and a host 9 s ahead stretched it (a replay 16 s later was forgiven).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from jwt_cookie_auth.models import LoginSession, RevokeReason
from tests.conftest import FakeClock, login, refresh_cookie

GRACE = 15  # seconds: the default ROTATION_GRACE_PERIOD
# (skew of the host that rotates, skew of the host the late request reaches), seconds.
SKEWS = [(-9, 0), (0, 9), (9, 0), (0, -9), (-5, 5), (5, -5)]


class Hosts:
    """Which app host serves the next request: ``clock.now`` runs at its skew."""

    def __init__(self, fake: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
        self.fake = fake
        self.monkeypatch = monkeypatch

    def on(self, skew: float) -> None:
        def skewed() -> datetime:
            return self.fake.now() + timedelta(seconds=skew)

        self.monkeypatch.setattr("jwt_cookie_auth.clock.now", skewed)


@pytest.fixture
def hosts(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Hosts:
    return Hosts(clock, monkeypatch)


def refresh_with(token: str) -> Any:
    """POST to the refresh endpoint from a browser holding only ``token``."""
    client = Client()
    client.cookies[refresh_cookie_name()] = token
    return client.post(reverse("jwt_cookie_auth:refresh"))


def rotate_on(hosts: Hosts, skew: float, client: Client) -> tuple[str, str]:
    """Refresh ``client`` on the host with ``skew``; return the successor (access, refresh)."""
    hosts.on(skew)
    response = client.post(reverse("jwt_cookie_auth:refresh"))
    assert response.status_code == 200, response.content
    return (
        response.cookies[access_cookie_name()].value,
        response.cookies[refresh_cookie_name()].value,
    )


@pytest.mark.parametrize(("rotating", "late"), SKEWS)
@pytest.mark.parametrize("delay", [1, GRACE - 1])
def test_two_tab_race_inside_the_window_is_never_theft(
    client: Client, user: Any, clock: FakeClock, hosts: Hosts, rotating: int, late: int, delay: int
) -> None:
    """The second tab, on another host, gets the successor already issued: no revocation."""
    login(client, user)
    r0 = refresh_cookie(client)
    _, r1 = rotate_on(hosts, rotating, client)

    clock.advance(seconds=delay)
    hosts.on(late)
    response = refresh_with(r0)

    assert response.status_code == 200, response.content
    assert response.cookies[refresh_cookie_name()].value == r1
    session = LoginSession.objects.get()
    assert session.revoked_at is None
    hosts.on(0)
    api = Client()
    api.cookies[access_cookie_name()] = response.cookies[access_cookie_name()].value
    assert api.get("/api/me/").status_code == 200


@pytest.mark.parametrize(("rotating", "late"), SKEWS)
@pytest.mark.parametrize("delay", [GRACE + 1, 60])
def test_replay_after_the_window_is_theft_whatever_the_skew(
    client: Client, user: Any, clock: FakeClock, hosts: Hosts, rotating: int, late: int, delay: int
) -> None:
    """A consumed token shown after the window revokes the family, also on a host ahead."""
    login(client, user)
    r0 = refresh_cookie(client)
    a1, r1 = rotate_on(hosts, rotating, client)

    clock.advance(seconds=delay)
    hosts.on(late)
    replay = refresh_with(r0)

    assert replay.status_code == 401
    assert replay.json()["reason"] == RevokeReason.REUSE_DETECTED.value
    assert LoginSession.objects.get().revoke_reason == RevokeReason.REUSE_DETECTED
    # The victim's newest tokens died too.
    assert refresh_with(r1).status_code == 401
    api = Client()
    api.cookies[access_cookie_name()] = a1
    assert api.get("/api/me/").status_code == 401
