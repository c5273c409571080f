"""A private PostgreSQL primary and its streaming replica, started and stopped by a test.

The system server (``PG``, 5432) is left alone: the primary is a new cluster
(``initdb``) on a free loopback port, configured for replication (``wal_level =
replica``, a ``pg_hba`` line for replication, trust), and the replica is
``pg_basebackup -R`` of it on another free port, streaming. A test pauses the
replica's replay (``pg_wal_replay_pause()``) to make it serve stale rows for as long
as it likes, the way a lagging replica does for a moment.

PostgreSQL refuses to run as root: when the tests run as root the servers run as the
``postgres`` OS user (its data under a fresh temporary directory it owns).
``missing()`` says what is absent, for the skip message. Like ``tests/servers.py``,
nothing here imports Django settings, and every process started here is stopped by
its own id (and gets SIGTERM if the test process dies).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import psycopg

from tests.servers import HOST, _die_with_parent, _stop_process, free_port, wait_for

BINDIR = Path(os.environ.get("JWT_TEST_PG_BINDIR", "/usr/lib/postgresql/15/bin"))
SERVER_USER = "postgres"
DB_NAME = "jwt_pscale"


def missing() -> str | None:
    """Return why a primary + replica cannot run here, or None when they can."""
    for tool in ("initdb", "postgres", "pg_basebackup"):
        if not (BINDIR / tool).is_file():
            return f"{BINDIR / tool} is not installed (PostgreSQL server binaries)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"running as root and there is no {SERVER_USER!r} OS user to run postgres as"
    return None


def _as_server_user() -> dict[str, Any]:
    """Popen arguments that run the child as ``postgres`` when we are root."""
    if os.geteuid() != 0:
        return {}
    entry = pwd.getpwnam(SERVER_USER)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _run(args: list[str], timeout: float = 120) -> None:
    out = subprocess.run(
        args, capture_output=True, text=True, timeout=timeout, cwd="/", **_as_server_user()
    )
    if out.returncode != 0:
        raise RuntimeError(f"{args[0]} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")


class Cluster:
    """One ``postgres`` process on its own data directory and loopback port."""

    def __init__(self, data: Path, port: int) -> None:
        self.data = data
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data.parent / f"{data.name}.log"

    def start(self, listen: str = HOST) -> None:
        """Start it listening on ``listen`` (comma-separated addresses)."""
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    str(BINDIR / "postgres"),
                    "-D",
                    str(self.data),
                    "-p",
                    str(self.port),
                    "-k",
                    str(self.data.parent),
                    "-c",
                    f"listen_addresses={listen}",
                ],
                cwd="/",
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
                **_as_server_user(),
            )

        def ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited early:\n{self.log_text()}")
            try:
                with self.connect("postgres"):
                    return True
            except psycopg.OperationalError:
                return False

        wait_for(ready, 60, f"postgres on port {self.port}", interval=0.1)

    def connect(self, dbname: str = DB_NAME) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=HOST, port=self.port, user="postgres", dbname=dbname, autocommit=True,
            connect_timeout=5,
        )  # fmt: skip

    def scalar(self, query: str, dbname: str = DB_NAME) -> Any:
        with self.connect(dbname) as conn:
            row = conn.execute(query).fetchone()  # type: ignore[arg-type]
            assert row is not None
            return row[0]

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-10000:] if self.log.exists() else ""

    def stop(self) -> None:
        if self.proc is not None:
            # SIGINT: PostgreSQL's "fast" shutdown (no waiting for clients).
            _stop_process(self.proc, signal.SIGINT, 20)


# Appended to the primary's postgresql.conf. fsync off: the clusters are thrown away.
# synchronous_commit stays on: a commit is flushed (and streamed) before the client
# hears of it, which wait_caught_up relies on.
_PRIMARY_CONF = """
wal_level = replica
max_wal_senders = 4
hot_standby = on
fsync = off
full_page_writes = off
shared_buffers = 16MB
max_connections = 40
"""


def init_cluster(data: Path, hba: list[str]) -> None:
    """``initdb`` a new cluster in ``data`` (its parent made the server user's), trust auth.

    ``hba``: lines appended to ``pg_hba.conf``. The configuration allows replication.
    """
    if os.geteuid() == 0:
        entry = pwd.getpwnam(SERVER_USER)
        os.chown(data.parent, entry.pw_uid, entry.pw_gid)
    _run(
        [
            str(BINDIR / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        ]
    )
    with open(data / "postgresql.conf", "a") as conf:
        conf.write(_PRIMARY_CONF)
    with open(data / "pg_hba.conf", "a") as lines:
        lines.writelines(f"{line}\n" for line in hba)


class PrimaryWithReplica:
    """A primary cluster, a streaming replica of it, and database ``jwt_pscale`` on both."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="jwt-pg-replica-"))
        self.primary = Cluster(self.root / "primary", free_port())
        self.replica = Cluster(self.root / "replica", free_port())

    def start(self) -> None:
        init_cluster(self.primary.data, hba=[f"host replication all {HOST}/32 trust"])
        self.primary.start()
        with self.primary.connect("postgres") as conn:
            conn.execute(f"CREATE DATABASE {DB_NAME}")
        _run(
            [
                str(BINDIR / "pg_basebackup"),
                "-h",
                HOST,
                "-p",
                str(self.primary.port),
                "-U",
                "postgres",
                "-D",
                str(self.replica.data),
                "-R",
                "-X",
                "stream",
                "--no-sync",
                # An immediate checkpoint: the default "spread" one waits minutes.
                "--checkpoint=fast",
            ]
        )
        self.replica.start()
        self.wait_caught_up()

    def wait_caught_up(self, timeout: float = 30) -> None:
        """Return once the replica has replayed everything the primary had written."""
        target = self.primary.scalar("SELECT pg_current_wal_lsn()::text")

        def replayed() -> bool:
            return bool(
                self.replica.scalar(
                    f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn", dbname="postgres"
                )
            )

        wait_for(replayed, timeout, "replica replay")

    def pause_replay(self) -> None:
        """Let the replica catch up, then stop its replay: it serves what it has now."""
        self.wait_caught_up()
        self.replica.scalar("SELECT pg_wal_replay_pause()", dbname="postgres")

        def paused() -> bool:
            state = self.replica.scalar("SELECT pg_get_wal_replay_pause_state()", "postgres")
            return bool(state == "paused")

        wait_for(paused, 10, "replay pause")

    def resume_replay(self) -> None:
        self.replica.scalar("SELECT pg_wal_replay_resume()", dbname="postgres")
        self.wait_caught_up()

    def settings_env(self) -> dict[str, str]:
        """What ``tests.replica_settings`` reads to reach both servers."""
        return {
            "JWT_REPLICA_DB_NAME": DB_NAME,
            "JWT_REPLICA_PRIMARY_PORT": str(self.primary.port),
            "JWT_REPLICA_REPLICA_PORT": str(self.replica.port),
        }

    def stop(self) -> None:
        try:
            self.replica.stop()
        finally:
            try:
                self.primary.stop()
            finally:
                # Let the stopped servers' files go before removing them.
                time.sleep(0.1)
                with suppress(OSError):
                    shutil.rmtree(self.root)


@contextmanager
def primary_with_replica() -> Iterator[PrimaryWithReplica]:
    pair = PrimaryWithReplica()
    try:
        pair.start()
        yield pair
    finally:
        pair.stop()
