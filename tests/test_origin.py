"""jwt_cookie_auth.origin: Django's CSRF ``Origin`` check, for token-less requests.

The WebSocket side (tests/test_contrib_channels.py) shows what a client sees; here the
predicate is compared with Django's own ``CsrfViewMiddleware._origin_verified`` over
hostile and legitimate origins, so a change in Django's rules shows up as a failure.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.test import RequestFactory

from jwt_cookie_auth.origin import origin_verified

ORIGINS = [
    None,
    "null",
    "",
    "http://localhost:8123",
    "https://localhost:8123",
    "http://localhost",
    "http://localhost:9999",
    "http://evil.localhost:8123",
    "https://evil.example",
    "http://localhost@evil.example",
    "http://localhost:8123.evil.example",
    "https://app.example.com",
    "http://app.example.com",
    "https://app.example.com:444",
    "https://a.trusted.example.com",
    "https://trusted.example.com",
    "https://a.b.trusted.example.com",
    "http://a.trusted.example.com",
    "https://eviltrusted.example.com",
    "http://[::1",  # urlsplit raises ValueError
]
HOSTS = ["localhost:8123", "evil.example", "app.example.com"]
SETTINGS = [
    # (ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS)
    (["localhost"], []),
    (["*"], []),
    ([".localhost"], ["https://app.example.com", "https://*.trusted.example.com"]),
]


def django_says(request: HttpRequest) -> bool:
    """Django's answer; a private method, the reference this module must match."""

    def unused(request: HttpRequest) -> HttpResponse:  # pragma: no cover
        raise AssertionError

    if "HTTP_ORIGIN" not in request.META:
        return False  # Django's middleware then checks a Referer and a token instead
    return bool(CsrfViewMiddleware(unused)._origin_verified(request))  # type: ignore[attr-defined]


@pytest.mark.parametrize(("allowed_hosts", "trusted"), SETTINGS)
def test_agrees_with_djangos_csrf_origin_check(
    settings: Any, allowed_hosts: list[str], trusted: list[str]
) -> None:
    settings.ALLOWED_HOSTS = allowed_hosts
    settings.CSRF_TRUSTED_ORIGINS = trusted
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    factory = RequestFactory()
    verified = 0
    for origin, host, proto in itertools.product(ORIGINS, HOSTS, ["http", "https"]):
        extra: dict[str, Any] = {"HTTP_HOST": host, "HTTP_X_FORWARDED_PROTO": proto}
        if origin is not None:
            extra["HTTP_ORIGIN"] = origin
        request = factory.get("/ws/", **extra)
        expected = django_says(request)
        assert origin_verified(request) is expected, (origin, host, proto)
        verified += expected
    assert verified  # the matrix holds accepted origins too, not only refusals


def test_hostile_origins_are_not_verified(settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["*"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://*.trusted.example.com"]
    factory = RequestFactory()
    for origin in [None, "null", "http://localhost:9999", "https://localhost:8123"]:
        extra: dict[str, Any] = {"HTTP_HOST": "localhost:8123"}
        if origin is not None:
            extra["HTTP_ORIGIN"] = origin
        assert not origin_verified(factory.get("/", **extra)), origin
    own = factory.get("/", HTTP_HOST="localhost:8123", HTTP_ORIGIN="http://localhost:8123")
    assert origin_verified(own)
    trusted = factory.get(
        "/", HTTP_HOST="localhost:8123", HTTP_ORIGIN="https://x.trusted.example.com"
    )
    assert origin_verified(trusted)
