"""Replicated Redis for the tests: a replica, a cut link, a slow link, three sentinels.

Built on ``tests.servers.RedisServer`` (private redis-server processes on spare
loopback ports, stopped by their own ids). Every wait is bounded.

- ``replicate(primary, replica)``: ``REPLICAOF``, then wait for the first sync.
- ``cut_link(replica)``: the replica loses its primary for good and keeps serving what
  it had (stale reads): a wrong ``masterauth`` makes every reconnection fail its AUTH
  (the primary has no password), then ``CLIENT KILL TYPE master`` drops the link.
- ``SlowLink``: a TCP relay between a replica and its primary that holds the primary's
  bytes for a while, and drops those it still holds when the primary dies: the writes
  a primary had not sent yet when it crashed.
- ``Sentinel``: ``redis-server --sentinel`` with a config file written here.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from tests.servers import (
    HOST,
    RedisServer,
    _die_with_parent,
    _stop_process,
    free_port,
    redis_cli,
    wait_for,
)


def require_redis_server() -> None:
    """Skip without ``redis-server`` locally; under ``CI=true`` its absence is a failure."""
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true, and redis-server or redis-cli is not installed")
        pytest.skip("redis-server and redis-cli are not installed")


def info(server: RedisServer | Sentinel, section: str) -> dict[str, str]:
    """``INFO <section>`` as a dict (``{}`` if the server does not answer)."""
    try:
        text = server.command("INFO", section)
    except subprocess.SubprocessError:
        return {}
    pairs = (line.split(":", 1) for line in text.splitlines() if ":" in line)
    return {key: value.strip() for key, value in pairs}


def replicate(primary: RedisServer, replica: RedisServer, port: int | None = None) -> None:
    """Make ``replica`` replicate ``primary`` (through ``port`` if given); wait for the sync."""
    primary.command("CONFIG", "SET", "repl-diskless-sync", "yes")
    primary.command("CONFIG", "SET", "repl-diskless-sync-delay", "0")
    replica.command("REPLICAOF", HOST, str(port or primary.port))
    wait_for(
        lambda: info(replica, "replication").get("master_link_status") == "up",
        20,
        "replica in sync",
    )


def caught_up(primary: RedisServer, replica: RedisServer) -> None:
    """Wait until the replica has applied everything the primary wrote so far."""
    target = int(info(primary, "replication")["master_repl_offset"])
    wait_for(
        lambda: int(info(replica, "replication").get("slave_repl_offset", "-1")) >= target,
        10,
        "replica caught up",
    )


def cut_link(replica: RedisServer) -> None:
    """Cut the replica off its primary for good; it keeps serving its stale data."""
    replica.command("CONFIG", "SET", "masterauth", "not-the-primarys-password")
    replica.command("CLIENT", "KILL", "TYPE", "master")
    wait_for(
        lambda: info(replica, "replication").get("master_link_status") == "down",
        10,
        "replica link down",
    )


class SlowLink:
    """A relay to ``upstream``: its bytes reach the client ``delay`` seconds late.

    Client-to-upstream bytes pass at once. When the upstream closes, the bytes still
    held are dropped and the client's side closed: what a crashed primary never sent.
    """

    def __init__(self, upstream_port: int, delay: float) -> None:
        self.upstream_port = upstream_port
        self.delay = delay
        self.listener = socket.create_server((HOST, 0))
        self.port = int(self.listener.getsockname()[1])
        self.closed = threading.Event()
        self.sockets: list[socket.socket] = [self.listener]
        self._sockets_lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                continue
            try:
                upstream = socket.create_connection((HOST, self.upstream_port), timeout=5)
            except OSError:
                client.close()  # the upstream is down: the client sees a closed link
                continue
            with self._sockets_lock:
                if self.closed.is_set():  # close() ran meanwhile and did not see these two
                    client.close()
                    upstream.close()
                    return
                self.sockets += [client, upstream]
            upstream.settimeout(None)
            threading.Thread(target=self._forward, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._delayed, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _forward(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)

    def _delayed(self, source: socket.socket, target: socket.socket) -> None:
        held: list[tuple[float, bytes]] = []
        lock = threading.Condition()
        done = threading.Event()

        def send() -> None:
            while True:
                with lock:
                    while not held and not done.is_set():
                        lock.wait(0.05)
                    if done.is_set():
                        return  # the upstream died: what is still held is lost
                    due, data = held[0]
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(min(pause, 0.01))
                    continue
                with lock:
                    if done.is_set():
                        return
                    held.pop(0)
                try:
                    target.sendall(data)
                except OSError:
                    return

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                with lock:
                    held.append((time.monotonic() + self.delay, data))
                    lock.notify()
        with lock:
            done.set()
        sender.join(5)
        with contextlib.suppress(OSError):
            target.close()

    def close(self) -> None:
        with self._sockets_lock:
            self.closed.set()
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.close()


class Sentinel:
    """``redis-server --sentinel`` on a spare port, watching ``service`` at ``primary_port``."""

    def __init__(self, service: str, primary_port: int, *, down_after_ms: int = 1000) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="sentinel-")
        self.config = Path(self.dir) / "sentinel.conf"
        self.config.write_text(
            f"port {self.port}\n"
            f"bind {HOST}\n"
            f"dir {self.dir}\n"
            f"sentinel monitor {service} {HOST} {primary_port} 2\n"
            f"sentinel down-after-milliseconds {service} {down_after_ms}\n"
            f"sentinel failover-timeout {service} 5000\n"
            f"sentinel parallel-syncs {service} 1\n"
        )
        self.log = Path(self.dir) / "sentinel.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                ["redis-server", str(self.config), "--sentinel"],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )

    def command(self, *args: str) -> str:
        return redis_cli(self.port, *args)

    def primary_port(self, service: str) -> int | None:
        try:
            lines = self.command("SENTINEL", "get-master-addr-by-name", service).splitlines()
        except subprocess.SubprocessError:
            return None
        return int(lines[1]) if len(lines) == 2 else None

    def stop(self) -> None:
        import signal

        _stop_process(self.proc, signal.SIGTERM, 10)
        for path in sorted(Path(self.dir).iterdir()):
            path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            Path(self.dir).rmdir()
