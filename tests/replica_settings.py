"""The live test project on a PostgreSQL primary and its streaming replica (``pg_replica``).

``tests.live_settings`` with two databases, ``default`` (the primary) and ``replica``,
and ``tests.db_routers.PrimaryReplicaRouter`` sending reads to the replica.
Environment: ``JWT_REPLICA_DB_NAME``, ``JWT_REPLICA_PRIMARY_PORT``,
``JWT_REPLICA_REPLICA_PORT``; ``JWT_REPLICA_CACHE_USERS=1`` turns ``CACHE_USERS`` on.
The ``JWT_LIVE_*`` variables of ``live_settings`` still apply (Redis, lifetimes).
"""

from __future__ import annotations

import os

from tests.live_settings import *  # noqa: F403
from tests.live_settings import DATABASES, JWT_COOKIE_AUTH

ROOT_URLCONF = "tests.replica_app"

_server = {
    **DATABASES["default"],
    "NAME": os.environ["JWT_REPLICA_DB_NAME"],
    "HOST": "127.0.0.1",
    "USER": "postgres",
}
DATABASES = {
    "default": {**_server, "PORT": os.environ["JWT_REPLICA_PRIMARY_PORT"]},
    "replica": {**_server, "PORT": os.environ["JWT_REPLICA_REPLICA_PORT"]},
}
DATABASE_ROUTERS = ["tests.db_routers.PrimaryReplicaRouter"]

JWT_COOKIE_AUTH = {
    **JWT_COOKIE_AUTH,
    "CACHE_USERS": os.environ.get("JWT_REPLICA_CACHE_USERS") == "1",
}
