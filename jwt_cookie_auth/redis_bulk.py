"""Write many revocation markers in a few Redis commands (django-redis only).

Forcing out a user with 1,000 sessions writes 1,000 markers. django-redis's
``set_many`` pipelines one ``SET`` per key, and building those commands in Python
costs far more than Redis takes to run them. A short Lua script sets a whole chunk of
keys, with their expiry, in one ``EVALSHA``; chunks keep each script brief, so other
clients are never blocked for long. Keys and values go through django-redis's own
``make_key`` and ``encode``, so what ``get_many`` reads back is exactly what
``set_many`` would have written. Any other cache, or any failure here, returns False
and the caller uses ``set_many``.

The script also answers how many replicas the primary has connected, and the writes
and the ``WAIT`` for those replicas (``cache_primary.confirm_replicated``) go over one
connection, since ``WAIT`` counts only its own connection's writes. On a single server
that costs nothing more: one ``EVALSHA`` per chunk, no ``WAIT``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.core.cache import BaseCache

from jwt_cookie_auth import local_revocation
from jwt_cookie_auth.cache_primary import confirm_replicated
from jwt_cookie_auth.overlap import default_client

logger = logging.getLogger("jwt_cookie_auth")

CHUNK = 1000

_SET_ALL = """
for _, key in ipairs(KEYS) do
    redis.call('SET', key, ARGV[1], 'EX', ARGV[2])
end
local info = redis.call('INFO', 'replication')
return tonumber(string.match(info, 'connected_slaves:(%d+)')) or 0
"""


def set_all(cache: BaseCache, keys: Sequence[str], value: Any, timeout: int) -> bool:
    """Set every key to ``value`` for ``timeout`` seconds; False if the caller must.

    True once the primary holds them; then waits for its replicas (logged if short).
    """
    client = default_client(cache)
    if client is None or timeout <= 0:
        return False
    written = False
    try:
        primary = client.get_client(write=True)
        script = primary.register_script(_SET_ALL)
        encoded = client.encode(value)
        # client(): a redis-py client bound to one pooled connection, for WAIT.
        with primary.client() as connection:
            connected = 0
            for start in range(0, len(keys), CHUNK):
                chunk = [client.make_key(key) for key in keys[start : start + CHUNK]]
                connected = int(script(keys=chunk, args=[encoded, timeout], client=connection))
            written = True
            if local_revocation.wanted_client(cache) is not None:
                # Served after Redis has written the invalidations our writes caused to
                # every tracking process (local_revocation): then we report done.
                connection.ping()
            confirm_replicated(connection, connected, len(keys))
    except Exception:
        if written:
            # The primary has them: only the confirmation failed (the primary went away).
            logger.error("Could not confirm revocation markers on replicas.", exc_info=True)
            return True
        logger.warning("Bulk marker write failed; using set_many.", exc_info=True)
        return False
    return True
