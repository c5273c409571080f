"""Django's CSRF ``Origin`` check as a predicate, for requests that carry no CSRF token.

A WebSocket handshake has no body and no ``X-CSRFToken``, and browsers attach the
cookies of the target site to it whatever page opened it (``SameSite=Lax`` cookies
on any same-site page: another port, a sibling subdomain; every site's page once
``COOKIE_SAMESITE="None"``). The ``Origin`` header is then the only thing that tells
the site's own pages from the others, and it must be compared exactly as
``CsrfViewMiddleware`` compares it for the HTTP side of the package: scheme, host
and port, not the host name alone.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.http import is_same_domain


def _never_called(request: HttpRequest) -> HttpResponse:  # pragma: no cover
    raise AssertionError("only CSRF_TRUSTED_ORIGINS parsing is used")


def origin_verified(request: HttpRequest) -> bool:
    """Return whether the request's ``Origin`` is the request's own origin or trusted.

    Own origin: ``"https" if request.is_secure() else "http"`` + ``://`` +
    ``request.get_host()``, so ``SECURE_PROXY_SSL_HEADER``, ``USE_X_FORWARDED_HOST``
    and ``ALLOWED_HOSTS`` (a disallowed host has no own origin) apply as they do to
    any request. Trusted: an entry of ``CSRF_TRUSTED_ORIGINS``, exactly, or under a
    ``scheme://*.example.com`` entry's subdomain rule. A missing ``Origin``,
    ``Origin: null``, another scheme or another port is not verified.

    The same comparison as Django's ``CsrfViewMiddleware._origin_verified`` (a
    private method; tests/test_origin.py checks that both agree), written with
    its public pieces: the middleware's parsed ``CSRF_TRUSTED_ORIGINS`` and
    ``is_same_domain``.
    """
    origin = request.META.get("HTTP_ORIGIN")
    if origin is None:
        return False
    try:
        own_host = request.get_host()
    except DisallowedHost:
        pass
    else:
        if origin == f"{'https' if request.is_secure() else 'http'}://{own_host}":
            return True
    # A fresh instance: its cached_property parsing reads the current setting.
    trusted = CsrfViewMiddleware(_never_called)
    if origin in trusted.allowed_origins_exact:
        return True
    try:
        parsed = urlsplit(origin)
    except ValueError:
        return False
    return any(
        is_same_domain(parsed.netloc, host)
        for host in trusted.allowed_origin_subdomains.get(parsed.scheme, ())
    )
