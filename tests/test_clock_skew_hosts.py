"""Two app hosts with skewed clocks on one PostgreSQL and one Redis (issue 14, item 4).

Real hosts on this machine (``tests/netns_hosts.py``): each a network namespace
joined by a veth pair, running the live test project under gunicorn, against one
private PostgreSQL cluster and one redis-server in the root namespace. Host "behind"
runs on the real clock, host "ahead" 9 s ahead of it (``JWT_TEST_CLOCK_SKEW_SECONDS``,
applied to the package's injected clock; the database's clock is untouched, as with
real hosts). ``ROTATION_GRACE_PERIOD`` is 3 s so the test waits seconds, not minutes;
9 s of skew is inside the default ``LEEWAY``. Skipped locally, with the reason, where
``ip netns`` is not permitted or the PostgreSQL binaries are missing; a failure under
``CI=true``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from jwt_cookie_auth.cookie_names import refresh_cookie_name
from jwt_cookie_auth.models import RevokeReason
from tests import netns_hosts
from tests.conftest import PASSWORD
from tests.servers import HttpSession

pytestmark = [pytest.mark.postgres]

GRACE_SECONDS = 3
SKEW_SECONDS = 9


@dataclass
class Hosts:
    behind: netns_hosts.AppHost
    ahead: netns_hosts.AppHost
    usernames: list[str]
    username_field: str


@pytest.fixture(scope="module")
def hosts() -> Iterator[Hosts]:
    netns_hosts.require()
    with netns_hosts.netns_hosts(
        [0, SKEW_SECONDS], {"JWT_LIVE_GRACE_SECONDS": str(GRACE_SECONDS)}
    ) as fleet:
        names = [f"skew{i}" for i in range(4)]
        out = fleet.python(
            "from django.contrib.auth import get_user_model\n"
            "from tests.conftest import make_user\n"
            "print(get_user_model().USERNAME_FIELD)\n"
            f"for name in {names!r}:\n"
            f"    print(make_user(name, {PASSWORD!r}).get_username())\n"
        ).split()
        behind, ahead = fleet.hosts
        yield Hosts(behind, ahead, out[1:], out[0])


def login(hosts: Hosts, host: netns_hosts.AppHost) -> HttpSession:
    browser = HttpSession(host.address)
    assert browser.login(hosts.username_field, hosts.usernames.pop(), PASSWORD).status == 200
    return browser


def on(host: netns_hosts.AppHost, browser: HttpSession, refresh: str) -> HttpSession:
    """A tab of ``browser`` holding ``refresh``, talking to ``host``."""
    tab = browser.copy()
    tab.address = host.address
    tab.cookies[refresh_cookie_name()] = refresh
    return tab


def test_race_rotated_on_the_host_behind_is_not_theft(hosts: Hosts) -> None:
    """Rotated on the host behind, the second tab reaches the host ahead 1 s later: forgiven.

    On each host's own clock the rotation looked 10 s old, past the 3 s window.
    """
    browser = login(hosts, hosts.behind)
    r0 = browser.cookies[refresh_cookie_name()]
    assert browser.post("/auth/refresh/", csrf=True).status == 200
    r1 = browser.cookies[refresh_cookie_name()]

    time.sleep(1)
    race = on(hosts.ahead, browser, r0).post("/auth/refresh/", csrf=True)

    assert race.status == 200, race.body
    assert race.set_cookies[refresh_cookie_name()] == r1
    assert on(hosts.behind, browser, r1).post("/auth/refresh/", csrf=True).status == 200


def test_replay_rotated_on_the_host_ahead_is_theft_after_the_window(hosts: Hosts) -> None:
    """Rotated on the host ahead, replayed on the host behind 4 s later: theft.

    On each host's own clock the rotation looked 5 s in the future, inside the window.
    """
    browser = login(hosts, hosts.behind)
    r0 = browser.cookies[refresh_cookie_name()]
    ahead = on(hosts.ahead, browser, r0)
    assert ahead.post("/auth/refresh/", csrf=True).status == 200
    r1 = ahead.cookies[refresh_cookie_name()]

    time.sleep(GRACE_SECONDS + 1)
    replay = on(hosts.behind, browser, r0).post("/auth/refresh/", csrf=True)

    assert replay.status == 401, replay.body
    assert replay.json()["reason"] == RevokeReason.REUSE_DETECTED.value
    assert on(hosts.ahead, browser, r1).post("/auth/refresh/", csrf=True).status == 401
