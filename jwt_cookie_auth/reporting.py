"""Keep tokens out of Django's error reports: e-mails to ADMINS, the debug page, logs.

Django's ``SafeExceptionReporterFilter`` masks settings, ``request.META`` entries and
cookies whose *names* look secret (``API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE``, plus
``SESSION_COOKIE_NAME``); ``__Host-jwt_access`` does not match, so a 500 on a
logged-in request mailed both tokens in clear, and the debug page showed them.

The middleware (and the DRF authentication class, for projects without it) sets
``request.exception_reporter_filter``, Django's documented per-request hook read by
``get_exception_reporter_filter``, to a :class:`TokenSafeReporterFilter`. It wraps the
project's own filter (``DEFAULT_EXCEPTION_REPORTER_FILTER``, or one an earlier
middleware set) and additionally replaces with Django's ``cleansed_substitute``:

- the token cookies (also under their pre-prefix names), ``HTTP_COOKIE`` and
  ``HTTP_AUTHORIZATION``;
- POST fields and traceback-frame variables whose value contains a token cookie
  value, the Bearer token, a secret-looking field of a JSON body (``refresh``,
  ``password``...), or anything shaped like a JWS (``eyJ...``) — a view's local
  ``data = request.data`` or ``cookies = request.COOKIES`` included.

The per-request filter exists only once the middleware has seen the request. A report
made earlier (``DisallowedHost`` from ``CommonMiddleware``'s ``get_host()``, an error in
an outer middleware) uses ``DEFAULT_EXCEPTION_REPORTER_FILTER``, and Django has no
other hook that reaches it (``request_started`` gets no request object). Set that
setting to :class:`TokenSafeExceptionReporterFilter` to cover them; ``check --deploy``
warns (W017) while it does not mask the token cookies.

This applies with ``DEBUG=True`` too (the debug page), unlike ``sensitive_variables``:
a token is a credential wherever the page is shown. The filter works on the values
Django is about to print; exception *messages* are the raiser's text and are shown
as they are (this package never puts a token in one).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest
from django.template.defaultfilters import pprint
from django.views.debug import SafeExceptionReporterFilter, get_default_exception_reporter_filter

from jwt_cookie_auth.cookie_names import access_cookie_name, legacy_cookies, refresh_cookie_name

FILTER_ATTR = "exception_reporter_filter"
# A JWS in compact form: base64url of a JSON header ("{" -> "eyJ"), two dots.
JWS_PATTERN = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
# Django's own notion of a secret-looking name, applied to JSON body fields too.
SECRET_FIELD = SafeExceptionReporterFilter.hidden_settings
TOKEN_FIELDS = frozenset({"access", "refresh", "token"})
HIDDEN_META = frozenset({"HTTP_COOKIE", "HTTP_AUTHORIZATION"})
# Bodies larger than this are not parsed for secret fields (bounded work on errors).
MAX_BODY_SCAN = 64 * 1024
SECRETS_ATTR = "_jwt_cookie_auth_report_secrets"


def protect(request: HttpRequest) -> None:
    """Make Django's error reports for ``request`` token-safe (idempotent, cheap)."""
    current = request.__dict__.get(FILTER_ATTR)
    if isinstance(current, TokenSafeReporterFilter):
        return
    setattr(request, FILTER_ATTR, TokenSafeReporterFilter(current))


def _token_cookie_names() -> set[str]:
    return {access_cookie_name(), refresh_cookie_name(), *(name for name, _ in legacy_cookies())}


def _body_secrets(request: HttpRequest) -> Iterable[str]:
    if "json" not in request.META.get("CONTENT_TYPE", ""):
        return ()
    try:
        body = request.body
        if len(body) > MAX_BODY_SCAN:
            return ()
        data = json.loads(body)
    except Exception:  # unreadable, consumed or malformed: nothing to add
        return ()
    if not isinstance(data, dict):
        return ()
    return [
        value
        for key, value in data.items()
        if isinstance(value, str) and value and (key in TOKEN_FIELDS or SECRET_FIELD.search(key))
    ]


def _secrets(request: HttpRequest | None) -> frozenset[str]:
    """Return the credential strings this request carried (computed once, on error)."""
    if request is None:
        return frozenset()
    cached: frozenset[str] | None = request.__dict__.get(SECRETS_ATTR)
    if cached is not None:
        return cached
    found: set[str] = set()
    cookies = getattr(request, "COOKIES", {})
    found.update(cookies[name] for name in _token_cookie_names() if cookies.get(name))
    parts = str(request.META.get("HTTP_AUTHORIZATION", "")).split()
    if len(parts) == 2:
        found.add(parts[1])
    found.update(_body_secrets(request))
    secrets = frozenset(found)
    setattr(request, SECRETS_ATTR, secrets)
    return secrets


class TokenSafeReporterFilter:
    """An exception reporter filter that hides tokens, over the project's own filter.

    Every other method and attribute is the wrapped filter's, so a project's
    customisations (``is_active``, ``hidden_settings``, ...) keep working.
    """

    def __init__(self, inner: Any = None) -> None:
        self._inner = inner

    @property
    def inner(self) -> Any:
        # Resolved on use: DEFAULT_EXCEPTION_REPORTER_FILTER is read when a report is made.
        return self._inner if self._inner is not None else get_default_exception_reporter_filter()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    @property
    def substitute(self) -> str:
        return str(getattr(self.inner, "cleansed_substitute", "********************"))

    def _leaks(self, request: HttpRequest | None, value: Any) -> bool:
        text = value if isinstance(value, str) else pprint(value)
        return bool(JWS_PATTERN.search(text)) or any(secret in text for secret in _secrets(request))

    def get_safe_cookies(self, request: HttpRequest) -> dict[str, Any]:
        names = _token_cookie_names()
        return {
            name: self.substitute if name in names or self._leaks(request, value) else value
            for name, value in self.inner.get_safe_cookies(request).items()
        }

    def get_safe_request_meta(self, request: HttpRequest) -> dict[str, Any]:
        return {
            key: self.substitute if key in HIDDEN_META or self._leaks(request, value) else value
            for key, value in self.inner.get_safe_request_meta(request).items()
        }

    def get_post_parameters(self, request: HttpRequest | None) -> Any:
        parameters = self.inner.get_post_parameters(request)
        pairs = parameters.lists() if hasattr(parameters, "lists") else parameters.items()
        leaking = [
            key for key, values in pairs if key in TOKEN_FIELDS or self._leaks(request, values)
        ]
        if not leaking:
            return parameters
        cleansed = parameters.copy()
        for key in leaking:
            cleansed[key] = self.substitute
        return cleansed

    def get_traceback_frame_variables(self, request: HttpRequest | None, tb_frame: Any) -> Any:
        return [
            (name, self.substitute if self._leaks(request, value) else value)
            for name, value in self.inner.get_traceback_frame_variables(request, tb_frame)
        ]


class TokenSafeExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's ``SafeExceptionReporterFilter``, also hiding tokens, for every report.

    Use as ``DEFAULT_EXCEPTION_REPORTER_FILTER =
    "jwt_cookie_auth.reporting.TokenSafeExceptionReporterFilter"``: it then applies to
    reports made before the middleware runs too. Subclass it (not Django's class) to
    customise further; the token masking works over your overrides.
    """

    def _token_safe(self) -> TokenSafeReporterFilter:
        # super() as the inner filter: Django's masking underneath, the token masking
        # on top (a subclass of this class overrides on top of both).
        return TokenSafeReporterFilter(super())

    def get_safe_cookies(self, request: HttpRequest) -> dict[str, Any]:
        return self._token_safe().get_safe_cookies(request)

    def get_safe_request_meta(self, request: HttpRequest) -> dict[str, Any]:
        return self._token_safe().get_safe_request_meta(request)

    def get_post_parameters(self, request: HttpRequest | None) -> Any:
        return self._token_safe().get_post_parameters(request)

    def get_traceback_frame_variables(self, request: HttpRequest | None, tb_frame: Any) -> Any:
        return self._token_safe().get_traceback_frame_variables(request, tb_frame)


def masks_token_cookies(reporter_filter: Any) -> bool:
    """Return whether ``reporter_filter`` hides the token cookies' values (check W017)."""
    request = HttpRequest()
    probe = "jwt-cookie-auth-probe-value"
    request.COOKIES = dict.fromkeys(_token_cookie_names(), probe)
    try:
        safe = reporter_filter.get_safe_cookies(request)
    except Exception:
        return False
    return probe not in pprint(safe)
