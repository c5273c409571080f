"""Django's CSRF check for views that take cookie credentials, as DRF applies it."""

from __future__ import annotations

from typing import cast

from django.http import HttpRequest
from rest_framework import exceptions
from rest_framework.authentication import CSRFCheck
from rest_framework.request import Request

#: The error ``code`` of a CSRF 403 (its ``detail`` starts "CSRF Failed", as DRF's).
CSRF_FAILED_CODE = "csrf_failed"

#: Methods Django's CSRF check lets through untested (RFC 9110 safe methods).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def csrf_failure(request: Request | HttpRequest) -> str | None:
    """Return why the request fails Django's CSRF check, or None when it passes.

    The same code path as ``SessionAuthentication.enforce_csrf``: Origin and Referer
    checks, the token from the ``X-CSRFToken`` header or form field, and
    ``CSRF_TRUSTED_ORIGINS``. Django's test client sets
    ``_dont_enforce_csrf_checks``, which this respects, as Django does.

    For a POST with a CSRF cookie the check reads the form field, so it parses the
    body: on a DRF ``Request`` with its parsers. A body they cannot parse raises
    ``ParseError`` (400), including the ``RecursionError`` of deeply nested JSON that
    DRF's ``JSONParser`` lets through (it would be a 500). On a plain
    ``HttpRequest``, Django's own body errors (``RequestDataTooBig``,
    ``TooManyFieldsSent``, ``MultiPartParserError``) propagate, and Django answers
    400, as it does for its own CSRF middleware.
    """

    def dummy_get_response(request: HttpRequest) -> None:  # pragma: no cover
        return None

    check = CSRFCheck(dummy_get_response)  # type: ignore[arg-type]
    # Populates request.META["CSRF_COOKIE"], used in process_view().
    check.process_request(request)
    try:
        reason = check.process_view(request, None, (), {})  # type: ignore[arg-type]
    except (RecursionError, LookupError, ValueError) as exc:
        # Nested too deep, an unknown charset, undecodable bytes: a client error.
        raise exceptions.ParseError(f"Malformed request body: {type(exc).__name__}.") from None
    # DRF's CSRFCheck returns the reason (a str) where Django returns a 403 response.
    return cast("str | None", reason)


def enforce_csrf(request: Request | HttpRequest) -> None:
    """Raise ``PermissionDenied`` (403) unless the request passes Django's CSRF check.

    An unparseable body raises ``ParseError`` (400); see ``csrf_failure``. A safe
    method returns at once: Django's check accepts every one of them untested, so
    running it would only cost time on each cookie-authenticated GET.
    """
    if request.method in SAFE_METHODS:
        return
    reason = csrf_failure(request)
    if reason:
        raise exceptions.PermissionDenied(f"CSRF Failed: {reason}", code=CSRF_FAILED_CODE)


def may_change_state(request: HttpRequest) -> bool:
    """Return whether a cookie-authenticated request may change server state.

    Safe methods may (the transparent renewal is the one change a GET makes, and it
    leaks nothing to a cross-site page). An unsafe one only after it passed Django's
    CSRF check, which a forged cross-site request does not: until then rotating,
    revoking or touching the session would let the forger change state although the
    view answers 403. A body the check cannot read counts as a failure.
    """
    if request.method in SAFE_METHODS:
        return True
    try:
        return csrf_failure(request) is None
    except exceptions.ParseError:
        return False
