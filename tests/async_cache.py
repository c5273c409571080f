"""A cache backend with native async methods, as an async Redis client would have.

Django's built-in backends (and django-redis) implement ``aget``-style methods as
``sync_to_async`` wrappers. This one answers from the event loop itself: LocMemCache
works on process memory under a lock, with no I/O to wait for, so calling it from the
loop blocks nothing. The tests use it to show that the package adds no thread hop of
its own when the cache can be awaited.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache


class NativeAsyncLocMemCache(LocMemCache):
    async def aget(self, key: Any, default: Any = None, version: Any = None) -> Any:
        return self.get(key, default, version)

    async def aget_many(self, keys: Any, version: Any = None) -> Any:
        return self.get_many(keys, version)

    async def aadd(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> bool:
        return self.add(key, value, timeout, version)

    async def aset(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> None:
        self.set(key, value, timeout, version)
