"""The shipped JS client and the README's axios recipe, side by side in Chromium (issue 11).

Each test runs twice: ``client`` is ``jwt_cookie_auth/static/jwt_cookie_auth/client.js``;
``recipe`` is the README's "Axios" section itself, its import map and its ``api.js``
taken from README.md, with the real axios 1.21 ESM build from npm
(``tests/e2e/axios/package-lock.json``, installed here with ``npm ci`` when missing).
Both are loaded by small pages served on the demo's own origin through Playwright's
routing, so they share its cookies exactly as an app's pages would; ``window.T`` gives
the tests one interface to either.

The demo runs with ``AUTO_REFRESH`` off, as the recipe assumes. Expiry is driven by
deleting the access cookie from the browser's jar (the API then answers 401 and only a
refresh helps), so 40 rounds take seconds instead of 40 token lifetimes. Requests are
counted at the network layer and the rotations in the server's database.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import E2E_PASSWORD, ROOT, DemoServer, Traffic
from tests.e2e.spa import ACCESS_COOKIE, REFRESH_COOKIE, settle, token_cookies

pytestmark = pytest.mark.e2e

ROUNDS = 40
README = ROOT / "README.md"
AXIOS_DIR = Path(__file__).resolve().parent / "axios"
AXIOS_ESM = AXIOS_DIR / "node_modules" / "axios" / "dist" / "esm" / "axios.min.js"

# The part both pages share: N calls at once, each reported as its HTTP status or the
# error's name and its `reason` or status; `same` says whether every error was the same object.
COMMON_JS = """
window.calls = async (count, method, path) => {
  const errors = [];
  const report = (error) => {
    errors.push(error);
    if (error.isAxiosError && error.response) return error.response.status;
    const detail = error.reason || error.status;
    return detail ? `${error.name}:${detail}` : error.name;
  };
  const results = await Promise.all(
    [...Array(count)].map(() => T.request(method, path).catch(report)),
  );
  return { results, same: errors.every((error) => error === errors[0]) };
};
window.callAt = (at, count, method, path) => {
  window.pending = new Promise((resolve) => setTimeout(resolve, at - Date.now())).then(
    () => calls(count, method, path),
  );
};
"""

CLIENT_PAGE = """<!doctype html><meta charset="utf-8"><title>client</title>
<script type="module">
import { AuthClient } from "/static/jwt_cookie_auth/client.js";
const auth = new AuthClient();
const events = [];
auth.addEventListener("logout", (event) => events.push({ ...event.detail }));
window.T = {
  events,
  login: (username, password) =>
    auth.login({ username, password, remember: true }).then(() => "ok"),
  logout: () => auth.logout().then(() => "ok"),
  request: (method, path) => auth.fetch(path, { method }).then((response) => response.status),
  getJSON: (path) => auth.fetch(path).then((response) => response.json()),
};
%(common)s
await auth.session();
document.title = "ready";
</script>"""

RECIPE_PAGE = """<!doctype html><meta charset="utf-8"><title>recipe</title>
%(importmap)s
<script type="module">
import { api, authEvents, login, logout } from "%(module)s";
const events = [];
authEvents.addEventListener("logout", (event) => events.push({ ...event.detail }));
window.T = {
  events,
  login: (username, password) => login({ username, password, remember: true }).then(() => "ok"),
  logout: () => logout().then(() => "ok"),
  request: (method, path) => api.request({ method, url: path }).then((response) => response.status),
  getJSON: (path) => api.get(path).then((response) => response.data),
};
%(common)s
document.title = "ready";
</script>"""


def readme_recipe() -> dict[str, str]:
    """The Axios section's import map, module URL, axios URL and module source."""
    text = README.read_text()
    section = text[
        text.index("### Axios\n") : text.index("### The demo page and the browser tests")
    ]
    html = re.search(r"```html\n(.*?)```", section, re.S)
    source = re.search(r"```js\n(.*?)```", section, re.S)
    assert html, "the README's Axios section lost its html block"
    assert source, "the README's Axios section lost its js block"
    importmap = re.search(r'<script type="importmap">(.*?)</script>', html.group(1), re.S)
    module = re.search(r'from "(/[^"]+\.js)"', html.group(1))
    assert importmap, "the README's html block needs an import map for axios"
    assert module, "the README's html block needs to import the recipe's module"
    return {
        "importmap": importmap.group(0),
        "axios_url": json.loads(importmap.group(1))["imports"]["axios"],
        "module": module.group(1),
        "source": source.group(1),
    }


@pytest.fixture(scope="session")
def axios_esm(e2e_ready: None) -> Path:
    """axios's ESM build, from the committed lock file (npm ci) when not yet installed."""
    if not AXIOS_ESM.exists():
        npm = shutil.which("npm")
        if npm is None:
            if os.environ.get("CI") == "true":
                pytest.fail("CI=true, and npm is not installed (the axios recipe's test needs it)")
            pytest.skip("npm is not installed: the axios recipe's test needs axios from npm")
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=AXIOS_DIR,
            check=True,
            timeout=300,
            capture_output=True,
        )
    return AXIOS_ESM


def serve(body: bytes, content_type: str) -> Any:
    def handler(route: Any) -> None:
        route.fulfill(status=200, body=body, content_type=content_type)

    return handler


class Tabs:
    """Pages of one browser context showing the client or the recipe."""

    def __init__(self, context: Any, server: DemoServer, flavour: str, axios: Path | None) -> None:
        self.context = context
        self.server = server
        self.flavour = flavour
        self.traffic = Traffic(context)
        common = COMMON_JS
        if flavour == "client":
            pages = {"/e2e/page/": ("text/html", (CLIENT_PAGE % {"common": common}).encode())}
        else:
            assert axios is not None
            recipe = readme_recipe()
            page = RECIPE_PAGE % {
                "importmap": recipe["importmap"],
                "module": recipe["module"],
                "common": common,
            }
            pages = {
                "/e2e/page/": ("text/html", page.encode()),
                recipe["module"]: ("text/javascript", recipe["source"].encode()),
                recipe["axios_url"]: ("text/javascript", axios.read_bytes()),
            }
        for path, (content_type, body) in pages.items():
            context.route(f"{server.url}{path}", serve(body, f"{content_type}; charset=utf-8"))

    def open(self) -> Any:
        page = self.context.new_page()
        page.goto(f"{self.server.url}/e2e/page/")
        page.wait_for_function("document.title === 'ready'")
        return page

    def expire_access(self) -> None:
        """The access token is gone: the API answers 401 until someone refreshes."""
        self.context.clear_cookies(name=ACCESS_COOKIE)

    def refreshes(self, mark: int = 0) -> list[int | None]:
        return [e.status for e in self.traffic.since(mark, "/auth/refresh/") if e.method == "POST"]


@pytest.fixture(params=["client", "recipe"])
def flavour(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def tabs(
    browsing: Any, demo_server: DemoServer, flavour: str, request: pytest.FixtureRequest
) -> Tabs:
    axios = request.getfixturevalue("axios_esm") if flavour == "recipe" else None
    return Tabs(browsing.context(), demo_server, flavour, axios)


def log_in(page: Any, username: str) -> None:
    assert page.evaluate("([u, p]) => T.login(u, p)", [username, E2E_PASSWORD]) == "ok"


def csrf_cookie(tabs: Tabs) -> str:
    cookies = tabs.context.cookies(tabs.server.url)
    (value,) = [cookie["value"] for cookie in cookies if cookie["name"] == "csrftoken"]
    return str(value)


def session_id(tabs: Tabs) -> str:
    """The session of the jar's refresh token, as the server's sessions list says."""
    page = tabs.context.pages[0]
    rows = page.evaluate("T.getJSON('/auth/sessions/')")
    (current,) = [row for row in rows if row["current"]]
    return str(current["id"])


def test_tabs_firing_at_expiry_send_one_refresh_per_expiry(
    tabs: Tabs, flavour: str, record_counts: Any
) -> None:
    """Two tabs call the API at the same moment after the access token is gone, 40
    times: every call succeeds, and each round costs exactly one refresh."""
    first = tabs.open()
    log_in(first, f"{flavour}-tabs")
    second = tabs.open()
    sid = session_id(tabs)
    rotations_before = tabs.server.session_row(sid)["rotations"]

    mark = tabs.traffic.mark()
    per_round = []
    for _ in range(ROUNDS):
        tabs.expire_access()
        round_mark = tabs.traffic.mark()
        at = first.evaluate("Date.now()") + 120
        for page in (first, second):
            page.evaluate("(at) => callAt(at, 1, 'GET', '/api/me/')", at)
        answers = [page.evaluate("window.pending") for page in (first, second)]
        assert [answer["results"] for answer in answers] == [[200], [200]]
        per_round.append(len(tabs.refreshes(round_mark)))
    settle(first)

    refreshes = tabs.refreshes(mark)
    assert refreshes == [200] * ROUNDS, per_round
    row = tabs.server.session_row(sid)
    assert row["rotations"] - rotations_before == ROUNDS
    assert row["revoked_at"] is None
    assert tabs.server.live_sessions(f"{flavour}-tabs") == 1
    seen = tabs.traffic.since(mark)
    record_counts(
        rounds=ROUNDS,
        refresh=len(refreshes),
        api_401=len([e for e in seen if e.path == "/api/me/" and e.status == 401]),
        api_200=len([e for e in seen if e.path == "/api/me/" and e.status == 200]),
    )


def test_a_login_in_another_tab_leaves_this_tab_working(
    tabs: Tabs, flavour: str, browsing: Any
) -> None:
    """Another tab's login rotates the CSRF token and replaces the cookies: this tab's
    next unsafe call and its next refresh still succeed, and a CSRF 403 (a token gone
    stale) gets a fresh token from the session endpoint and one retry."""
    username = f"{flavour}-csrf"
    page = tabs.open()
    log_in(page, username)
    # Another device of the user, whose session this tab will revoke (an unsafe call).
    log_in(Tabs(browsing.context(), tabs.server, "client", None).open(), username)
    (device_session,) = [
        row["id"] for row in page.evaluate("T.getJSON('/auth/sessions/')") if not row["current"]
    ]
    csrf_before = csrf_cookie(tabs)
    other = tabs.open()
    log_in(other, username)
    csrf_after = csrf_cookie(tabs)
    assert csrf_after != csrf_before  # Django rotated it at login

    # An unsafe call of this tab: revoke the other device's session. One request: the
    # token sent is the new one (the client's other tab may load the session meanwhile).
    mark = tabs.traffic.mark()
    path = f"/auth/sessions/{device_session}/"
    assert page.evaluate("(path) => calls(1, 'DELETE', path)", path)["results"] == [204]
    assert [e.status for e in tabs.traffic.since(mark) if e.method != "GET"] == [204]
    assert tabs.server.session_row(device_session)["revoke_reason"] == "user_revoked"

    # This tab's refresh, with the other tab's cookies and token.
    tabs.expire_access()
    mark = tabs.traffic.mark()
    assert page.evaluate("calls(1, 'GET', '/api/me/')")["results"] == [200]
    assert tabs.refreshes(mark) == [200]

    # A CSRF refusal (as a token rotated behind this page's back gets): one new token
    # from GET /auth/session/, then the call again.
    refusal = {"detail": "CSRF Failed: CSRF token incorrect.", "code": "csrf_failed"}
    # Refuse the next DELETE of an unknown session once; then the real answer (404).
    unknown = "/auth/sessions/00000000-0000-0000-0000-000000000000/"
    target = f"{tabs.server.url}{unknown}"
    refused = []

    def refuse_once(route: Any) -> None:
        if refused:
            route.continue_()
            return
        refused.append(route.request.headers.get("x-csrftoken"))
        route.fulfill(status=403, json=refusal)

    tabs.context.route(target, refuse_once)
    settle(page)
    mark = tabs.traffic.mark()
    assert page.evaluate("(path) => calls(1, 'DELETE', path)", unknown)["results"] == [404]
    assert tabs.traffic.summary(mark) == [
        f"DELETE {unknown} 403",
        "GET /auth/session/ 200",
        f"DELETE {unknown} 404",
    ]
    assert refused == [csrf_after]


@pytest.mark.parametrize("failure", ["network", "503"])
def test_a_refresh_without_network_or_server_is_no_logout(
    tabs: Tabs, flavour: str, failure: str
) -> None:
    """The refresh fails (connection refused, or a 503): the call rejects with that
    error, no logout event, nothing revoked; the next call refreshes and succeeds."""
    page = tabs.open()
    log_in(page, f"{flavour}-net")
    sid = session_id(tabs)
    tabs.expire_access()

    def fail(route: Any) -> None:
        if failure == "network":
            route.abort("connectionrefused")
        else:
            route.fulfill(status=503, json={"detail": "Service unavailable.", "code": "error"})

    refresh_url = f"{tabs.server.url}/auth/refresh/"
    tabs.context.route(refresh_url, fail)
    outcome = page.evaluate("calls(1, 'GET', '/api/me/')")
    expected = {
        ("client", "network"): "TypeError",
        ("client", "503"): "AuthError:503",
        ("recipe", "network"): "AxiosError",
        ("recipe", "503"): 503,
    }[(flavour, failure)]
    assert outcome["results"] == [expected]
    assert page.evaluate("T.events") == []
    assert REFRESH_COOKIE in token_cookies(tabs.context, tabs.server)
    assert tabs.server.session_row(sid)["revoked_at"] is None

    tabs.context.unroute(refresh_url)
    mark = tabs.traffic.mark()
    assert page.evaluate("calls(1, 'GET', '/api/me/')")["results"] == [200]
    assert tabs.refreshes(mark) == [200]
    assert page.evaluate("T.events") == []


def test_one_revocation_is_one_logout_event_and_one_error(
    tabs: Tabs, flavour: str, browsing: Any
) -> None:
    """The session is revoked (the user's "log out everywhere" on another device) while
    five calls of one tab and two of another wait on the refresh: one refused refresh,
    ONE logout event per tab, and the calls of each tab all reject with one error that
    carries the server's reason (``logout_all``); later calls get it too."""
    username = f"{flavour}-revoked"
    page = tabs.open()
    log_in(page, username)
    other = tabs.open()
    device = Tabs(browsing.context(), tabs.server, "client", None).open()
    log_in(device, username)
    assert device.evaluate("calls(1, 'POST', '/auth/logout/all/')")["results"] == [204]
    tabs.expire_access()

    mark = tabs.traffic.mark()
    at = page.evaluate("Date.now()") + 120
    for tab, count in ((page, 5), (other, 2)):
        tab.evaluate("([at, count]) => callAt(at, count, 'GET', '/api/me/')", [at, count])
    for tab, count in ((page, 5), (other, 2)):
        outcome = tab.evaluate("window.pending")
        assert outcome == {"results": ["SessionExpiredError:logout_all"] * count, "same": True}
    settle(page)
    # Whichever tab took the lock first refreshed; the other learnt the end from it.
    assert tabs.refreshes(mark) == [401]
    events = [tab.evaluate("T.events") for tab in (page, other)]
    assert sorted(event["source"] for (event,) in events) == ["other-tab", "this-tab"]
    assert [event["reason"] for (event,) in events] == ["logout_all", "logout_all"]
    # Later calls, in either tab: the same error, no refresh, no second event.
    mark = tabs.traffic.mark()
    for tab in (page, other):
        assert tab.evaluate("calls(2, 'GET', '/api/me/')") == {
            "results": ["SessionExpiredError:logout_all"] * 2,
            "same": True,
        }
    settle(page)
    assert tabs.refreshes(mark) == []
    assert len(page.evaluate("T.events")) == len(other.evaluate("T.events")) == 1


def test_an_explicit_logout_is_announced_in_every_tab(tabs: Tabs, flavour: str) -> None:
    """logout() ends the session; this tab and the other get one logout event each,
    reason "logout", and the other tab's next call rejects without a refresh."""
    page = tabs.open()
    log_in(page, f"{flavour}-bye")
    other = tabs.open()
    assert page.evaluate("T.logout()") == "ok"
    settle(page)
    assert page.evaluate("T.events") == [{"reason": "logout", "source": "this-tab"}]
    assert other.evaluate("T.events") == [{"reason": "logout", "source": "other-tab"}]
    assert token_cookies(tabs.context, tabs.server) == {}
    mark = tabs.traffic.mark()
    assert other.evaluate("calls(1, 'GET', '/api/me/')")["results"] == [
        "SessionExpiredError:logout"
    ]
    assert tabs.refreshes(mark) == []


def test_the_readme_recipe_exports_api_and_states_its_setting() -> None:
    """The recipe is usable as printed: `api` exported, the import map for axios, and
    the AUTO_REFRESH setting it assumes said right at the recipe."""
    recipe = readme_recipe()
    assert re.search(r"^export const api = axios\.create\(", recipe["source"], re.M)
    assert 'import axios from "axios";' in recipe["source"]
    text = README.read_text()
    section = text[text.index("### Axios\n") :]
    assert "AUTO_REFRESH=False" in section[: section.index("```html")]
