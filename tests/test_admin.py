"""The sessions admin and the ``force_logout`` user action (SECURITY.md item 29).

Force logout needs POST, a CSRF token and the ``jwt_cookie_auth.force_logout``
permission (staff status alone is not enough); it ends every session of exactly the
selected users, in a fixed number of queries, and their access tokens die on their
very next request.

This module doubles as a URLconf: ``custom_site`` is a project's own admin site with
a user ModelAdmin that mixes ``ForceLogoutAdminMixin`` in explicitly. With the custom
user model (JWT_TEST_USER_MODEL=custom) nothing is registered on ``admin.site`` for
users, so the user-admin tests run against ``custom_site`` instead.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import path, reverse
from django.utils import timezone

from jwt_cookie_auth import tokens
from jwt_cookie_auth.admin_actions import ForceLogoutAdminMixin, attach_force_logout
from jwt_cookie_auth.models import LoginSession, RevokeReason
from tests import urls as project_urls
from tests.conftest import api_status, make_user, new_session

ACTION_SELECT = '<option value="force_logout">'
REVOKE_SELECT = '<option value="revoke_selected">'


class ProjectUserAdmin(ForceLogoutAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """A project's own user admin, written with the mixin."""

    list_display = ["__str__", "is_active"]


custom_site = admin.AdminSite(name="custom_admin")
custom_site.register(get_user_model(), ProjectUserAdmin)

urlpatterns = [path("custom-admin/", custom_site.urls), *project_urls.urlpatterns]


# --- Helpers and fixtures ------------------------------------------------------------


def permission(codename: str, model: Any) -> Permission:
    content_type = ContentType.objects.get_for_model(model)
    return Permission.objects.get(content_type=content_type, codename=codename)


def force_logout_permission() -> Permission:
    return permission("force_logout", LoginSession)


def staff(name: str, *perms: Permission) -> Any:
    user = make_user(name, is_staff=True)
    user.user_permissions.add(*perms)
    return user


def admin_client(user: Any, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def superuser_client() -> Client:
    return admin_client(make_user("root", is_staff=True, is_superuser=True))


def live_count(user: Any) -> int:
    return LoginSession.objects.filter(user=user, revoked_at__isnull=True).count()


def action_data(action: str, pks: list[Any]) -> dict[str, Any]:
    return {"action": action, "_selected_action": [str(pk) for pk in pks], "index": "0"}


@pytest.fixture
def user_changelist(db: None, settings: Any) -> str:
    """The changelist URL of the ModelAdmin registered for the user model."""
    opts = get_user_model()._meta
    site = admin.site
    if not admin.site.is_registered(get_user_model()):
        settings.ROOT_URLCONF = __name__
        site = custom_site
    return reverse(f"{site.name}:{opts.app_label}_{opts.model_name}_changelist")


@pytest.fixture
def view_user_permission(db: None) -> Permission:
    return permission(f"view_{get_user_model()._meta.model_name}", get_user_model())


# --- Sessions admin ------------------------------------------------------------------

SESSIONS_URL = "admin:jwt_cookie_auth_loginsession_changelist"


def make_row(user: Any, *, expires_in: timedelta, revoked: bool = False) -> LoginSession:
    now = timezone.now()
    return LoginSession.objects.create(
        user=user,
        created_at=now - timedelta(hours=1),
        last_used_at=now,
        expires_at=now + expires_in,
        absolute_expires_at=now + timedelta(days=14),
        refresh_jti=f"jti-{user.pk}-{expires_in}-{revoked}",
        refresh_issued_at=now,
        ip_address="192.0.2.10",
        revoked_at=now if revoked else None,
        revoke_reason=RevokeReason.LOGOUT if revoked else "",
    )


def listed(response: Any) -> set[Any]:
    assert response.status_code == 200, response.content[:500]
    return {row.pk for row in response.context["cl"].result_list}


def test_sessions_changelist_filters_and_search(db: None) -> None:
    """The sessions changelist filters by active / expired / revoked and searches by user."""
    alice, bob = make_user("alice"), make_user("bob")
    active = make_row(alice, expires_in=timedelta(hours=1))
    expired = make_row(alice, expires_in=-timedelta(minutes=1))
    revoked = make_row(alice, expires_in=timedelta(hours=1), revoked=True)
    bob_active = make_row(bob, expires_in=timedelta(hours=2))
    client = superuser_client()
    url = reverse(SESSIONS_URL)

    assert listed(client.get(url)) == {active.pk, expired.pk, revoked.pk, bob_active.pk}
    assert listed(client.get(url, {"status": "active"})) == {active.pk, bob_active.pk}
    assert listed(client.get(url, {"status": "expired"})) == {expired.pk}
    assert listed(client.get(url, {"status": "revoked"})) == {revoked.pk}
    assert listed(client.get(url, {"q": alice.get_username()})) == {
        active.pk,
        expired.pk,
        revoked.pk,
    }
    assert listed(client.get(url, {"q": bob.get_username(), "status": "active"})) == {bob_active.pk}
    # The detail page shows no token ids.
    detail = client.get(reverse("admin:jwt_cookie_auth_loginsession_change", args=[active.pk]))
    assert detail.status_code == 200
    assert active.refresh_jti not in detail.content.decode()


def test_sessions_admin_revoke_selected(db: None, revoked_signals: list[Any]) -> None:
    """ "Revoke selected" ends exactly the chosen sessions, at the next request."""
    alice = make_user("alice")
    chosen, kept = new_session(alice), new_session(alice)
    chosen_row = tokens.decode(chosen, tokens.ACCESS).sid
    assert api_status(chosen) == 200
    response = superuser_client().post(
        reverse(SESSIONS_URL), action_data("revoke_selected", [chosen_row])
    )
    assert response.status_code == 302
    assert api_status(chosen) == 401
    assert api_status(kept) == 200
    assert LoginSession.objects.get(pk=chosen_row).revoke_reason == RevokeReason.ADMIN
    assert [s["reason"] for s in revoked_signals] == [RevokeReason.ADMIN]


def test_revoke_selected_needs_the_force_logout_permission(db: None) -> None:
    """Staff who may only view sessions get no revoke action, and a forged POST does nothing."""
    alice = make_user("alice")
    access = new_session(alice)
    view_sessions = permission("view_loginsession", LoginSession)
    viewer = admin_client(staff("viewer", view_sessions))
    operator = admin_client(staff("operator", view_sessions, force_logout_permission()))
    url = reverse(SESSIONS_URL)
    session_pk = LoginSession.objects.get(user=alice).pk

    assert REVOKE_SELECT not in viewer.get(url).content.decode()
    viewer.post(url, action_data("revoke_selected", [session_pk]))
    assert live_count(alice) == 1
    assert api_status(access) == 200

    assert REVOKE_SELECT in operator.get(url).content.decode()
    assert operator.post(url, action_data("revoke_selected", [session_pk])).status_code == 302
    assert live_count(alice) == 0
    assert api_status(access) == 401


# --- The force_logout user action -----------------------------------------------------


def test_force_logout_is_attached_to_the_registered_user_admin(db: None) -> None:
    """Installing the app gives the project's user admin the action, with no code."""
    model_admin = admin.site._registry.get(get_user_model())
    if model_admin is None:
        pytest.skip("no ModelAdmin is registered for the custom user model on admin.site")
    assert isinstance(model_admin, ForceLogoutAdminMixin)


def test_attach_force_logout_mixes_into_any_user_admin(db: None) -> None:
    """attach_force_logout() upgrades a plain user ModelAdmin and reports a missing one."""
    site = admin.AdminSite(name="attach_test")
    assert attach_force_logout(site) is False
    site.register(get_user_model(), admin.ModelAdmin)
    assert attach_force_logout(site) is True
    model_admin = site._registry[get_user_model()]
    assert isinstance(model_admin, ForceLogoutAdminMixin)
    assert attach_force_logout(site) is True  # idempotent
    assert type(model_admin).__mro__.count(ForceLogoutAdminMixin) == 1


def test_action_offered_only_with_the_permission(
    user_changelist: str, view_user_permission: Permission
) -> None:
    """Staff with view access but no force_logout permission are not offered the action."""
    with_perm = staff("operator", view_user_permission, force_logout_permission())
    without = staff("viewer", view_user_permission)
    assert ACTION_SELECT in admin_client(with_perm).get(user_changelist).content.decode()
    assert ACTION_SELECT in superuser_client().get(user_changelist).content.decode()
    response = admin_client(without).get(user_changelist)
    assert response.status_code == 200
    assert ACTION_SELECT not in response.content.decode()


def test_action_post_without_permission_revokes_nothing(
    user_changelist: str, view_user_permission: Permission, revoked_signals: list[Any]
) -> None:
    """A forged POST of the action by staff without the permission does nothing."""
    victim = make_user("alice")
    access = new_session(victim)
    client = admin_client(staff("viewer", view_user_permission))
    client.post(user_changelist, action_data("force_logout", [victim.pk]))
    assert live_count(victim) == 1
    assert api_status(access) == 200
    assert revoked_signals == []


def test_force_logout_ends_only_the_selected_users(
    user_changelist: str, view_user_permission: Permission, revoked_signals: list[Any]
) -> None:
    """Force logout of 2 users out of 3: their tokens die at once, the third's live on."""
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    held = {u.pk: [new_session(u), new_session(u)] for u in (alice, bob, carol)}
    for pair in held.values():
        assert all(api_status(access) == 200 for access in pair)  # warm "live" markers
    operator = admin_client(staff("operator", view_user_permission, force_logout_permission()))

    response = operator.post(
        user_changelist, action_data("force_logout", [alice.pk, bob.pk]), follow=True
    )

    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    assert any("2 users: 4 JWT sessions revoked" in m for m in messages), messages
    for user in (alice, bob):
        assert live_count(user) == 0
        assert all(api_status(access) == 401 for access in held[user.pk])
    assert live_count(carol) == 2
    assert all(api_status(access) == 200 for access in held[carol.pk])
    assert {str(s["user_id"]) for s in revoked_signals} == {str(alice.pk), str(bob.pk)}
    assert {s["reason"] for s in revoked_signals} == {RevokeReason.ADMIN}
    assert all(s["request"] is not None for s in revoked_signals)


def test_force_logout_costs_a_fixed_number_of_queries(user_changelist: str) -> None:
    """One user with one session, or many users with several each: the same query count."""
    lone = make_user("lone")
    new_session(lone)
    crowd = [make_user(f"user{i}") for i in range(6)]
    for member in crowd:
        for _ in range(4):
            new_session(member)
    client = superuser_client()
    client.get(user_changelist)  # session, permissions and content types warmed up

    counts = []
    for selected in ([lone], crowd):
        with CaptureQueriesContext(connection) as ctx:
            response = client.post(
                user_changelist, action_data("force_logout", [u.pk for u in selected])
            )
        assert response.status_code == 302
        counts.append([q["sql"] for q in ctx.captured_queries])
    assert len(counts[0]) == len(counts[1]), "\n".join(counts[1])
    print(f"force_logout admin action: {len(counts[0])} SQL statements\n" + "\n".join(counts[1]))
    assert all(live_count(u) == 0 for u in [lone, *crowd])


def test_get_of_the_action_does_nothing(user_changelist: str) -> None:
    """Actions are POST only: the same parameters in a GET revoke nothing."""
    victim = make_user("alice")
    access = new_session(victim)
    response = superuser_client().get(user_changelist, action_data("force_logout", [victim.pk]))
    assert response.status_code in {200, 302}
    assert live_count(victim) == 1
    assert api_status(access) == 200


def test_action_requires_csrf_token(user_changelist: str) -> None:
    """With CSRF enforced, the action POST without a token is 403; with one it works."""
    victim = make_user("alice")
    access = new_session(victim)
    client = admin_client(
        make_user("root", is_staff=True, is_superuser=True), enforce_csrf_checks=True
    )
    data = action_data("force_logout", [victim.pk])

    assert client.post(user_changelist, data).status_code == 403
    assert live_count(victim) == 1
    assert api_status(access) == 200

    assert client.get(user_changelist).status_code == 200  # sets the CSRF cookie
    data["csrfmiddlewaretoken"] = client.cookies["csrftoken"].value
    assert client.post(user_changelist, data).status_code == 302
    assert live_count(victim) == 0
    assert api_status(access) == 401


def test_mixin_on_a_projects_own_user_admin(settings: Any, db: None) -> None:
    """ForceLogoutAdminMixin works on a custom ModelAdmin on a custom admin site."""
    settings.ROOT_URLCONF = __name__
    opts = get_user_model()._meta
    url = reverse(f"custom_admin:{opts.app_label}_{opts.model_name}_changelist")
    victim, bystander = make_user("alice"), make_user("bob")
    victim_access, bystander_access = new_session(victim), new_session(bystander)
    client = superuser_client()

    assert ACTION_SELECT in client.get(url).content.decode()
    assert client.post(url, action_data("force_logout", [victim.pk])).status_code == 302
    assert api_status(victim_access) == 401
    assert api_status(bystander_access) == 200
