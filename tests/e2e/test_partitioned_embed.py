"""The demo inside an ``<iframe>`` on another site, in Chromium with third-party cookies
blocked (issue 11, CHIPS).

The embedding page is served by the "other site" on ``127.0.0.1:<port>``; the demo's
``/spa/`` in its iframe is ``localhost:<port>``, another site. A fresh Playwright context
of this Chromium blocks third-party cookies (test 8 of ``test_cross_origin.py`` shows the
"UserPreferences" blocked reason), so only Partitioned cookies can be stored there.
Secure cookies work over plain HTTP because ``localhost`` is a secure context.

These tests run in their own Chromium, launched as Chrome ships: Playwright turns
Chromium's third-party *storage* partitioning off (``--disable-features=...,
ThirdPartyStoragePartitioning,...``, microsoft/playwright#32230), and with third-party
cookies blocked that denies the iframe ``localStorage`` and Web Locks, which Chrome
(partitioned storage since 115), Firefox and Safari all give an embed. Chromium takes
the last ``--disable-features`` switch, so ours replaces Playwright's list: the same
list (Playwright 1.65) without that feature. ``test_the_embed_browser_is_like_chrome``
pins the result.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import harness
from tests.e2e.conftest import Browsing
from tests.e2e.harness import DemoServer, OtherSite, Traffic
from tests.e2e.spa import TOKEN_COOKIES, log_in, settle, wait_until_expired
from tests.e2e.test_cross_origin import CALL_API, LOGIN, open_front_end

pytestmark = pytest.mark.e2e

EMBEDDER = "127.0.0.1"
DEVICE_COOKIE = "__Host-jwt_device"


# Playwright 1.65's --disable-features list for Chromium, minus ThirdPartyStoragePartitioning.
PLAYWRIGHT_DISABLED_FEATURES = [
    "AvoidUnnecessaryBeforeUnloadCheckSync",
    "DestroyProfileOnBrowserClose",
    "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable",
    "LensOverlay",
    "MediaRouter",
    "PaintHolding",
    "AvoidCorsURLLoaderRestartOnRedirect",
    "OptimizationHints",
    "NetworkTimeServiceQuerying",
    "AimEnabled",
    "PreconnectToSearch",
]


@pytest.fixture(scope="module")
def chrome_like_browser(playwright: Any) -> Iterator[Any]:
    """Chromium with third-party storage partitioning on, as Chrome ships it."""
    instance = playwright.chromium.launch(
        executable_path=shutil.which("chromium"),
        headless=True,
        args=[
            *harness.CHROMIUM_ARGS,
            "--disable-features=" + ",".join(PLAYWRIGHT_DISABLED_FEATURES),
        ],
        timeout=60_000,
    )
    yield instance
    instance.close()


@pytest.fixture
def embed_browsing(
    request: pytest.FixtureRequest, playwright: Any, chrome_like_browser: Any, tmp_path: Path
) -> Iterator[Browsing]:
    """The ``browsing`` fixture of conftest.py, in ``chrome_like_browser``."""
    session = Browsing(playwright, chrome_like_browser, tmp_path)
    yield session
    session.finish(request.node.name)
    assert not session.page_errors, f"uncaught JavaScript errors: {session.page_errors}"


@pytest.fixture(scope="module")
def partitioned_server(
    template_database: Path, tmp_path_factory: pytest.TempPathFactory, other_site: OtherSite
) -> Iterator[DemoServer]:
    """The demo in cross-site mode with ``COOKIE_PARTITIONED`` (JWT_DEMO_PARTITIONED=1)."""
    server = harness.start_demo_server(
        template_database,
        tmp_path_factory.mktemp("partitioned"),
        "partitioned",
        JWT_DEMO_CROSS_SITE_ORIGINS=other_site.url(EMBEDDER, ""),
        JWT_DEMO_PARTITIONED="1",
    )
    yield server
    server.stop()


def open_embed(context: Any, other_site: OtherSite, server: DemoServer) -> tuple[Any, Any]:
    """Open the other site's page that frames the demo's /spa/; return (page, frame)."""
    path = f"/embed-{server.port}.html"
    other_site.add(
        path,
        "<!doctype html><title>A shop that embeds the demo</title>"
        f'<iframe src="{server.url}/spa/?ahead=0" width="980" height="700"></iframe>',
    )
    page = context.new_page()
    page.goto(other_site.url(EMBEDDER, path))
    return page, spa_frame(page, server)


def spa_frame(page: Any, server: DemoServer) -> Any:
    page.wait_for_selector("iframe")
    frame = page.frame(url=lambda url: url.startswith(f"{server.url}/spa/"))
    assert frame is not None, [f.url for f in page.frames]
    frame.wait_for_selector('#spa:not([data-state="loading"])')
    return frame


def jar(context: Any, server: DemoServer) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in context.cookies(server.url)}


def test_login_inside_a_cross_site_iframe_sticks_with_partitioned_cookies(
    embed_browsing: Any, partitioned_server: DemoServer, other_site: OtherSite
) -> None:
    """COOKIE_PARTITIONED on: the login in the iframe stores the token, device and CSRF
    cookies in the embedder's partition; API calls, the refresh on 401 and a reload of
    the embedding page keep the user signed in; the demo opened directly (its own
    partition) is signed out; logout in the iframe deletes the partitioned cookies."""
    context = embed_browsing.context()
    traffic = Traffic(context)
    page, frame = open_embed(context, other_site, partitioned_server)
    assert frame.get_attribute("#spa", "data-state") == "signed-out"

    info = log_in(frame, "embedded")
    assert info["user"]["username"] == "embedded"
    cookies = jar(context, partitioned_server)
    assert {*TOKEN_COOKIES, DEVICE_COOKIE, "csrftoken"} <= set(cookies), cookies
    for name in (*TOKEN_COOKIES, DEVICE_COOKIE, "csrftoken"):
        cookie = cookies[name]
        assert cookie.get("partitionKey") == f"http://{EMBEDDER}", cookie
        assert (cookie["secure"], cookie["sameSite"]) == (True, "None"), cookie

    # The access token dies; the next call is a 401, the client refreshes (partitioned
    # cookies replaced in place), and the call is retried.
    wait_until_expired(frame)
    mark = traffic.mark()
    assert frame.evaluate("jwtClient.fetch('/api/me/').then(r => r.status)") == 200
    settle(frame)
    # (How often the client retries the 401 before refreshing is the client's business.)
    refreshes = [e.status for e in traffic.since(mark, "/auth/refresh/") if e.method == "POST"]
    assert refreshes == [200], traffic.summary(mark)
    assert {c["name"] for c in context.cookies(partitioned_server.url)} >= set(TOKEN_COOKIES)

    page.reload()
    frame = spa_frame(page, partitioned_server)
    assert frame.get_attribute("#spa", "data-state") == "signed-in"
    assert frame.text_content("#spa-user") == "embedded"

    # The same browser on the demo itself: another partition, no session there.
    direct = context.new_page()
    direct.goto(f"{partitioned_server.url}/spa/?ahead=0")
    direct.wait_for_selector('#spa:not([data-state="loading"])')
    assert direct.get_attribute("#spa", "data-state") == "signed-out"
    direct.close()

    frame.evaluate("jwtClient.logout()")
    settle(frame)
    assert not set(TOKEN_COOKIES) & set(jar(context, partitioned_server))
    assert partitioned_server.live_sessions("embedded") == 0


def test_login_inside_a_cross_site_iframe_fails_without_partitioned_cookies(
    embed_browsing: Any, cross_site_server: DemoServer, other_site: OtherSite
) -> None:
    """The same embed with COOKIE_PARTITIONED off (SameSite=None; Secure cookies as test
    8 uses): Chromium drops every cookie in the iframe, the login is refused by Django's
    CSRF check, and nothing is stored."""
    context = embed_browsing.context()
    _page, frame = open_embed(context, other_site, cross_site_server)
    assert frame.get_attribute("#spa", "data-state") == "signed-out"
    frame.fill("#spa-login input[name=username]", "embedded")
    frame.fill("#spa-login input[name=password]", harness.E2E_PASSWORD)
    frame.click("#spa-login button[type=submit]")
    frame.wait_for_function("document.getElementById('spa-login-error').textContent !== ''")
    assert frame.text_content("#spa-login-error") == "CSRF Failed: CSRF cookie not set."
    assert frame.get_attribute("#spa", "data-state") == "signed-out"
    assert context.cookies(cross_site_server.url) == []
    assert cross_site_server.live_sessions("embedded") == 0


def test_cross_site_front_end_works_with_third_party_cookies_blocked(
    embed_browsing: Any, partitioned_server: DemoServer, other_site: OtherSite
) -> None:
    """Setup 2 of the README (front end on another site calling the API with CORS and
    credentials), which test 8 shows refused where third-party cookies are blocked:
    with COOKIE_PARTITIONED the API's cookies land in the front end's partition, and
    login, API calls and the refresh after expiry work."""
    context = embed_browsing.context()
    traffic = Traffic(context)
    page = open_front_end(context, other_site, partitioned_server)
    assert page.evaluate(LOGIN) == "login: xsite"
    keys = {c["name"]: c.get("partitionKey") for c in context.cookies(partitioned_server.url)}
    assert {name: keys.get(name) for name in (*TOKEN_COOKIES, "csrftoken")} == dict.fromkeys(
        (*TOKEN_COOKIES, "csrftoken"), f"http://{EMBEDDER}"
    )
    assert page.evaluate(CALL_API) == "GET /api/me/: HTTP 200"
    page.wait_for_timeout(
        max(0, page.evaluate("client.accessExpiresAt.getTime() - Date.now()")) + 300
    )
    mark = traffic.mark()
    assert page.evaluate(CALL_API) == "GET /api/me/: HTTP 200"
    settle(page)
    refreshes = [e.status for e in traffic.since(mark, "/auth/refresh/") if e.method == "POST"]
    assert refreshes == [200], traffic.summary(mark)


def test_the_embed_browser_is_like_chrome(
    embed_browsing: Any, partitioned_server: DemoServer, other_site: OtherSite
) -> None:
    """What the tests above rely on: in the iframe, storage works (partitioned, as in
    Chrome) while an unpartitioned third-party cookie is refused (blocked by default)."""
    context = embed_browsing.context()
    _page, frame = open_embed(context, other_site, partitioned_server)
    probe = """async () => {
      localStorage.setItem("probe", "1");
      const locked = await navigator.locks.request("probe", async () => "locked");
      document.cookie = "probe=1; Secure; SameSite=None; Path=/";
      document.cookie = "probe_p=1; Secure; SameSite=None; Path=/; Partitioned";
      return [localStorage.getItem("probe"), locked, document.cookie];
    }"""
    stored, locked, cookies = frame.evaluate(probe)
    assert (stored, locked) == ("1", "locked")
    assert "probe_p=1" in cookies
    assert "probe=1" not in cookies.split("; ")
