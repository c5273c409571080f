"""App hosts in network namespaces on this machine, sharing one PostgreSQL and one Redis.

Each host is a network namespace (``ip netns add``) joined to the root namespace by
a veth pair on its own /30 (host side ``10.231.N.2``, root side ``10.231.N.1``),
running the live test project (``tests.netns_settings``) under gunicorn on
``10.231.N.2:8000``. Its clock is off by ``skew`` seconds through the package's
injected clock (``JWT_TEST_CLOCK_SKEW_SECONDS``, ``tests/skewed_clock.py``).

The shared servers run in the root namespace and listen on every root-side address:
a private PostgreSQL cluster (``tests.pg_replica.Cluster``; the system server on 5432
listens on loopback only) and a private redis-server.

A host named in ``delayed`` reaches Redis through a ``DelayLink`` instead: a small
userspace relay in the root namespace, on that host's root-side address and Redis's
port, that hands Redis's bytes on to the host a set delay late (``set_delay``), in
order, per connection, and the host's own bytes on at once: the one-way latency from
Redis to a host on another machine. A relay and not ``tc netem``: this machine's kernel
has neither ``sch_netem`` nor ``sch_prio`` (``CONFIG_NET_SCH_NETEM`` is not set).

Needs root (or CAP_NET_ADMIN) for ``ip netns``; ``missing()`` says why not, for the
skip message. Namespaces are deleted on the way out, failure or not
(``netns_hosts()``); a killed run may leave ``jwtp*`` namespaces: ``ip netns del``.
"""

from __future__ import annotations

import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Collection, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from tests import pg_replica
from tests.servers import (
    PYTHON,
    ROOT,
    HttpSession,
    _die_with_parent,
    _gunicorn_options,
    _stop_process,
    free_port,
    wait_for,
)

APP_PORT = 8000


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)


def missing() -> str | None:
    """Return why namespaces cannot be made here, or None when they can."""
    if shutil.which("ip") is None:
        return "ip (iproute2) is not installed"
    probe = f"jwtp{secrets.token_hex(3)}"
    try:
        _ip("netns", "add", probe)
    except (subprocess.CalledProcessError, OSError) as exc:
        detail = getattr(exc, "stderr", "") or exc
        return f"ip netns add is not permitted here ({str(detail).strip()})"
    with suppress(subprocess.CalledProcessError):
        _ip("netns", "del", probe)
    return pg_replica.missing()


def require() -> None:
    """Skip the test, with the reason, where hosts cannot be made; fail under CI=true."""
    import pytest

    reason = missing()
    if reason is None and shutil.which("redis-server") is None:
        reason = "redis-server is not installed"
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true, and {reason}")
        pytest.skip(reason)


class Namespace:
    """A network namespace with a veth pair to the root namespace."""

    def __init__(self, subnet: int) -> None:
        tag = secrets.token_hex(3)
        self.name = f"jwtp{tag}"
        self.outer_if = f"jp{tag}o"
        self.inner_if = f"jp{tag}i"
        self.outer_ip = f"10.231.{subnet}.1"
        self.inner_ip = f"10.231.{subnet}.2"
        self.created = False

    def create(self) -> None:
        _ip("netns", "add", self.name)
        self.created = True
        _ip("link", "add", self.outer_if, "type", "veth", "peer", "name", self.inner_if)
        _ip("link", "set", self.inner_if, "netns", self.name)
        _ip("addr", "add", f"{self.outer_ip}/30", "dev", self.outer_if)
        _ip("link", "set", self.outer_if, "up")
        inside = ("netns", "exec", self.name, "ip")
        _ip(*inside, "addr", "add", f"{self.inner_ip}/30", "dev", self.inner_if)
        _ip(*inside, "link", "set", self.inner_if, "up")
        _ip(*inside, "link", "set", "lo", "up")

    def delete(self) -> None:
        # Deleting the namespace destroys its end of the pair, and so the pair.
        if self.created:
            with suppress(subprocess.CalledProcessError):
                _ip("netns", "del", self.name)
        with suppress(subprocess.CalledProcessError):
            _ip("link", "del", self.outer_if)


class RedisOn:
    """A private redis-server listening on loopback and the given addresses."""

    def __init__(self, addresses: list[str]) -> None:
        self.port = free_port()
        self.addresses = addresses
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", *self.addresses,
             "--save", "", "--appendonly", "no", "--protected-mode", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )  # fmt: skip
        probe = HttpSession(("127.0.0.1", self.port))  # only for its address

        def up() -> bool:
            import socket

            try:
                with socket.create_connection(probe.address, timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    return sock.recv(64).startswith(b"+PONG")
            except OSError:
                return False

        wait_for(up, 10, "redis-server")

    def stop(self) -> None:
        if self.proc is not None:
            _stop_process(self.proc, signal.SIGTERM, 10)


class DelayLink:
    """A relay to Redis on ``address``:``port`` delaying only Redis's bytes to the host.

    Every chunk read from Redis is written to the host ``set_delay`` seconds after it
    was read (0 at first), in order, per connection: what a network with that one-way
    latency from Redis to the host does to a TCP stream (an invalidation push stays
    ahead of any later reply). The host's bytes to Redis go on at once. At delay 0 it
    still costs a hop through one more process, both ways.
    """

    def __init__(self, address: str, port: int) -> None:
        self.address = address
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        code = "from tests.netns_hosts import _relay\n_relay()"
        self.proc = subprocess.Popen(
            [PYTHON, "-c", code, self.address, str(self.port)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        self._answer("ready")

    def set_delay(self, seconds: float) -> None:
        """Delay by ``seconds`` whatever Redis sends the host from now on."""
        assert self.proc is not None
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{seconds}\n".encode())
        self.proc.stdin.flush()
        self._answer("ok")

    def _answer(self, expected: str) -> None:
        assert self.proc is not None
        assert self.proc.stdout is not None
        if not select.select([self.proc.stdout], [], [], 30)[0]:
            raise TimeoutError(f"delay link on {self.address}: no {expected!r}")
        line = self.proc.stdout.readline().decode().strip()
        if line != expected:
            raise RuntimeError(f"delay link on {self.address}: {line!r}, not {expected!r}")

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            _stop_process(self.proc, signal.SIGTERM, 10)
        finally:
            for pipe in (self.proc.stdin, self.proc.stdout):
                if pipe is not None:
                    with suppress(OSError):
                        pipe.close()


def _relay() -> None:
    """The body of a ``DelayLink`` process (argv: address, port; Redis on loopback).

    One asyncio loop; a delay (seconds) per line on stdin, answered "ok"; stdin's end
    (the test process is gone) ends it.
    """
    import asyncio

    address, port = sys.argv[1], int(sys.argv[2])
    delay = [0.0]

    async def connection(host_r: asyncio.StreamReader, host_w: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        try:
            redis_r, redis_w = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            host_w.close()
            return
        # (when due, bytes); b"" is Redis's end of the stream, passed on as late.
        late: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def up() -> None:
            while data := await host_r.read(65536):
                redis_w.write(data)
                await redis_w.drain()

        async def down_read() -> None:
            while data := await redis_r.read(65536):
                late.put_nowait((loop.time() + delay[0], data))
            late.put_nowait((loop.time() + delay[0], b""))

        async def down_write() -> None:
            while True:
                due, data = await late.get()
                if due > loop.time():
                    await asyncio.sleep(due - loop.time())
                if not data:
                    return
                host_w.write(data)
                await host_w.drain()

        tasks = [asyncio.ensure_future(pump()) for pump in (up, down_read, down_write)]
        try:
            # Either end closing (or failing) ends the connection: close both.
            await asyncio.wait([tasks[0], tasks[2]], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for writer in (host_w, redis_w):
                writer.close()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        server = await asyncio.start_server(connection, address, port)

        def command() -> None:
            line = sys.stdin.buffer.readline()
            if not line:
                loop.remove_reader(sys.stdin.fileno())
                if not done.done():
                    done.set_result(None)
                return
            delay[0] = float(line)
            sys.stdout.write("ok\n")
            sys.stdout.flush()

        loop.add_reader(sys.stdin.fileno(), command)
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        async with server:
            await done

    asyncio.run(main())


@dataclass
class AppHost:
    """gunicorn of the live project inside ``namespace``, its clock off by ``skew`` s."""

    namespace: Namespace
    skew: float
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def address(self) -> tuple[str, int]:
        return (self.namespace.inner_ip, APP_PORT)

    def start(self) -> None:
        fd, name = tempfile.mkstemp(prefix="gunicorn-netns-", suffix=".log")
        self.log = Path(name)
        with os.fdopen(fd, "wb") as log:
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.namespace.name, PYTHON, "-m", "gunicorn",
                 "django.core.wsgi:get_wsgi_application()",
                 "--bind", f"{self.namespace.inner_ip}:{APP_PORT}", "--workers", "1",
                 "--worker-class", "sync", "--timeout", "30", "--graceful-timeout", "5",
                 "--chdir", str(ROOT), "--log-level", "warning", *_gunicorn_options()],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )  # fmt: skip

        def ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited early:\n{self.log_text()}")
            try:
                return HttpSession(self.address).get("/auth/session/").status == 200
            except OSError:
                return False

        try:
            wait_for(ready, 90, f"gunicorn in {self.namespace.name}", interval=0.2)
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}\n{self.log_text()}") from None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-20000:] if self.log else ""

    def stop(self) -> None:
        try:
            if self.proc is not None:
                _stop_process(self.proc, signal.SIGTERM, 15)
        finally:
            if self.log is not None:
                self.log.unlink(missing_ok=True)


@dataclass
class Fleet:
    hosts: list[AppHost]
    database: pg_replica.Cluster
    redis: RedisOn
    python_env: dict[str, str]
    #: Host index -> the link through which that host reaches Redis (``delayed``).
    links: dict[int, DelayLink] = field(default_factory=dict)

    def python(self, code: str) -> str:
        """Run Django code from the root namespace against the shared servers."""
        out = subprocess.run(
            [PYTHON, "-c", f"import django\ndjango.setup()\n{code}"],
            cwd=ROOT, env=self.python_env, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        if out.returncode != 0:
            raise RuntimeError(f"python failed:\n{out.stdout}\n{out.stderr}")
        return out.stdout


def _env(
    db_host: str, db_port: int, redis: str, skew: float, extra: dict[str, str]
) -> dict[str, str]:
    return {
        **os.environ,
        **extra,
        "DJANGO_SETTINGS_MODULE": "tests.netns_settings",
        "JWT_LIVE_DB_NAME": pg_replica.DB_NAME,
        "PGHOST": db_host,
        "PGPORT": str(db_port),
        "JWT_LIVE_REDIS_URL": redis,
        "JWT_TEST_CLOCK_SKEW_SECONDS": str(skew),
        "PYTHONPATH": str(ROOT),
        "PYTHONDONTWRITEBYTECODE": "1",
    }


@contextmanager
def netns_hosts(
    skews: list[float],
    extra_env: dict[str, str] | None = None,
    delayed: Collection[int] = (),
) -> Iterator[Fleet]:
    """Start one app host per skew, in its own namespace; tear everything down after.

    The hosts whose index is in ``delayed`` reach Redis through a ``DelayLink``
    (``Fleet.links``), at the same address and port as the others would.
    """
    extra = extra_env or {}
    first = 1 + secrets.randbelow(200)
    namespaces = [Namespace(first + i) for i in range(len(skews))]
    with ExitStack() as stack:
        for namespace in namespaces:
            stack.callback(namespace.delete)
            namespace.create()
        root = Path(tempfile.mkdtemp(prefix="jwt-netns-pg-"))
        database = pg_replica.Cluster(root / "data", free_port())
        stack.callback(shutil.rmtree, root, True)
        listen = ["127.0.0.1", *(n.outer_ip for n in namespaces)]
        pg_replica.init_cluster(database.data, hba=["host all all 10.231.0.0/16 trust"])
        stack.callback(database.stop)
        database.start(listen=",".join(listen))
        with database.connect("postgres") as conn:
            conn.execute(f"CREATE DATABASE {pg_replica.DB_NAME}")
        redis = RedisOn([n.outer_ip for i, n in enumerate(namespaces) if i not in delayed])
        stack.callback(redis.stop)
        redis.start()
        links: dict[int, DelayLink] = {}
        for index in sorted(delayed):
            links[index] = DelayLink(namespaces[index].outer_ip, redis.port)
            stack.callback(links[index].stop)
            links[index].start()
        python_env = _env("127.0.0.1", database.port, f"redis://127.0.0.1:{redis.port}/0", 0, extra)
        fleet = Fleet([], database, redis, python_env, links)
        fleet.python(
            "from django.core.management import call_command\n"
            "call_command('migrate', verbosity=0, interactive=False)"
        )
        for namespace, skew in zip(namespaces, skews, strict=True):
            env = _env(
                namespace.outer_ip,
                database.port,
                f"redis://{namespace.outer_ip}:{redis.port}/0",
                skew,
                extra,
            )
            host = AppHost(namespace, skew, env)
            stack.callback(host.stop)
            host.start()
            fleet.hosts.append(host)
        yield fleet
