"""Login sessions (token families) and the blacklist of consumed refresh tokens.

The database is the source of truth for revocation; the cache (``revocation.py``)
only serves it quickly. No usable token is ever stored: a session row holds token ids
(``jti``) and times, and a token cannot be rebuilt without the signing key.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser  # noqa: F401


class RevokeReason(models.TextChoices):
    LOGOUT = "logout", _("Logged out")
    LOGOUT_ALL = "logout_all", _("Logged out everywhere")
    USER_REVOKED = "user_revoked", _("Revoked by the user")
    ADMIN = "admin", _("Forced logout by an administrator")
    COMMAND = "command", _("Forced logout from the command line")
    PASSWORD_CHANGE = "password_change", _("Password changed")
    DEACTIVATED = "deactivated", _("User deactivated")
    USER_DELETED = "user_deleted", _("User deleted")
    REUSE_DETECTED = "reuse_detected", _("Refresh token reuse detected")
    SUPERSEDED = "superseded", _("Replaced by a new login")
    SESSION_LOGOUT = "session_logout", _("Logged out through Django's logout()")
    SESSION_LOGIN_OTHER_USER = (
        "session_login_other_user",
        _("Replaced by a Django login of another user"),
    )


class LoginSessionQuerySet(models.QuerySet["LoginSession"]):
    def live(self, now: datetime) -> LoginSessionQuerySet:
        """Sessions whose refresh token can still be used."""
        return self.filter(revoked_at__isnull=True, expires_at__gt=now)


class LoginSession(models.Model):
    """One login: the family of every access and refresh token rotated from it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="jwt_sessions",
        verbose_name=_("user"),
    )
    created_at = models.DateTimeField(_("created at"))
    last_used_at = models.DateTimeField(_("last used at"))
    expires_at = models.DateTimeField(
        _("expires at"), help_text=_("Expiry of the current refresh token (idle timeout).")
    )
    absolute_expires_at = models.DateTimeField(
        _("absolute expiry"), help_text=_("Never extended by rotation.")
    )
    persistent = models.BooleanField(
        _("remembered"), default=True, help_text=_("Cookies outlive the browser session.")
    )
    user_agent = models.CharField(_("user agent"), max_length=512, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    refresh_jti = models.CharField(_("current refresh token id"), max_length=64)
    refresh_issued_at = models.DateTimeField(_("current refresh token issued at"))
    previous_jti = models.CharField(_("previous refresh token id"), max_length=64, blank=True)
    rotated_at = models.DateTimeField(_("rotated at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoke_reason = models.CharField(
        _("revoke reason"), max_length=32, choices=RevokeReason.choices, blank=True
    )
    # RFC 9470 step-up: when and how the user last proved who they are in this session
    # (login, or re-authentication without a new session). Null: a session started
    # before these fields existed; its created_at stands in (step_up.py).
    auth_time = models.DateTimeField(_("authenticated at"), null=True, blank=True)
    amr = models.JSONField(
        _("authentication methods"),
        default=list,
        blank=True,
        help_text=_('RFC 8176 "amr" values of the last authentication, e.g. ["pwd", "otp"].'),
    )

    objects = LoginSessionQuerySet.as_manager()

    class Meta:
        verbose_name = _("login session")
        verbose_name_plural = _("login sessions")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "revoked_at"], name="jwt_session_user_revoked"),
            models.Index(fields=["expires_at"], name="jwt_session_expires"),
        ]
        permissions = [("force_logout", _("Can force users to log out"))]

    def __str__(self) -> str:
        return f"{self.user} @ {self.created_at:%Y-%m-%d %H:%M} ({self.id})"

    def is_live(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now


class BlacklistedToken(models.Model):
    """A refresh token id that may never be accepted again, kept until it expires."""

    jti = models.CharField(_("token id"), max_length=64, unique=True)
    session = models.ForeignKey(
        LoginSession,
        on_delete=models.CASCADE,
        related_name="blacklisted_tokens",
        verbose_name=_("login session"),
    )
    expires_at = models.DateTimeField(_("token expires at"), db_index=True)
    blacklisted_at = models.DateTimeField(_("blacklisted at"))
    reason = models.CharField(_("reason"), max_length=32)

    class Meta:
        verbose_name = _("blacklisted token")
        verbose_name_plural = _("blacklisted tokens")
        ordering = ["-blacklisted_at"]

    def __str__(self) -> str:
        return f"{self.jti} ({self.reason})"


class DjangoSessionCutoff(models.Model):
    """The instant before which a user's Django (``sessionid``) logins are no longer valid.

    Written when every session of a user ends (force logout, logout everywhere, a
    session revoked from the admin); read by the middleware through the cache, so
    ending Django sessions needs neither a scan of the session table nor a particular
    session engine. See ``django_sessions.py``.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
        verbose_name=_("user"),
    )
    valid_from = models.DateTimeField(_("Django sessions valid from"))

    class Meta:
        verbose_name = _("Django session cutoff")
        verbose_name_plural = _("Django session cutoffs")

    def __str__(self) -> str:
        return f"{self.user} >= {self.valid_from:%Y-%m-%d %H:%M:%S}"
