"""Create the demo users (idempotent) and print their credentials."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from example_project.demo.views import DEMO_USERS


class Command(BaseCommand):
    help = (
        "Create the demo users admin/admin (superuser), alice/alice and bob/bob, or "
        "restore their passwords and flags. Run migrate first."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        manager = user_model._default_manager
        self.stdout.write("Demo users (username / password):")
        for username, password, role in DEMO_USERS:
            superuser = username == "admin"
            flags = {"is_active": True, "is_staff": superuser, "is_superuser": superuser}
            user = manager.filter(**{user_model.USERNAME_FIELD: username}).first()
            if user is None:
                user = user_model(**{user_model.USERNAME_FIELD: username}, **flags)
                user.set_password(password)
                user.save()
                status = "created"
            elif not user.check_password(password) or any(
                getattr(user, name) != value for name, value in flags.items()
            ):
                # Saving a changed password or deactivation ends the user's sessions,
                # so leave an intact user alone.
                for name, value in flags.items():
                    setattr(user, name, value)
                user.set_password(password)
                user.save()
                status = "restored"
            else:
                status = "exists"
            self.stdout.write(f"  {username:<6} / {password:<6}  {role} ({status})")
        self.stdout.write(self.style.SUCCESS("Demo users ready."))
