"""The shipped JS client never holds a token (issue 9 item 11), run under Node.

A stub fetch answers login and refresh with token fields, as a misconfigured or old
server might; nothing the client keeps or hands out (return values, ``sessionInfo``,
events, localStorage) may contain them. Skipped where ``node`` is not installed, a
failure under ``CI=true``.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.conftest import require_node

CLIENT_JS = Path(__file__).resolve().parents[1] / "jwt_cookie_auth/static/jwt_cookie_auth/client.js"
ACCESS, REFRESH = "eyJhY2Nlc3M.eyJhY2Nlc3M.c2ln", "eyJyZWZyZXNo.eyJyZWZyZXNo.c2ln"

SCRIPT = """
const { AuthClient } = await import(process.argv[2]);
const stored = new Map();
globalThis.localStorage = {
  getItem: (k) => (stored.has(k) ? stored.get(k) : null),
  setItem: (k, v) => stored.set(k, String(v)),
  removeItem: (k) => stored.delete(k),
};
const body = {
  user: { username: "alice" }, session_id: "s1", csrf_token: "c",
  access_expires_at: new Date(Date.now() + 60000).toISOString(),
  refresh_expires_at: null, session_expires_at: null,
  access: process.argv[3], refresh: process.argv[4],
};
const fetch = async () =>
  new Response(JSON.stringify(body), { headers: { "Content-Type": "application/json" } });
const client = new AuthClient({ baseURL: "http://api.test/", fetch });
const events = [];
for (const type of ["login", "refresh"]) {
  client.addEventListener(type, (e) => events.push(e.detail));
}
const seen = [await client.login({ username: "alice", password: "p" }), await client.refresh()];
seen.push(client.sessionInfo, events, [...stored.values()]);
client.close();
console.log(JSON.stringify(seen));
"""


def test_client_drops_token_fields_from_every_answer(tmp_path: Path) -> None:
    node = require_node()
    script = tmp_path / "check.mjs"
    script.write_text(SCRIPT)
    result = subprocess.run(
        [node, str(script), CLIENT_JS.as_uri(), ACCESS, REFRESH],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    seen = json.loads(result.stdout)
    assert seen[0]["user"] == {"username": "alice"}
    assert seen[2]["session_id"] == "s1"
    assert len(seen[3]) == 2
    assert ACCESS not in result.stdout
    assert REFRESH not in result.stdout
