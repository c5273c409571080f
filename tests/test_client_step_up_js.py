"""The JS client and RFC 9470 step-up (issue 10, item 8), run under Node.

A 401 with ``error="insufficient_user_authentication"`` is no expired session: the
client must neither refresh nor log out, but emit ``reauthenticate`` and hand the 401
back; ``reauthenticate({password})`` posts to the endpoint with the CSRF header, and
the retried request succeeds. A plain 401 still refreshes (the contrast).
Skipped where ``node`` is not installed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

CLIENT_JS = Path(__file__).resolve().parents[1] / "jwt_cookie_auth/static/jwt_cookie_auth/client.js"
CSRF = "c" * 32
CHALLENGE = (
    'Bearer error="insufficient_user_authentication", '
    'error_description="More recent authentication is required", max_age=300'
)

SCRIPT = """
const { AuthClient, LoginError } = await import(process.argv[2]);
const [csrf, challenge, mode] = process.argv.slice(3);
globalThis.location = new URL("http://app.test/page/");
globalThis.document = {
  cookie: `csrftoken=${csrf}`,
  visibilityState: "visible",
  addEventListener() {},
  removeEventListener() {},
};
const sent = [];
let reauthenticated = false;
const body = { detail: "More recent authentication is required.",
               code: "insufficient_user_authentication", max_age: 300 };
const fetch = async (request) => {
  const path = new URL(request.url).pathname;
  sent.push(`${request.method} ${path} ${request.headers.get("X-CSRFToken") ?? ""}`.trim());
  if (path === "/auth/reauthenticate/") {
    const { password } = await request.json();
    const wrong = { detail: "The password is not correct." };
    if (password !== "right") return Response.json(wrong, { status: 401 });
    reauthenticated = true;
    return Response.json({ user: { id: "1" }, session_id: "s1", csrf_token: csrf,
                           access_expires_at: new Date(Date.now() + 300000).toISOString() });
  }
  if (path === "/auth/refresh/") return Response.json({ user: { id: "1" }, session_id: "s1" });
  if (path === "/api/sensitive/" && !reauthenticated) {
    if (mode === "plain") return Response.json({ detail: "expired" }, { status: 401 });
    const headers = mode === "header" ? { "WWW-Authenticate": challenge } : {};
    return Response.json(body, { status: 401, headers });
  }
  return Response.json({ done: true });
};
const client = new AuthClient({ fetch, lockName: mode });
const events = [];
for (const type of ["reauthenticate", "reauthenticated", "logout", "refresh"]) {
  client.addEventListener(type, (event) => {
    const { response, ...detail } = event.detail;
    events.push({ type, detail, status: response ? response.status : null });
  });
}
const statuses = [];
statuses.push((await client.fetch("/api/sensitive/", { method: "POST" })).status);
let wrong = null;
if (mode !== "plain") {
  try {
    await client.reauthenticate({ password: "wrong" });
  } catch (error) {
    wrong = { name: error.name, status: error.status, isLogin: error instanceof LoginError };
  }
  await client.reauthenticate({ password: "right" });
  statuses.push((await client.fetch("/api/sensitive/", { method: "POST" })).status);
}
client.close();
console.log(JSON.stringify({ sent, events, statuses, wrong, expired: client.expired }));
"""


def run(tmp_path: Path, mode: str) -> Any:
    script = tmp_path / "step_up.mjs"
    script.write_text(SCRIPT)
    result = subprocess.run(
        ["node", str(script), CLIENT_JS.as_uri(), CSRF, CHALLENGE, mode],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


@pytest.mark.parametrize("mode", ["header", "body"])
def test_step_up_challenge_emits_reauthenticate_instead_of_refreshing(
    tmp_path: Path, mode: str
) -> None:
    """With the header (same origin) or only the JSON body (header not exposed)."""
    answer = run(tmp_path, mode)
    assert answer["sent"] == [
        f"POST /api/sensitive/ {CSRF}",
        f"POST /auth/reauthenticate/ {CSRF}",
        f"POST /auth/reauthenticate/ {CSRF}",
        f"POST /api/sensitive/ {CSRF}",
    ]  # no refresh, no retry of the refused request by the client itself
    description = "More recent authentication is required" + ("" if mode == "header" else ".")
    assert answer["events"][0] == {
        "type": "reauthenticate",
        "detail": {
            "maxAge": 300,
            "amr": [],
            "description": description,
            "url": "http://app.test/api/sensitive/",
        },
        "status": 401,
    }
    assert [event["type"] for event in answer["events"]] == ["reauthenticate", "reauthenticated"]
    assert answer["wrong"] == {"name": "LoginError", "status": 401, "isLogin": True}
    assert answer["statuses"] == [401, 200]
    assert answer["expired"] is False


def test_plain_401_still_refreshes_and_retries(tmp_path: Path) -> None:
    answer = run(tmp_path, "plain")
    assert answer["sent"] == [
        f"POST /api/sensitive/ {CSRF}",
        f"POST /api/sensitive/ {CSRF}",  # retried under the lock first (another tab?)
        f"POST /auth/refresh/ {CSRF}",
        f"POST /api/sensitive/ {CSRF}",
    ]
    assert [event["type"] for event in answer["events"]] == ["refresh"]
