"""Request and response shapes of the auth endpoints."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils import timezone
from django.utils.module_loading import import_string
from rest_framework import serializers
from rest_framework.request import Request

from jwt_cookie_auth import device_info
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
    """``{<USERNAME_FIELD>: ..., "password": ..., "remember": bool}``.

    The default ``LOGIN_SERIALIZER``. Its ``validated_data`` follows the login
    contract (``read_login``): ``credentials`` for ``authenticate()``, the
    ``identifier`` the throttle counts under, and ``remember``. Subclass it to add
    fields (a captcha), or write another serializer that gives the same three keys.
    """

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

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        username = attrs[self.username_field]
        attrs["credentials"] = {self.username_field: username, "password": attrs["password"]}
        attrs["identifier"] = username
        return attrs


@dataclass(frozen=True)
class LoginData:
    """What a login request asks for, as the ``LOGIN_SERIALIZER`` read it."""

    #: Keyword arguments for ``authenticate(request, **credentials)``.
    credentials: dict[str, Any]
    #: The submitted login name: the throttle's per-username bucket (normalised by
    #: ``throttling.normalize_username``) and, exactly as submitted, the device
    #: cookie's binding.
    identifier: str
    #: False: browser-session cookies.
    remember: bool

    def cleansed_credentials(self) -> dict[str, Any]:
        """The credentials with secrets masked, as ``authenticate()`` signals them."""
        return {
            key: CLEANSED if SENSITIVE_CREDENTIALS.search(key) else value
            for key, value in self.credentials.items()
        }


# As django.contrib.auth._clean_credentials, for the user_login_failed we send ourselves.
SENSITIVE_CREDENTIALS = re.compile("api|token|key|secret|password|signature", re.IGNORECASE)
CLEANSED = "********************"


def read_login(request: Request, view: Any = None) -> LoginData:
    """Validate a login body with ``LOGIN_SERIALIZER``; return what it asks for.

    The contract: the serializer is built as ``Serializer(data=request.data,
    context={"request": request, "view": view})``; invalid data raises DRF's
    ``ValidationError`` (a 400, before any throttle slot is taken and before
    ``authenticate()`` runs). Its ``validated_data`` must hold ``credentials`` (a dict
    for ``authenticate()``) and ``identifier`` (a str: the login name as submitted, or
    resolved from it without checking any secret); ``remember`` (bool) is optional
    and defaults to True. Anything else is ``ImproperlyConfigured``.
    """
    serializer_class = import_string(app_settings.LOGIN_SERIALIZER)
    serializer = serializer_class(data=request.data, context={"request": request, "view": view})
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    credentials, identifier = data.get("credentials"), data.get("identifier")
    if not isinstance(credentials, dict) or not isinstance(identifier, str):
        raise ImproperlyConfigured(
            f"LOGIN_SERIALIZER {app_settings.LOGIN_SERIALIZER!r}: validated_data must "
            "hold 'credentials' (a dict of keyword arguments for authenticate()) and "
            "'identifier' (the submitted login name, a str); see "
            "jwt_cookie_auth.serializers.LoginSerializer.validate."
        )
    return LoginData(dict(credentials), identifier, bool(data.get("remember", True)))


def login_response_body(
    request: Request, user: Any, session: LoginSession, body: dict[str, Any]
) -> dict[str, Any]:
    """Return the login response's body: ``body``, or what ``LOGIN_RESPONSE_BODY`` makes.

    The hook is called as ``hook(request, user, session, body)`` and returns the
    body to send (usually ``{**body, ...}``); a non-dict is ``ImproperlyConfigured``.
    """
    path = app_settings.LOGIN_RESPONSE_BODY
    if not path:
        return body
    result = import_string(path)(request, user, session, body)
    if not isinstance(result, dict):
        raise ImproperlyConfigured(
            f"LOGIN_RESPONSE_BODY {path!r} returned a {type(result).__name__}, not a dict."
        )
    return result


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


class DeviceSerializer(Serializer):
    """A User-Agent string shown as ``{"browser": ..., "os": ..., "device": ...}``.

    Read-only; unknown parts are ``"Other"`` (``device_info.describe``).
    """

    browser = serializers.CharField(read_only=True)
    os = serializers.CharField(read_only=True)
    device = serializers.CharField(read_only=True)

    def to_representation(self, instance: str) -> dict[str, Any]:
        return dict(device_info.describe(instance))


class LoginSessionSerializer(ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: StoredDateTimeField,
    }
    current = serializers.SerializerMethodField()
    device = DeviceSerializer(source="user_agent", read_only=True)

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
            "device",
            "ip_address",
        ]
        read_only_fields = fields

    def get_current(self, obj: LoginSession) -> bool:
        return str(obj.pk) == self.context.get("current_session_id")
