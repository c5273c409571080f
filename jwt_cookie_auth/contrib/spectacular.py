"""OpenAPI 3 schemas for drf-spectacular: the auth scheme and every package endpoint.

Imported by ``JWTCookieAuthConfig.ready()`` only when drf-spectacular is installed
(``pip install "django-jwt-cookie-auth[openapi]"``); importing it registers the
extensions, so a project does nothing but use drf-spectacular as usual:

- ``JWTCookieAuthScheme``: any view authenticated by ``JWTCookieAuthentication`` (or a
  subclass) gets ``security`` "the access cookie OR a Bearer access token". The cookie
  is an ``apiKey`` scheme named after the access cookie's wire name
  (``cookie_names.access_cookie_name()``, so ``__Host-jwt_access`` with the secure
  defaults), read when the schema is generated.
- One ``OpenApiViewExtension`` per package view: request and response bodies, every
  error status the view answers with the package's ``{"detail", "code"}`` body
  (``errors.py``), ``Retry-After`` on 429, ``WWW-Authenticate`` on 401, and the
  ``X-CSRFToken`` header on each unsafe method. The views themselves never import
  drf-spectacular.

The schemas describe what the views send, so a client generated from them, and a
fuzzer (``tests/test_openapi_example.py`` runs schemathesis), can hold the server to
them. A project's own cookie-authenticated views need the CSRF header on unsafe
methods too: add ``csrf_header()`` to their ``extend_schema(parameters=[...])``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.module_loading import import_string
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
    OpenApiSerializerFieldExtension,
    OpenApiViewExtension,
)
from drf_spectacular.plumbing import build_bearer_security_scheme_object, force_instance
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers

from jwt_cookie_auth.conf import app_settings
from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from jwt_cookie_auth.serializers import LoginSessionSerializer, UserSerializer

if TYPE_CHECKING:
    from drf_spectacular.openapi import AutoSchema

    Serializer = serializers.Serializer[Any]
    Field = serializers.Field[Any, Any, Any, Any]
else:
    Serializer = serializers.Serializer
    Field = serializers.Field

#: The security scheme names (keys of ``components.securitySchemes``).
ACCESS_COOKIE_SCHEME = "jwtAccessCookie"
REFRESH_COOKIE_SCHEME = "jwtRefreshCookie"
BEARER_SCHEME = "jwtBearer"

#: ``security`` of a view that takes the access token: the cookie OR a Bearer header.
ACCESS_TOKEN: list[dict[str, list[str]]] = [{ACCESS_COOKIE_SCHEME: []}, {BEARER_SCHEME: []}]


def csrf_header_name() -> str:
    """Return the CSRF header as a client sends it (``X-CSRFToken`` by default).

    ``CSRF_HEADER_NAME`` is a ``request.META`` key (``HTTP_X_CSRFTOKEN``); header names
    are case-insensitive, so any spelling works, and the default gets Django's own.
    """
    meta_key = settings.CSRF_HEADER_NAME
    if meta_key == "HTTP_X_CSRFTOKEN":
        return "X-CSRFToken"
    name = meta_key.removeprefix("HTTP_")
    return "-".join(part.capitalize() for part in name.split("_"))


def csrf_header() -> OpenApiParameter:
    """Return the CSRF header parameter (its name from ``CSRF_HEADER_NAME``).

    Add it to ``extend_schema(parameters=[...])`` of a project's own views that take
    unsafe methods with cookie credentials: the schema is read when it is built, so
    call it there (``parameters=[csrf_header()]`` in the decorator is fine too).
    """
    return OpenApiParameter(
        csrf_header_name(),
        str,
        OpenApiParameter.HEADER,
        required=False,
        description=(
            "Django's CSRF token (the csrftoken cookie, or csrf_token of the session, "
            "login and refresh responses). Required with cookie credentials, and at "
            "login; not needed with a Bearer header. Without it: 403 csrf_failed."
        ),
    )


RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    description="Seconds to wait before trying again.",
    response=[429],
)
WWW_AUTHENTICATE = OpenApiParameter(
    "WWW-Authenticate",
    str,
    OpenApiParameter.HEADER,
    description='Bearer realm="api"',
    response=[401],
)


class JWTCookieAuthScheme(OpenApiAuthenticationExtension):
    """``JWTCookieAuthentication``: the access cookie (CSRF on unsafe methods) or Bearer."""

    target_class = "jwt_cookie_auth.authentication.JWTCookieAuthentication"
    match_subclasses = True
    # The refresh cookie's scheme is defined here too: the refresh and logout
    # endpoints name it, and a scheme is only defined through an authenticator.
    name = [ACCESS_COOKIE_SCHEME, BEARER_SCHEME, REFRESH_COOKIE_SCHEME]

    def get_security_requirement(self, auto_schema: AutoSchema) -> list[dict[str, list[Any]]]:
        return [dict(requirement) for requirement in ACCESS_TOKEN]

    def get_security_definition(self, auto_schema: AutoSchema) -> list[dict[str, Any]]:
        return [
            {
                "type": "apiKey",
                "in": "cookie",
                "name": access_cookie_name(),
                "description": (
                    "The HttpOnly access cookie a login sets (a browser sends it by "
                    "itself). Unsafe methods also need the CSRF header."
                ),
            },
            {
                **build_bearer_security_scheme_object("HTTP_AUTHORIZATION", "Bearer", "JWT"),
                "description": "Authorization: Bearer <access token>; no CSRF check.",
            },
            {
                "type": "apiKey",
                "in": "cookie",
                "name": refresh_cookie_name(),
                "description": "The HttpOnly refresh cookie (sent to the refresh path only).",
            },
        ]


# --- bodies -------------------------------------------------------------------------


class JWTAuthErrorSerializer(Serializer):
    """The error body of every package endpoint (``errors.py``)."""

    detail = serializers.CharField(help_text="A human message, translated.")
    code = serializers.CharField(
        help_text="A stable machine code: csrf_failed, session_revoked, throttled, ..."
    )
    reason = serializers.CharField(
        required=False,
        help_text="Why a session was refused (admin, logout, expired, access_expired, ...).",
    )


class JWTAuthValidationErrorSerializer(JWTAuthErrorSerializer):
    """A 400: ``detail`` and ``code``, DRF's field errors beside them (``{"password": [...]}``)."""


class _UserField(Field):
    """The ``user`` of a body: whatever ``USER_SERIALIZER`` makes (read per schema)."""

    def to_representation(self, value: Any) -> Any:  # pragma: no cover - docs only
        return value


#: The ``user`` of a ``USER_SERIALIZER`` whose keys the schema cannot know (no declared
#: fields, only a ``to_representation``): an object of any keys, never a crash.
ANY_USER: dict[str, Any] = {
    "type": "object",
    "additionalProperties": True,
    "description": "What USER_SERIALIZER makes of the user (its keys are not declared).",
}


class _UserFieldSchema(OpenApiSerializerFieldExtension):
    target_class = _UserField

    def map_serializer_field(self, auto_schema: AutoSchema, direction: Any) -> Any:
        serializer = import_string(app_settings.USER_SERIALIZER)
        component = auto_schema.resolve_serializer(serializer, direction)
        # drf-spectacular discards the component of a serializer without declared
        # fields (a plain Serializer with its own to_representation) and returns a
        # falsy sentinel whose .ref asserts: such a project's schema would not build.
        return component.ref if component else dict(ANY_USER)


class UserSchema(OpenApiSerializerExtension):
    """The default ``USER_SERIALIZER`` and its subclasses: ``id``, the login name, and the
    name fields the user model has.

    A subclass's declared fields are added to these (DRF's schema of each), and a
    subclass that overrides ``to_representation`` (the README's ``AppUserSerializer``
    adding ``is_staff``) gets ``additionalProperties: true``: the keys it adds are not
    declared, so the schema must not forbid them. ``id`` and the login name stay
    required; a subclass that drops them should describe itself with
    ``extend_schema_serializer`` or its own extension.
    """

    target_class = "jwt_cookie_auth.serializers.UserSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: AutoSchema, direction: Any) -> dict[str, Any]:
        user_model = get_user_model()
        username = user_model.USERNAME_FIELD
        properties: dict[str, Any] = {
            "id": {"type": "string", "description": "The primary key, as a string."},
            username: {"type": "string"},
        }
        for field in ("email", "first_name", "last_name"):
            if field not in properties and hasattr(user_model, field):
                properties[field] = {"type": "string"}
        schema: dict[str, Any] = {
            "type": "object",
            "properties": properties,
            "required": ["id", username],
        }
        serializer = force_instance(self.target)
        if serializer.fields:
            # AutoSchema._map_basic_serializer is private, but it is the one way to get
            # drf-spectacular's schema of declared fields without this extension
            # matching again (its docs use the same for extensions);
            # tests/test_openapi.py::test_a_user_serializer_subclass_shows_its_fields pins it.
            declared = auto_schema._map_basic_serializer(serializer, direction)
            properties.update(declared.get("properties", {}))
            schema["required"] += [
                name for name in declared.get("required", []) if name not in schema["required"]
            ]
        if type(serializer).to_representation is not UserSerializer.to_representation:
            schema["additionalProperties"] = True
        return schema


class JWTSessionTokensSerializer(Serializer):
    """The 200 of login, refresh and reauthenticate (login's through LOGIN_RESPONSE_BODY)."""

    user = _UserField()
    session_id = serializers.UUIDField()
    access_expires_at = serializers.DateTimeField()
    refresh_expires_at = serializers.DateTimeField()
    session_expires_at = serializers.DateTimeField()
    csrf_token = serializers.CharField(help_text="Send it as the CSRF header.")
    access = serializers.CharField(
        required=False, help_text="TOKENS_IN_BODY only, and never to a browser page."
    )
    refresh = serializers.CharField(
        required=False, help_text="TOKENS_IN_BODY only, and never to a browser page."
    )


class JWTSessionStatusSerializer(Serializer):
    """``GET session/``: ``{"user": null, "csrf_token"}`` when anonymous, else the session."""

    user = _UserField(allow_null=True)
    csrf_token = serializers.CharField()
    session_id = serializers.UUIDField(required=False)
    access_expires_at = serializers.DateTimeField(required=False)
    refresh_expires_at = serializers.DateTimeField(required=False, allow_null=True)
    session_expires_at = serializers.DateTimeField(required=False, allow_null=True)


# --- responses ----------------------------------------------------------------------

ERROR = JWTAuthErrorSerializer
_ERRORS = {
    400: (JWTAuthValidationErrorSerializer, "parse_error or invalid (field errors beside)."),
    401: (ERROR, "Not authenticated, or the token or credentials were refused."),
    403: (ERROR, "csrf_failed, or a permission refused the request."),
    404: (ERROR, "not_found: not a session of this user (or no such id)."),
    415: (ERROR, "unsupported_media_type: the body is not JSON."),
    429: (ERROR, "throttled: see Retry-After."),
    500: (ERROR, "token_too_large: custom claims too large for a cookie; nothing issued."),
}
# What every unsafe package endpoint may answer before its own logic: a body the CSRF
# check cannot parse (400), a refused content type (415), the CSRF check (403), and
# the project's DEFAULT_THROTTLE_CLASSES (429).
UNSAFE_ERRORS = (400, 403, 415, 429)


def _errors(*statuses: int) -> dict[int, OpenApiResponse]:
    return {
        status: OpenApiResponse(serializer, description=text)
        for status, (serializer, text) in _ERRORS.items()
        if status in statuses
    }


def _unsafe() -> list[OpenApiParameter]:
    return [csrf_header(), RETRY_AFTER, WWW_AUTHENTICATE]


class _PackageViewSchema(OpenApiViewExtension):
    """Annotate one package view with ``schema()``: built per schema, so settings apply."""

    #: The one HTTP method the view answers (its handler is annotated, not the class:
    #: an ``operation_id`` on a class would name every method's operation alike).
    method = "post"

    def schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def view_replacement(self) -> Any:
        # A subclass, so the package's view class itself is never changed.
        view = type(self.target.__name__, (self.target,), {"__doc__": self.target.__doc__})
        annotated = extend_schema(tags=["auth"], **self.schema())
        return extend_schema_view(**{self.method: annotated})(view)


class LoginViewSchema(_PackageViewSchema):
    target_class = "jwt_cookie_auth.views.LoginView"

    def schema(self) -> dict[str, Any]:
        return {
            "operation_id": "jwt_login",
            "summary": "Log in: start a session, set the token cookies",
            # LOGIN_SERIALIZER, read when the schema is built: a project's fields show.
            "request": import_string(app_settings.LOGIN_SERIALIZER),
            "responses": {
                200: JWTSessionTokensSerializer,
                **_errors(401, 500, *UNSAFE_ERRORS),
            },
            "parameters": _unsafe(),
            "auth": [{}],
        }


class RefreshViewSchema(_PackageViewSchema):
    target_class = "jwt_cookie_auth.views.RefreshView"

    def schema(self) -> dict[str, Any]:
        return {
            "operation_id": "jwt_refresh",
            "summary": "Rotate the refresh token: new token cookies",
            "request": None,
            "responses": {
                200: JWTSessionTokensSerializer,
                **_errors(401, 500, *UNSAFE_ERRORS),
            },
            "parameters": _unsafe(),
            # Bearer: the refresh token, with TOKENS_IN_BODY. None at all: 401 expired.
            "auth": [{REFRESH_COOKIE_SCHEME: []}, {BEARER_SCHEME: []}, {}],
        }


class LogoutViewSchema(_PackageViewSchema):
    target_class = "jwt_cookie_auth.views.LogoutView"

    def schema(self) -> dict[str, Any]:
        return {
            "operation_id": "jwt_logout",
            "summary": "Log out: revoke this session, delete the cookies (idempotent)",
            "request": None,
            "responses": {204: None, **_errors(401, *UNSAFE_ERRORS)},
            "parameters": _unsafe(),
            "auth": [*ACCESS_TOKEN, {REFRESH_COOKIE_SCHEME: []}, {}],
        }


class LogoutAllViewSchema(_PackageViewSchema):
    target_class = "jwt_cookie_auth.views.LogoutAllView"

    def schema(self) -> dict[str, Any]:
        return {
            "operation_id": "jwt_logout_all",
            "summary": "Log out everywhere: revoke every session of the user",
            "request": None,
            "responses": {204: None, **_errors(401, *UNSAFE_ERRORS)},
            "parameters": _unsafe(),
        }


class SessionViewSchema(_PackageViewSchema):
    target_class = "jwt_cookie_auth.views.SessionView"
    method = "get"

    def schema(self) -> dict[str, Any]:
        return {
            "operation_id": "jwt_session",
            "summary": "Who is logged in; sets the CSRF cookie (works anonymously)",
            "responses": {200: JWTSessionStatusSerializer, **_errors(429)},
            "parameters": [RETRY_AFTER],
            # Dead or missing credentials make the answer anonymous, never an error.
            "auth": [*ACCESS_TOKEN, {}],
        }


class SessionListViewSchema(_PackageViewSchema):
    target_class = "jwt_cookie_auth.views.SessionListView"
    method = "get"

    def schema(self) -> dict[str, Any]:
        return {
            "operation_id": "jwt_sessions_list",
            "summary": "The user's live sessions, the current one marked",
            "responses": {
                200: LoginSessionSerializer(many=True),
                **_errors(401, 403, 429),
            },
            "parameters": [RETRY_AFTER, WWW_AUTHENTICATE],
        }


class SessionDetailViewSchema(_PackageViewSchema):
    target_class = "jwt_cookie_auth.views.SessionDetailView"
    method = "delete"

    def schema(self) -> dict[str, Any]:
        return {
            "operation_id": "jwt_session_revoke",
            "summary": "Revoke one of the user's sessions",
            "request": None,
            "responses": {204: None, **_errors(401, 404, *UNSAFE_ERRORS)},
            "parameters": [
                *_unsafe(),
                OpenApiParameter(
                    "session_id",
                    str,
                    OpenApiParameter.PATH,
                    description="A session's id (a UUID); anything else is the same 404.",
                ),
            ],
        }


class ReauthenticateViewSchema(_PackageViewSchema):
    target_class = "jwt_cookie_auth.reauthentication.ReauthenticateView"

    def schema(self) -> dict[str, Any]:
        from jwt_cookie_auth.reauthentication import ReauthenticateSerializer

        return {
            "operation_id": "jwt_reauthenticate",
            "summary": "Step-up: prove the password again, keep the session",
            "request": ReauthenticateSerializer,
            "responses": {
                200: JWTSessionTokensSerializer,
                **_errors(401, 500, *UNSAFE_ERRORS),
            },
            "parameters": _unsafe(),
        }
