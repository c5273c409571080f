"""The error bodies of the package's endpoints: ``{"detail": ..., "code": ...}``.

Every error of a package endpoint (400, 401, 403, 404, 405, 406, 415, 429, and the
deliberate 500s) is JSON with a human ``detail`` (translated) and a stable machine
``code``; some add fields (``reason`` on a refused session, ``max_age`` on a step-up
challenge, the field errors of a 400). The codes are DRF's (``exc.get_codes()``:
``parse_error``, ``invalid``, ``authentication_failed``, ``not_authenticated``,
``permission_denied``, ``not_found``, ``method_not_allowed``, ``not_acceptable``,
``unsupported_media_type``, ``throttled``) plus the package's own (``csrf_failed``,
``session_revoked``, ``session_expired``, ``token_expired``,
``insufficient_user_authentication``, ``session_not_visible``, ``token_too_large``).

``exception_handler`` is used by the package's views only (``AuthAPIView``), never
as the project's ``EXCEPTION_HANDLER``: the auth endpoints keep this shape whatever a
project does to its own API's errors. No message names a model or a query: Django's
``Http404`` ("No LoginSession matches the given query.") becomes a plain "Not found.".
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

SESSION_NOT_VISIBLE = "session_not_visible"
TOKEN_TOO_LARGE = "token_too_large"


def error_body(detail: Any, code: str, **extra: Any) -> dict[str, Any]:
    """Return an error body: ``detail`` (a message, lazy or not), ``code``, then ``extra``."""
    return {"detail": str(detail), "code": code, **extra}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's exception handler, with every body in the ``{"detail", "code"}`` shape.

    None (DRF re-raises: a 500 of the project's own) for what is no API exception.
    """
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()  # never the message: it names the model
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    response.data = _shaped(exc, response.data)
    return response


def _shaped(exc: exceptions.APIException, data: Any) -> dict[str, Any]:
    if isinstance(data, dict) and isinstance(data.get("code"), str) and "detail" in data:
        return data  # shaped where it was raised (TokenRefused, a step-up challenge)
    if isinstance(data, dict) and set(data) == {"detail"}:
        codes = exc.get_codes()
        code = codes.get("detail") if isinstance(codes, dict) else codes
        return error_body(data["detail"], code if isinstance(code, str) else exc.default_code)
    if isinstance(data, dict):
        # A serializer's field errors: kept where DRF clients read them (a login
        # serializer's fields must not be named "detail" or "code").
        return {**data, **error_body(_describe(data), exceptions.ValidationError.default_code)}
    if isinstance(data, list):
        return error_body(_describe({"": data}), exceptions.ValidationError.default_code)
    return error_body(data, exc.default_code)


def _describe(errors: dict[str, Any]) -> str:
    """Return ``field: message; ...`` (bare messages for non-field errors) for ``detail``."""
    parts = []
    for field, messages in errors.items():
        text = " ".join(str(message) for message in _flatten(messages))
        bare = not field or field == api_settings.NON_FIELD_ERRORS_KEY
        parts.append(text if bare else f"{field}: {text}")
    return "; ".join(parts)


def _flatten(messages: Any) -> list[Any]:
    if isinstance(messages, dict):
        return [item for value in messages.values() for item in _flatten(value)]
    if isinstance(messages, list):
        return [item for value in messages for item in _flatten(value)]
    return [messages]
