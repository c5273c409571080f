"""Which CSRF token the shipped JS client sends (issue 9 item 15), run under Node.

A stub ``document.cookie`` and a stub fetch that records every request: a malformed
``csrftoken`` cookie must not throw (``logout()`` still goes out), and of two cookies
of that name (one may be planted) neither is trusted: the server's token is sent, and
fetched at most once. tests/e2e/test_client_inputs.py does the same in Chromium.
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
COOKIE = "a" * 32  # the page's one well-formed csrftoken cookie
SERVER = "S" * 64  # the csrf_token the session endpoint returns
PLANTED = "P" * 32

SCRIPT = """
const { AuthClient } = await import(process.argv[2]);
const [server, scenarios] = [process.argv[3], JSON.parse(process.argv[4])];
globalThis.location = new URL("http://app.test/page/");
const results = [];
for (const [cookie, steps] of scenarios) {
  globalThis.document = {
    cookie,
    visibilityState: "visible",
    addEventListener() {},
    removeEventListener() {},
  };
  const sent = [];
  const fetch = async (request) => {
    const path = new URL(request.url).pathname;
    sent.push(`${request.method} ${path} ${request.headers.get("X-CSRFToken") ?? ""}`.trim());
    if (path === "/auth/session/") return Response.json({ user: null, csrf_token: server });
    return new Response(null, { status: 204 });
  };
  const client = new AuthClient({ fetch, lockName: cookie });
  let error = null;
  try {
    for (const step of steps) {
      if (step === "session") await client.session();
      if (step === "post") await client.fetch("/api/things/", { method: "POST" });
      if (step === "logout") await client.logout();
    }
  } catch (exc) {
    error = String(exc);
  }
  client.close();
  results.push({ sent, error });
}
console.log(JSON.stringify(results));
"""

SCENARIOS: list[tuple[str, list[str]]] = []
Results = dict[tuple[str, str], Any]


def scenario(cookie: str, steps: list[str]) -> tuple[str, list[str]]:
    SCENARIOS.append((cookie, steps))
    return cookie, steps


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Results:
    """Every scenario in one Node process: what each sent, and any error it raised."""
    node = require_node()
    script = tmp_path_factory.mktemp("client-js") / "csrf.mjs"
    script.write_text(SCRIPT)
    result = subprocess.run(
        [node, str(script), CLIENT_JS.as_uri(), SERVER, json.dumps(SCENARIOS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answers = json.loads(result.stdout)
    return {(c, json.dumps(s)): a for (c, s), a in zip(SCENARIOS, answers, strict=True)}


def run(results: Results, cookie: str, steps: list[str]) -> Any:
    return results[(cookie, json.dumps(steps))]


ONE = scenario(f"csrftoken={COOKIE}", ["logout"])


def test_one_well_formed_cookie_is_sent_without_asking_the_server(results: Results) -> None:
    answer = run(results, *ONE)
    assert answer == {"sent": [f"POST /auth/logout/ {COOKIE}"], "error": None}


MALFORMED = [
    scenario(f"other=1; {cookie}", ["logout"])
    for cookie in ["csrftoken=%E0%A4%A", "csrftoken=short", "csrftoken="]
]


@pytest.mark.parametrize("case", MALFORMED, ids=lambda case: case[0])
def test_malformed_cookie_does_not_stop_logout(
    results: Results, case: tuple[str, list[str]]
) -> None:
    """The server replaces a broken cookie when asked for a token: one GET, then POST."""
    answer = run(results, *case)
    assert answer == {
        "sent": ["GET /auth/session/", f"POST /auth/logout/ {SERVER}"],
        "error": None,
    }


DUPLICATES = [
    scenario(cookies, ["session", "post", "post", "logout"])
    for cookies in [
        f"csrftoken={PLANTED}; csrftoken={COOKIE}",
        f"csrftoken={COOKIE}; csrftoken={PLANTED}",
        f"csrftoken=%E0%A4%A; csrftoken={COOKIE}",
    ]
]


@pytest.mark.parametrize("case", DUPLICATES, ids=lambda case: case[0])
def test_duplicate_cookies_are_not_trusted_and_cost_no_extra_requests(
    results: Results, case: tuple[str, list[str]]
) -> None:
    answer = run(results, *case)
    assert answer == {
        "sent": [
            "GET /auth/session/",
            f"POST /api/things/ {SERVER}",
            f"POST /api/things/ {SERVER}",
            f"POST /auth/logout/ {SERVER}",
        ],
        "error": None,
    }


EARLY = scenario(f"csrftoken={PLANTED}; csrftoken={COOKIE}", ["post", "post"])


def test_duplicate_cookies_before_any_server_token_fetch_it_once(results: Results) -> None:
    answer = run(results, *EARLY)
    assert answer == {
        "sent": [
            "GET /auth/session/",
            f"POST /api/things/ {SERVER}",
            f"POST /api/things/ {SERVER}",
        ],
        "error": None,
    }
