"""The JS client where the browser blocks storage (a third-party embed), under Node.

Chromium answers ``navigator.locks.request`` with a ``SecurityError`` and throws on
``localStorage`` in a frame whose storage is blocked. The client must still refresh an
expired access token there (it is alone: no other tab shares that storage), instead of
failing every call after the first expiry. Skipped where ``node`` is not installed, a
failure under ``CI=true``.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.conftest import require_node

CLIENT_JS = Path(__file__).resolve().parents[1] / "jwt_cookie_auth/static/jwt_cookie_auth/client.js"

SCRIPT = """
const { AuthClient } = await import(process.argv[2]);
const denied = () => {
  throw new DOMException("The operation is insecure.", "SecurityError");
};
Object.defineProperty(globalThis, "localStorage", { configurable: true, get: denied });
Object.defineProperty(globalThis, "navigator", {
  configurable: true,
  value: { locks: { request: async () => denied() } },
});
const body = {
  user: { id: "1" }, session_id: "s1", csrf_token: "c",
  access_expires_at: new Date(Date.now() + 60000).toISOString(),
  refresh_expires_at: null, session_expires_at: null,
};
const sent = [];
let fresh = false;
const fetch = async (request) => {
  const path = new URL(request.url).pathname;
  sent.push(`${request.method} ${path}`);
  if (path.endsWith("/session/")) return Response.json(body); // the CSRF token
  if (path.endsWith("/refresh/")) {
    fresh = true;
    return Response.json(body);
  }
  if (!fresh) return Response.json({ detail: "expired", code: "token_expired" }, { status: 401 });
  return Response.json({ ok: true });
};
const client = new AuthClient({ baseURL: "http://api.test/", fetch });
const logouts = [];
client.addEventListener("logout", (e) => logouts.push(e.detail));
const response = await client.fetch("/api/me/");
client.close();
console.log(JSON.stringify({ status: response.status, sent, logouts }));
"""


def test_an_embed_without_storage_still_refreshes(tmp_path: Path) -> None:
    node = require_node()
    script = tmp_path / "check.mjs"
    script.write_text(SCRIPT)
    result = subprocess.run(
        [node, str(script), CLIENT_JS.as_uri()],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["status"] == 200
    assert "POST /auth/refresh/" in seen["sent"]
    assert seen["logouts"] == []
