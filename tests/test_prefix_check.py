"""``check --deploy`` says when a token cookie is ``__Secure-`` rather than ``__Host-``.

A ``__Secure-`` cookie keeps out plain-HTTP writers, but any sibling subdomain over
HTTPS can still plant one; only ``__Host-`` keeps every other host out. The name
changes silently with ``COOKIE_DOMAIN`` or a narrower cookie path.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core import checks
from django.test import override_settings


def deploy_warnings(config: dict[str, Any]) -> list[checks.CheckMessage]:
    with override_settings(JWT_COOKIE_AUTH=config):
        messages = checks.run_checks(include_deployment_checks=True)
    return [message for message in messages if message.id == "jwt_cookie_auth.W016"]


@pytest.mark.parametrize(
    ("config", "names", "cause"),
    [
        ({"REFRESH_COOKIE_PATH": "/auth/"}, ["__Secure-jwt_refresh"], "REFRESH_COOKIE_PATH"),
        ({"ACCESS_COOKIE_PATH": "/api/"}, ["__Secure-jwt_access"], "ACCESS_COOKIE_PATH"),
        (
            {"COOKIE_DOMAIN": ".example.com"},
            ["__Secure-jwt_access", "__Secure-jwt_refresh"],
            "COOKIE_DOMAIN",
        ),
    ],
)
def test_secure_prefixed_token_cookie_is_warned_with_its_cause(
    config: dict[str, Any], names: list[str], cause: str
) -> None:
    warnings = deploy_warnings(config)
    assert len(warnings) == len(names)
    for warning, name in zip(warnings, names, strict=True):
        assert name in warning.msg
        assert cause in warning.msg
        assert warning.hint


@pytest.mark.parametrize(
    "config",
    [{}, {"COOKIE_SECURE": False}, {"COOKIE_NAME_PREFIX": ""}],
    ids=["host-prefixed", "no-prefix-is-W015", "prefix-off-is-W015"],
)
def test_no_secure_prefix_warning_otherwise(config: dict[str, Any]) -> None:
    assert deploy_warnings(config) == []
