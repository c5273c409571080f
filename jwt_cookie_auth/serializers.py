"""Request and response shapes of the auth endpoints."""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models
from django.utils import timezone
from django.utils.module_loading import import_string
from rest_framework import serializers

from jwt_cookie_auth.conf import app_settings
from jwt_cookie_auth.models import LoginSession

if TYPE_CHECKING:
    Serializer = serializers.Serializer[Any]
    ModelSerializer = serializers.ModelSerializer[LoginSession]
else:
    Serializer = serializers.Serializer
    ModelSerializer = serializers.ModelSerializer

# Django's hashers refuse longer passwords too; hashing megabytes is a DoS vector.
MAX_PASSWORD_LENGTH = 4096


class LoginSerializer(Serializer):
    """``{<USERNAME_FIELD>: ..., "password": ..., "remember": bool}``."""

    password = serializers.CharField(
        max_length=MAX_PASSWORD_LENGTH, trim_whitespace=False, allow_blank=False
    )
    remember = serializers.BooleanField(default=True, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields[self.username_field] = serializers.CharField(max_length=1024)

    @property
    def username_field(self) -> str:
        return get_user_model().USERNAME_FIELD


class UserSerializer(Serializer):
    """The user as the auth endpoints show it: id and login name, nothing secret."""

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(instance.pk),
            get_user_model().USERNAME_FIELD: instance.get_username(),
        }
        for field in ("email", "first_name", "last_name"):
            if field not in data and hasattr(instance, field):
                data[field] = getattr(instance, field)
        return data


def serialize_user(user: Any) -> dict[str, Any]:
    serializer_class = import_string(app_settings.USER_SERIALIZER)
    return serializer_class(user).data  # type: ignore[no-any-return]


class StoredDateTimeField(serializers.DateTimeField):
    """A stored time, always shown with its UTC offset (DRF's format and time zone).

    With ``USE_TZ = False`` DRF would show a naive time without an offset, which a
    client reads as its own local time. A stored naive time is local time in
    ``TIME_ZONE``, so DRF is told to read it there (as ``clock.aware`` does) and show
    it there, with the offset.
    """

    def default_timezone(self) -> tzinfo:
        if settings.USE_TZ:
            return timezone.get_current_timezone()
        return timezone.get_default_timezone()


class LoginSessionSerializer(ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: StoredDateTimeField,
    }
    current = serializers.SerializerMethodField()

    class Meta:
        model = LoginSession
        fields = [
            "id",
            "current",
            "created_at",
            "last_used_at",
            "expires_at",
            "absolute_expires_at",
            "persistent",
            "user_agent",
            "ip_address",
        ]
        read_only_fields = fields

    def get_current(self, obj: LoginSession) -> bool:
        return str(obj.pk) == self.context.get("current_session_id")
