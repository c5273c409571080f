"""End every session of the named users, as the admin's force_logout action does."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from jwt_cookie_auth.django_sessions import end_django_sessions
from jwt_cookie_auth.models import RevokeReason
from jwt_cookie_auth.revocation import revoke_user_sessions


class Command(BaseCommand):
    help = (
        "Force logout: revoke every JWT session of the given users and end their Django "
        "sessions. Their access tokens stop working on their next request."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("usernames", nargs="+", metavar="USERNAME")

    def handle(self, *args: Any, usernames: list[str], **options: Any) -> None:
        user_model = get_user_model()
        field = user_model.USERNAME_FIELD
        found = dict(
            user_model._default_manager.filter(**{f"{field}__in": usernames}).values_list(
                field, "pk"
            )
        )
        missing = [name for name in usernames if name not in found]
        if missing:
            # Nothing is revoked when a name is wrong: a typo must not half-run the command.
            raise CommandError(f"No user with {field} {', '.join(map(repr, missing))}.")
        revoked = revoke_user_sessions(found.values(), RevokeReason.COMMAND)
        end_django_sessions(found.values())
        for name, pk in found.items():
            count = len(revoked.get(pk, []))
            self.stdout.write(
                f"{name}: {count} session(s) revoked; "
                "their Django sessions end on their next request."
            )
