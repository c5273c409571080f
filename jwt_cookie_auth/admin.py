"""Admin for login sessions (revoke selected) and the read-only blacklist."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from jwt_cookie_auth import clock, device_info
from jwt_cookie_auth.admin_actions import FORCE_LOGOUT_PERMISSION
from jwt_cookie_auth.django_sessions import end_django_sessions
from jwt_cookie_auth.models import BlacklistedToken, LoginSession, RevokeReason
from jwt_cookie_auth.revocation import revoke_sessions


class StatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("active", _("Active")), ("expired", _("Expired")), ("revoked", _("Revoked"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        now = clock.now()
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True, expires_at__gt=now)
        if self.value() == "expired":
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


def compact_time(value: datetime | None) -> str:
    """``2026-11-30 18:40`` in the current time zone; in a narrow column it breaks
    between the date and the time only. The admin's own format ("Nov. 30, 2026,
    6:40 p.m.") takes three lines there."""
    if value is None:
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return format_html(
        '<span class="nowrap">{}</span> <span class="nowrap">{}</span>',
        formats.date_format(value, "Y-m-d"),
        formats.date_format(value, "H:i"),
    )


if TYPE_CHECKING:
    ModelAdmin = admin.ModelAdmin[Any]
else:
    ModelAdmin = admin.ModelAdmin


class ReadOnlyAdmin(ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LoginSession)
class LoginSessionAdmin(ReadOnlyAdmin):
    # Fits 1280 px beside the filters, rows at most two lines (issue 11): compact
    # times, no navigation sidebar on this list (changelist_view); the absolute
    # expiry is on each session's page.
    list_display = [
        "user",
        "status",
        "signed_in",
        "last_used",
        "expires",
        "ip_address",
        "device",
    ]
    list_filter = [StatusFilter, "revoke_reason", "persistent"]
    list_select_related = ["user"]
    search_fields = ["user__pk", "ip_address"]
    date_hierarchy = "created_at"
    actions = ["revoke_selected"]
    exclude = ["refresh_jti", "previous_jti"]

    class Media:
        css = {"all": ["jwt_cookie_auth/admin_sessions.css"]}

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # The list needs the width of the navigation sidebar (about 300 px at 1280 px);
        # the breadcrumbs still lead back. Django reads this flag per page.
        context = {"is_nav_sidebar_enabled": False, **(extra_context or {})}
        return super().changelist_view(request, context)

    @admin.display(description=_("created at"), ordering="created_at")
    def signed_in(self, obj: LoginSession) -> str:
        return compact_time(obj.created_at)

    @admin.display(description=_("last used at"), ordering="last_used_at")
    def last_used(self, obj: LoginSession) -> str:
        return compact_time(obj.last_used_at)

    @admin.display(description=_("expires at"), ordering="expires_at")
    def expires(self, obj: LoginSession) -> str:
        return compact_time(obj.expires_at)

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        from django.contrib.auth import get_user_model

        return [f"user__{get_user_model().USERNAME_FIELD}", *self.search_fields]

    @admin.display(description=_("status"))
    def status(self, obj: LoginSession) -> str:
        if obj.revoked_at is not None:
            return str(_("Revoked (%(reason)s)") % {"reason": obj.get_revoke_reason_display()})
        return str(_("Active")) if obj.is_live(clock.now()) else str(_("Expired"))

    @admin.display(description=_("user agent"))
    def short_user_agent(self, obj: LoginSession) -> str:
        return obj.user_agent[:60]

    @admin.display(description=_("device"))
    def device(self, obj: LoginSession) -> str | None:
        if not obj.user_agent:
            return None  # the admin's empty value display
        # A header no rule recognises is shown cut; the raw header stays one hover
        # away, and in full on the change page.
        return format_html(
            '<span title="{}">{}</span>',
            obj.user_agent,
            device_info.label(obj.user_agent) or obj.user_agent[:40],
        )

    @admin.action(description=_("Revoke selected sessions now"), permissions=["force_logout"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[LoginSession]) -> None:
        from django.db.models import Q

        selected = queryset.count()
        revoked = revoke_sessions(Q(pk__in=queryset.values("pk")), RevokeReason.ADMIN, request)
        # A Django session cannot be matched to one device's JWT session: every Django
        # session of these users ends (django_sessions.py).
        end_django_sessions(revoked)
        count = sum(len(ids) for ids in revoked.values())
        if count == selected:
            message = ngettext("Revoked %d session.", "Revoked %d sessions.", count) % count
        else:
            # Name the selection: "Revoked 0 sessions." alone reads like a failure.
            message = ngettext(
                "Revoked %(revoked)d of %(selected)d selected session: it was already revoked.",
                "Revoked %(revoked)d of %(selected)d selected sessions: "
                "the others were already revoked.",
                selected,
            ) % {"revoked": count, "selected": selected}
        self.message_user(request, message, messages.SUCCESS)

    def has_force_logout_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(FORCE_LOGOUT_PERMISSION))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Deleting a row would lose the audit trail; revoke instead.
        return False


@admin.register(BlacklistedToken)
class BlacklistedTokenAdmin(ReadOnlyAdmin):
    list_display = ["jti", "session", "reason", "blacklisted_at", "expires_at"]
    list_filter = ["reason"]
    list_select_related = ["session"]
    search_fields = ["jti", "session__id"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
