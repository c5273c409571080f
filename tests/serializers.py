"""Login serializers the tests configure as LOGIN_SERIALIZER (the README's recipes)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from rest_framework import serializers

from jwt_cookie_auth.serializers import MAX_PASSWORD_LENGTH, LoginSerializer

if TYPE_CHECKING:
    Serializer = serializers.Serializer[Any]
else:
    Serializer = serializers.Serializer


class EmailOrUsernameLoginSerializer(Serializer):
    """``{"login": <username or email>, "password": ..., "remember"?}``.

    An email is resolved to its account's username before the throttle counts, so both
    ways of naming one account share one bucket (no second set of guesses). The
    lookup reads no secret; an unknown email counts under itself.
    """

    login = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=MAX_PASSWORD_LENGTH, trim_whitespace=False)
    remember = serializers.BooleanField(default=True, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        user_model = get_user_model()
        identifier = attrs["login"]
        if "@" in identifier:
            email_field = user_model.get_email_field_name()
            matches = list(
                user_model._default_manager.filter(**{f"{email_field}__iexact": identifier})[:2]
            )
            if len(matches) == 1:
                identifier = matches[0].get_username()
        return {
            "credentials": {user_model.USERNAME_FIELD: identifier, "password": attrs["password"]},
            "identifier": identifier,
            "remember": attrs["remember"],
        }


class CaptchaLoginSerializer(LoginSerializer):
    """The default fields plus a ``captcha`` answer, checked before any password."""

    captcha = serializers.CharField()

    def validate_captcha(self, value: str) -> str:
        if value != "4":  # "2 + 2 = ?": a stand-in for a real captcha service
            raise serializers.ValidationError("Wrong answer.")
        return value


class NoContractSerializer(Serializer):
    """Validates, but gives neither credentials nor an identifier."""

    username = serializers.CharField()
    password = serializers.CharField()
