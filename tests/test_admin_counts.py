"""What the admin actions and commands tell the operator (issue 11).

A force logout of two users without a session said "Ended 0 sessions of 0 user(s).":
the message must count what the admin selected. ``jwt_flush_expired --help`` must
explain ``--batch-size``.
"""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from jwt_cookie_auth.management.commands.jwt_flush_expired import Command as FlushCommand
from jwt_cookie_auth.models import LoginSession
from tests.conftest import make_user, new_session
from tests.test_admin import (  # noqa: F401  (user_changelist is a fixture)
    SESSIONS_URL,
    action_data,
    superuser_client,
    user_changelist,
)


def messages_after(client: Client, url: str, data: dict[str, Any]) -> list[str]:
    response = client.post(url, data, follow=True)
    assert response.status_code == 200
    return [str(message) for message in response.context["messages"]]


def test_force_logout_of_users_without_sessions_names_them(
    user_changelist: str,  # noqa: F811
) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    admin = superuser_client()
    messages = messages_after(
        admin, user_changelist, action_data("force_logout", [alice.pk, bob.pk])
    )
    assert messages == [
        "Forced logout of 2 users: 0 JWT sessions revoked; "
        "their Django sessions end on their next request."
    ]


def test_force_logout_counts_users_and_sessions_apart(
    user_changelist: str,  # noqa: F811
) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    new_session(alice)
    admin = superuser_client()
    messages = messages_after(admin, user_changelist, action_data("force_logout", [alice.pk]))
    assert messages == [
        "Forced logout of 1 user: 1 JWT session revoked; "
        "their Django sessions end on their next request."
    ]
    for _ in range(3):
        new_session(bob)
    messages = messages_after(
        admin, user_changelist, action_data("force_logout", [alice.pk, bob.pk])
    )
    assert messages == [
        "Forced logout of 2 users: 3 JWT sessions revoked; "
        "their Django sessions end on their next request."
    ]


def test_revoke_selected_sessions_counts_the_selection(db: None) -> None:
    alice = make_user("alice")
    new_session(alice), new_session(alice)
    first, second = LoginSession.objects.filter(user=alice)
    url, admin = reverse(SESSIONS_URL), superuser_client()
    assert messages_after(admin, url, action_data("revoke_selected", [first.pk])) == [
        "Revoked 1 session."
    ]
    assert messages_after(admin, url, action_data("revoke_selected", [first.pk, second.pk])) == [
        "Revoked 1 of 2 selected sessions: the others were already revoked."
    ]
    assert messages_after(admin, url, action_data("revoke_selected", [first.pk])) == [
        "Revoked 0 of 1 selected session: it was already revoked."
    ]


def test_flush_expired_help_explains_every_option() -> None:
    help_text = " ".join(
        FlushCommand().create_parser("manage.py", "jwt_flush_expired").format_help().split()
    )
    assert "--batch-size BATCH_SIZE Rows deleted per transaction" in help_text
    assert "(default: 5000)" in help_text
    assert "--dry-run Count what would be deleted; delete nothing." in help_text
