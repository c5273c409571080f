"""Other origins in headless Chromium (issue 3, tests 6 and 8).

The "other site" is a small HTTP server on 127.0.0.1. Reached as ``localhost:<port>``
it is cross-origin but same-site with the demo (cookies ignore ports, SameSite=Lax
cookies are sent); reached as ``127.0.0.1:<port>`` it is another site.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import pytest

from tests.e2e.harness import CLIENT_JS, E2E_PASSWORD, DemoServer, OtherSite, Traffic
from tests.e2e.spa import (
    REFRESH_COOKIE,
    TOKEN_COOKIES,
    log_in,
    open_spa,
    settle,
    token_cookies,
)

pytestmark = pytest.mark.e2e

ATTACK_PAGE = """<!doctype html>
<title>Win a prize</title>
<form id="attack" method="post"><input type="hidden" name="csrfmiddlewaretoken" id="token"></form>
<script>
  const form = document.getElementById("attack");
  form.action = new URLSearchParams(location.search).get("target");
  // Cookies ignore ports: on localhost:<other port> the victim's CSRF cookie is readable.
  const stolen = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
  document.getElementById("token").value = stolen ? stolen[1] : "not-readable";
  form.submit();
</script>
"""

# (attacker host, target) -> (status, why). Same-site: the cookies go along and the
# CSRF check (Origin header) refuses. Cross-site: the SameSite=Lax cookies stay home;
# logout and refresh still run the CSRF check (without it, their cookie-deleting
# answers would log the victim out), logout-all finds no credentials.
ATTACKS = {
    ("localhost", "/auth/logout/"): (403, "CSRF Failed: Origin checking failed"),
    ("localhost", "/auth/refresh/"): (403, "CSRF Failed: Origin checking failed"),
    ("localhost", "/auth/logout/all/"): (403, "CSRF Failed: Origin checking failed"),
    ("127.0.0.1", "/auth/logout/"): (403, "CSRF Failed: Origin checking failed"),
    ("127.0.0.1", "/auth/refresh/"): (403, "CSRF Failed: Origin checking failed"),
    ("127.0.0.1", "/auth/logout/all/"): (401, "Authentication credentials were not provided"),
}


def test_6_forms_on_other_origins_get_refused_and_change_nothing(
    browsing: Any, demo_server: DemoServer, other_site: OtherSite
) -> None:
    """A form on another origin POSTing to logout, refresh and logout-all with the
    victim's browser: 403 from the CSRF check (401 when SameSite kept the cookies
    home), no Set-Cookie, the session and the jar untouched."""
    other_site.add("/attack.html", ATTACK_PAGE)
    context = browsing.context()
    victim = open_spa(context, demo_server)
    info = log_in(victim, "victim")
    csrf_cookie = next(c for c in context.cookies(demo_server.url) if c["name"] == "csrftoken")

    for (host, target), (status, why) in ATTACKS.items():
        # A fresh access token, so that the same-site request carries live credentials.
        victim.evaluate("jwtClient.refresh()")
        jar_before = {name: c["value"] for name, c in token_cookies(context, demo_server).items()}
        row_before = demo_server.session_row(info["session_id"])
        assert set(jar_before) == set(TOKEN_COOKIES)

        attacker = context.new_page()
        url = other_site.url(host, f"/attack.html?target={demo_server.url}{target}")
        with attacker.expect_response(lambda r: r.request.method == "POST") as posted:
            attacker.goto(url)
        response = posted.value
        request = response.request
        sent_cookies = request.all_headers().get("cookie", "")
        form = parse_qs(request.post_data or "")

        assert (response.status, why in response.text()) == (status, True), (host, target)
        assert request.all_headers()["origin"] == other_site.url(host, "")
        set_cookies = [
            h["value"] for h in response.headers_array() if h["name"].lower() == "set-cookie"
        ]
        assert not [v for v in set_cookies if v.startswith(TOKEN_COOKIES)], (host, target)
        if host == "localhost":
            # Same site: the browser attached the token cookies, and the attacker could
            # even read and submit the real CSRF cookie. The Origin check still refuses.
            assert f"{REFRESH_COOKIE}=" in sent_cookies
            assert form["csrfmiddlewaretoken"] == [csrf_cookie["value"]]
        else:
            assert "jwt_" not in sent_cookies, sent_cookies
            assert form["csrfmiddlewaretoken"] == ["not-readable"]
        attacker.close()

        jar_after = {name: c["value"] for name, c in token_cookies(context, demo_server).items()}
        assert jar_after == jar_before, (host, target)
        row_after = demo_server.session_row(info["session_id"])
        assert row_after["revoked_at"] is None
        assert row_after["refresh_jti"] == row_before["refresh_jti"]

    assert victim.evaluate("jwtClient.fetch('/api/me/').then(r => r.status)") == 200
    other_site.add(
        "/result.html", "<h1>Six forged POSTs, all refused; the victim is still logged in.</h1>"
    )
    final = context.new_page()
    final.goto(other_site.url("127.0.0.1", "/result.html"))


FRONT_END = """<!doctype html>
<meta charset="utf-8">
<title>Front end on another site</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; margin: 2rem; }
  pre { background: #f4f4f4; padding: 1rem; }
</style>
<h1>Front end at <span id="origin"></span>, API at <span id="api"></span></h1>
<pre id="log"></pre>
<script type="module">
  import { AuthClient } from "./client.js";
  const api = new URLSearchParams(location.search).get("api");
  document.getElementById("origin").textContent = location.origin;
  document.getElementById("api").textContent = api;
  window.client = new AuthClient({ baseURL: api });
  window.note = (line) => {
    document.getElementById("log").textContent += line + "\\n";
    return line;
  };
</script>
"""


def open_front_end(context: Any, other_site: OtherSite, api: DemoServer) -> Any:
    other_site.add("/front/index.html", FRONT_END)
    other_site.add("/front/client.js", CLIENT_JS.read_bytes(), "text/javascript")
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(other_site.url("127.0.0.1", f"/front/index.html?api={api.url}"))
    page.wait_for_function("window.client !== undefined")
    return page


def blocked_cookie_reasons(context: Any, page: Any) -> dict[str, set[str]]:
    """Chromium's own reasons for every Set-Cookie it refused (DevTools protocol)."""
    reasons: dict[str, set[str]] = {}
    cdp = context.new_cdp_session(page)

    def on_extra_info(event: dict[str, Any]) -> None:
        for blocked in event.get("blockedCookies", []):
            name = blocked.get("cookie", {}).get("name") or blocked.get("cookieLine", "")
            reasons.setdefault(name, set()).update(blocked["blockedReasons"])

    cdp.on("Network.responseReceivedExtraInfo", on_extra_info)
    cdp.send("Network.enable")
    return reasons


LOGIN = f"""client.login({{username: "xsite", password: "{E2E_PASSWORD}"}})
  .then(s => note("login: " + s.user.username), e => note(e.name + ": " + e.message))"""
CALL_API = """client.fetch("/api/me/")
  .then(r => note("GET /api/me/: HTTP " + r.status), e => note(e.name + ": " + e.message))"""


def test_8_cross_site_front_end_works_when_third_party_cookies_are_allowed(
    browsing: Any, cross_site_server: DemoServer, other_site: OtherSite
) -> None:
    """Front end on 127.0.0.1, API on localhost (another site), SameSite=None; Secure
    cookies, CORS with credentials: login, API calls and the refresh on 401 work in
    a Chromium profile that allows third-party cookies."""
    context = browsing.profile({"profile": {"cookie_controls_mode": 0}})
    traffic = Traffic(context)
    page = open_front_end(context, other_site, cross_site_server)
    reasons = blocked_cookie_reasons(context, page)

    assert page.evaluate("client.session().then(s => s.user)") is None
    assert page.evaluate(LOGIN) == "login: xsite"
    jar = {c["name"]: c for c in context.cookies(cross_site_server.url)}
    assert set(TOKEN_COOKIES) | {"csrftoken"} <= set(jar)
    for name in TOKEN_COOKIES:
        assert (jar[name]["httpOnly"], jar[name]["secure"], jar[name]["sameSite"]) == (
            True,
            True,
            "None",
        )
    assert (jar["csrftoken"]["secure"], jar["csrftoken"]["sameSite"]) == (True, "None")
    # The API's CSRF cookie is not the front end's: the client used the csrf_token field.
    assert page.evaluate("document.cookie") == ""
    assert page.evaluate(CALL_API) == "GET /api/me/: HTTP 200"

    page.wait_for_timeout(
        max(0, page.evaluate("client.accessExpiresAt.getTime() - Date.now()")) + 300
    )
    mark = traffic.mark()
    assert page.evaluate(CALL_API) == "GET /api/me/: HTTP 200"
    settle(page)
    refreshes = [e.status for e in traffic.since(mark, "/auth/refresh/") if e.method == "POST"]
    api = [e.status for e in traffic.since(mark, "/api/me/") if e.method == "GET"]
    # The 401, the retry under the cross-tab lock (401: no other tab refreshed), the
    # retry after the one refresh.
    assert (refreshes, api) == ([200], [401, 401, 200]), traffic.summary(mark)
    me = next(r for r in reversed(traffic.responses) if r.url.endswith("/api/me/"))
    assert me.headers["access-control-allow-origin"] == other_site.url("127.0.0.1", "")
    assert me.headers["access-control-allow-credentials"] == "true"
    assert reasons == {}

    page.evaluate("client.logout().then(() => note('logged out'))")
    assert not set(TOKEN_COOKIES) & {c["name"] for c in context.cookies(cross_site_server.url)}


def test_8_cross_site_front_end_is_refused_when_chromium_blocks_third_party_cookies(
    browsing: Any, cross_site_server: DemoServer, other_site: OtherSite
) -> None:
    """The same front end in a fresh Chromium context: third-party cookies are blocked
    by the default preference, so Chromium drops the API's SameSite=None cookies
    (blocked reason "UserPreferences"), and login ends in Django's 403 "CSRF cookie
    not set" — no token cookie is ever stored. CORS itself works."""
    context = browsing.context()
    traffic = Traffic(context)
    page = open_front_end(context, other_site, cross_site_server)
    reasons = blocked_cookie_reasons(context, page)

    session = page.evaluate("client.session()")
    assert session["user"] is None
    assert session["csrf_token"]  # the CORS response is readable: CORS is not the problem
    outcome = page.evaluate(LOGIN)
    assert outcome == "LoginError: CSRF Failed: CSRF cookie not set."
    settle(page)
    assert reasons.get("csrftoken") == {"UserPreferences"}
    assert context.cookies(cross_site_server.url) == []
    # The 401 leads to one refresh, which no cookie can authenticate: Django's CSRF
    # check refuses it (the client retries once with a fresh token, as for any CSRF
    # failure) and the client reports that instead of looping.
    mark = traffic.mark()
    assert page.evaluate(CALL_API) == "AuthError: CSRF Failed: CSRF cookie not set."
    settle(page)
    assert [
        f"{e.method} {e.path} {e.status}" for e in traffic.since(mark) if e.method != "OPTIONS"
    ] == [
        "GET /api/me/ 401",
        "GET /api/me/ 401",  # retried under the cross-tab lock before refreshing
        "POST /auth/refresh/ 403",
        "GET /auth/session/ 200",
        "POST /auth/refresh/ 403",
    ]
