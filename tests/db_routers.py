"""The database router of the primary + replica tests: reads to ``replica``, writes to ``default``.

The recipe from Django's "Multiple databases" documentation, as a project with read
replicas writes it (docs/deployment.md shows it); ``tests.replica_settings`` installs it.
"""

from __future__ import annotations

from typing import Any


class PrimaryReplicaRouter:
    """Send every read to the replica and every write, relation and migration to the primary."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return "replica"

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # one database, two servers

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == "default"  # the replica gets the schema by streaming
