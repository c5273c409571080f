"""Real servers for the multi-process tests: gunicorn, PostgreSQL databases, redis-server.

Everything listens on 127.0.0.1 only, every wait is bounded, and every process started
here is stopped by its own id. Nothing in this module imports Django settings, so a
spawned process can import it before choosing its settings module.

- ``RedisServer``: a private ``redis-server`` on a spare port, no persistence, that a
  test may kill (a crash) and start again (an empty cache, as after a crash).
- ``PostgresDatabase``: a freshly created database, dropped at the end.
- ``GunicornServer``: the test project (``tests.live_settings``) under gunicorn with N
  sync workers, migrated, on a free port.
- ``HttpSession``: one browser: a cookie jar, CSRF from ``/auth/session/``, and the
  ``X-Worker-Pid`` of every answer.
- ``django_process``: the body of a spawned process with its own Django, for races.

Servers get SIGTERM if the test process dies, so an interrupted run leaves none behind
(a killed run may leave a ``jwt_live_*`` database; drop it by hand).
"""

from __future__ import annotations

import ctypes
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
HOST = "127.0.0.1"
PG = {
    "host": os.environ.get("PGHOST", HOST),
    "port": int(os.environ.get("PGPORT", "5432")),
    "user": os.environ.get("PGUSER", "postgres"),
}


def free_port() -> int:
    """Return a loopback TCP port that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """In the child: SIGTERM when the test process dies, so a killed run leaves no servers.

    Linux signals on the exit of the forking *thread*: start servers from the main one.
    """
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def redis_cli(port: int, *args: str) -> str:
    """Run one ``redis-cli`` command against the server on ``port``; return its output."""
    out = subprocess.run(
        ["redis-cli", "-h", HOST, "-p", str(port), *args],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    return out.stdout.strip()


def command_calls(port: int, *names: str) -> int:
    """Return how many of the commands ``names`` (lower case) Redis on ``port`` has
    served so far, all clients together (``INFO commandstats``)."""
    total = 0
    for line in redis_cli(port, "INFO", "commandstats").splitlines():
        name, _, stats = line.partition(":")
        if name.removeprefix("cmdstat_") in names:
            total += int(stats.split("calls=")[1].split(",")[0])
    return total


def wait_for(condition: Any, timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not ready after {timeout} s")
        time.sleep(interval)


def _stop_process(proc: subprocess.Popen[bytes], sig: int, timeout: float) -> None:
    """Signal a process group we started (by its leader's id), then make sure it is gone."""
    if proc.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    # A group's other members (gunicorn workers) may outlive their master briefly.
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


# --- Redis -------------------------------------------------------------------------


class RedisServer:
    """A private redis-server on a spare loopback port; kill() and start() at will."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="redis-", suffix=".log", delete=False)  # noqa: SIM115
        # A replica writes the snapshot it receives from its primary into its working
        # directory even with persistence off: keep that out of the checkout.
        self.dir = tempfile.mkdtemp(prefix="redis-")

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def ping(self) -> bool:
        try:
            with socket.create_connection((HOST, self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                HOST,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir,
                "--protected-mode",
                "yes",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        wait_for(self.ping, 10, f"redis-server on port {self.port}")

    def kill(self) -> None:
        """Crash it: SIGKILL, no goodbye to clients; everything it held is lost."""
        if self.proc is not None:
            _stop_process(self.proc, signal.SIGKILL, 10)
        wait_for(lambda: not self.ping(), 5, "redis-server to die")

    def stop(self) -> None:
        if self.proc is not None:
            _stop_process(self.proc, signal.SIGTERM, 10)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)

    def command(self, *args: str) -> str:
        return redis_cli(self.port, *args)


def redis_caches(url: str, ignore_exceptions: bool) -> dict[str, Any]:
    """``CACHES`` for django-redis on ``url``; a dead server costs at most a second."""
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": url,
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "IGNORE_EXCEPTIONS": ignore_exceptions,
                "SOCKET_CONNECT_TIMEOUT": 1,
                "SOCKET_TIMEOUT": 1,
            },
        }
    }


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


# --- PostgreSQL --------------------------------------------------------------------


class PostgresDatabase:
    """A new, empty PostgreSQL database with a random name; drop() removes it."""

    def __init__(self, prefix: str = "jwt_live") -> None:
        self.name = f"{prefix}_{secrets.token_hex(4)}"
        with psycopg.connect(dbname="postgres", autocommit=True, connect_timeout=10, **PG) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))

    def query(self, query: str, params: Any = None) -> list[tuple[Any, ...]]:
        with psycopg.connect(dbname=self.name, autocommit=True, connect_timeout=10, **PG) as conn:
            return conn.execute(query, params).fetchall()  # type: ignore[arg-type]

    def scalar(self, query: str, params: Any = None) -> Any:
        return self.query(query, params)[0][0]

    def drop(self) -> None:
        with psycopg.connect(dbname="postgres", autocommit=True, connect_timeout=10, **PG) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name))
            )


# --- gunicorn ----------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may contain spaces, so split after ")".
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def rss_kib(pid: int) -> int:
    """Return a process's resident set size (VmRSS) in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise LookupError(f"no VmRSS for {pid}")


def _gunicorn_options() -> list[str]:
    """Options of this gunicorn version that keep parallel servers apart."""
    from gunicorn import config

    flags = {flag for setting in config.KNOWN_SETTINGS for flag in setting.cli or ()}
    # Recent gunicorn opens a control socket at one fixed path per user by default.
    return ["--no-control-socket"] if "--no-control-socket" in flags else []


class GunicornServer:
    """The test project under gunicorn on a fresh database, with ``workers`` sync workers."""

    def __init__(
        self,
        redis_url: str,
        *,
        workers: int = 3,
        ignore_exceptions: bool = False,
        env: dict[str, str] | None = None,
    ) -> None:
        self.workers = workers
        self.port = free_port()
        self.database = PostgresDatabase()
        self.env = {
            **os.environ,
            **(env or {}),
            "DJANGO_SETTINGS_MODULE": "tests.live_settings",
            "JWT_LIVE_DB_NAME": self.database.name,
            "JWT_LIVE_REDIS_URL": redis_url,
            "JWT_LIVE_IGNORE_EXCEPTIONS": "1" if ignore_exceptions else "0",
            "PYTHONPATH": str(ROOT),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        self.log = tempfile.NamedTemporaryFile(prefix="gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
        self.proc: subprocess.Popen[bytes] | None = None

    def python(self, code: str, timeout: float = 120) -> str:
        """Run Python with Django set up on this server's settings; return its stdout."""
        out = subprocess.run(
            [PYTHON, "-c", f"import django\ndjango.setup()\n{code}"],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if out.returncode != 0:
            raise RuntimeError(f"python failed:\n{out.stdout}\n{out.stderr}")
        return out.stdout

    def create_users(
        self, names: list[str], password: str, *, superuser: str = ""
    ) -> dict[str, str]:
        """Create users (and one superuser); return ``{name: username}`` and ``{name+':pk'}``."""
        code = f"""
import json
from tests.conftest import make_user
result = {{}}
for name in {names!r}:
    user = make_user(name, {password!r})
    result[name] = user.get_username()
    result[name + ":pk"] = str(user.pk)
if {superuser!r}:
    admin = make_user({superuser!r}, {password!r}, is_staff=True, is_superuser=True)
    result[{superuser!r}] = admin.get_username()
    result[{superuser!r} + ":pk"] = str(admin.pk)
print(json.dumps(result))
"""
        return json.loads(self.python(code))  # type: ignore[no-any-return]

    def start(self) -> None:
        self.python(
            "from django.core.management import call_command\n"
            "call_command('migrate', verbosity=0, interactive=False)"
        )
        self.proc = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "gunicorn",
                "django.core.wsgi:get_wsgi_application()",
                "--bind",
                f"{HOST}:{self.port}",
                "--workers",
                str(self.workers),
                "--worker-class",
                "sync",
                "--timeout",
                "30",
                "--graceful-timeout",
                "5",
                "--chdir",
                str(ROOT),
                "--log-level",
                "warning",
                *_gunicorn_options(),
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )

        def ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited early:\n{self.log_text()}")
            if len(self.worker_pids()) != self.workers:
                return False
            try:
                return HttpSession(self).get("/auth/session/").status == 200
            except OSError:
                return False

        wait_for(ready, 60, "gunicorn", interval=0.2)

    def worker_pids(self) -> list[int]:
        assert self.proc is not None
        return _children(self.proc.pid)

    def log_text(self) -> str:
        return Path(self.log.name).read_text(errors="replace")[-20000:]

    def stop(self) -> None:
        try:
            if self.proc is not None:
                _stop_process(self.proc, signal.SIGTERM, 15)
        finally:
            self.log.close()
            Path(self.log.name).unlink(missing_ok=True)
            self.database.drop()


@contextmanager
def gunicorn_server(redis_url: str, **kwargs: Any) -> Iterator[GunicornServer]:
    server = GunicornServer(redis_url, **kwargs)
    try:
        server.start()
        yield server
    finally:
        server.stop()


# --- HTTP --------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    #: Cookies this response set (name -> value; "" for a deletion).
    set_cookies: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def worker(self) -> int:
        return int(self.header("X-Worker-Pid") or 0)

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def json(self) -> Any:
        return json.loads(self.body)


class HttpSession:
    """One browser against a live server: a cookie jar and CSRF, nothing more.

    Cookies are sent whatever their Secure flag (the server is loopback plain HTTP
    and the package's secure default stays on).
    """

    def __init__(self, server: GunicornServer | tuple[str, int], timeout: float = 15) -> None:
        self.address = (HOST, server.port) if isinstance(server, GunicornServer) else server
        self.timeout = timeout
        self.cookies: dict[str, str] = {}

    def copy(self) -> HttpSession:
        twin = HttpSession(self.address, self.timeout)
        twin.cookies = dict(self.cookies)
        return twin

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        form: dict[str, Any] | list[tuple[str, Any]] | None = None,
        csrf: bool = False,
        cookies: dict[str, str] | None = None,
        store: bool = True,
    ) -> Reply:
        headers = {"Host": f"{self.address[0]}:{self.address[1]}"}
        body: bytes | None = None
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        elif form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if csrf:
            headers["X-CSRFToken"] = self.cookies["csrftoken"]
        jar = self.cookies if cookies is None else cookies
        if jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
        started = time.perf_counter()
        conn = http.client.HTTPConnection(*self.address, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            reply = Reply(response.status, response.getheaders(), response.read())
        finally:
            conn.close()
        reply.seconds = time.perf_counter() - started
        for key, value in reply.headers:
            if key.lower() != "set-cookie":
                continue
            for name, morsel in SimpleCookie(value).items():
                deleted = morsel["max-age"] == "0" or "1970" in morsel["expires"]
                reply.set_cookies[name] = "" if deleted else morsel.value
        if store and cookies is None:
            for name, value in reply.set_cookies.items():
                if value:
                    self.cookies[name] = value
                else:
                    self.cookies.pop(name, None)
        return reply

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Reply:
        return self.request("POST", path, **kwargs)

    def login(self, username_field: str, username: str, password: str) -> Reply:
        """Log in the way the JS client does: CSRF from /auth/session/, then JSON."""
        self.get("/auth/session/")
        return self.post(
            "/auth/login/",
            json_body={username_field: username, "password": password},
            csrf=True,
        )

    def admin_login(self, username: str, password: str) -> Reply:
        self.get("/admin/login/")
        return self.post(
            "/admin/login/?next=/admin/",
            form={
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": self.cookies["csrftoken"],
                "next": "/admin/",
            },
        )

    def admin_post(self, path: str, form: list[tuple[str, Any]]) -> Reply:
        """POST an admin form with the CSRF token as a browser would."""
        return self.post(path, form=[("csrfmiddlewaretoken", self.cookies["csrftoken"]), *form])


# --- Django in separate processes ----------------------------------------------------


def django_process(
    db_name: str, redis_url: str, tasks: Any, results: Any, barrier: Any
) -> None:  # pragma: no cover - runs in a spawned process
    """Serve tasks in a spawned process with its own Django, database connection and cache.

    Every task waits on ``barrier`` first, so the processes act at the same moment.
    Tasks: ``("refresh", refresh_token)`` POSTs /auth/refresh/ with that cookie;
    ``("force_logout", user_pk)`` is the admin action's revocation; ``None`` stops.
    """
    os.environ.update(
        DJANGO_SETTINGS_MODULE="tests.live_settings",
        JWT_LIVE_DB_NAME=db_name,
        JWT_LIVE_REDIS_URL=redis_url,
    )
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from jwt_cookie_auth.cookie_names import refresh_cookie_name
    from jwt_cookie_auth.models import RevokeReason
    from jwt_cookie_auth.revocation import revoke_user_sessions

    results.put(("ready", os.getpid()))
    while (task := tasks.get(timeout=300)) is not None:
        kind, argument = task
        barrier.wait(timeout=60)
        if kind == "refresh":
            client = Client(raise_request_exception=False)
            client.cookies[refresh_cookie_name()] = argument
            response = client.post("/auth/refresh/")
            cookie = response.cookies.get(refresh_cookie_name())
            results.put((kind, os.getpid(), response.status_code, cookie.value if cookie else None))
        else:
            users = get_user_model()._default_manager.filter(pk=argument).values("pk")
            revoked = revoke_user_sessions(users, RevokeReason.ADMIN)
            results.put((kind, os.getpid(), 200, sum(len(ids) for ids in revoked.values())))
