"""The OpenAPI ``user`` object of a project's own ``USER_SERIALIZER`` (contrib/spectacular.py).

The README's recipe (a field-less ``UserSerializer`` subclass adding a key in
``to_representation``) once made ``manage.py spectacular`` crash with an
``AssertionError`` and ``/api/schema/`` answer 500; these build the schema with each
kind of serializer, validate it and refuse any drf-spectacular warning.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model

pytest.importorskip("drf_spectacular", reason='drf-spectacular (pip install -e ".[test]")')

from rest_framework import serializers

from jwt_cookie_auth.serializers import UserSerializer
from tests.test_openapi import generate


class AppUserSerializer(UserSerializer):
    """README "The ``user`` object", verbatim."""

    def to_representation(self, instance):  # type: ignore[no-untyped-def]
        data = super().to_representation(instance)
        data["is_staff"] = instance.is_staff
        return data


class PlainUserSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """Not a subclass, and no declared fields: the schema cannot know its keys."""

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return {"id": str(instance.pk), "name": instance.get_username()}


class StaffUserSerializer(UserSerializer):
    """A subclass that declares the keys it adds."""

    is_staff = serializers.BooleanField(read_only=True)
    groups_count = serializers.IntegerField(read_only=True, help_text="Number of groups.")

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["is_staff"] = instance.is_staff
        data["groups_count"] = 0
        return data


class DeclaredUserSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """Not a subclass, with declared fields: DRF's own schema of them."""

    id = serializers.CharField(source="pk")
    is_active = serializers.BooleanField()


def user_of(schema: dict[str, Any]) -> Any:
    return schema["components"]["schemas"]["JWTSessionTokens"]["properties"]["user"]


def test_the_readme_user_serializer_builds_a_valid_schema(
    capsys: pytest.CaptureFixture[str],
) -> None:
    schema = generate(capsys, USER_SERIALIZER=f"{__name__}.AppUserSerializer")
    assert user_of(schema) == {"$ref": "#/components/schemas/AppUser"}
    app_user = schema["components"]["schemas"]["AppUser"]
    username = get_user_model().USERNAME_FIELD
    assert {"id", username} <= set(app_user["properties"])
    assert set(app_user["required"]) == {"id", username}
    # is_staff is added by to_representation, undeclared: the schema must allow it.
    assert app_user["additionalProperties"] is True
    status = schema["components"]["schemas"]["JWTSessionStatus"]["properties"]["user"]
    assert status == {"allOf": [{"$ref": "#/components/schemas/AppUser"}], "nullable": True}


def test_a_field_less_serializer_that_is_no_subclass_is_an_open_object(
    capsys: pytest.CaptureFixture[str],
) -> None:
    schema = generate(capsys, USER_SERIALIZER=f"{__name__}.PlainUserSerializer")
    user = user_of(schema)
    assert user["type"] == "object"
    assert user["additionalProperties"] is True
    assert "PlainUser" not in schema["components"]["schemas"]
    status = schema["components"]["schemas"]["JWTSessionStatus"]["properties"]["user"]
    assert status["additionalProperties"] is True
    assert status["nullable"] is True


def test_a_user_serializer_subclass_shows_its_fields(
    capsys: pytest.CaptureFixture[str],
) -> None:
    schema = generate(capsys, USER_SERIALIZER=f"{__name__}.StaffUserSerializer")
    assert user_of(schema) == {"$ref": "#/components/schemas/StaffUser"}
    staff = schema["components"]["schemas"]["StaffUser"]
    username = get_user_model().USERNAME_FIELD
    assert staff["properties"]["is_staff"] == {"type": "boolean", "readOnly": True}
    assert staff["properties"]["groups_count"]["type"] == "integer"
    assert staff["properties"]["groups_count"]["description"] == "Number of groups."
    assert {"id", username, "is_staff", "groups_count"} <= set(staff["properties"])
    assert {"id", username, "is_staff", "groups_count"} == set(staff["required"])


def test_the_default_user_serializer_is_unchanged(capsys: pytest.CaptureFixture[str]) -> None:
    schema = generate(capsys)
    user = schema["components"]["schemas"]["User"]
    assert "additionalProperties" not in user
    assert set(user["required"]) == {"id", get_user_model().USERNAME_FIELD}


def test_a_declared_serializer_that_is_no_subclass_shows_its_fields(
    capsys: pytest.CaptureFixture[str],
) -> None:
    schema = generate(capsys, USER_SERIALIZER=f"{__name__}.DeclaredUserSerializer")
    assert user_of(schema) == {"$ref": "#/components/schemas/DeclaredUser"}
    declared = schema["components"]["schemas"]["DeclaredUser"]
    assert set(declared["properties"]) == {"id", "is_active"}
