"""The demo as a new user meets it, in Chromium at 1280 px (issue 11, "Demo" and "Admin").

One line of header and exactly one "Log out" on every page; no 404 (the favicon
included); a force-logged-out user told why on the page they land on; the back button
after a logout showing the login page, not a signed-in page from Chromium's
back/forward cache; one time format and zone on the SPA and the server pages; the
admin's sessions list fitting the window. The README's screenshots of the demo come
from here (``readme_screenshot``).

These run against their own server with the demo's defaults (``AUTO_REFRESH`` on) and
a 60-second access token, so no token expires during a test.
"""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import harness
from tests.e2e.harness import DemoServer, Traffic
from tests.e2e.spa import log_in, open_spa, readme_screenshot, settle

pytestmark = pytest.mark.e2e

WIDE = {"width": 1280, "height": 800}
USERS = [
    "polish_pages",
    "polish_forced",
    "polish_back",
    "polish_time",
    "polish_admin",
    "polish_locked",
]
UTC_TIME = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC"
# Long, real-world headers, so that the admin's Device column has something to fit.
USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.6778.135 Mobile Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.7; rv:133.0) Gecko/20100101 Firefox/133.0",
]


@pytest.fixture(scope="module")
def server(
    template_database: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DemoServer]:
    instance = harness.start_demo_server(
        template_database,
        tmp_path_factory.mktemp("polish"),
        "polish",
        JWT_DEMO_ACCESS_SECONDS="60",
        JWT_DEMO_AUTO_REFRESH="1",
    )
    script = (
        "from django.contrib.auth import get_user_model\n"
        "from django.contrib.auth.hashers import make_password\n"
        f"hashed = make_password({harness.E2E_PASSWORD!r})\n"
        f"for name in {USERS!r}:\n"
        "    get_user_model().objects.create(username=name, password=hashed)\n"
    )
    harness.manage(instance.database, "shell", "-c", script)
    yield instance
    instance.stop()


@pytest.fixture(scope="module")
def bfcache_browser(playwright: Any) -> Iterator[Any]:
    """Chromium as users run it: Playwright's launch turns the back/forward cache off
    (``--disable-back-forward-cache``, so that ``go_back`` always loads); this one has it."""
    instance = playwright.chromium.launch(
        executable_path=shutil.which("chromium"),
        headless=True,
        args=harness.CHROMIUM_ARGS,
        ignore_default_args=["--disable-back-forward-cache"],
        timeout=60_000,
    )
    yield instance
    instance.close()


def page_log_in(page: Any, server: DemoServer, username: str, next_path: str = "") -> None:
    """Log in through the server-rendered login page."""
    page.goto(f"{server.url}/login/" + (f"?next={next_path}" if next_path else ""))
    page.fill("#login-form input[name=username]", username)
    page.fill("#login-form input[name=password]", harness.E2E_PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"**{next_path or '/private/'}")


def admin_log_in(page: Any, server: DemoServer, next_path: str) -> None:
    page.goto(f"{server.url}/admin/login/?next={next_path}")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "admin")
    page.click("input[type=submit]")
    page.wait_for_url(f"**{next_path}")


def header_rows(page: Any) -> int:
    """How many lines the header's items take: a new line starts at an item that lies
    wholly below the items before it."""
    boxes: list[list[float]] = page.evaluate(
        """() => [...document.querySelectorAll('header > *')]
            .filter(el => el.offsetParent !== null)
            .map(el => { const box = el.getBoundingClientRect(); return [box.top, box.bottom]; })"""
    )
    rows = 0
    bottom = float("-inf")
    for top, item_bottom in sorted(boxes):
        if top >= bottom:
            rows += 1
            bottom = item_bottom
        else:
            bottom = max(bottom, item_bottom)
    return rows


def visible_log_out_buttons(page: Any) -> int:
    count: int = page.get_by_role("button", name="Log out", exact=True).filter(visible=True).count()
    return count


def test_every_page_has_a_one_line_header_and_one_log_out_button(
    browsing: Any, server: DemoServer
) -> None:
    context = browsing.context(viewport=WIDE)
    page = context.new_page()
    page.goto(f"{server.url}/login/")
    assert header_rows(page) == 1
    assert visible_log_out_buttons(page) == 0

    page_log_in(page, server, "polish_pages")
    for path in ["/", "/private/", "/sessions/"]:
        page.goto(f"{server.url}{path}")
        assert header_rows(page) == 1, path
        assert visible_log_out_buttons(page) == 1, path
        # "Log out everywhere" stays on the pages that offer it: a different button.
        if path != "/":
            assert page.get_by_role("button", name="Log out everywhere").is_visible()
    page.goto(f"{server.url}/private/")
    readme_screenshot(page, "demo-private-page")

    spa = open_spa(context, server)
    spa.wait_for_selector('#spa[data-state="signed-in"]')
    assert header_rows(spa) == 1
    assert visible_log_out_buttons(spa) == 1

    # The one button logs out.
    page.goto(f"{server.url}/private/")
    page.get_by_role("button", name="Log out", exact=True).click()
    page.wait_for_url(f"{server.url}/")
    assert "You are anonymous." in (page.text_content("#who") or "")


def test_no_page_meets_a_404_not_even_for_the_favicon(browsing: Any, server: DemoServer) -> None:
    """Chromium asks for /favicon.ico on every page that links no icon; Playwright does
    not report favicon requests, so the server's own log is read as well: all of it,
    since Chromium remembers a host's icon (or its 404) across contexts, so the
    request may have come from an earlier test of this module."""
    context = browsing.context(viewport=WIDE)
    traffic = Traffic(context)
    page = context.new_page()
    page.goto(f"{server.url}/")
    page_log_in(page, server, "polish_pages")
    for path in ["/", "/private/", "/sessions/", "/api/me/", "/spa/"]:
        page.goto(f"{server.url}{path}")
        settle(page, 200)
    admin = browsing.context(viewport=WIDE).new_page()
    admin_log_in(admin, server, "/admin/")
    settle(admin, 500)

    assert [e for e in traffic.summary() if e.endswith(" 404")] == []
    log = server.log()
    assert " 404 " not in log, log
    # The icon really was asked for: linked from the demo's pages, and at the
    # default path by the admin's pages, which link none.
    assert re.search(r'"GET /static/demo/favicon.svg HTTP/1.1" (200|304)', log), log
    assert re.search(r'"GET /favicon.ico HTTP/1.1" (200|304)', log), log


def test_a_force_logged_out_user_is_told_why(browsing: Any, server: DemoServer) -> None:
    """The administrator's Force logout, then the user's next click: the login page
    says an administrator signed them out (the refusal's reason ``admin``)."""
    victim = browsing.context(viewport=WIDE).new_page()
    page_log_in(victim, server, "polish_forced")

    admin = browsing.context(viewport=WIDE).new_page()
    admin_log_in(admin, server, "/admin/auth/user/?q=polish_forced")
    admin.check("input.action-select")
    admin.select_option("select[name=action]", "force_logout")
    admin.click("button[name=index]")
    assert "Forced logout of 1 user" in (admin.text_content(".messagelist .success") or "")

    victim.get_by_role("link", name="Your sessions").click()
    victim.wait_for_url("**/login/?next=/sessions/")
    notice = victim.locator('#messages [data-tags~="signed-out"]')
    assert notice.text_content() == (
        "Your session has ended: an administrator signed you out. Log in again."
    )
    assert "You are anonymous." in (victim.text_content("#who") or "")
    readme_screenshot(victim, "demo-signed-out")

    # Told once: the next page has no notice.
    victim.reload()
    assert victim.locator("#messages").count() == 0


def test_back_after_logout_shows_the_login_page_not_a_cached_signed_in_page(
    bfcache_browser: Any, server: DemoServer, record_counts: Any
) -> None:
    """With the back/forward cache on, as in a user's Chrome: log out on the private
    page, press Back. The signed-in page must not come back; the server is asked, and
    the browser lands on the login page, anonymous."""
    context = bfcache_browser.new_context(viewport=WIDE)
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Page.enable")
        not_restored: list[list[str]] = []
        cdp.on(
            "Page.backForwardCacheNotUsed",
            lambda event: not_restored.append(
                sorted(item["reason"] for item in event["notRestoredExplanations"])
            ),
        )
        page_log_in(page, server, "polish_back")
        assert "Signed in as" in (page.text_content("#who") or "")
        page.evaluate("window.stillTheSamePage = true")

        page.locator("header").get_by_role("button", name="Log out").click()
        page.wait_for_url(f"{server.url}/")
        # A page restored from the back/forward cache fires no "load": wait for commit.
        page.go_back(wait_until="commit")
        page.wait_for_url("**/login/?next=/private/")
        page.wait_for_selector("#who")

        assert page.evaluate("window.stillTheSamePage === true") is False
        assert "You are anonymous." in (page.text_content("#who") or "")
        assert not_restored, "Chromium did not even try its back/forward cache"
        # Why Chromium refused to restore it: the no-store page, whose HttpOnly
        # cookies changed (the logout).
        assert "MainResourceHasCacheControlNoStore" in not_restored[-1]
        record_counts(back_forward_cache_not_used=not_restored)
    finally:
        context.close()


def test_the_spa_and_the_server_pages_show_one_time_format_and_zone(
    browsing: Any, server: DemoServer
) -> None:
    """In a German browser in Los Angeles, the SPA and the sessions page write the
    same session's sign-in time the same way: ``YYYY-MM-DD HH:MM:SS UTC``."""
    context = browsing.context(viewport=WIDE, locale="de-DE", timezone_id="America/Los_Angeles")
    spa = open_spa(context, server)
    log_in(spa, "polish_time")
    spa_cells = spa.locator("#spa-sessions tbody tr.current td")
    spa_signed_in = spa_cells.nth(0).text_content() or ""
    spa_last_used = spa_cells.nth(1).text_content() or ""
    assert re.fullmatch(f"{UTC_TIME} \\(this browser\\)", spa_signed_in), spa_signed_in
    assert re.fullmatch(UTC_TIME, spa_last_used), spa_last_used
    assert re.fullmatch(UTC_TIME, spa.text_content("#spa-access-expires") or "")
    events = spa.locator("#event-log li").all_text_contents()
    assert events
    assert all(re.match(UTC_TIME, event) for event in events), events

    page = context.new_page()
    page.goto(f"{server.url}/sessions/")
    cells = page.locator("#sessions tr.current td")
    server_signed_in = " ".join((cells.nth(0).text_content() or "").split())
    assert server_signed_in == spa_signed_in
    assert re.fullmatch(UTC_TIME, cells.nth(2).text_content() or "")
    page.goto(f"{server.url}/private/")
    assert re.fullmatch(UTC_TIME, page.text_content("#access-expiry") or "")


def test_the_admin_sessions_list_fits_1280_px(browsing: Any, server: DemoServer) -> None:
    """Sessions with long User-Agent headers, one revoked by an administrator: no
    horizontal overflow, no cut column, and each row at most two lines tall."""
    for user_agent in USER_AGENTS:
        context = browsing.context(viewport=WIDE, user_agent=user_agent)
        page_log_in(context.new_page(), server, "polish_admin")
    admin = browsing.context(viewport=WIDE).new_page()
    admin_log_in(admin, server, "/admin/jwt_cookie_auth/loginsession/")

    rows = admin.locator("#result_list tbody tr")
    assert rows.count() >= len(USER_AGENTS)
    # The longest status there is: "Revoked (Forced logout by an administrator)".
    admin.locator("#result_list tbody input.action-select").first.check()
    admin.select_option("select[name=action]", "revoke_selected")
    admin.click("button[name=index]")
    admin.wait_for_selector(".messagelist .success")
    assert "by an administrator" in (admin.text_content("#result_list") or "")
    layout = admin.evaluate(
        """() => {
            const table = document.getElementById('result_list');
            const line = parseFloat(getComputedStyle(table.querySelector('tbody td')).lineHeight)
                || 1.4 * parseFloat(getComputedStyle(table).fontSize);
            const root = document.documentElement;
            return {
                pageScroll: root.scrollWidth - root.clientWidth,
                // Django wraps the table in a scrolling box: a wider table is cut there.
                tableWidth: table.getBoundingClientRect().width,
                boxWidth: table.parentElement.clientWidth,
                line,
                rowHeights: [...table.tBodies[0].rows].map(
                    row => row.getBoundingClientRect().height),
            };
        }"""
    )
    assert layout["pageScroll"] <= 0, layout
    assert layout["tableWidth"] <= layout["boxWidth"], layout
    padding_and_border = 18  # the admin's cells: 8 px above and below, a 1 px rule
    assert max(layout["rowHeights"]) <= 2 * layout["line"] + padding_and_border, layout
    readme_screenshot(admin, "admin-sessions")


def test_the_login_lockout_as_a_user_meets_it(browsing: Any, server: DemoServer) -> None:
    """What README "Login throttling" tells: wrong passwords for one name get 401
    until its window is full, then 429 with ``Retry-After``, the right password
    included, in any browser that never logged in as that user; the owner's browser,
    which holds a device cookie from an earlier login, still gets in."""
    owner = browsing.context(viewport=WIDE).new_page()
    page_log_in(owner, server, "polish_locked")
    owner.get_by_role("button", name="Log out", exact=True).click()
    owner.wait_for_url(f"{server.url}/")

    stranger = browsing.context(viewport=WIDE).new_page()
    stranger.goto(f"{server.url}/login/")

    def attempt(password: str) -> tuple[int, str, str | None]:
        stranger.fill("#login-form input[name=username]", "polish_locked")
        stranger.fill("#login-form input[name=password]", password)
        with stranger.expect_response("**/auth/login/") as answer:
            stranger.click("#login-form button[type=submit]")
        response = answer.value
        stranger.wait_for_function("document.getElementById('login-error').textContent !== ''")
        shown = stranger.text_content("#login-error") or ""
        stranger.evaluate("document.getElementById('login-error').textContent = ''")
        return response.status, shown, response.headers.get("retry-after")

    failures = []
    status, shown, retry_after = attempt("wrong")
    while status == 401 and len(failures) < 11:
        failures.append(shown)
        status, shown, retry_after = attempt("wrong")
    # "5/min" per username; a fixed window that ends during the loop allows 5 more.
    assert 5 <= len(failures) <= 10, failures
    assert set(failures) == {"Unable to log in with the provided credentials."}, failures
    assert status == 429
    assert retry_after is not None
    assert 1 <= int(retry_after) <= 60
    assert re.fullmatch(r"Request was throttled\. Expected available in \d+ seconds?\.", shown)

    status, shown, _ = attempt(harness.E2E_PASSWORD)
    assert status == 429, "the right password is locked out too, in a new browser"

    page_log_in(owner, server, "polish_locked")
    assert "Signed in as polish_locked" in " ".join((owner.text_content("#who") or "").split())


class _CookieEcho(BaseHTTPRequestHandler):
    """``/set`` sets a Secure and a ``__Host-`` cookie, as the package does; any other
    path echoes the Cookie header the browser sent back."""

    def do_GET(self) -> None:
        body = b"" if self.path == "/set" else (self.headers.get("Cookie") or "").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        if self.path == "/set":
            for name in ["plain_secure", "__Host-prefixed"]:
                self.send_header("Set-Cookie", f"{name}=1; Secure; HttpOnly; Path=/; SameSite=Lax")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_which_plain_http_addresses_keep_secure_cookies_in_chromium(
    playwright: Any, browsing: Any, server: DemoServer
) -> None:
    """README "Development": Chromium keeps Secure (and ``__Host-``) cookies over plain
    HTTP on localhost, *.localhost and 127.0.0.1, and drops them on any other name
    (``devbox.test``, mapped to 127.0.0.1 here). A demo login on 127.0.0.1 sticks, and
    the demo's "use localhost" warning stays away there."""
    echo = ThreadingHTTPServer(("127.0.0.1", 0), _CookieEcho)
    threading.Thread(target=echo.serve_forever, daemon=True).start()
    browser = playwright.chromium.launch(
        executable_path=shutil.which("chromium"),
        headless=True,
        args=[*harness.CHROMIUM_ARGS, "--host-resolver-rules=MAP devbox.test 127.0.0.1"],
        timeout=60_000,
    )
    sent_back = {}
    try:
        for host in ["localhost", "app.localhost", "127.0.0.1", "devbox.test"]:
            context = browser.new_context()
            page = context.new_page()
            page.goto(f"http://{host}:{echo.server_address[1]}/set")
            page.goto(f"http://{host}:{echo.server_address[1]}/echo")
            sent_back[host] = page.text_content("body")
            context.close()
    finally:
        browser.close()
        echo.shutdown()
        echo.server_close()
    both = "plain_secure=1; __Host-prefixed=1"
    assert sent_back == {
        "localhost": both,
        "app.localhost": both,
        "127.0.0.1": both,
        "devbox.test": "",
    }

    page = browsing.context(viewport=WIDE).new_page()
    page.goto(f"http://127.0.0.1:{server.port}/login/")
    assert page.locator("#insecure-host-warning").count() == 0
    page.fill("#login-form input[name=username]", "polish_pages")
    page.fill("#login-form input[name=password]", harness.E2E_PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/private/")
    assert "Signed in as polish_pages" in " ".join((page.text_content("#who") or "").split())
