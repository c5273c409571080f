"""Print what is missing of the services the PostgreSQL + Redis test pass needs.

Prints nothing and exits 0 when PostgreSQL and Redis both answer on 127.0.0.1.
"""

from __future__ import annotations

import os
import socket
import sys


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def main() -> int:
    missing = []
    pg_host, pg_port = os.environ.get("PGHOST", "127.0.0.1"), int(os.environ.get("PGPORT", "5432"))
    if not reachable(pg_host, pg_port):
        missing.append(f"PostgreSQL at {pg_host}:{pg_port}")
    if not reachable("127.0.0.1", 6379):
        missing.append("Redis at 127.0.0.1:6379")
    if missing:
        print(", ".join(missing))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
