"""Measure the Redis memory of revocation markers (docs/deployment.md, "Sizing").

Starts a private redis-server (tests/servers.py), writes 100,000 "live" markers as a
fill does and then 100,000 revoked ones as ``mark_revoked`` does, and prints the
``used_memory`` growth per marker. Needs ``redis-server`` on PATH.

    .venv/bin/python scripts/measure_redis_markers.py django-redis
    .venv/bin/python scripts/measure_redis_markers.py builtin
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import RedisServer  # noqa: E402

COUNT = 100_000
CHUNK = 10_000


def used_memory(server: RedisServer) -> int:
    lines = server.command("INFO", "memory").splitlines()
    return int(dict(line.split(":", 1) for line in lines if ":" in line)["used_memory"])


def main(backend: str) -> None:
    server = RedisServer()
    server.start()
    try:
        os.environ.update(
            DJANGO_SETTINGS_MODULE="tests.settings",
            JWT_TEST_REDIS_URL=server.url,
            JWT_TEST_CACHE="redis" if backend == "django-redis" else "redis-builtin",
        )
        import django

        django.setup()
        from jwt_cookie_auth import revocation

        cache = revocation.get_cache()
        before = used_memory(server)
        for start in range(0, COUNT, CHUNK):
            markers = {
                revocation.cache_key(uuid.uuid4()): revocation.live_marker(100_000 + i)
                for i in range(start, start + CHUNK)
            }
            cache.set_many(markers, timeout=60)
        live = used_memory(server) - before
        before = used_memory(server)
        revocation.mark_revoked([uuid.uuid4() for _ in range(COUNT)])
        revoked = used_memory(server) - before
        version = server.command("INFO", "server").split("redis_version:")[1].split()[0]
        print(
            f"{backend}: {live / COUNT:.0f} bytes per live marker, {revoked / COUNT:.0f} per "
            f"revoked marker (used_memory growth over {COUNT:,}; Redis {version})"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "django-redis")
