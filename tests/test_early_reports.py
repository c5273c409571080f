"""Tokens in error reports made before JWTCookieMiddleware runs (DisallowedHost).

``CommonMiddleware`` (and ``CsrfViewMiddleware``) call ``request.get_host()``; a
``Host`` not in ``ALLOWED_HOSTS`` raises ``DisallowedHost`` there, which Django logs
on ``django.security.DisallowedHost`` (e-mailed to ``ADMINS`` by the default
``LOGGING``) and, under ``DEBUG``, answers with the technical page. The per-request
filter is not installed yet; ``DEFAULT_EXCEPTION_REPORTER_FILTER`` is the hook that
applies to every report.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core import checks, mail
from django.test import Client, override_settings
from django.views.debug import get_default_exception_reporter_filter

from tests.conftest import ADMINS, access_cookie, login, refresh_cookie

FILTER = "jwt_cookie_auth.reporting.TokenSafeExceptionReporterFilter"
WITH_FILTER = {"DEFAULT_EXCEPTION_REPORTER_FILTER": FILTER}


@pytest.fixture(autouse=True)
def fresh_default_filter() -> Iterator[None]:
    """Django caches the default filter's instance (lru_cache, not reset by settings)."""
    get_default_exception_reporter_filter.cache_clear()
    yield
    get_default_exception_reporter_filter.cache_clear()


@pytest.fixture
def tokens(client: Client, user: Any) -> tuple[str, str]:
    login(client, user)
    return access_cookie(client), refresh_cookie(client)


def assert_no_token(text: str, tokens: tuple[str, str]) -> None:
    for token in tokens:
        assert token.rsplit(".", 1)[1] not in text


def disallowed_host(client: Client) -> Any:
    client.raise_request_exception = False
    client.cookies["theme"] = "dark-blue-theme"
    response = client.get("/auth/session/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    return response


def test_without_the_setting_a_disallowed_host_report_shows_the_tokens(
    client: Client, tokens: tuple[str, str]
) -> None:
    """Why the setting exists: the per-request filter cannot be in place yet."""
    with override_settings(DEBUG=True):
        page = disallowed_host(client).content.decode()
    assert "DisallowedHost" in page
    assert tokens[0].rsplit(".", 1)[1] in page


@override_settings(DEBUG=False, ADMINS=ADMINS, **WITH_FILTER)
def test_disallowed_host_email_contains_no_token(client: Client, tokens: tuple[str, str]) -> None:
    disallowed_host(client)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    html = "".join(str(content) for content, _ in getattr(message, "alternatives", []))
    assert "DisallowedHost" in message.subject + message.body
    assert "dark-blue-theme" in message.body  # the report is still a report
    assert_no_token(message.subject + message.body + html, tokens)


@override_settings(DEBUG=True, **WITH_FILTER)
def test_disallowed_host_debug_page_contains_no_token(
    client: Client, tokens: tuple[str, str]
) -> None:
    page = disallowed_host(client).content.decode()
    assert "DisallowedHost" in page
    assert "dark-blue-theme" in page
    assert_no_token(page, tokens)


@override_settings(DEBUG=True, **WITH_FILTER)
def test_the_setting_keeps_django_masking(client: Client, tokens: tuple[str, str]) -> None:
    """It extends SafeExceptionReporterFilter: secret-looking names stay masked."""
    from django.views.debug import SafeExceptionReporterFilter

    from jwt_cookie_auth.reporting import TokenSafeExceptionReporterFilter

    assert issubclass(TokenSafeExceptionReporterFilter, SafeExceptionReporterFilter)
    client.cookies["api_key"] = "very-secret-value"
    page = disallowed_host(client).content.decode()
    assert "very-secret-value" not in page


def deploy_ids(**overrides: Any) -> set[str]:
    with override_settings(**overrides):
        # The security tag only: model checks (a JSONField on SQLite) may need the database.
        messages = checks.run_checks(tags=[checks.Tags.security], include_deployment_checks=True)
    return {str(message.id) for message in messages}


def test_deploy_check_warns_without_a_token_safe_default_filter() -> None:
    assert "jwt_cookie_auth.W017" in deploy_ids()
    default = "django.views.debug.SafeExceptionReporterFilter"
    assert "jwt_cookie_auth.W017" in deploy_ids(DEFAULT_EXCEPTION_REPORTER_FILTER=default)
    assert "jwt_cookie_auth.W017" not in deploy_ids(**WITH_FILTER)
    # Not a deploy concern during development checks.
    development = checks.run_checks(tags=[checks.Tags.security])
    assert "jwt_cookie_auth.W017" not in {str(m.id) for m in development}


class ProjectFilter:
    """A project's own filter, also masking our cookies: no warning."""

    def get_safe_cookies(self, request: Any) -> dict[str, Any]:
        return dict.fromkeys(request.COOKIES, "***")


def test_deploy_check_accepts_any_filter_that_masks_the_token_cookies() -> None:
    path = f"{__name__}.ProjectFilter"
    assert "jwt_cookie_auth.W017" not in deploy_ids(DEFAULT_EXCEPTION_REPORTER_FILTER=path)
