"""End a user's sessions when Django says their credentials changed.

- Password change: every session ends, as Django ends session logins through the
  session auth hash. ``set_password`` leaves ``_password`` set until the save.
- Deactivation: every session ends; access tokens die on the next request even in
  the user-from-token mode, which never reads the user row.
- Deletion: the rows go with the user (CASCADE), and revoked markers are written
  first so that no cached "live" answer outlives them.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from jwt_cookie_auth.conf import app_settings
from jwt_cookie_auth.identity import forget_cached_user
from jwt_cookie_auth.models import RevokeReason
from jwt_cookie_auth.revocation import revoke_user_sessions


def on_user_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if created:
        return
    if app_settings.CACHE_USERS:
        forget_cached_user(instance.pk)
        # Again after commit: a request may have cached the old row in between.
        transaction.on_commit(lambda: forget_cached_user(instance.pk))
    if getattr(instance, "_password", None) is not None:
        revoke_user_sessions([instance.pk], RevokeReason.PASSWORD_CHANGE)
    elif getattr(instance, "is_active", True) is False:
        revoke_user_sessions([instance.pk], RevokeReason.DEACTIVATED)


def on_user_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    revoke_user_sessions([instance.pk], RevokeReason.USER_DELETED)
    if app_settings.CACHE_USERS:
        forget_cached_user(instance.pk)
