"""The ``user`` object of the auth responses, as README "The user object" documents it.

The primary key is a string (a UUID, or an integer beyond JavaScript's 2**53, survives
``JSON.parse``); the login name comes under the model's ``USERNAME_FIELD``; ``email``,
``first_name`` and ``last_name`` are added when the model has them. The README's
``USER_SERIALIZER`` recipe (a subclass adding a field) is the code below.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from jwt_cookie_auth.serializers import UserSerializer
from tests.conftest import credentials


class AppUserSerializer(UserSerializer):
    """The README's example: the default fields plus ``is_staff``."""

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["is_staff"] = instance.is_staff
        return data


def expected_default(user: Any) -> dict[str, Any]:
    model = get_user_model()
    shape: dict[str, Any] = {"id": str(user.pk), model.USERNAME_FIELD: user.get_username()}
    for field in ("email", "first_name", "last_name"):
        if field not in shape and hasattr(user, field):
            shape[field] = getattr(user, field)
    return shape


def test_login_and_session_answer_the_documented_user_object(client: Client, user: Any) -> None:
    login = client.post(
        reverse("jwt_cookie_auth:login"), credentials(user), content_type="application/json"
    )
    assert login.status_code == 200
    body = login.json()["user"]
    assert body == expected_default(user)
    assert isinstance(body["id"], str)
    # Django's User: exactly the README's example keys.
    if get_user_model().USERNAME_FIELD == "username":
        assert list(body) == ["id", "username", "email", "first_name", "last_name"]
    else:  # the suite's e-mail user (UUID key, no name fields)
        assert list(body) == ["id", "email"]
    assert client.get(reverse("jwt_cookie_auth:session")).json()["user"] == body


def test_user_serializer_setting_changes_every_response(
    client: Client, user: Any, settings: Any
) -> None:
    settings.JWT_COOKIE_AUTH = {
        **getattr(settings, "JWT_COOKIE_AUTH", {}),
        "USER_SERIALIZER": f"{__name__}.AppUserSerializer",
    }
    login = client.post(
        reverse("jwt_cookie_auth:login"), credentials(user), content_type="application/json"
    )
    assert login.json()["user"] == {**expected_default(user), "is_staff": False}
    refreshed = client.post(reverse("jwt_cookie_auth:refresh"))
    assert refreshed.json()["user"]["is_staff"] is False
    assert client.get(reverse("jwt_cookie_auth:session")).json()["user"]["is_staff"] is False


@pytest.mark.parametrize("pk", [2**53 + 1])
def test_a_large_integer_key_keeps_its_digits(pk: int, db: None) -> None:
    model = get_user_model()
    if model._meta.pk.get_internal_type() not in {"AutoField", "BigAutoField", "IntegerField"}:
        pytest.skip("the suite's user model here has no integer key")
    user = model(pk=pk, **{model.USERNAME_FIELD: "big"})
    assert UserSerializer(user).data["id"] == "9007199254740993"
