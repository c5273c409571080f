"""The example project's OpenAPI schema, held against the running code.

Run under the example project's settings, in their own step of ``scripts/test.sh``::

    pytest -m openapi -p schemathesis.pytest.plugin --ds=example_project.settings \
        tests/test_openapi_example.py

- ``manage.py spectacular --validate --fail-on-warn`` on the example project is clean
  (the command a project's CI step runs, in a subprocess);
- schemathesis generates requests for every package endpoint from ``/api/schema/``
  (valid and invalid bodies, parameters and headers), each sent anonymously, with
  live cookies and the CSRF header, with cookies but no CSRF header, with a Bearer
  access token, with a refresh token as Bearer, and with the cookies of a revoked
  session. No answer may be a 5xx, nor break the schema of its own operation (status,
  content type, body, headers).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

pytestmark = pytest.mark.openapi

if getattr(settings, "ROOT_URLCONF", None) != "example_project.urls":
    pytest.skip(
        "run with --ds=example_project.settings (scripts/test.sh does)", allow_module_level=True
    )
if not getattr(settings, "OPENAPI", False):
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true, and drf-spectacular is not installed", pytrace=False)
    pytest.skip(
        'drf-spectacular is not installed (pip install -e ".[test]")', allow_module_level=True
    )

import schemathesis  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.middleware.csrf import get_token  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from hypothesis import HealthCheck  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name  # noqa: E402
from jwt_cookie_auth.issuing import start_session  # noqa: E402
from jwt_cookie_auth.models import RevokeReason  # noqa: E402
from jwt_cookie_auth.revocation import revoke_session  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MANAGE = ROOT / "example_project" / "manage.py"

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# How each generated request is sent (the "credentials" drawn beside the case).
MODES = [
    "anonymous",
    "cookies+csrf",
    "cookies, no csrf",
    "bearer access",
    "bearer refresh",
    "revoked cookies+csrf",
]
# Examples per operation (8 operations): bounded for `make test`; raise it for a longer
# hunt, e.g. JWT_OPENAPI_MAX_EXAMPLES=1000.
MAX_EXAMPLES = int(os.environ.get("JWT_OPENAPI_MAX_EXAMPLES", "60"))


# Loaded at collection (one in-process request to /api/schema/, no database query):
# schemathesis.pytest.from_fixture reads a private attribute pytest 9 no longer has.
# The package's endpoints only; the demo's own /api/me/ is not the package's contract.
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application()).include(
    path_regex="^/auth/"
)


@pytest.fixture(autouse=True)
def _schemathesis_plugin(request: pytest.FixtureRequest) -> None:
    # pyproject's addopts keep the plugin out of every other run (-p no:schemathesis);
    # without it @schema.parametrize() would collect one untested item, not one per
    # operation.
    plugins = request.config.pluginmanager
    if not (plugins.has_plugin("schemathesis.pytest.plugin") or plugins.has_plugin("schemathesis")):
        pytest.fail("run with -p schemathesis.pytest.plugin (scripts/test.sh does)")


def fuzz_user() -> Any:
    user, _ = get_user_model().objects.get_or_create(username="fuzz")
    if user.has_usable_password():
        # No password hashing per example: every login/reauthenticate attempt fails.
        user.set_unusable_password()
        user.save()
    return user


def credentials(case: Any, mode: str, own_session_id: bool) -> None:
    """Add the credentials of ``mode`` to ``case`` (a new session for each example)."""
    if mode == "anonymous":
        return
    factory_request = RequestFactory().post("/auth/login/", REMOTE_ADDR="127.0.0.1")
    issued = start_session(factory_request, fuzz_user())
    csrf_token = get_token(factory_request)
    cookies = {
        access_cookie_name(): issued.access,
        refresh_cookie_name(): issued.refresh,
        settings.CSRF_COOKIE_NAME: factory_request.META["CSRF_COOKIE"],
    }
    headers = dict(case.headers or {})
    if mode == "bearer access":
        headers["Authorization"] = f"Bearer {issued.access}"
    elif mode == "bearer refresh":
        headers["Authorization"] = f"Bearer {issued.refresh}"
    else:
        case.cookies = {**(case.cookies or {}), **cookies}
        if mode != "cookies, no csrf":
            headers["X-CSRFToken"] = csrf_token
        else:
            headers.pop("X-CSRFToken", None)
    if mode.startswith("revoked"):
        revoke_session(issued.session.pk, RevokeReason.ADMIN)
    case.headers = headers
    if own_session_id and case.path_parameters and "session_id" in case.path_parameters:
        case.path_parameters = {**case.path_parameters, "session_id": str(issued.session.pk)}


@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@schema.given(mode=st.sampled_from(MODES), own_session_id=st.booleans())
@hypothesis_settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_package_endpoints_keep_their_schema(case: Any, mode: str, own_session_id: bool) -> None:
    credentials(case, mode, own_session_id)
    case.call_and_validate(checks=CHECKS)


def test_spectacular_validate_fail_on_warn_is_clean(tmp_path: Path) -> None:
    """The command a project's CI runs; the package's URLs must not make it fail."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("JWT_DEMO_", "JWT_TEST_", "DJANGO_SETTINGS_MODULE"))
    }
    env["JWT_DEMO_DATABASE"] = str(tmp_path / "unused.sqlite3")
    result = subprocess.run(
        [
            sys.executable,
            str(MANAGE),
            "spectacular",
            "--validate",
            "--fail-on-warn",
            "--file",
            str(tmp_path / "schema.yaml"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # drf-spectacular prints every warning and error on stderr, even when it passes.
    assert "Warning" not in result.stderr
    assert "Error" not in result.stderr
    schema_text = (tmp_path / "schema.yaml").read_text()
    assert "/auth/login/" in schema_text
    assert "jwtAccessCookie" in schema_text


@pytest.mark.django_db(transaction=True)
def test_successful_login_and_reauthentication_keep_their_schema() -> None:
    """The 200 bodies the fuzzer cannot reach (it knows no password), validated too."""
    user = get_user_model().objects.create_user(username="schema", password="pw-for-schema")
    factory_request = RequestFactory().get("/")
    csrf_token = get_token(factory_request)
    csrf_cookie = {settings.CSRF_COOKIE_NAME: factory_request.META["CSRF_COOKIE"]}
    login = schema["/auth/login/"]["POST"].Case(
        body={"username": "schema", "password": "pw-for-schema", "remember": False},
        headers={"X-CSRFToken": csrf_token},
        cookies=csrf_cookie,
        media_type="application/json",
    )
    response = login.call_and_validate(checks=CHECKS)
    assert response.status_code == 200, response.text
    assert response.json()["user"] == {
        "id": str(user.pk),
        "username": "schema",
        "email": "",
        "first_name": "",
        "last_name": "",
    }
    issued = start_session(RequestFactory().post("/"), user)
    reauthenticate = schema["/auth/reauthenticate/"]["POST"].Case(
        body={"password": "pw-for-schema"},
        headers={"Authorization": f"Bearer {issued.access}"},
        media_type="application/json",
    )
    response = reauthenticate.call_and_validate(checks=CHECKS)
    assert response.status_code == 200, response.text
    session = schema["/auth/session/"]["GET"].Case(
        headers={"Authorization": f"Bearer {issued.access}"}
    )
    response = session.call_and_validate(checks=CHECKS)
    assert response.json()["session_id"] == str(issued.session.pk)


def test_swagger_ui_is_served_from_this_site(client: Any) -> None:
    """/api/docs/ loads Swagger UI from the site's static files, never from a CDN."""
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    # The split view: no inline script (a strict script-src needs none).
    assert "<script>" not in html.replace(" ", "")
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert "/api/schema/" in script.content.decode()
    assert client.get("/api/schema/").status_code == 200
