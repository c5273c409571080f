"""Write many revocation markers in a few Redis commands (django-redis only).

Forcing out a user with 1,000 sessions writes 1,000 markers. django-redis's
``set_many`` pipelines one ``SET`` per key, and building those commands in Python
costs far more than Redis takes to run them. A short Lua script sets a whole chunk of
keys, with their expiry, in one ``EVALSHA``; chunks keep each script brief, so other
clients are never blocked for long. Keys and values go through django-redis's own
``make_key`` and ``encode``, so what ``get_many`` reads back is exactly what
``set_many`` would have written. Any other cache, or any failure here, returns False
and the caller uses ``set_many``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.core.cache import BaseCache

from jwt_cookie_auth.overlap import default_client

logger = logging.getLogger("jwt_cookie_auth")

CHUNK = 1000

_SET_ALL = """
for _, key in ipairs(KEYS) do
    redis.call('SET', key, ARGV[1], 'EX', ARGV[2])
end
return #KEYS
"""


def set_all(cache: BaseCache, keys: Sequence[str], value: Any, timeout: int) -> bool:
    """Set every key to ``value`` for ``timeout`` seconds; False if the caller must."""
    client = default_client(cache)
    if client is None or timeout <= 0:
        return False
    try:
        script = client.get_client(write=True).register_script(_SET_ALL)
        encoded = client.encode(value)
        for start in range(0, len(keys), CHUNK):
            chunk = [client.make_key(key) for key in keys[start : start + CHUNK]]
            script(keys=chunk, args=[encoded, timeout])
    except Exception:
        logger.warning("Bulk marker write failed; using set_many.", exc_info=True)
        return False
    return True
