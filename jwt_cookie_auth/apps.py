from __future__ import annotations

import importlib.util

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JWTCookieAuthConfig(AppConfig):
    name = "jwt_cookie_auth"
    verbose_name = _("JWT cookie sessions")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model, user_logged_in, user_logged_out
        from django.db.models.signals import post_save, pre_delete

        from jwt_cookie_auth import checks, django_sessions, receivers
        from jwt_cookie_auth.admin_actions import attach_force_logout_when_ready

        checks.register()
        user_model = get_user_model()
        post_save.connect(receivers.on_user_saved, sender=user_model, dispatch_uid=__name__)
        pre_delete.connect(receivers.on_user_deleted, sender=user_model, dispatch_uid=__name__)
        user_logged_in.connect(django_sessions.on_user_logged_in, dispatch_uid=__name__)
        user_logged_out.connect(django_sessions.on_user_logged_out, dispatch_uid=__name__)
        attach_force_logout_when_ready()
        # drf-spectacular finds extensions by import: register ours only where it is
        # installed, without importing it (or anything of it) anywhere else.
        if importlib.util.find_spec("drf_spectacular") is not None:
            import jwt_cookie_auth.contrib.spectacular  # noqa: F401
        # Every process that can revoke (web workers, commands, the ASGI server) tells
        # the channel layer, so a revocation closes the session's WebSockets anywhere.
        if importlib.util.find_spec("channels") is not None:
            from jwt_cookie_auth.contrib import channels as channels_contrib

            channels_contrib.ready()
