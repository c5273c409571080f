"""Every package endpoint answers errors as JSON with a stable code (issue 11).

``{"detail": <message>, "code": <machine code>}`` for 400, 401, 403, 404, 405, 415,
429 and the deliberate 500s, whatever the project's own ``EXCEPTION_HANDLER`` does,
and never a model name. ``DELETE sessions/<not a UUID>/`` is a JSON 404 like any
unknown session, not Django's HTML page.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from jwt_cookie_auth.models import LoginSession
from tests import hooks
from tests.conftest import credentials, login, make_user

LOGIN = "jwt_cookie_auth:login"
REFRESH = "jwt_cookie_auth:refresh"


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """The response is a JSON error body with this status and code, naming no model."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    data = response.json()
    assert data["code"] == code, data
    assert isinstance(data["detail"], str), data
    assert data["detail"], data
    text = response.content.decode()
    assert "LoginSession" not in text
    assert "matches the given query" not in text
    return dict(data)


def post_json(client: Client, name: str, data: Any, **extra: Any) -> Any:
    body = data if isinstance(data, str) else json.dumps(data)
    return client.post(reverse(name), body, content_type="application/json", **extra)


def session_url(session_id: str) -> str:
    return reverse("jwt_cookie_auth:sessions") + f"{session_id}/"


# --- sessions/<id>/ ------------------------------------------------------------------


@pytest.mark.parametrize("session_id", ["abc", "0", "not-a-uuid", str(uuid.uuid4())])
def test_delete_of_a_malformed_or_unknown_session_id_is_a_json_404(
    logged_in: Client, session_id: str
) -> None:
    data = assert_error(logged_in.delete(session_url(session_id)), 404, "not_found")
    assert set(data) == {"detail", "code"}
    assert LoginSession.objects.filter(revoked_at__isnull=True).count() == 1


def test_someone_elses_session_is_the_same_404(logged_in: Client, other_user: Any) -> None:
    other = Client()
    login(other, other_user)
    theirs = LoginSession.objects.get(user=other_user)
    unknown = logged_in.delete(session_url(str(uuid.uuid4())))
    response = logged_in.delete(session_url(str(theirs.pk)))
    assert_error(response, 404, "not_found")
    assert response.json() == unknown.json()
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_session_detail_still_reverses_with_a_uuid(logged_in: Client, user: Any) -> None:
    second = Client()
    login(second, user)
    mine = LoginSession.objects.filter(user=user).order_by("created_at")
    first_id, second_id = (row.pk for row in mine)
    by_kwargs = reverse("jwt_cookie_auth:session_detail", kwargs={"session_id": first_id})
    by_args = reverse("jwt_cookie_auth:session_detail", args=[second_id])
    assert by_kwargs == session_url(str(first_id))
    assert logged_in.delete(by_args).status_code == 204
    assert LoginSession.objects.get(pk=second_id).revoked_at is not None


# --- The other endpoints -------------------------------------------------------------


def test_login_errors(client: Client, user: Any) -> None:
    assert_error(post_json(client, LOGIN, "{not json"), 400, "parse_error")
    assert_error(client.post(reverse(LOGIN), credentials(user)), 415, "unsupported_media_type")
    assert_error(client.get(reverse(LOGIN)), 405, "method_not_allowed")
    assert_error(
        post_json(client, LOGIN, credentials(user, password="no")), 401, "authentication_failed"
    )


def test_a_field_error_keeps_its_field_beside_detail_and_code(client: Client, user: Any) -> None:
    data = credentials(user)
    del data["password"]
    body = assert_error(post_json(client, LOGIN, data), 400, "invalid")
    assert "password" in body  # DRF's field errors stay where clients read them
    assert "password" in body["detail"]


@override_settings(JWT_COOKIE_AUTH={"LOGIN_THROTTLE_RATES": {"ip": "100/min", "username": "1/min"}})
def test_a_throttled_login_is_429_with_code(client: Client, user: Any) -> None:
    post_json(client, LOGIN, credentials(user, password="no"))
    response = post_json(client, LOGIN, credentials(user, password="no"))
    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0


def test_csrf_failure_is_403_with_code(user: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.get(reverse("jwt_cookie_auth:session"))  # a CSRF cookie, but no header
    assert_error(post_json(client, LOGIN, credentials(user)), 403, "csrf_failed")
    assert_error(client.post(reverse(REFRESH)), 403, "csrf_failed")
    assert_error(client.post(reverse("jwt_cookie_auth:logout")), 403, "csrf_failed")


@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("post", "jwt_cookie_auth:logout_all"),
        ("get", "jwt_cookie_auth:sessions"),
        ("post", "jwt_cookie_auth:reauthenticate"),
    ],
)
def test_anonymous_calls_are_401_not_authenticated(db: None, method: str, name: str) -> None:
    response = getattr(Client(), method)(reverse(name))
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_anonymous_delete_of_a_malformed_id_is_401_first(db: None) -> None:
    assert_error(Client().delete(session_url("abc")), 401, "not_authenticated")


def test_wrong_password_at_reauthentication(logged_in: Client) -> None:
    response = post_json(logged_in, "jwt_cookie_auth:reauthenticate", {"password": "no"})
    assert_error(response, 401, "authentication_failed")


def test_refresh_without_a_cookie(db: None) -> None:
    body = assert_error(Client().post(reverse(REFRESH)), 401, "session_expired")
    assert body["reason"] == "expired"


@override_settings(JWT_COOKIE_AUTH={"CUSTOM_CLAIMS": "tests.hooks.sized_claims"})
def test_a_token_too_large_for_its_cookie_is_a_500_with_code(client: Client, user: Any) -> None:
    hooks.OVERSIZED.add(str(user.pk))
    try:
        response = post_json(client, LOGIN, credentials(user))
    finally:
        hooks.OVERSIZED.clear()
    assert_error(response, 500, "token_too_large")


def project_handler(exc: Exception, context: dict[str, Any]) -> Any:
    from rest_framework.response import Response

    return Response({"error": "project-specific"}, status=418)


@override_settings(REST_FRAMEWORK={"EXCEPTION_HANDLER": "tests.test_error_bodies.project_handler"})
def test_the_projects_exception_handler_does_not_reshape_package_errors(
    logged_in: Client,
) -> None:
    assert_error(logged_in.delete(session_url("abc")), 404, "not_found")
    assert_error(Client().get(reverse("jwt_cookie_auth:sessions")), 401, "not_authenticated")
    # The project's own views keep the project's handler.
    assert Client().get(reverse("me")).status_code == 418


def test_errors_of_a_second_user_do_not_leak_anything(db: None) -> None:
    """A session id of another user and a malformed one answer byte for byte alike."""
    alice, bob = make_user("alice"), make_user("bob")
    client = Client()
    login(client, alice)
    login(Client(), bob)
    bobs = LoginSession.objects.get(user=bob).pk
    assert client.delete(session_url(str(bobs))).content == client.delete(session_url("x")).content
