"""Delete session and blacklist rows that can no longer matter, in batches.

A row can go once every token it describes has expired (plus ``LEEWAY``): an expired
session's refresh token is dead, and so are its access tokens, which never outlive
it. Deleting a row can never revive a token, because a session that is not in the
table counts as revoked. Each batch is its own short transaction, so no lock is held
for long and memory stays flat however many rows there are.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Model

from jwt_cookie_auth import clock
from jwt_cookie_auth.conf import app_settings
from jwt_cookie_auth.models import BlacklistedToken, LoginSession


class Command(BaseCommand):
    help = "Delete expired login sessions and blacklist entries, in batches."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=5000,
            help=(
                "Rows deleted per transaction (default: %(default)s). Smaller batches hold "
                "locks for less time; larger ones finish in fewer round trips."
            ),
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be deleted; delete nothing."
        )

    def handle(self, *args: Any, batch_size: int, dry_run: bool, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        cutoff = clock.after(clock.now(), -app_settings.LEEWAY)
        # Blacklist rows first: each expires no later than its session.
        for model in (BlacklistedToken, LoginSession):
            expired = model._default_manager.filter(expires_at__lt=cutoff)
            if dry_run:
                self.stdout.write(
                    f"{model._meta.verbose_name_plural}: {expired.count()} would be deleted."
                )
                continue
            total = self._delete_in_batches(model, cutoff, batch_size)
            self.stdout.write(f"{model._meta.verbose_name_plural}: {total} deleted.")

    def _delete_in_batches(self, model: type[Model], cutoff: Any, batch_size: int) -> int:
        manager = model._default_manager
        total = 0
        while True:
            batch = list(
                manager.filter(expires_at__lt=cutoff)
                .order_by()
                .values_list("pk", flat=True)[:batch_size]
            )
            if not batch:
                return total
            manager.filter(pk__in=batch).delete()
            total += len(batch)
