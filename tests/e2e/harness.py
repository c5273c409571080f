"""Live servers, the browser, and network bookkeeping for the end-to-end tests.

The example project runs in a subprocess (``runserver --noreload``) on a free port,
with its own SQLite file, a 3-second access token, no leeway, and ``AUTO_REFRESH``
off so that the JavaScript client, not the middleware, renews tokens. A second,
in-process HTTP server plays "another origin": the attacker's site of test 6 and
the cross-site front end of test 8.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
MANAGE = ROOT / "example_project" / "manage.py"
CLIENT_JS = ROOT / "jwt_cookie_auth" / "static" / "jwt_cookie_auth" / "client.js"
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ROOT / "docs" / "screenshots"

ACCESS_SECONDS = 3
# The demo settings derive the rotation grace period from a short access token.
GRACE_SECONDS = ACCESS_SECONDS / 2
# Users the tests log in as, one per test so that no test sees another's sessions.
E2E_PASSWORD = "e2e-password"
E2E_USERS = [
    "jar",
    "five",
    "tabs",
    "tablease",
    "forced",
    "theft",
    "victim",
    "bye",
    "xsite",
    "ahead",
    "tossed",
    "tosser",
    "nexthop",
    "badcookie",
    "dupcookie",
    "device",
    "embedded",
    # tests/e2e/test_browser_clients.py: one per test and flavour (client, recipe).
    *(
        f"{flavour}-{case}"
        for flavour in ("client", "recipe")
        for case in ("tabs", "csrf", "net", "revoked", "bye")
    ),
]

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Nothing in these tests may wait longer than this for one browser step.
STEP_TIMEOUT_MS = 10_000

JWT_PATTERN = re.compile(rb"eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]+")


def missing_requirements() -> str | None:
    """Return why the browser tests cannot run here, or None."""
    reasons = []
    if importlib.util.find_spec("playwright") is None:
        reasons.append('Playwright for Python is not installed (pip install -e ".[e2e]")')
    if shutil.which("chromium") is None:
        reasons.append("the chromium executable is not on PATH (apt-get install chromium)")
    return "; ".join(reasons) or None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def demo_env(database: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("JWT_DEMO_", "JWT_TEST_")) and key != "REDIS_URL"
    }
    env.update(
        DJANGO_SETTINGS_MODULE="example_project.settings",
        PYTHONUNBUFFERED="1",
        JWT_DEMO_DATABASE=str(database),
        JWT_DEMO_ACCESS_SECONDS=str(ACCESS_SECONDS),
        JWT_DEMO_LEEWAY_SECONDS="0",
        JWT_DEMO_AUTO_REFRESH="0",
    )
    env.update(extra)
    return env


def manage(database: Path, *args: str) -> None:
    subprocess.run(
        [sys.executable, str(MANAGE), *args],
        env=demo_env(database),
        cwd=ROOT,
        check=True,
        timeout=180,
        capture_output=True,
    )


def build_template_database(path: Path) -> Path:
    """Migrate a fresh SQLite file; create the demo users and one user per test."""
    manage(path, "migrate", "--noinput")
    # One password hash for all test users: hashing costs most of a second each.
    script = (
        "from django.contrib.auth import get_user_model\n"
        "from django.contrib.auth.hashers import make_password\n"
        "from django.core.management import call_command\n"
        "call_command('demo_setup')\n"
        f"hashed = make_password({E2E_PASSWORD!r})\n"
        f"for name in {E2E_USERS!r}:\n"
        "    get_user_model().objects.create(username=name, password=hashed)\n"
    )
    manage(path, "shell", "-c", script)
    return path


@dataclass
class DemoServer:
    """The example project, running as ``manage.py runserver`` in a subprocess."""

    port: int
    database: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        # localhost, not 127.0.0.1: browsers keep Secure cookies over HTTP only there.
        return f"http://localhost:{self.port}"

    def session_row(self, session_id: str) -> dict[str, Any]:
        """The LoginSession row, read straight from the server's database."""
        with sqlite3.connect(self.database, timeout=10) as db:
            db.row_factory = sqlite3.Row
            row = db.execute(
                "SELECT * FROM jwt_cookie_auth_loginsession WHERE id = ?",
                [uuid.UUID(session_id).hex],
            ).fetchone()
            assert row is not None, f"no session {session_id}"
            rotations = db.execute(
                "SELECT COUNT(*) FROM jwt_cookie_auth_blacklistedtoken WHERE session_id = ?",
                [uuid.UUID(session_id).hex],
            ).fetchone()[0]
        return {**dict(row), "rotations": rotations}

    def live_sessions(self, username: str) -> int:
        with sqlite3.connect(self.database, timeout=10) as db:
            return int(
                db.execute(
                    "SELECT COUNT(*) FROM jwt_cookie_auth_loginsession s "
                    "JOIN auth_user u ON u.id = s.user_id "
                    "WHERE u.username = ? AND s.revoked_at IS NULL",
                    [username],
                ).fetchone()[0]
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_demo_server(
    template: Path, workdir: Path, name: str, *, asgi: bool = False, **env: str
) -> DemoServer:
    """Start the demo under ``runserver``, or with ``asgi`` under uvicorn (WebSockets)."""
    workdir.mkdir(parents=True, exist_ok=True)
    database = workdir / f"{name}.sqlite3"
    shutil.copyfile(template, database)
    port = free_port()
    log_path = workdir / f"{name}.log"
    command = [sys.executable, str(MANAGE), "runserver", "--noreload", f"127.0.0.1:{port}"]
    if asgi:
        # One uvicorn process: the in-memory channel layer of the demo reaches every
        # socket (example_project/asgi.py).
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "example_project.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--ws",
            "websockets",
        ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            env=demo_env(database, **env),
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = DemoServer(port, database, log_path, process)
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the demo server exited:\n{server.log()}")
        try:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/auth/session/", headers={"Host": f"localhost:{port}"}
            )
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return server
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"the demo server did not answer within 30 s:\n{server.log()}")
        time.sleep(0.1)


@dataclass
class OtherSite:
    """Another origin on 127.0.0.1 (reachable as localhost too): static pages by path."""

    port: int
    pages: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    server: ThreadingHTTPServer | None = None

    def url(self, host: str, path: str) -> str:
        return f"http://{host}:{self.port}{path}"

    def add(self, path: str, body: str | bytes, content_type: str = "text/html") -> None:
        data = body.encode() if isinstance(body, str) else body
        self.pages[path] = (f"{content_type}; charset=utf-8", data)

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def start_other_site() -> OtherSite:
    site = OtherSite(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            page = site.pages.get(urlsplit(self.path).path)
            if page is None:
                self.send_error(404)
                return
            content_type, body = page
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    site.server = server
    site.port = int(server.server_address[1])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return site


@dataclass
class Exchange:
    method: str
    url: str
    path: str
    status: int | None = None


class Traffic:
    """Every request of a browser context, counted at the network layer."""

    def __init__(self, context: Any) -> None:
        self.exchanges: list[Exchange] = []
        self._by_request: dict[Any, Exchange] = {}
        self.responses: list[Any] = []
        context.on("request", self._on_request)
        context.on("response", self._on_response)

    def _on_request(self, request: Any) -> None:
        exchange = Exchange(request.method, request.url, urlsplit(request.url).path)
        self._by_request[request] = exchange
        self.exchanges.append(exchange)

    def _on_response(self, response: Any) -> None:
        self.responses.append(response)
        exchange = self._by_request.get(response.request)
        if exchange is not None:
            exchange.status = response.status

    def mark(self) -> int:
        return len(self.exchanges)

    def since(self, mark: int, path: str | None = None) -> list[Exchange]:
        return [e for e in self.exchanges[mark:] if path is None or e.path == path]

    def summary(self, mark: int = 0) -> list[str]:
        return [f"{e.method} {e.path} {e.status}" for e in self.exchanges[mark:]]
