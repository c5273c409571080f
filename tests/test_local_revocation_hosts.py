"""LOCAL_REVOCATION_CACHE across hosts: a revocation is refused once Redis's push arrives.

Real hosts on this machine (``tests/netns_hosts.py``): three network namespaces, each
running the live test project under gunicorn (one sync worker, the local revocation
cache on), against one private PostgreSQL cluster and one redis-server in the root
namespace. A user logs in and out through host A; the replays go to another host,
whose worker holds the session's "live" marker in its local copy:

- host B reaches Redis over its veth pair only (microseconds): the logout's closing
  ``PING`` is served after Redis has written B's invalidation, so B refuses the very
  first replay sent once the logout has returned;
- host C reaches Redis through a ``DelayLink`` that hands Redis's bytes to C
  ``DELAY`` late (the one-way latency from Redis to a host on another machine; this
  kernel has no ``tc netem``). C may accept replays until the push arrives, and the
  test measures that window: it is the latency, and never longer than the
  connection's own proof of life (``LOCAL_REVOCATION_CACHE_MAX_SILENCE``) allows.

Skipped locally, with the reason, where ``ip netns`` is not permitted or the
PostgreSQL binaries or redis-server are missing; a failure under ``CI=true``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from jwt_cookie_auth.cookie_names import access_cookie_name
from tests import netns_hosts
from tests.conftest import PASSWORD
from tests.servers import HttpSession, command_calls

pytestmark = [pytest.mark.postgres]

#: Trials without added latency: each a fresh login, warm-up, logout and replay.
DIRECT_TRIALS = 100
#: Trials through the delay link, each replaying for ``REPLAY_FOR`` after the logout.
DELAYED_TRIALS = 20
#: The one-way latency added from Redis to host C.
DELAY = 0.030
#: LOCAL_REVOCATION_CACHE_MAX_SILENCE (the default): a worker trusts its copy only
#: while a PONG (or a reply) to a command sent within that long has come back.
MAX_SILENCE = 0.250
#: Expected: refused about ``3 * DELAY`` after the logout (the push lands ``DELAY`` after
#: Redis wrote it, then the refusing request reads Redis twice through the link: the
#: ``MGET`` of the dropped marker and ``refusal_reason``'s ``GET``). Whatever the
#: latency, no replay *sent* more than ``MAX_SILENCE`` after the logout can pass:
#: trusting the copy then takes the PONG of a PING that Redis served after the push,
#: so the push is read first.
#: How long each delayed trial keeps replaying: past the bound, to see none pass there.
REPLAY_FOR = DELAY + MAX_SILENCE + 0.05


@dataclass
class Hosts:
    a: netns_hosts.AppHost
    b: netns_hosts.AppHost
    c: netns_hosts.AppHost
    link: netns_hosts.DelayLink
    redis_port: int
    username: str
    username_field: str


@pytest.fixture(scope="module")
def hosts() -> Iterator[Hosts]:
    netns_hosts.require()
    # Named, not left to the default: a host without the local cache would pass every
    # assertion here by reading Redis each time (the warm-up below would catch it).
    env = {"JWT_LIVE_LOCAL_REVOCATION_CACHE": "1"}
    with netns_hosts.netns_hosts([0, 0, 0], env, delayed={2}) as fleet:
        out = fleet.python(
            "from django.contrib.auth import get_user_model\n"
            "from tests.conftest import make_user\n"
            "print(get_user_model().USERNAME_FIELD)\n"
            f"print(make_user('roamer', {PASSWORD!r}).get_username())\n"
        ).split()
        a, b, c = fleet.hosts
        yield Hosts(a, b, c, fleet.links[2], fleet.redis.port, out[1], out[0])


def marker_reads(hosts: Hosts) -> int:
    """Return how many GET and MGET commands Redis has served so far (all clients)."""
    return command_calls(hosts.redis_port, "get", "mget")


def log_in(hosts: Hosts) -> tuple[HttpSession, dict[str, str]]:
    """Log in through host A; return the browser and its access cookie alone."""
    browser = HttpSession(hosts.a.address)
    reply = browser.login(hosts.username_field, hosts.username, PASSWORD)
    assert reply.status == 200, reply.body
    return browser, {access_cookie_name(): browser.cookies[access_cookie_name()]}


def warm(hosts: Hosts, host: netns_hosts.AppHost, access: dict[str, str]) -> HttpSession:
    """Use the session on ``host`` until its worker answers from its local copy.

    Proof, not hope: a request that Redis saw no GET or MGET for (nothing else talks to
    Redis meanwhile) was answered from the copy; without it, every lookup is one.
    """
    tab = HttpSession(host.address)
    for _ in range(50):
        before = marker_reads(hosts)
        reply = tab.get("/api/me/", cookies=access)
        assert reply.status == 200, reply.body
        if marker_reads(hosts) == before:
            return tab
    raise AssertionError(f"{host.namespace.name} never answered from its local copy")


def log_out(browser: HttpSession) -> float:
    """Log out through host A; return the moment (perf_counter) the logout returned."""
    reply = browser.post("/auth/logout/", csrf=True)
    returned = time.perf_counter()
    assert reply.status == 204, reply.body
    return returned


def test_a_revoked_session_is_refused_at_once_on_a_host_without_added_latency(
    hosts: Hosts,
) -> None:
    """Logged out through A, the old access cookie replayed at B at once: always a 401.

    B's worker holds the "live" marker locally each time (``warm``), so only Redis's
    invalidation push can make it refuse; the logout's ``PING`` returns after Redis has
    written that push, which crosses B's veth pair before the replay does.
    """
    started = time.perf_counter()
    statuses: list[int] = []
    for _ in range(DIRECT_TRIALS):
        browser, access = log_in(hosts)
        tab = warm(hosts, hosts.b, access)
        log_out(browser)
        statuses.append(tab.get("/api/me/", cookies=access).status)
    elapsed = time.perf_counter() - started
    accepted = statuses.count(200)
    print(
        f"\n[direct] host B: {DIRECT_TRIALS} trials, {accepted} replays accepted, "
        f"{elapsed / DIRECT_TRIALS * 1000:.0f} ms a trial"
    )
    assert statuses == [401] * DIRECT_TRIALS, statuses


@dataclass
class Replay:
    sent: float  # seconds after the logout returned
    answered: float
    status: int


def delayed_trial(hosts: Hosts) -> list[Replay]:
    """Log out through A; replay at C in a tight loop for ``REPLAY_FOR``; return them."""
    browser, access = log_in(hosts)
    tab = warm(hosts, hosts.c, access)
    returned = log_out(browser)
    replays: list[Replay] = []
    # Until one replay was *sent* past the bound: that one must be refused.
    while not replays or replays[-1].sent < REPLAY_FOR:
        sent = time.perf_counter() - returned
        status = tab.get("/api/me/", cookies=access).status
        replays.append(Replay(sent, time.perf_counter() - returned, status))
    return replays


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def test_a_revocation_reaches_a_worker_on_another_host_when_redis_push_does(
    hosts: Hosts,
) -> None:
    """Through a link with ``DELAY`` of one-way latency from Redis, C refuses in time.

    Proves, for every trial: the replays are refused from some point on and never
    accepted after it; no replay sent more than ``MAX_SILENCE`` after the logout's
    return is accepted (the bound, whatever the latency); and the first refusal comes
    no sooner than ``DELAY`` (the link was in force: the refusing request had to read
    Redis through it). Wall-clock speed is printed, never asserted. Prints the window measured:
    how long after the logout C still accepted the session, and how many replays.
    """
    hosts.link.set_delay(DELAY)
    try:
        trials = [delayed_trial(hosts) for _ in range(DELAYED_TRIALS)]
    finally:
        hosts.link.set_delay(0)
    summaries = []
    for replays in trials:
        assert {r.status for r in replays} <= {200, 401}, replays
        first = next((i for i, r in enumerate(replays) if r.status == 401), None)
        assert first is not None, replays
        assert all(r.status == 401 for r in replays[first:]), replays
        refused = replays[first]
        # The bound, on send times (a correctness bound: a slow machine only sends later):
        # no replay sent more than MAX_SILENCE after the logout returned is accepted.
        assert all(r.status == 401 for r in replays if r.sent > MAX_SILENCE), replays
        # The link was in force: the refusing request read Redis through it.
        assert refused.answered >= DELAY, replays
        summaries.append((first, refused, replays[first - 1].sent if first else None))
    accepted = [first for first, _, _ in summaries]
    refused_sent = [refused.sent for _, refused, _ in summaries]
    refused_answered = [refused.answered for _, refused, _ in summaries]
    last_accepted = [sent for _, _, sent in summaries if sent is not None]
    print(
        f"\n[delayed {ms(DELAY)}] host C: {DELAYED_TRIALS} trials, "
        f"{sum(accepted)} replays accepted in all (per trial {accepted})\n"
        f"  first refused replay sent after the logout: median "
        f"{ms(statistics.median(refused_sent))}, max {ms(max(refused_sent))}\n"
        f"  first refusal answered: median {ms(statistics.median(refused_answered))}, "
        f"max {ms(max(refused_answered))}\n"
        "  last accepted replay sent: "
        + (
            f"median {ms(statistics.median(last_accepted))}, max {ms(max(last_accepted))}"
            if last_accepted
            else "none accepted"
        )
    )
