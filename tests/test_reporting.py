"""No token in Django's error reports (SECURITY.md item 32, issue 9 item 10).

Django masks cookies whose names look secret (``sessionid``, ``csrftoken``-like names
do not even match) and ours do not: with ``DEBUG=False`` and ``ADMINS`` a 500 on a
logged-in request e-mailed both tokens, and the debug page showed them. The
middleware installs a per-request exception reporter filter that hides them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.urls import include, path
from django.views.debug import SafeExceptionReporterFilter, get_default_exception_reporter_filter
from rest_framework.request import Request
from rest_framework.views import APIView

from tests.conftest import ADMINS, access_cookie, login, refresh_cookie


def failing_page(request: HttpRequest) -> HttpResponse:
    """A plain view whose locals hold what a careless view might: cookies, headers."""
    cookies = dict(request.COOKIES)
    authorization = request.META.get("HTTP_AUTHORIZATION")
    user = request.user
    raise RuntimeError(f"failed for {user.get_username()}, {len(cookies)}, {authorization!r:.0}")


class FailingAPI(APIView):
    """A DRF view that reads a JSON body carrying a token, then fails."""

    def post(self, request: Request) -> Any:
        data = request.data
        token = data.get("refresh")
        raise RuntimeError(f"failed with {len(token or '')} characters")


urlpatterns = [
    path("auth/", include("jwt_cookie_auth.urls")),
    path("fail/", failing_page, name="fail"),
    path("api/fail/", FailingAPI.as_view(), name="api_fail"),
]

pytestmark = pytest.mark.urls(__name__)


@pytest.fixture
def tokens(client: Client, user: Any) -> tuple[str, str]:
    login(client, user)
    return access_cookie(client), refresh_cookie(client)


@pytest.fixture
def records() -> Iterator[list[logging.LogRecord]]:
    """Every record the ``django.request`` logger emits during the test."""
    captured: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            captured.append(record)

    handler = Keep()
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        yield captured
    finally:
        logger.removeHandler(handler)


def assert_no_token(text: str, tokens: tuple[str, str]) -> None:
    for token in tokens:
        assert token not in text
        # Not even the signature alone (a token cut at a line end).
        assert token.rsplit(".", 1)[1] not in text


def fail(client: Client, tokens: tuple[str, str]) -> list[Any]:
    """Cookie request to the plain view, Bearer + JSON body to the DRF view: both 500."""
    client.raise_request_exception = False
    responses = [
        client.get("/fail/", HTTP_AUTHORIZATION=f"Bearer {tokens[0]}"),
        client.post(
            "/api/fail/",
            json.dumps({"refresh": tokens[1]}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {tokens[0]}",
        ),
    ]
    assert [r.status_code for r in responses] == [500, 500]
    return responses


@override_settings(DEBUG=False, ADMINS=ADMINS)
def test_error_emails_contain_no_token(
    client: Client, tokens: tuple[str, str], records: list[logging.LogRecord]
) -> None:
    fail(client, tokens)
    assert len(mail.outbox) == 2
    for message in mail.outbox:
        html = "".join(str(content) for content, _ in getattr(message, "alternatives", []))
        assert "RuntimeError" in message.body
        assert "failed for" in message.body or "failed with" in message.body
        assert_no_token(message.subject + message.body + html, tokens)
    # The log records themselves, as any handler would format them.
    assert len(records) == 2
    formatter = logging.Formatter("%(levelname)s %(message)s %(request)s %(status_code)s")
    for record in records:
        assert_no_token(formatter.format(record), tokens)


@override_settings(DEBUG=True)
def test_debug_page_contains_no_token(client: Client, tokens: tuple[str, str]) -> None:
    page, api = fail(client, tokens)
    assert b"RuntimeError" in page.content
    assert b"failing_page" in page.content  # the frames are there, with their variables
    assert_no_token(page.content.decode(), tokens)
    assert b"RuntimeError" in api.content
    assert_no_token(api.content.decode(), tokens)


@override_settings(DEBUG=True)
def test_debug_page_still_shows_harmless_values(client: Client, tokens: tuple[str, str]) -> None:
    """The filter hides tokens, not the report: other cookies and variables remain."""
    client.cookies["theme"] = "dark-blue-theme"
    page, _ = fail(client, tokens)
    assert b"dark-blue-theme" in page.content


@override_settings(
    DEBUG=False,
    ADMINS=ADMINS,
    DEFAULT_EXCEPTION_REPORTER_FILTER="tests.test_reporting.ProjectFilter",
)
def test_the_projects_own_filter_still_applies(client: Client, tokens: tuple[str, str]) -> None:
    client.cookies["theme"] = "dark-blue-theme"
    # Django caches the default filter for the process; start from this setting.
    get_default_exception_reporter_filter.cache_clear()
    try:
        fail(client, tokens)
    finally:
        get_default_exception_reporter_filter.cache_clear()
    body = mail.outbox[0].body
    assert "dark-blue-theme" not in body
    assert "project-masked" in body
    assert_no_token(body, tokens)


class ProjectFilter(SafeExceptionReporterFilter):
    """A project's own filter, which masks one more cookie."""

    def get_safe_cookies(self, request: HttpRequest) -> dict[str, Any]:
        cookies = dict(super().get_safe_cookies(request))
        if "theme" in cookies:
            cookies["theme"] = "project-masked"
        return cookies
