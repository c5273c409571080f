"""Login throttling with DRF's rate-throttle machinery, counting failures only.

A brute-force attack is a stream of failed logins, so only failures are recorded:
a user who logs in successfully many times is never locked out, while guessing is
limited per client IP and, separately, per attacked username (so rotating IPs does
not help). Rates come from ``LOGIN_THROTTLE_RATES`` (``None`` disables one).

If the cache fails, logins go on unthrottled (logged as an error), as they do with
django-redis ``IGNORE_EXCEPTIONS``: the password check still decides, and a cache
outage must not lock every user out.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.core.cache import caches
from rest_framework.throttling import SimpleRateThrottle

from jwt_cookie_auth.conf import app_settings

logger = logging.getLogger("jwt_cookie_auth")


class LoginFailureThrottle(SimpleRateThrottle):
    """One throttle scope ("ip" or "username") for one identity."""

    def __init__(self, scope: str, ident: str) -> None:
        self.scope = scope
        self.ident = ident
        self.cache = caches[app_settings.CACHE_ALIAS]
        super().__init__()

    def get_rate(self) -> str | None:
        return app_settings.LOGIN_THROTTLE_RATES.get(self.scope or "")

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        digest = hashlib.sha256(self.ident.encode("utf-8", "surrogatepass")).hexdigest()
        return f"jwt_cookie_auth:login-failures:{self.scope}:{digest}"

    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            return super().allow_request(request, view)
        except Exception:
            logger.error("Login throttle cache unavailable; not throttling.", exc_info=True)
            self.key = None  # and record_failure() records nothing
            return True

    def throttle_success(self) -> bool:
        # Checking is not a failure: record nothing here.
        return True

    def record_failure(self) -> None:
        if self.rate is None or self.key is None:
            return
        self.history.insert(0, self.now)
        try:
            self.cache.set(self.key, self.history, self.duration)  # type: ignore[attr-defined]
        except Exception:
            logger.error("Login throttle cache unavailable; failure not counted.", exc_info=True)
