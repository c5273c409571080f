"""Cookie tossing in headless Chromium (issue 9, item 9).

The demo is reached as ``app.site.localhost``; the attacker's page is a sibling,
``evil.site.localhost`` (Chromium resolves every ``*.localhost`` to this machine and
treats it as a secure context, so Secure and prefixed cookies work over HTTP). The
attacker logs in with their own account and plants their token cookies with
``Domain=site.localhost`` from script on the sibling, as a user-content or compromised
subdomain can.

- With the default ``__Host-`` names the browser refuses the planted cookies.
- With the prefix turned off, Chromium sends the victim's host-only cookie and the
  planted one under the same name (victim's first); Django would keep the last. The
  server answers 401 and writes no cookie, so the victim never acts as the attacker
  and keeps their own cookies.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import harness
from tests.e2e.harness import DemoServer, OtherSite, Traffic
from tests.e2e.spa import log_in

pytestmark = pytest.mark.e2e

SITE = "site.localhost"

# Sets every cookie in ?cookies (JSON: name -> value) for the parent domain.
TOSS_PAGE = """<!doctype html>
<title>Free stickers</title>
<script>
  const cookies = JSON.parse(new URLSearchParams(location.search).get("cookies"));
  for (const [name, value] of Object.entries(cookies)) {
    document.cookie = `${name}=${value}; Domain=site.localhost; Path=/; Secure; SameSite=Lax`;
  }
  document.title = "tossed";
</script>
"""


@pytest.fixture(scope="module")
def unprefixed_server(
    template_database: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DemoServer]:
    """The demo with COOKIE_NAME_PREFIX="" (plain jwt_access/jwt_refresh names)."""
    server = harness.start_demo_server(
        template_database,
        tmp_path_factory.mktemp("unprefixed"),
        "unprefixed",
        JWT_DEMO_COOKIE_NAME_PREFIX="",
    )
    yield server
    server.stop()


def app_url(server: DemoServer, path: str) -> str:
    return f"http://app.{SITE}:{server.port}{path}"


def login_on_app(context: Any, server: DemoServer, username: str) -> Any:
    page = context.new_page()
    page.goto(app_url(server, "/spa/?ahead=0"))
    page.wait_for_selector('#spa:not([data-state="loading"])')
    log_in(page, username)
    return page


TOKEN_NAMES = ("jwt_access", "jwt_refresh")


def token_jar(context: Any, server: DemoServer) -> dict[str, dict[str, Any]]:
    cookies = context.cookies(app_url(server, "/"))
    return {c["name"]: c for c in cookies if c["name"].endswith(TOKEN_NAMES)}


def toss(context: Any, other_site: OtherSite, cookies: dict[str, str]) -> None:
    other_site.add("/toss.html", TOSS_PAGE)
    page = context.new_page()
    query = json.dumps(cookies)
    page.goto(f"http://evil.{SITE}:{other_site.port}/toss.html?cookies={query}")
    page.wait_for_function("document.title === 'tossed'")
    page.close()


def who_am_i(page: Any) -> dict[str, Any]:
    answer: dict[str, Any] = page.evaluate(
        """async () => {
            const r = await fetch("/api/me/", {credentials: "include"});
            return {status: r.status, body: await r.text()};
        }"""
    )
    return answer


def attacker_tokens(browsing: Any, server: DemoServer) -> dict[str, str]:
    context = browsing.context()
    login_on_app(context, server, "tosser")
    return {name: c["value"] for name, c in token_jar(context, server).items()}


def test_9_host_prefixed_cookies_cannot_be_planted_by_a_sibling(
    browsing: Any, demo_server: DemoServer, other_site: OtherSite
) -> None:
    stolen = attacker_tokens(browsing, demo_server)
    assert set(stolen) == {"__Host-jwt_access", "__Host-jwt_refresh"}
    context = browsing.context()
    page = login_on_app(context, demo_server, "tossed")
    before = token_jar(context, demo_server)
    toss(context, other_site, stolen)
    after = token_jar(context, demo_server)
    assert after == before  # Chromium refused every Domain= __Host- cookie
    assert not [c for c in context.cookies() if c["domain"] == f".{SITE}"]
    me = who_am_i(page)
    assert me["status"] == 200
    assert json.loads(me["body"])["user"]["username"] == "tossed"


def test_9_a_planted_duplicate_never_makes_the_victim_the_attacker(
    browsing: Any, unprefixed_server: DemoServer, other_site: OtherSite
) -> None:
    server = unprefixed_server
    context = browsing.context()
    traffic = Traffic(context)
    page = login_on_app(context, server, "tossed")
    victim = {name: c["value"] for name, c in token_jar(context, server).items()}
    # Fresh attacker tokens (the demo's access token lives 3 s), planted at once.
    stolen = attacker_tokens(browsing, server)
    assert set(stolen) == {"jwt_access", "jwt_refresh"}
    toss(context, other_site, stolen)
    planted = [c for c in context.cookies() if c["domain"] == f".{SITE}"]
    assert {c["name"] for c in planted} == {"jwt_access", "jwt_refresh"}
    me = who_am_i(page)
    # Chromium sent both; Django alone would have taken the attacker's (the last).
    assert me["status"] == 401, me
    assert "tosser" not in me["body"]
    # The client's refresh on that 401 is refused too, and nothing is written.
    page.click("#call-api")
    page.wait_for_selector('#spa[data-state="signed-out"]')
    refreshes = [e for e in traffic.exchanges if e.path == "/auth/refresh/"]
    assert refreshes
    assert {e.status for e in refreshes} == {401}
    host_only = {
        c["name"]: c["value"]
        for c in context.cookies(app_url(server, "/"))
        if c["domain"] == f"app.{SITE}" and c["name"].endswith(TOKEN_NAMES)
    }
    # Nothing was written over them (the 3-second access cookie may have expired).
    assert host_only.items() <= victim.items()
    assert host_only["jwt_refresh"] == victim["jwt_refresh"]
