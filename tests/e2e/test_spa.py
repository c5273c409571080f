"""The demo SPA and the shipped JavaScript client in headless Chromium (issue 3, tests 1-5, 7).

The server's access token lives 3 s, so expiry really happens during a test; requests
are counted at the network layer (Playwright's request/response events of the context).
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.e2e.harness import ACCESS_SECONDS, GRACE_SECONDS, JWT_PATTERN, DemoServer, Traffic
from tests.e2e.spa import (
    REFRESH_COOKIE,
    TOKEN_COOKIES,
    click_and_wait_for_result,
    log_in,
    open_spa,
    readme_screenshot,
    settle,
    token_cookies,
    wait_signed_out,
    wait_until_expired,
)

pytestmark = pytest.mark.e2e


def test_1_login_sets_httponly_cookies_that_javascript_and_bodies_never_show(
    browsing: Any, demo_server: DemoServer
) -> None:
    """Login through the page: both token cookies HttpOnly, Secure, SameSite=Lax; no
    token in document.cookie, in the Cookie Store API, or in any response body."""
    context = browsing.context()
    traffic = Traffic(context)
    page = open_spa(context, demo_server)
    info = log_in(page, "jar")
    settle(page)

    jar = token_cookies(context, demo_server)
    assert set(jar) == set(TOKEN_COOKIES)
    for cookie in jar.values():
        assert cookie["httpOnly"] is True
        assert cookie["secure"] is True
        assert cookie["sameSite"] == "Lax"
        assert cookie["domain"] == "localhost"
        assert cookie["path"] == "/"

    visible = page.evaluate("document.cookie")
    assert "csrftoken=" in visible  # JavaScript does see ordinary cookies...
    for name, cookie in jar.items():  # ...but neither token cookie, by name or value
        assert name not in visible
        assert cookie["value"] not in visible
    store_names = page.evaluate("cookieStore.getAll().then(all => all.map(c => c.name))")
    assert "csrftoken" in store_names
    assert not set(store_names) & set(TOKEN_COOKIES)

    assert {"access", "refresh"}.isdisjoint(info)
    checked = 0
    for response in traffic.responses:
        if not response.url.startswith(demo_server.url) or 300 <= response.status < 400:
            continue
        body = response.body()
        for cookie in jar.values():
            assert cookie["value"].encode() not in body, response.url
        assert not JWT_PATTERN.search(body), response.url
        checked += 1
    paths = {exchange.path for exchange in traffic.exchanges}
    assert {"/spa/", "/auth/session/", "/auth/login/", "/auth/sessions/"} <= paths
    assert checked >= 5


def test_2_five_concurrent_calls_at_expiry_make_exactly_one_refresh(
    browsing: Any, demo_server: DemoServer, record_counts: Any
) -> None:
    """After the access token expires the page keeps working, and five concurrent API
    calls produce exactly one POST /auth/refresh/ (single flight), then five retries.
    Before refreshing, the first call is sent once more under the cross-tab lock (a 401
    here: no other tab refreshed), so /api/me/ sees six 401s."""
    context = browsing.context()
    traffic = Traffic(context)
    page = open_spa(context, demo_server)
    info = log_in(page, "five")
    wait_until_expired(page)

    mark = traffic.mark()
    assert click_and_wait_for_result(page, "#call-api-5") == "200, 200, 200, 200, 200"
    settle(page)
    page.evaluate("window.scrollTo(0, 0)")
    readme_screenshot(page, "spa-demo")

    seen = traffic.since(mark)
    refreshes = traffic.since(mark, "/auth/refresh/")
    api = traffic.since(mark, "/api/me/")
    assert [r.status for r in refreshes] == [200]
    assert sorted(r.status or 0 for r in api) == [200] * 5 + [401] * 6
    assert len(seen) == 12, traffic.summary(mark)
    row = demo_server.session_row(info["session_id"])
    assert row["revoked_at"] is None
    assert row["rotations"] == 1
    record_counts(
        api_401=6, refresh=len(refreshes), total=len(seen), requests=traffic.summary(mark)
    )

    # The page still works on the renewed token: one more call, no refresh.
    mark = traffic.mark()
    page.click("#reload-sessions")
    assert click_and_wait_for_result(page, "#call-api") == "200"
    settle(page)
    assert not traffic.since(mark, "/auth/refresh/")


LOCKLESS = "Object.defineProperty(Navigator.prototype, 'locks', {get: () => undefined})"
# Test instrumentation: the page's fetch() keeps POST /auth/refresh/ back until released.
HOLD_REFRESHES = """(() => {
  const realFetch = window.fetch.bind(window);
  let release;
  const gate = new Promise((resolve) => { release = resolve; });
  window.heldRefreshes = 0;
  window.releaseRefreshes = () => release();
  window.fetch = async (input, init) => {
    const request = new Request(input, init);
    if (request.method === "POST" && new URL(request.url).pathname === "/auth/refresh/") {
      window.heldRefreshes += 1;
      await gate;
    }
    return realFetch(request);
  };
})();"""


@pytest.mark.parametrize("coordination", ["web-locks", "storage-lease"])
def test_3_two_tabs_expiring_together_share_one_refresh(
    browsing: Any, demo_server: DemoServer, record_counts: Any, coordination: str
) -> None:
    """Two tabs whose access token expires together both keep working: one refresh for
    both (Web Locks, or the localStorage lease without them); nothing is revoked."""
    username = "tabs" if coordination == "web-locks" else "tablease"
    context = browsing.context()
    context.add_init_script(HOLD_REFRESHES)
    if coordination == "storage-lease":
        context.add_init_script(LOCKLESS)
    traffic = Traffic(context)
    first = open_spa(context, demo_server)
    # Browser-session cookies: the expired access token itself reaches the server.
    info = log_in(first, username, remember=False)
    second = open_spa(context, demo_server)
    second.wait_for_selector('#spa[data-state="signed-in"]')
    second.wait_for_selector("#spa-sessions tbody tr")
    has_locks = coordination == "web-locks"
    for page in (first, second):
        assert page.evaluate("navigator.locks !== undefined") is has_locks

    # Both tabs click at the same wall-clock moment, just after the token expired.
    fire_at = first.evaluate("jwtClient.accessExpiresAt.getTime()") + 400
    mark = traffic.mark()
    for page in (first, second):
        page.evaluate("delete document.getElementById('api-result').dataset.statuses")
        page.evaluate(
            """(at) => setTimeout(() => document.getElementById('call-api').click(),
                                  at - Date.now())""",
            fire_at,
        )
    # Each page's fetch holds refresh requests back until released: however the two
    # clicks land in time, both tabs need a refresh while the first is under way.
    deadline = time.monotonic() + ACCESS_SECONDS + 10
    while len([e for e in traffic.since(mark, "/api/me/") if e.status == 401]) < 2:
        assert time.monotonic() < deadline, traffic.summary(mark)
        first.wait_for_timeout(50)
    first.wait_for_timeout(300)  # time for a second refresh to show up, if one were coming
    held = [page.evaluate("window.heldRefreshes") for page in (first, second)]
    assert sorted(held) == [0, 1]
    for page in (first, second):
        page.evaluate("window.releaseRefreshes()")
    for page in (first, second):
        page.wait_for_function(
            "document.getElementById('api-result').dataset.statuses !== undefined",
            timeout=(ACCESS_SECONDS + 10) * 1000,
        )
        assert page.evaluate("document.getElementById('api-result').dataset.statuses") == "200"
    settle(first)

    refreshes = traffic.since(mark, "/auth/refresh/")
    api = traffic.since(mark, "/api/me/")
    assert [r.status for r in refreshes] == [200], traffic.summary(mark)
    # Each tab's 401; the refreshing tab's retry under the lock (401) and its retry
    # after the refresh (200); the other tab's retry under the lock, with the new
    # cookies already in the shared jar (200): no second refresh.
    assert sorted(r.status or 0 for r in api) == [200, 200, 401, 401, 401], traffic.summary(mark)
    row = demo_server.session_row(info["session_id"])
    assert row["revoked_at"] is None
    assert row["revoke_reason"] in ("", None)
    assert row["rotations"] == 1
    assert demo_server.live_sessions(username) == 1
    # The tab that did not refresh learned about the new token from the other one.
    logs = [page.text_content("#event-log") for page in (first, second)]
    assert sorted("refresh (this-tab)" in log for log in logs) == [False, True]
    assert sorted("refresh (other-tab)" in log for log in logs) == [False, True]
    seen = traffic.since(mark)
    record_counts(
        api_401=3, refresh=len(refreshes), total=len(seen), requests=traffic.summary(mark)
    )


def test_4_admin_force_logout_ends_the_tab_with_a_logout_event_and_no_loop(
    browsing: Any, demo_server: DemoServer, record_counts: Any
) -> None:
    """Force logout from the admin (another context, as staff): the victim's next
    action is one 401 (and one refused refresh if the access cookie had expired), then
    the logged-out page, whose logout event says "admin". No loop."""
    admin = browsing.context().new_page()
    admin.goto(f"{demo_server.url}/admin/login/?next=/admin/auth/user/")
    admin.fill("#id_username", "admin")
    admin.fill("#id_password", "admin")
    admin.click("input[type=submit]")
    admin.wait_for_url("**/admin/auth/user/")

    victim_context = browsing.context()
    traffic = Traffic(victim_context)
    victim = open_spa(victim_context, demo_server)
    info = log_in(victim, "forced")

    admin.check(f'input.action-select[value="{info["user"]["id"]}"]')
    admin.select_option("select[name=action]", "force_logout")
    readme_screenshot(admin, "admin-force-logout")
    admin.click("button[name=index]")
    message = admin.text_content(".messagelist .success")
    assert message is not None
    assert "Forced logout of 1 user: 1 JWT session revoked" in message

    mark = traffic.mark()
    assert click_and_wait_for_result(victim, "#call-api") == "SessionExpiredError"
    notice = wait_signed_out(victim)
    assert "Your session has ended" in notice
    settle(victim, 2000)  # time for a refresh loop to show itself, if there were one

    seen = traffic.since(mark)
    exchanges = [f"{e.method} {e.path} {e.status}" for e in seen]
    # A live access cookie's 401 names the reason itself (and deletes the cookies): no
    # refresh. Once the browser dropped it (3 s), the call is retried under the lock
    # (another tab might have refreshed), then the refused refresh names the reason.
    assert exchanges in (
        ["GET /api/me/ 401"],
        ["GET /api/me/ 401", "GET /api/me/ 401", "POST /auth/refresh/ 401"],
    ), exchanges
    assert victim.evaluate("jwtClient.expired") is True
    assert "logout: admin (this-tab)" in (victim.text_content("#event-log") or "")
    assert "an administrator signed you out" in notice
    assert token_cookies(victim_context, demo_server) == {}
    assert demo_server.session_row(info["session_id"])["revoke_reason"] == "admin"
    refreshes = len([e for e in seen if e.path == "/auth/refresh/"])
    record_counts(
        api_401=len(seen) - refreshes,
        refresh=refreshes,
        total=len(seen),
        requests=traffic.summary(mark),
    )

    # Further clicks reject at once: still no refresh.
    mark = traffic.mark()
    victim.evaluate("jwtClient.fetch('/api/me/').catch(error => error.name)")
    settle(victim)
    assert [e.path for e in traffic.since(mark)] == ["/api/me/"]


def test_5_replayed_refresh_token_after_grace_logs_out_thief_and_victim(
    browsing: Any, demo_server: DemoServer
) -> None:
    """A refresh token copied from the jar and replayed from another context after the
    grace period: theft detected, the family revoked, both end up logged out."""
    victim_context = browsing.context()
    victim_traffic = Traffic(victim_context)
    victim = open_spa(victim_context, demo_server)
    info = log_in(victim, "theft")
    stolen = token_cookies(victim_context, demo_server)[REFRESH_COOKIE]

    # The victim's client rotates the refresh token on its next call after expiry.
    wait_until_expired(victim)
    assert click_and_wait_for_result(victim, "#call-api") == "200"
    rotated_at = time.monotonic()
    assert token_cookies(victim_context, demo_server)[REFRESH_COOKIE]["value"] != stolen["value"]
    assert demo_server.session_row(info["session_id"])["rotations"] == 1

    thief_context = browsing.context()
    thief_traffic = Traffic(thief_context)
    attributes = ("name", "value", "domain", "path", "httpOnly", "secure", "sameSite")
    thief_context.add_cookies([{key: stolen[key] for key in attributes}])
    thief = open_spa(thief_context, demo_server)
    time.sleep(max(0.0, GRACE_SECONDS + 0.6 - (time.monotonic() - rotated_at)))
    assert time.monotonic() - rotated_at > GRACE_SECONDS
    outcome = thief.evaluate("jwtClient.refresh().then(() => 'renewed', error => error.name)")
    assert outcome == "SessionExpiredError"
    assert [e.status for e in thief_traffic.exchanges if e.path == "/auth/refresh/"] == [401]
    assert "Your session has ended" in wait_signed_out(thief)
    assert token_cookies(thief_context, demo_server) == {}

    row = demo_server.session_row(info["session_id"])
    assert row["revoke_reason"] == "reuse_detected"
    assert "Refresh token reuse detected" in demo_server.log()

    mark = victim_traffic.mark()
    assert click_and_wait_for_result(victim, "#call-api") == "SessionExpiredError"
    assert "a stolen refresh token was replayed" in wait_signed_out(victim)
    settle(victim)
    assert [f"{e.method} {e.path} {e.status}" for e in victim_traffic.since(mark)] in (
        ["GET /api/me/ 401"],  # a live access cookie: its 401 says reuse_detected
        ["GET /api/me/ 401", "GET /api/me/ 401", "POST /auth/refresh/ 401"],
    )
    assert token_cookies(victim_context, demo_server) == {}


def test_7_logout_removes_the_token_cookies_from_the_jar(
    browsing: Any, demo_server: DemoServer
) -> None:
    """The page's Log out button: the browser's jar loses both token cookies, the
    session is revoked, the API answers 401, and the other tab shows the logged-out
    view too (told by the first tab, without a request of its own)."""
    context = browsing.context()
    traffic = Traffic(context)
    page = open_spa(context, demo_server)
    info = log_in(page, "bye")
    other_tab = open_spa(context, demo_server)
    other_tab.wait_for_selector('#spa[data-state="signed-in"]')
    assert set(token_cookies(context, demo_server)) == set(TOKEN_COOKIES)

    settle(page)
    mark = traffic.mark()
    page.click("#spa-logout-here")
    assert wait_signed_out(page) == "You logged out."
    assert wait_signed_out(other_tab) == "You logged out."
    assert "logout: logout (other-tab)" in (other_tab.text_content("#event-log") or "")
    settle(page)
    assert traffic.summary(mark) == ["POST /auth/logout/ 204"]

    assert token_cookies(context, demo_server) == {}
    assert "csrftoken" in {c["name"] for c in context.cookies(demo_server.url)}
    assert demo_server.session_row(info["session_id"])["revoke_reason"] == "logout"
    assert page.evaluate("fetch('/api/me/').then(response => response.status)") == 401


def test_proactive_refresh_renews_before_expiry_without_a_401(
    browsing: Any, demo_server: DemoServer
) -> None:
    """With refreshAhead the client renews ahead of expiry: past the first token's
    lifetime the API answers 200 at once, and no request ever got a 401."""
    context = browsing.context()
    traffic = Traffic(context)
    page = open_spa(context, demo_server, ahead=30)
    log_in(page, "ahead")
    first_expiry = page.evaluate("jwtClient.accessExpiresAt.getTime()")
    assert "the client renews it at" in (page.text_content("#spa-renewal") or "")
    page.wait_for_timeout(max(0, first_expiry - page.evaluate("Date.now()")) + 500)

    assert click_and_wait_for_result(page, "#call-api") == "200"
    settle(page)
    refreshes = [e.status for e in traffic.exchanges if e.path == "/auth/refresh/"]
    assert refreshes
    assert set(refreshes) == {200}
    assert all(e.status != 401 for e in traffic.exchanges), traffic.summary()
    assert page.evaluate("jwtClient.accessExpiresAt.getTime()") > first_expiry
