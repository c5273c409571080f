"""The ``force_logout`` admin action for whatever ModelAdmin manages the user model.

Installing the app attaches it to the registered user admin automatically. A project
that builds its own user admin can also mix ``ForceLogoutAdminMixin`` in explicitly.
The action needs the ``jwt_cookie_auth.force_logout`` permission, not just staff
status; it ends every session of the selected users in a fixed number of queries,
and their access tokens die on their very next request.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.signals import request_started
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from jwt_cookie_auth.django_sessions import end_django_sessions
from jwt_cookie_auth.models import RevokeReason
from jwt_cookie_auth.revocation import revoke_user_sessions

FORCE_LOGOUT_PERMISSION = "jwt_cookie_auth.force_logout"


def force_logout_message(users: int, sessions: int) -> str:
    """Return the admin's report: the users selected, and the JWT sessions revoked.

    Counted apart: users without a live JWT session are logged out all the same (their
    Django sessions end), so "0 sessions" must not read as "nothing happened".
    """
    revoked = ngettext(
        "%(count)d JWT session revoked", "%(count)d JWT sessions revoked", sessions
    ) % {"count": sessions}
    return ngettext(
        "Forced logout of %(users)d user: %(sessions)s; "
        "their Django sessions end on their next request.",
        "Forced logout of %(users)d users: %(sessions)s; "
        "their Django sessions end on their next request.",
        users,
    ) % {"users": users, "sessions": revoked}


class ForceLogoutAdminMixin:
    """Give a user ``ModelAdmin`` the ``force_logout`` action."""

    @admin.action(
        description=_("Force logout (end all their sessions now)"),
        permissions=["force_logout"],
    )
    def force_logout(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        revoked = revoke_user_sessions(queryset.values("pk"), RevokeReason.ADMIN, request)
        # Their Django (e.g. admin) sessions too, on their next request.
        user_ids = list(queryset.values_list("pk", flat=True))
        end_django_sessions(user_ids)
        self.message_user(  # type: ignore[attr-defined]
            request,
            force_logout_message(len(user_ids), sum(len(ids) for ids in revoked.values())),
            messages.SUCCESS,
        )

    def has_force_logout_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(FORCE_LOGOUT_PERMISSION))

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Add the action to whatever ``actions`` the admin class declares, so that a
        # subclass listing its own actions keeps this one. ``actions = None`` (no
        # actions at all) is respected.
        super().__init_subclass__(**kwargs)
        actions = getattr(cls, "actions", ())
        if actions is not None and "force_logout" not in actions:
            cls.actions = [*actions, "force_logout"]  # type: ignore[attr-defined]


def attach_force_logout(site: admin.AdminSite | None = None) -> bool:
    """Mix the action into the registered user admin; return whether one was found."""
    site = site or admin.site
    user_model = get_user_model()
    if not site.is_registered(user_model):
        return False
    model_admin = site.get_model_admin(user_model)
    if not isinstance(model_admin, ForceLogoutAdminMixin):
        cls = type(model_admin)
        model_admin.__class__ = type(
            cls.__name__, (ForceLogoutAdminMixin, cls), {"__module__": cls.__module__}
        )
    return True


def _attach_on_first_request(**kwargs: Any) -> None:
    request_started.disconnect(dispatch_uid=__name__)
    attach_force_logout()


def attach_force_logout_when_ready() -> None:
    """Attach now, or, if the user admin is not registered yet, on the first request."""
    if not apps.is_installed("django.contrib.admin"):
        return
    if not attach_force_logout():
        # The admin autodiscovers after this app's ready() when listed later in
        # INSTALLED_APPS.
        request_started.connect(_attach_on_first_request, dispatch_uid=__name__)
