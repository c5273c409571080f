from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JWTCookieAuthConfig(AppConfig):
    name = "jwt_cookie_auth"
    verbose_name = _("JWT cookie sessions")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_save, pre_delete

        from jwt_cookie_auth import checks, receivers
        from jwt_cookie_auth.admin_actions import attach_force_logout_when_ready

        checks.register()
        user_model = get_user_model()
        post_save.connect(receivers.on_user_saved, sender=user_model, dispatch_uid=__name__)
        pre_delete.connect(receivers.on_user_deleted, sender=user_model, dispatch_uid=__name__)
        attach_force_logout_when_ready()
