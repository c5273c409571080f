"""Measuring tools shared by the phases: a WSGI driver, counters and statistics.

- ``Driver`` sends a WSGI environ straight to Django's ``WSGIHandler``: the whole
  stack (request signals, every middleware, URL resolution, DRF) and nothing else,
  the same way for every variant.
- ``Statements`` counts the SQL statements PostgreSQL receives, BEGIN and COMMIT
  included: Django's execute wrappers see every statement it sends (savepoints too),
  and psycopg sends BEGIN before the first statement after autocommit is turned off
  and COMMIT on ``commit()``, which are counted from Django's connection methods.
- ``RedisRoundTrips`` counts request/response exchanges at the socket: each
  ``send_packed_command`` of redis-py is one (a pipeline is one).
- ``interleaved`` runs every variant once per round, in a shuffled order, and keeps
  each slice's median; phases report medians across rounds and the spread.
"""

from __future__ import annotations

import gc
import io
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

BASE_ENVIRON: dict[str, Any] = {
    "SCRIPT_NAME": "",
    "QUERY_STRING": "",
    "SERVER_NAME": "testserver",
    "SERVER_PORT": "80",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "REMOTE_ADDR": "127.0.0.1",
    "HTTP_HOST": "testserver",
    "HTTP_USER_AGENT": "jwt-cookie-auth-benchmark/1.0",
    "HTTP_ACCEPT": "application/json",
    "wsgi.version": (1, 0),
    "wsgi.url_scheme": "http",
    "wsgi.multithread": False,
    "wsgi.multiprocess": True,
    "wsgi.run_once": False,
    "wsgi.errors": sys.stderr,
}


@dataclass
class Request:
    """A prepared request: the environ is built once, the body stream per call."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    content_type: str | None = None
    environ: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.environ = {
            **BASE_ENVIRON,
            "REQUEST_METHOD": self.method,
            "PATH_INFO": self.path,
            "CONTENT_LENGTH": str(len(self.body)),
            **self.headers,
        }
        if self.content_type:
            self.environ["CONTENT_TYPE"] = self.content_type


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def cookies(self) -> dict[str, str]:
        jar: SimpleCookie = SimpleCookie()
        for name, value in self.headers:
            if name.lower() == "set-cookie":
                jar.load(value)
        return {name: morsel.value for name, morsel in jar.items()}


class Driver:
    """Calls Django's WSGI handler in process, as a WSGI server would."""

    def __init__(self) -> None:
        from django.core.handlers.wsgi import WSGIHandler

        self.handler = WSGIHandler()

    def __call__(self, request: Request) -> Response:
        environ = request.environ.copy()
        environ["wsgi.input"] = io.BytesIO(request.body)
        started: list[Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            started.append((status, headers))
            return None

        result = self.handler(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status, headers = started[0]
        return Response(int(status.split(" ", 1)[0]), headers, body)

    def timed(self, request: Request, n: int, expect: int = 200) -> list[int]:
        """Send ``request`` n times; return the nanoseconds of each."""
        times = []
        clock = time.perf_counter_ns
        for _ in range(n):
            start = clock()
            response = self(request)
            times.append(clock() - start)
            if response.status != expect:
                raise RuntimeError(
                    f"{request.method} {request.path}: HTTP {response.status}, expected {expect}:"
                    f" {response.body[:300]!r}"
                )
        return times


class Statements:
    """Count the SQL statements sent on Django's default connection (BEGIN/COMMIT too)."""

    def __init__(self) -> None:
        self.sql: list[str] = []
        self._pending_begin = False
        self._in_transaction = False

    def _wrapper(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        if self._pending_begin:
            self.sql.append("BEGIN")
            self._pending_begin = False
            self._in_transaction = True
        self.sql.append(" ".join(str(sql).split())[:200])
        return execute(sql, params, many, context)

    def __enter__(self) -> Statements:
        from django.db import connections

        conn = connections["default"]
        conn.ensure_connection()
        self._conn = conn
        self._wrap_cm = conn.execute_wrapper(self._wrapper)
        self._wrap_cm.__enter__()
        originals = (conn._set_autocommit, conn._commit, conn._rollback)
        self._originals = originals
        set_autocommit, commit, rollback = originals

        def hooked_set_autocommit(autocommit: bool) -> Any:
            if not autocommit:
                self._pending_begin = True
            return set_autocommit(autocommit)

        def hooked_commit() -> Any:
            if self._in_transaction:
                self.sql.append("COMMIT")
            self._pending_begin = self._in_transaction = False
            return commit()

        def hooked_rollback() -> Any:
            if self._in_transaction:
                self.sql.append("ROLLBACK")
            self._pending_begin = self._in_transaction = False
            return rollback()

        conn._set_autocommit = hooked_set_autocommit
        conn._commit = hooked_commit
        conn._rollback = hooked_rollback
        return self

    def __exit__(self, *exc: Any) -> None:
        self._wrap_cm.__exit__(*exc)
        for name in ("_set_autocommit", "_commit", "_rollback"):
            self._conn.__dict__.pop(name, None)

    def __len__(self) -> int:
        return len(self.sql)


class RedisRoundTrips:
    """Count request/response exchanges with Redis at the socket (a pipeline is one).

    redis-py's connections, and the local revocation cache's own tracking connection
    (``Tracker._fetch``: a read that waits for its reply). The tracker's ``PING`` is not
    one: it is sent without waiting, and its ``PONG`` read by a later drain.
    """

    def __init__(self) -> None:
        self.count = 0

    def __enter__(self) -> RedisRoundTrips:
        from redis.connection import Connection

        self._own = "send_packed_command" in Connection.__dict__
        original = Connection.send_packed_command

        def send(conn: Any, command: Any, check_health: bool = True) -> Any:
            self.count += 1
            return original(conn, command, check_health)

        self._original = original
        Connection.send_packed_command = send  # type: ignore[method-assign]

        from jwt_cookie_auth.local_revocation import Tracker

        fetch = self._fetch = Tracker._fetch

        def counted_fetch(tracker: Any, raws: Any, now: float) -> Any:
            self.count += 1
            return fetch(tracker, raws, now)

        Tracker._fetch = counted_fetch  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: Any) -> None:
        from redis.connection import Connection

        from jwt_cookie_auth.local_revocation import Tracker

        Tracker._fetch = self._fetch  # type: ignore[method-assign]
        if self._own:
            Connection.send_packed_command = self._original  # type: ignore[method-assign]
        else:
            del Connection.send_packed_command


@contextmanager
def counting() -> Iterator[tuple[Statements, RedisRoundTrips]]:
    with Statements() as sql, RedisRoundTrips() as redis:
        yield sql, redis


# --- statistics ----------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def spread(values: Sequence[float]) -> dict[str, float]:
    return {"median": median(values), "min": float(min(values)), "max": float(max(values))}


@dataclass
class Slice:
    """One variant's turn in a round: how to run it and what surrounds it."""

    name: str
    run: Callable[[], list[int]]
    context: Callable[[], AbstractContextManager[Any]] = nullcontext
    warmup: Callable[[], Any] | None = None


def interleaved(
    slices: Sequence[Slice], rounds: int, seed: int, log: Callable[[str], None] = print
) -> dict[str, list[float]]:
    """Run every slice once per round, in a new shuffled order each round.

    Returns each slice's per-round median, in nanoseconds. The garbage collector is
    run before each slice (not during), so one slice's garbage is not collected on
    another's time.
    """
    rng = random.Random(seed)  # noqa: S311 - shuffling, not security
    per_round: dict[str, list[float]] = {s.name: [] for s in slices}
    for number in range(rounds):
        order = list(slices)
        rng.shuffle(order)
        for item in order:
            with item.context():
                if item.warmup is not None:
                    item.warmup()
                gc.collect()
                times = item.run()
            per_round[item.name].append(median(times))
        log(f"  round {number + 1}/{rounds}: {', '.join(s.name for s in order)}")
    return per_round
