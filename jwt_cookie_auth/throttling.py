"""Login throttling with DRF's rate-throttle machinery, counting failures only.

A brute-force attack is a stream of failed logins, so only failures are recorded:
a user who logs in successfully many times is never locked out, while guessing is
limited per client IP and, separately, per attacked username (so rotating IPs does
not help). Rates come from ``LOGIN_THROTTLE_RATES`` (``None`` disables one).
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.cache import caches
from rest_framework.throttling import SimpleRateThrottle

from jwt_cookie_auth.conf import app_settings


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

    def throttle_success(self) -> bool:
        # Checking is not a failure: record nothing here.
        return True

    def record_failure(self) -> None:
        if self.rate is None or self.key is None:
            return
        self.history.insert(0, self.now)
        self.cache.set(self.key, self.history, self.duration)  # type: ignore[attr-defined]
