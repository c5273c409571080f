"""Django's CSRF check for views that take cookie credentials, as DRF applies it."""

from __future__ import annotations

from django.http import HttpRequest
from rest_framework import exceptions
from rest_framework.authentication import CSRFCheck
from rest_framework.request import Request


def enforce_csrf(request: Request | HttpRequest) -> None:
    """Raise ``PermissionDenied`` (403) unless the request passes Django's CSRF check.

    The same code path as ``SessionAuthentication.enforce_csrf``: Origin and Referer
    checks, the token from the ``X-CSRFToken`` header or form field, and
    ``CSRF_TRUSTED_ORIGINS``. Django's test client sets
    ``_dont_enforce_csrf_checks``, which this respects, as Django does.
    """

    def dummy_get_response(request: HttpRequest) -> None:  # pragma: no cover
        return None

    check = CSRFCheck(dummy_get_response)  # type: ignore[arg-type]
    # Populates request.META["CSRF_COOKIE"], used in process_view().
    check.process_request(request)
    reason = check.process_view(request, None, (), {})  # type: ignore[arg-type]
    if reason:
        raise exceptions.PermissionDenied(f"CSRF Failed: {reason}")
