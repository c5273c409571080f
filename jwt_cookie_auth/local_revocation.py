"""A per-process copy of revocation markers, kept honest by Redis ``CLIENT TRACKING``.

With ``LOCAL_REVOCATION_CACHE`` on (by default wherever the cache is django-redis's
``DefaultClient`` and ``hiredis`` >= 3.2 is installed; Redis 6 or later), each process
keeps the markers it has read (``revocation.lookup``) in a dictionary, so a request
whose session it has seen costs a dictionary lookup and no network round trip.
Redis tells it when any of them changes:

- one dedicated connection per process to the cache's primary speaks RESP3 and has
  ``CLIENT TRACKING on``: every key read on it is tracked, and the server pushes an
  ``invalidate`` message on the same connection when the key changes, expires, is
  evicted, or the database is flushed (a null key list: everything goes);
- before **every** use the connection is drained without blocking (``recv`` on a
  non-blocking socket) and the invalidations are applied, under one lock (gthread
  workers share a process); a miss reads the key (and its TTL) through that connection,
  so it becomes tracked, and its reply comes in stream order with the pushes: an
  invalidation sent after the read is applied before the next use of the entry. A drain
  that finds a burst (16 KiB or more, or an eighth of the receive buffer if less: a mass
  revocation) also sends a ``PING`` and reads up to its ``PONG``, since part of the
  burst may still wait in the kernel behind a full receive window. Under TCP memory
  pressure the kernel may keep a receive queue smaller than that: there the silence
  bound (the keep-alive ``PONG`` queued behind the backlog) is what holds;
- entries are trusted only while the connection has **proven itself alive** within
  ``LOCAL_REVOCATION_CACHE_MAX_SILENCE`` (default 250 ms): a ``PING`` goes out when
  the last proof (a ``PONG`` or a reply) is older than half the bound, and its reply
  is read by a later drain. Past the bound (a hung server that closes nothing, a lost
  network) every entry is dropped and lookups take the normal path (django-redis,
  then the database) until the server answers again;
- a socket error, an EOF (Redis restarted or killed the connection), a reply we did
  not expect: every entry is dropped, the connection closed, and the normal path used;
  a new connection is tried lazily, with backoff (0.1 s doubling to 5 s);
- an entry is also dropped locally when its key's TTL in Redis (read with it) runs out,
  and at the latest ``REVOCATION_CACHE_TIMEOUT`` after it was read: Redis sends the
  invalidation only once it actually deletes an expired key;
- a value the cache cannot decode (a pickle from an earlier deploy) is not kept: the
  normal path answers, as without this cache;
- a forked child never reads its parent's socket: the at-fork hook gives it a fresh
  tracker, and where a server forks without running Python's hooks the process id,
  checked before each use, does the same.

The revoking side (``redis_bulk.set_all``, ``revocation.mark_revoked``) sends one more
command (``PING``) after writing its markers and before returning. Redis writes a
command's reply and the invalidation pushes it causes in the same event-loop pass, in
no fixed order between clients; a command sent after that reply is served in a later
pass. So when the revoking call returns, every tracking process's invalidation has been
written to its socket: on one host (loopback) it is in that process's receive queue,
or (past a full receive window) behind it in the kernel, where the burst's ``PING``
reaches it, i.e. refused on its very next request; across hosts it is in flight, ahead
of any later reply, and arrives within the network's latency.

Memory per process: at most ``LOCAL_REVOCATION_CACHE_SIZE`` entries (default 10,000)
and ``LOCAL_REVOCATION_CACHE_MAX_BYTES`` of keys and raw values (default 4 MiB), oldest
first out. A marker entry measured 262 bytes in all, 84 of them counted against
``MAX_BYTES`` (``benchmarks/bench_local_revocation.py``): 2.6 MB at the default size.
Only django-redis's ``DefaultClient`` (one server or primary/replicas, TCP, no TLS) is
served; anything else, or Redis older than 6, leaves the normal path (logged once).
"""

from __future__ import annotations

import logging
import os
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.core.cache import BaseCache
from django.core.signals import setting_changed
from django.dispatch import receiver

from jwt_cookie_auth.conf import app_settings
from jwt_cookie_auth.overlap import default_client
from jwt_cookie_auth.resp3 import (
    ParseError,
    Push,
    encode_command,
    hiredis_available,
    new_reader,
)

logger = logging.getLogger("jwt_cookie_auth")

MIN_BACKOFF = 0.1
MAX_BACKOFF = 5.0
# How long a missing PONG may take before the connection is given up and rebuilt.
DEAD_AFTER_SILENCES = 20
# Values decoded once and shared by every hit: immutable, and what markers hold.
_SHAREABLE = (int, float, str, bytes, bool, type(None))
# Bytes of pushes in one drain past which more may be held back by a full receive
# window (see _drain): at most BURST_BYTES, and at most an eighth of the socket's
# receive buffer as the kernel reports it then. A logout's invalidation is ~100 bytes.
# Measured on Linux loopback, a full receive queue held ~190 KB with the default
# tcp_rmem (buffer 128 KiB at first), ~13.7 KB with a 16 KiB buffer and ~5.9 KB with
# 8 KiB: always more than an eighth of the buffer.
BURST_BYTES = 16384
MIN_BURST_BYTES = 256
# A socket error, EOF, timeout, a reply we did not expect, bytes that are not RESP:
# the connection cannot be trusted any more (dropped, normal path, reconnect later).
LOST_CONNECTION = (OSError, ValueError, ParseError)


class UndecodableValue(Exception):
    """A cached value the cache's serializer cannot load."""


class Tracker:
    """The tracking connection of one process and the entries it keeps honest."""

    def __init__(
        self,
        client: Any,
        *,
        max_silence: float,
        size: int,
        max_bytes: int,
        lifetime: float,
    ) -> None:
        self.client = client
        self.max_silence = max_silence
        self.size = size
        self.max_bytes = max_bytes
        self.lifetime = lifetime
        self.lock = threading.Lock()
        # Redis key -> (value, decoded?, local expiry (monotonic), bytes)
        self.entries: dict[bytes, tuple[Any, bool, float, int]] = {}
        self.bytes = 0
        self.sock: socket.socket | None = None
        self.reader: Any = None
        # Send times of PINGs whose PONG is still to come, oldest first.
        self.pings: deque[float] = deque()
        self.proof = 0.0
        self.retry_at = 0.0
        self.backoff = MIN_BACKOFF
        self.disabled = False
        # The process that made the connection: a child must never read its socket.
        self.pid = os.getpid()

    # -- the public surface ----------------------------------------------------------

    def get_many(self, keys: Sequence[str]) -> dict[str, Any] | None:
        """Return ``{key: value}`` for the keys Redis holds, or None: use the normal path.

        A hit costs no round trip; the keys missing locally are read with one ``MGET``
        (and their ``PTTL``) on the tracking connection, so they become tracked, and
        kept. None when the connection is down, hung past the silence bound, or failed
        during the read, and when a value cannot be decoded (a pickle of a class the
        running code no longer has): the normal path then answers as it would without
        this cache (``revocation.lookup`` asks the database).
        """
        with self.lock:
            if self.pid != os.getpid():
                self._leave_to_parent()
            now = time.monotonic()
            if not self._usable(now):
                return None
            try:
                return self._get_many(keys, now)
            except UndecodableValue:
                logger.warning("Local revocation cache cannot decode a value.", exc_info=True)
                return None

    def _get_many(self, keys: Sequence[str], now: float) -> dict[str, Any] | None:
        found: dict[str, Any] = {}
        missing: list[tuple[str, bytes]] = []
        for key in keys:
            raw = self.client.make_key(key).encode()
            entry = self.entries.get(raw)
            if entry is None or entry[2] <= now:
                missing.append((key, raw))
                continue
            value, decoded, _, _ = entry
            found[key] = value if decoded else self._decode(value)
        if missing:
            try:
                fetched = self._fetch([raw for _, raw in missing], now)
            except LOST_CONNECTION:
                logger.warning("Local revocation cache lost Redis.", exc_info=True)
                self._reset()
                return None
            for (key, raw), (value, expires) in zip(missing, fetched, strict=True):
                if value is not None:
                    found[key] = self._keep(raw, value, expires)
        return found

    def close(self) -> None:
        """Close the connection for good (settings changed): a retired tracker stays off."""
        with self.lock:
            self._reset(backoff=False)
            self.disabled = True

    # -- connection ------------------------------------------------------------------

    def _usable(self, now: float) -> bool:
        if self.sock is None:
            if self.disabled or now < self.retry_at:
                return False
            try:
                self._connect()
            except LOST_CONNECTION:
                logger.warning("Local revocation cache cannot reach Redis.", exc_info=True)
                self._reset()
                return False
            if self.sock is None:
                return False
        try:
            self._drain()
            silence = now - self.proof
            if silence > self.max_silence / 2 and not self.pings:
                self._send(encode_command(b"PING"))
                self.pings.append(now)
        except LOST_CONNECTION:
            logger.warning("Local revocation cache lost Redis.", exc_info=True)
            self._reset()
            return False
        if silence <= self.max_silence:
            return True
        # Hung or cut off without a close: what we hold may be stale. Drop it all; the
        # normal path answers until a PONG proves the connection again.
        self._clear()
        if self.pings and now - self.pings[0] > self.max_silence * DEAD_AFTER_SILENCES:
            logger.warning("Redis has not answered the local revocation cache: reconnecting.")
            self._reset()
        return False

    def _connect(self) -> None:
        kwargs = self.client.get_client(write=True).connection_pool.connection_kwargs
        host, port = kwargs.get("host"), kwargs.get("port", 6379)
        if not host or kwargs.get("ssl") or kwargs.get("path"):
            self._disable("it needs a TCP connection without TLS to the Redis primary")
            return
        timeout = kwargs.get("socket_connect_timeout") or kwargs.get("socket_timeout") or 1.0
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock, self.reader = sock, new_reader()
        hello = [b"HELLO", b"3"]
        if kwargs.get("password"):
            hello += [b"AUTH", str(kwargs.get("username") or "default").encode()]
            hello.append(str(kwargs["password"]).encode())
        commands = [hello, [b"SELECT", str(kwargs.get("db", 0)).encode()]]
        commands.append([b"CLIENT", b"TRACKING", b"on"])
        self._send(b"".join(encode_command(*c) for c in commands))
        replies = [self._read_reply(time.monotonic() + timeout) for _ in commands]
        if isinstance(replies[0], Exception):
            # Redis < 6 has no HELLO (and no tracking): nothing to do here, ever.
            self._disable(f"Redis refused HELLO 3 (Redis 6 or later needed): {replies[0]}")
            return
        # A RESP3 map: hiredis returns a dict.
        version = replies[0].get(b"version", b"0") if isinstance(replies[0], dict) else b"0"
        if int(version.split(b".")[0]) < 6 or any(isinstance(r, Exception) for r in replies):
            self._disable(f"Redis {version.decode()} cannot track keys: {replies}")
            return
        sock.setblocking(False)
        self.pid = os.getpid()
        self.proof = time.monotonic()
        self.backoff = MIN_BACKOFF

    def _leave_to_parent(self) -> None:
        """In a forked child that skipped the at-fork hook (a server forking in C): the
        socket and entries are the parent's. Two processes reading one tracking socket
        would each miss the invalidations the other read, so the child closes its copy
        of the descriptor (the parent's stays open) and starts afresh."""
        self._clear()
        self.pings.clear()
        if self.sock is not None:
            self.sock.close()
        self.sock = self.reader = None
        self.pid = os.getpid()
        self.retry_at = 0.0

    def _disable(self, why: str) -> None:
        # Asked for by name: an error. By default (None): the normal path, as documented.
        level = logging.ERROR if app_settings.LOCAL_REVOCATION_CACHE else logging.INFO
        logger.log(level, "LOCAL_REVOCATION_CACHE is off in this process: %s.", why)
        self._reset(backoff=False)
        self.disabled = True

    def _reset(self, backoff: bool = True) -> None:
        self._clear()
        self.pings.clear()
        if self.sock is not None:
            # close(), not shutdown(): after a fork the parent may still use it.
            self.sock.close()
        self.sock = self.reader = None
        if backoff:
            self.retry_at = time.monotonic() + self.backoff
            self.backoff = min(self.backoff * 2, MAX_BACKOFF)

    def _send(self, data: bytes) -> None:
        assert self.sock is not None
        # Commands are a few hundred bytes: the socket buffer takes them whole.
        if self.sock.send(data) != len(data):
            raise OSError("short write to Redis")

    def _drain(self) -> None:
        """Apply everything the server has sent, without waiting for more.

        Except after a burst (in one drain, ``BURST_BYTES`` or an eighth of the receive
        buffer, whichever is less: ~150 markers a mass revocation replaced, with Linux's
        default buffers): then the receive window may have filled, and what Redis wrote
        after that waits in the kernel's send queue, out of a non-blocking read's reach.
        A ``PING`` is sent and everything up to its ``PONG`` read (one round trip,
        bounded by the silence bound): Redis served it after every invalidation it had
        written, so none written before is left behind. The buffer is read at each drain
        that received anything (one ``getsockopt``), since the kernel tunes it.
        """
        assert self.sock is not None
        assert self.reader is not None
        received = 0
        while True:
            try:
                data = self.sock.recv(65536)
            except BlockingIOError:
                break
            if not data:
                raise OSError("Redis closed the connection")
            self.reader.feed(data)
            received += len(data)
            if len(data) < 65536:
                break
        while (item := self.reader.gets()) is not False:
            self._apply(item)
        # The buffer size (a system call) only once the drain could be a burst at all.
        if received >= MIN_BURST_BYTES and received >= self._burst_bytes():
            self._catch_up()

    def _catch_up(self) -> None:
        """Send a ``PING`` and apply everything up to its ``PONG``, within the bound."""
        self._send(encode_command(b"PING"))
        self.pings.append(time.monotonic())
        deadline = time.monotonic() + self.max_silence
        # PONGs come in the order their PINGs went: none left means ours came.
        while self.pings:
            item = self.reader.gets()
            if item is False:
                self._receive(deadline)
            else:
                self._apply(item)

    def _apply(self, item: Any) -> None:
        """Handle an unsolicited item: an invalidation push or the PONG of a PING."""
        if isinstance(item, Push):
            if item and item[0] == b"invalidate":
                keys = item[1] if len(item) > 1 else None
                if keys is None:
                    self._clear()  # FLUSHDB, FLUSHALL, or the server's table overflowed
                else:
                    for key in keys:
                        self._drop(key)
            return
        if item == b"PONG" and self.pings:
            self.proof = self.pings.popleft()
            return
        raise ValueError(f"unexpected reply from Redis: {item!r}")

    def _read_reply(self, deadline: float) -> Any:
        """Read the reply to our command, applying pushes and PONGs that come first."""
        assert self.sock is not None
        assert self.reader is not None
        while True:
            item = self.reader.gets()
            if item is False:
                self._receive(deadline)
            elif isinstance(item, Push) or (item == b"PONG" and self.pings):
                self._apply(item)
            else:
                return item

    def _burst_bytes(self) -> int:
        assert self.sock is not None
        buffer = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        return max(MIN_BURST_BYTES, min(BURST_BYTES, buffer // 8))

    def _receive(self, deadline: float) -> None:
        """Wait until ``deadline`` (monotonic) for data and feed it to the reader."""
        assert self.sock is not None
        assert self.reader is not None
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([self.sock], [], [], remaining)[0]:
            raise OSError("Redis did not answer in time")
        data = self.sock.recv(65536)
        if not data:
            raise OSError("Redis closed the connection")
        self.reader.feed(data)

    def _fetch(self, raws: list[bytes], now: float) -> list[tuple[bytes | None, float]]:
        """Read ``raws``: ``[(value or None, local expiry (monotonic))]``, in order.

        Each key's ``PTTL`` comes with it: Redis sends an invalidation when it *deletes*
        an expired key (on an access, or when its active expiry gets there, which on a
        large keyspace can take a while), so the local entry must not outlive the key's
        TTL on its own. ``now`` is taken before sending, so ``now + PTTL`` is never
        later than the key's expiry. ``MULTI``/``EXEC``: values and TTLs are read at one
        instant and come in one reply, so an invalidation for a later write still
        arrives after it (and is applied at the next drain, to the kept entry).
        """
        commands = [[b"MULTI"], [b"MGET", *raws], *([b"PTTL", raw] for raw in raws)]
        self._send(b"".join(encode_command(*c) for c in [*commands, [b"EXEC"]]))
        # No longer than the silence bound: a server that hangs now must not hold the
        # request; the normal path (with the cache's own timeouts) answers instead.
        deadline = time.monotonic() + self.max_silence
        for expected in [b"OK"] + [b"QUEUED"] * (len(commands) - 1):
            if (reply := self._read_reply(deadline)) != expected:
                raise ValueError(f"unexpected reply to a queued command: {reply!r}")
        reply = self._read_reply(deadline)
        if not isinstance(reply, list) or len(reply) != 1 + len(raws):
            raise ValueError(f"unexpected EXEC reply: {reply!r}")
        values, ttls = reply[0], reply[1:]
        if not isinstance(values, list) or len(values) != len(raws):
            raise ValueError(f"unexpected MGET reply: {values!r}")
        fetched = []
        for value, ttl in zip(values, ttls, strict=True):
            if not isinstance(ttl, int):
                raise ValueError(f"unexpected PTTL reply: {ttl!r}")
            # -1: no expiry (the cache's lifetime bounds it); -2: no key.
            lifetime = self.lifetime if ttl == -1 else min(self.lifetime, max(ttl, 0) / 1000)
            fetched.append((value, now + lifetime))
        # Served in order after everything sent before: the connection is alive.
        self.proof = max(self.proof, now)
        return fetched

    # -- entries ---------------------------------------------------------------------

    def _decode(self, value: bytes) -> Any:
        try:
            return self.client.decode(value)
        except Exception as error:
            # Whatever unpickling raises (a removed class, a changed serializer).
            raise UndecodableValue from error

    def _keep(self, raw: bytes, value: bytes, expires: float) -> Any:
        decoded = self._decode(value)
        shareable = isinstance(decoded, _SHAREABLE)
        cost = len(raw) + len(value)
        if cost <= self.max_bytes and expires > time.monotonic():
            self._drop(raw)
            while self.entries and (
                len(self.entries) >= self.size or self.bytes + cost > self.max_bytes
            ):
                self._drop(next(iter(self.entries)))
            kept = decoded if shareable else value
            self.entries[raw] = (kept, shareable, expires, cost)
            self.bytes += cost
        return decoded

    def _drop(self, raw: bytes) -> None:
        entry = self.entries.pop(raw, None)
        if entry is not None:
            self.bytes -= entry[3]

    def _clear(self) -> None:
        self.entries.clear()
        self.bytes = 0


_trackers: dict[tuple[Any, ...], Tracker] = {}
_trackers_lock = threading.Lock()


def wanted_client(cache: BaseCache) -> Any:
    """Return django-redis's client of ``cache`` when the local cache is to be used, or None.

    ``LOCAL_REVOCATION_CACHE``: False is off; True and None (the default) are on where
    ``cache`` is django-redis's ``DefaultClient`` and ``hiredis`` is installed. With True a
    missing prerequisite is check E165; with None it is simply the normal path.
    """
    if app_settings.LOCAL_REVOCATION_CACHE is False:
        return None
    client = default_client(cache)
    # DefaultClient only (as check E165 says): Sentinel's primary moves, and the tracking
    # connection is made to one fixed address.
    if client is None or type(client).__name__ != "DefaultClient" or not hiredis_available():
        return None
    return client


def tracker(cache: BaseCache) -> Tracker | None:
    """Return this process's tracker for ``cache``, or None when it is not to be used."""
    client = wanted_client(cache)
    if client is None:
        return None
    silence = app_settings.LOCAL_REVOCATION_CACHE_MAX_SILENCE
    lifetime = app_settings.REVOCATION_CACHE_TIMEOUT
    size = app_settings.LOCAL_REVOCATION_CACHE_SIZE
    max_bytes = app_settings.LOCAL_REVOCATION_CACHE_MAX_BYTES
    # Per alias, not per cache object: Django gives each thread its own cache objects,
    # and the process needs one connection. CACHES changing closes them all (below).
    key = (app_settings.CACHE_ALIAS, silence, lifetime, size, max_bytes)
    found = _trackers.get(key)
    if found is not None:
        return found
    with _trackers_lock:
        found = _trackers.get(key)
        if found is None:
            _close_all()
            found = _trackers[key] = Tracker(
                client,
                max_silence=silence.total_seconds(),
                size=size,
                max_bytes=max_bytes,
                lifetime=lifetime.total_seconds(),
            )
    return found


def get_many(cache: BaseCache, keys: Sequence[str]) -> dict[str, Any] | None:
    """Return ``{key: value}`` from this process's tracked copy, or None (normal path)."""
    found = tracker(cache)
    return None if found is None else found.get_many(keys)


def _close_all() -> None:
    for old in _trackers.values():
        old.close()
    _trackers.clear()


def _forget_after_fork() -> None:
    # The child must not read the parent's socket: its own connection, its own entries.
    for old in _trackers.values():
        old.lock = threading.Lock()
    _close_all()


os.register_at_fork(after_in_child=_forget_after_fork)


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in ("JWT_COOKIE_AUTH", "CACHES"):
        with _trackers_lock:
            _close_all()


def max_silence_valid(value: Any) -> bool:
    return isinstance(value, timedelta) and timedelta(milliseconds=10) <= value <= timedelta(
        seconds=5
    )


def confirm_delivery(cache: BaseCache) -> None:
    """After writing markers with the plain cache API: one ``PING`` to the primary.

    Redis serves it after writing the invalidations those writes caused (see above).
    """
    client = wanted_client(cache)
    if client is not None:
        client.get_client(write=True).ping()
