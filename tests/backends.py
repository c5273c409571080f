"""A tiny authentication backend: proves login goes through ``authenticate()``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend
from django.http import HttpRequest

MAGIC_WORD = "open sesame"


class MagicWordBackend(BaseBackend):
    """Admit any active user whose password is the magic word (and nobody else)."""

    def authenticate(
        self, request: HttpRequest | None, password: str | None = None, **kwargs: Any
    ) -> Any:
        user_model = get_user_model()
        username = kwargs.get(user_model.USERNAME_FIELD)
        if password != MAGIC_WORD or username is None:
            return None
        try:
            user = user_model._default_manager.get_by_natural_key(username)
        except user_model.DoesNotExist:
            return None
        return user if getattr(user, "is_active", True) else None

    def get_user(self, user_id: Any) -> Any:
        user_model = get_user_model()
        return user_model._default_manager.filter(pk=user_id).first()
