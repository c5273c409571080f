"""The JS client's refresh rules across tabs (issue 11, "The browser client"), under Node.

A fake server with ONE cookie jar shared by several ``AuthClient`` instances (the tabs
of a browser): a request carries the jar's cookies as they are when it leaves, a
refresh response writes new ones, and a consumed refresh token is refused. The tabs
share a FIFO Web Lock, a BroadcastChannel (Node's own) and a ``localStorage`` whose
writes reach the other tabs only 50 ms later, as the issue measured in Chromium.

1. Tabs firing at once at expiry: one refresh per expiry in every round, every call 200.
2. A CSRF 403 is recognised by its ``code`` (the ``detail`` may be translated): one
   new token from the session endpoint, one retry; the CSRF cookie is read per request.
3. A network error or a 503 during a refresh: the call rejects with that error, no
   ``logout``, and the next call refreshes.
4. One revocation: one ``logout`` per tab, and every waiting call rejects with the same
   ``SessionExpiredError`` whose ``reason`` is the server's.
5. An explicit logout: ``logout`` in this tab and the others, reason ``logout``.

Skipped where ``node`` is not installed, a failure under ``CI=true``.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_node

CLIENT_JS = Path(__file__).resolve().parents[1] / "jwt_cookie_auth/static/jwt_cookie_auth/client.js"
ROUNDS = 40

SCRIPT = r"""
const { AuthClient, AuthError, SessionExpiredError } = await import(process.argv[2]);
const ROUNDS = Number(process.argv[3]);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
globalThis.location = new URL("http://app.test/page/");
let cookie = `csrftoken=${"c".repeat(32)}`;
globalThis.document = {
  get cookie() { return cookie; },
  visibilityState: "visible",
  addEventListener() {},
  removeEventListener() {},
};
// Web Locks: one FIFO queue per name, shared by every tab (the lock manager is exact).
const queues = new Map();
Object.defineProperty(globalThis, "navigator", {
  configurable: true,
  value: {
    locks: {
      request(name, task) {
        const run = (queues.get(name) || Promise.resolve()).then(() => task({ name }));
        queues.set(name, run.catch(() => {}));
        return run;
      },
    },
  },
});
// localStorage as the issue saw it: another tab's write shows up 50 ms late.
const stored = new Map();
globalThis.localStorage = {
  getItem: (key) => (stored.has(key) ? stored.get(key) : null),
  setItem: (key, value) => void setTimeout(() => stored.set(key, String(value)), 50),
  removeItem: (key) => void setTimeout(() => stored.delete(key), 50),
};

// The server and the browser's one cookie jar.
function makeServer() {
  const server = {
    access: 1, refresh: 1, csrf: "c".repeat(32), sent: [], refreshMode: "ok",
    jar: { access: 1, refresh: 1, csrf: "c".repeat(32) }, apiRevoked: null,
  };
  const body = () => ({
    user: { id: "1" }, session_id: "s1", csrf_token: server.csrf,
    access_expires_at: new Date(Date.now() + 60000).toISOString(),
    refresh_expires_at: new Date(Date.now() + 3600000).toISOString(), session_expires_at: null,
  });
  const refused = (code, reason, status = 401) =>
    Response.json({ detail: "Your session has expired.", code, reason }, { status });
  server.fetch = async (request) => {
    const path = new URL(request.url).pathname;
    const carried = { ...server.jar }; // the cookies as the request leaves
    const token = request.headers.get("X-CSRFToken");
    server.sent.push(`${request.method} ${path}`);
    await sleep(1 + Math.random() * 4);
    if (request.method !== "GET" && token !== server.csrf) {
      const refusal = { detail: "CSRF-Prüfung fehlgeschlagen.", code: "csrf_failed" };
      return Response.json(refusal, { status: 403 });
    }
    if (path === "/auth/session/") return Response.json(body());
    if (path === "/auth/login/") return Response.json(body());
    if (path === "/auth/logout/" || path === "/auth/logout/all/") {
      server.apiRevoked = path === "/auth/logout/" ? "logout" : "logout_all";
      return new Response(null, { status: 204 });
    }
    if (path === "/auth/refresh/") {
      if (server.refreshMode === "network") throw new TypeError("Failed to fetch");
      if (server.refreshMode === "503") {
        return Response.json({ detail: "Unavailable", code: "error" }, { status: 503 });
      }
      if (server.refreshMode === "revoked") return refused("session_revoked", "admin");
      if (carried.refresh !== server.refresh) return refused("session_revoked", "reuse_detected");
      server.refresh += 1;
      server.jar.refresh = server.refresh;
      server.jar.access = server.access;
      return Response.json(body());
    }
    if (server.apiRevoked) return refused("session_revoked", server.apiRevoked);
    if (carried.access !== server.access) {
      return refused("token_expired", "access_expired");
    }
    return Response.json({ ok: true });
  };
  server.expire = () => { server.access += 1; };
  return server;
}

async function tabs(count, lockName, server) {
  const list = [];
  const events = [];
  for (let index = 0; index < count; index += 1) {
    const tab = new AuthClient({ fetch: server.fetch, lockName });
    for (const type of ["logout", "refresh", "login"]) {
      tab.addEventListener(type, ({ detail }) =>
        events.push({ tab: index, type, reason: detail.reason, source: detail.source }),
      );
    }
    list.push(tab);
  }
  await list[0].login({ username: "u", password: "p" });
  await sleep(100); // the other tabs hear of the login and load the session
  events.length = 0;
  server.sent.length = 0;
  return { list, events };
}

const outcome = (promise) =>
  promise.then(
    (response) => ({ status: response.status }),
    (error) => ({ error }),
  );

const results = {};

// 1. Tabs that fire at once at expiry.
for (const count of [2, 3]) {
  const server = makeServer();
  const { list } = await tabs(count, `single-flight-${count}`, server);
  const rounds = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    server.expire();
    const mark = server.sent.length;
    const calls = list.map((tab) =>
      sleep(Math.random() * 3).then(() => outcome(tab.fetch("/api/me/"))),
    );
    const answers = await Promise.all(calls);
    rounds.push({
      refreshes: server.sent.slice(mark).filter((line) => line === "POST /auth/refresh/").length,
      statuses: answers.map((answer) => answer.status ?? String(answer.error)),
    });
  }
  list.forEach((tab) => tab.close());
  results[`single-flight-${count}`] = rounds;
}

// 2. A CSRF token rotated by a login in another tab.
{
  // Cross-site: the page cannot read the API's cookie; the token is the one the API returned.
  const server = makeServer();
  const tab = new AuthClient({
    fetch: server.fetch, lockName: "csrf-xsite", baseURL: "http://api.test/",
  });
  await tab.session();
  server.csrf = "d".repeat(32); // another tab logged in: Django rotated the token
  server.sent.length = 0;
  const post = await outcome(tab.fetch("http://api.test/api/things/", { method: "POST" }));
  const refreshed = await tab.refresh().then(() => "ok", (error) => String(error));
  const sent = [...server.sent];
  results["csrf-cross-site"] = { post: post.status ?? String(post.error), refreshed, sent };
  tab.close();
}
{
  // Same origin: the cookie is read for each request, so the new token goes out at once.
  const server = makeServer();
  const tab = new AuthClient({ fetch: server.fetch, lockName: "csrf-same" });
  await tab.session();
  server.csrf = "e".repeat(32);
  cookie = `csrftoken=${server.csrf}`;
  server.sent.length = 0;
  const post = await outcome(tab.fetch("/api/things/", { method: "POST" }));
  const refreshed = await tab.refresh().then(() => "ok", (error) => String(error));
  const sent = [...server.sent];
  results["csrf-same-origin"] = { post: post.status ?? String(post.error), refreshed, sent };
  cookie = `csrftoken=${"c".repeat(32)}`;
  tab.close();
}

// 3. A refresh that fails for want of a network or a working server.
for (const mode of ["network", "503"]) {
  const server = makeServer();
  const { list, events } = await tabs(2, `failure-${mode}`, server);
  server.expire();
  server.refreshMode = mode;
  const failed = await outcome(list[0].fetch("/api/me/"));
  await sleep(100);
  const afterFailure = { expired: list[0].expired, events: [...events] };
  server.refreshMode = "ok";
  const mark = server.sent.length;
  const next = await outcome(list[0].fetch("/api/me/"));
  results[`failure-${mode}`] = {
    error: {
      name: failed.error?.name,
      status: failed.error?.status ?? null,
      isAuthError: failed.error instanceof AuthError,
    },
    afterFailure,
    next: next.status,
    nextSent: server.sent.slice(mark),
  };
  list.forEach((tab) => tab.close());
}

// 4. One revocation met by five calls of one tab and two of another.
for (const where of ["refresh", "api"]) {
  const server = makeServer();
  const { list, events } = await tabs(2, `revoked-${where}`, server);
  server.expire();
  if (where === "refresh") server.refreshMode = "revoked";
  else server.apiRevoked = "admin";
  const calls = [...Array(5)].map(() => list[0].fetch("/api/me/").catch((error) => error));
  calls.push(...[...Array(2)].map(() => list[1].fetch("/api/me/").catch((error) => error)));
  const errors = await Promise.all(calls);
  await sleep(100);
  const later = await list[0].fetch("/api/me/").catch((error) => error);
  const [first] = errors;
  results[`revoked-${where}`] = {
    events: [...events],
    allExpired: errors.every((error) => error instanceof SessionExpiredError),
    reasons: errors.map((error) => error.reason),
    sameInTab0: errors.slice(0, 5).every((error) => error === first) && later === first,
    sameInTab1: errors[5] === errors[6],
    refreshes: server.sent.filter((line) => line === "POST /auth/refresh/").length,
  };
  list.forEach((tab) => tab.close());
}

// 5. Explicit logouts.
for (const action of ["logout", "logoutAll"]) {
  const server = makeServer();
  const { list, events } = await tabs(2, `explicit-${action}`, server);
  await list[0][action]();
  await sleep(100);
  const error = await list[1].fetch("/api/me/").then(() => null, (error) => error);
  results[`explicit-${action}`] = {
    events: [...events],
    otherTabError: error && { name: error.name, reason: error.reason },
  };
  list.forEach((tab) => tab.close());
}

console.log(JSON.stringify(results));
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    node = require_node()
    script = tmp_path_factory.mktemp("client-js") / "rules.mjs"
    script.write_text(SCRIPT)
    result = subprocess.run(
        [node, str(script), CLIENT_JS.as_uri(), str(ROUNDS)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


@pytest.mark.parametrize("tabs", [2, 3])
def test_tabs_firing_at_expiry_send_one_refresh_per_expiry(
    results: dict[str, Any], tabs: int
) -> None:
    rounds = results[f"single-flight-{tabs}"]
    assert len(rounds) == ROUNDS
    assert [r["refreshes"] for r in rounds] == [1] * ROUNDS
    assert all(r["statuses"] == [200] * tabs for r in rounds), rounds


def test_a_csrf_403_gets_a_fresh_token_and_one_retry_whatever_the_language(
    results: dict[str, Any],
) -> None:
    answer = results["csrf-cross-site"]
    assert answer["post"] == 200
    assert answer["refreshed"] == "ok"
    assert answer["sent"] == [
        "POST /api/things/",  # 403 csrf_failed, with a German detail
        "GET /auth/session/",
        "POST /api/things/",
        "POST /auth/refresh/",
    ]


def test_the_csrf_cookie_is_read_for_each_request(results: dict[str, Any]) -> None:
    answer = results["csrf-same-origin"]
    assert answer["post"] == 200
    assert answer["refreshed"] == "ok"
    assert answer["sent"] == ["POST /api/things/", "POST /auth/refresh/"]


@pytest.mark.parametrize(
    ("mode", "name", "status"), [("network", "TypeError", None), ("503", "AuthError", 503)]
)
def test_a_refresh_without_network_or_server_is_no_logout(
    results: dict[str, Any], mode: str, name: str, status: int | None
) -> None:
    answer = results[f"failure-{mode}"]
    assert answer["error"]["name"] == name
    assert answer["error"]["status"] == status
    assert answer["afterFailure"] == {"expired": False, "events": []}
    # The refresh cookie is still good: the next call refreshes and succeeds.
    assert answer["next"] == 200
    assert "POST /auth/refresh/" in answer["nextSent"]


@pytest.mark.parametrize("where", ["refresh", "api"])
def test_one_revocation_one_logout_event_per_tab_one_error(
    results: dict[str, Any], where: str
) -> None:
    answer = results[f"revoked-{where}"]
    # One event per tab. Which tab meets the refusal first (and says "this-tab") is a
    # race between their calls; a tab told by the other says "other-tab".
    events = sorted(answer["events"], key=lambda event: event["tab"])
    assert [(e["tab"], e["type"], e["reason"]) for e in events] == [
        (0, "logout", "admin"),
        (1, "logout", "admin"),
    ]
    assert "this-tab" in {e["source"] for e in events}
    assert answer["allExpired"] is True
    assert answer["reasons"] == ["admin"] * 7
    assert answer["sameInTab0"] is True
    assert answer["sameInTab1"] is True
    assert answer["refreshes"] == (1 if where == "refresh" else 0)


@pytest.mark.parametrize(("action", "reason"), [("logout", "logout"), ("logoutAll", "logout-all")])
def test_an_explicit_logout_reaches_this_tab_and_the_others(
    results: dict[str, Any], action: str, reason: str
) -> None:
    answer = results[f"explicit-{action}"]
    assert answer["events"] == [
        {"tab": 0, "type": "logout", "reason": reason, "source": "this-tab"},
        {"tab": 1, "type": "logout", "reason": reason, "source": "other-tab"},
    ]
    assert answer["otherTabError"] == {"name": "SessionExpiredError", "reason": reason}
