"""The OpenAPI schema of the package (jwt_cookie_auth/contrib/spectacular.py).

Under the suite's settings, so every pass checks it: the custom user model's email
login, ``USE_TZ = False``, PostgreSQL. The example project's own run (the
``spectacular`` command, schemathesis) is tests/test_openapi_example.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("drf_spectacular", reason='drf-spectacular (pip install -e ".[test]")')

from drf_spectacular.generators import SchemaGenerator  # noqa: E402
from drf_spectacular.validation import validate_schema  # noqa: E402

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["jwt_cookie_auth.authentication.JWTCookieAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# method, path -> the statuses the operation documents.
OPERATIONS = {
    ("post", "/auth/login/"): {"200", "400", "401", "403", "415", "429", "500"},
    ("post", "/auth/refresh/"): {"200", "400", "401", "403", "415", "429", "500"},
    ("post", "/auth/logout/"): {"204", "400", "401", "403", "415", "429"},
    ("post", "/auth/logout/all/"): {"204", "400", "401", "403", "415", "429"},
    ("get", "/auth/session/"): {"200", "429"},
    ("post", "/auth/reauthenticate/"): {"200", "400", "401", "403", "415", "429", "500"},
    ("get", "/auth/sessions/"): {"200", "401", "403", "429"},
    ("delete", "/auth/sessions/{session_id}/"): {"204", "400", "401", "403", "404", "415", "429"},
}


def generate(capsys: pytest.CaptureFixture[str], **jwt_settings: Any) -> dict[str, Any]:
    """Build the schema of the package's URLs; fail on any drf-spectacular warning."""
    with override_settings(REST_FRAMEWORK=REST_FRAMEWORK, JWT_COOKIE_AUTH=jwt_settings):
        schema: dict[str, Any] = SchemaGenerator(urlconf="tests.openapi_urls").get_schema(
            request=None, public=True
        )
        validate_schema(schema)
    # drf-spectacular reports every warning and error on stderr ("Warning [View]: ...").
    reported = capsys.readouterr().err
    assert "Warning" not in reported
    assert "Error" not in reported
    return schema


def test_security_schemes_name_the_access_cookie_on_the_wire(
    capsys: pytest.CaptureFixture[str],
) -> None:
    schemes = generate(capsys)["components"]["securitySchemes"]
    assert schemes["jwtAccessCookie"] == {
        "type": "apiKey",
        "in": "cookie",
        "name": "__Host-jwt_access",
        "description": schemes["jwtAccessCookie"]["description"],
    }
    assert schemes["jwtRefreshCookie"]["name"] == "__Host-jwt_refresh"
    assert {key: schemes["jwtBearer"][key] for key in ("type", "scheme", "bearerFormat")} == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    # Read when the schema is built: the configured name, without a prefix here.
    renamed = generate(capsys, ACCESS_COOKIE_NAME="api_access", COOKIE_NAME_PREFIX="")
    assert renamed["components"]["securitySchemes"]["jwtAccessCookie"]["name"] == "api_access"


def test_every_endpoint_with_its_methods_responses_and_security(
    capsys: pytest.CaptureFixture[str],
) -> None:
    paths = generate(capsys)["paths"]
    assert {(m, p) for p, ops in paths.items() for m in ops} == set(OPERATIONS)
    for (method, path), statuses in OPERATIONS.items():
        operation = paths[path][method]
        assert set(operation["responses"]) == statuses, (method, path)
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                body = response["content"]["application/json"]["schema"]["$ref"]
                assert body.startswith("#/components/schemas/JWTAuth"), (method, path, status)
        if "429" in statuses:
            assert "Retry-After" in operation["responses"]["429"]["headers"]
        if "401" in statuses:
            assert "WWW-Authenticate" in operation["responses"]["401"]["headers"]
        headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        assert ("X-CSRFToken" in headers) == (method != "get"), (method, path)
    authenticated = [{"jwtAccessCookie": []}, {"jwtBearer": []}]
    for path, method in [
        ("/auth/logout/all/", "post"),
        ("/auth/sessions/", "get"),
        ("/auth/sessions/{session_id}/", "delete"),
        ("/auth/reauthenticate/", "post"),
    ]:
        assert paths[path][method]["security"] == authenticated, path
    assert paths["/auth/login/"]["post"]["security"] == [{}]
    assert paths["/auth/refresh/"]["post"]["security"] == [
        {"jwtRefreshCookie": []},
        {"jwtBearer": []},
        {},
    ]
    assert paths["/auth/session/"]["get"]["security"] == [*authenticated, {}]


def test_bodies_follow_the_configured_serializers(capsys: pytest.CaptureFixture[str]) -> None:
    schema = generate(capsys)
    components = schema["components"]["schemas"]
    username = get_user_model().USERNAME_FIELD  # "email" in the custom user model pass
    login = components["Login"]
    assert set(login["required"]) == {username, "password"}
    assert set(login["properties"]) == {username, "password", "remember"}
    tokens = components["JWTSessionTokens"]
    assert set(tokens["required"]) == {
        "user",
        "session_id",
        "access_expires_at",
        "refresh_expires_at",
        "session_expires_at",
        "csrf_token",
    }
    assert tokens["properties"]["user"] == {"$ref": "#/components/schemas/User"}
    assert set(components["User"]["required"]) == {"id", username}
    assert set(components["JWTSessionStatus"]["required"]) == {"user", "csrf_token"}
    sessions = schema["paths"]["/auth/sessions/"]["get"]["responses"]["200"]
    listed = sessions["content"]["application/json"]["schema"]
    assert listed == {"type": "array", "items": {"$ref": "#/components/schemas/LoginSession"}}
    assert components["LoginSession"]["properties"]["current"]["type"] == "boolean"
    assert components["Reauthenticate"]["required"] == ["password"]


def test_a_paginated_sessions_list_is_documented_paginated(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The view reads DEFAULT_PAGINATION_CLASS per request; the schema follows it.
    paginated = {
        **REST_FRAMEWORK,
        "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
        "PAGE_SIZE": 10,
    }
    with override_settings(REST_FRAMEWORK=paginated):
        schema: dict[str, Any] = SchemaGenerator(urlconf="tests.openapi_urls").get_schema(
            request=None, public=True
        )
    ok = schema["paths"]["/auth/sessions/"]["get"]["responses"]["200"]
    body = ok["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/PaginatedLoginSessionList"}
    assert "Warning" not in capsys.readouterr().err


def test_a_project_csrf_header_name_is_the_documented_header(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with override_settings(CSRF_HEADER_NAME="HTTP_X_XSRF_TOKEN"):
        paths = generate(capsys)["paths"]
    names = {p["name"] for p in paths["/auth/logout/"]["post"]["parameters"]}
    assert "X-Xsrf-Token" in names
    assert "X-CSRFToken" not in names


# The package without drf-spectacular: the import is blocked (sys.modules[...] = None
# makes `import drf_spectacular` raise ImportError and find_spec() answer None).
BLOCK = 'import sys; sys.modules["drf_spectacular"] = None; '
WITHOUT_SPECTACULAR = (
    BLOCK
    + """
import django
django.setup()
from django.core.management import call_command
call_command("check")
import jwt_cookie_auth.views, jwt_cookie_auth.urls, jwt_cookie_auth.reauthentication
assert "jwt_cookie_auth.contrib.spectacular" not in sys.modules
assert not [name for name in sys.modules if name.startswith("drf_spectacular.")]
print("imported without drf_spectacular")
"""
)
# Two files of the suite (79 tests, about 2 s): views, login, refresh, logout, sessions.
SUITE_WITHOUT_SPECTACULAR = BLOCK + (
    "import pytest; sys.exit(pytest.main("
    '["-q", "-p", "no:cacheprovider", "tests/test_views.py", "tests/test_login.py"]))'
)


@pytest.mark.parametrize("code", [WITHOUT_SPECTACULAR, SUITE_WITHOUT_SPECTACULAR])
def test_the_package_works_without_drf_spectacular(code: str) -> None:
    # SQLite and local memory: in the PostgreSQL pass the parent holds the test database.
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"JWT_TEST_DB", "JWT_TEST_CACHE", "JWT_TEST_DB_NAME"}
    }
    env["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "imported without drf_spectacular" in result.stdout or " passed" in result.stdout
