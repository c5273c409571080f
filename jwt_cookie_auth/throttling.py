"""Login throttling: failed logins limited per client IP, per username and per device.

Counting (OWASP Authentication Cheat Sheet, "Protect against automated attacks"):

- Every attempt takes a slot *before* the password is checked, with the cache's
  atomic ``add`` and ``incr``: however many guesses arrive at once, at most the limit
  of them reach ``authenticate()`` per window. A read-then-write history (DRF's
  ``SimpleRateThrottle``) lets concurrent requests all read "not yet full".
- Only failures keep their slot. A successful login gives it back (``decr``), and so
  does an attempt refused by another bucket, so users who log in often are never
  locked out. Attempts in flight hold a slot: more than the limit of *simultaneous*
  logins for one name is refused too.
- Fixed windows (the counter's key names the window, ``floor(now / period)``): simple,
  and atomic wherever the cache's ``incr`` is, at the price that a burst across a
  window boundary can see up to twice the limit in one period. ``Retry-After`` is the
  rest of the window.
- Buckets: an untrusted attempt counts under the client IP and under the username; an
  attempt with a valid device cookie for that account (``devices.py``) counts under
  the device and under the username's ``"known_devices"`` bucket instead, until either
  limit is spent. The shared bucket keeps many device cookies of one account (its
  owner's browsers, or cookies stolen from them) from multiplying the guesses.
- Client IPs: IPv4 per address; IPv6 per ``LOGIN_THROTTLE_IPV6_PREFIX_LENGTH`` prefix
  (a /64 by default), because one client commonly holds a whole /64 and could
  otherwise take a fresh address, with a fresh bucket, for every few guesses.

Usernames are counted in their NFKC form, case-folded: full-width ``alice`` (U+FF41...),
``Alice`` and ``alice`` share one bucket. Django's ``ModelBackend`` is case-sensitive,
but whether a deployment is cannot be known from here (MySQL's default collations, a
case-insensitive collation, an ``iexact`` backend): counting case variants apart would
multiply an attacker's guesses by the number of variants, while counting them together
only couples two accounts' lockouts, which device cookies make harmless to their owners.
A device cookie is bound to the exact name and the account, never to this folded form.

Atomic on local memory, memcached, Django's ``RedisCache`` and django-redis. The
database and file caches implement ``incr`` as read-then-write (check W081). A cache
that stores nothing (``DummyCache``) turns throttling off (check W080). If the cache
fails, logins go on unthrottled (logged as an error), as they do with django-redis
``IGNORE_EXCEPTIONS``: the password check still decides, and a cache outage must not
lock every user out.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import unicodedata
from typing import Any

from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_login_failed
from django.core.cache import caches
from django.http import HttpRequest
from rest_framework import exceptions
from rest_framework.throttling import SimpleRateThrottle

from jwt_cookie_auth import devices
from jwt_cookie_auth.client_ip import client_address
from jwt_cookie_auth.conf import app_settings

logger = logging.getLogger("jwt_cookie_auth")

DEFAULT_IPV6_PREFIX_LENGTH = 64
CACHE_FAILED = "Login throttle cache unavailable; not throttling."


def normalize_username(username: str) -> str:
    """Return the identity a submitted username is counted under: NFKC, case-folded."""
    # As AbstractBaseUser.normalize_username, then casefold; NFKC again because
    # casefolding can yield a string that is not in NFKC.
    folded = unicodedata.normalize("NFKC", username).casefold()
    return unicodedata.normalize("NFKC", folded)


def client_network(request: HttpRequest) -> str:
    """Return the client the per-IP bucket counts: an IPv4 address or an IPv6 prefix.

    ``"2001:db8:1:2::/64"`` for any address in that /64 (``LOGIN_THROTTLE_IPV6_PREFIX_LENGTH``),
    ``"192.0.2.1"`` for IPv4 and IPv4-mapped IPv6, ``"unknown"`` when it cannot be known.
    """
    address = client_address(request.META)
    if address is None:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        length = app_settings.LOGIN_THROTTLE_IPV6_PREFIX_LENGTH
        if not isinstance(length, int) or not 1 <= length <= 128:
            length = DEFAULT_IPV6_PREFIX_LENGTH  # an invalid value is check E085's error
        return str(ipaddress.IPv6Network((address, length), strict=False))
    return str(address)


class LoginFailureThrottle(SimpleRateThrottle):
    """A fixed-window attempt counter for one scope (``"ip"``, ``"username"``, ``"device"``,
    ``"known_devices"``).

    DRF's ``SimpleRateThrottle`` gives the rate syntax (``"5/min"``) and ``timer``; the
    counting is ``reserve()`` / ``release()`` here, not ``allow_request()``.
    """

    # Set by SimpleRateThrottle.__init__ from the rate; read only when a rate is set.
    num_requests: int
    duration: int

    def __init__(self, scope: str, ident: str) -> None:
        self.scope = scope
        self.ident = ident
        self.cache = caches[app_settings.CACHE_ALIAS]
        self.key: str | None = None
        self.window_ends_at = 0.0
        super().__init__()

    def get_rate(self) -> str | None:
        return app_settings.LOGIN_THROTTLE_RATES.get(self.scope or "")

    def get_cache_key(self, request: Any = None, view: Any = None) -> str:
        """Return the key of the counter for the current window."""
        return self._key(int(self.timer() // self.duration))

    def _key(self, window: int) -> str:
        digest = hashlib.sha256(self.ident.encode("utf-8", "surrogatepass")).hexdigest()
        return f"jwt_cookie_auth:login-attempts:{self.scope}:{digest}:{window}"

    def reserve(self) -> bool:
        """Count this attempt now; return False (and count nothing) if over the limit."""
        if self.rate is None:
            return True
        window = int(self.timer() // self.duration)
        self.window_ends_at = float((window + 1) * self.duration)
        key = self._key(window)
        try:
            count = self._increment(key)
        except Exception:
            logger.error(CACHE_FAILED, exc_info=True)
            return True
        if not isinstance(count, int):  # django-redis IGNORE_EXCEPTIONS answers None
            logger.error(CACHE_FAILED)
            return True
        self.key = key
        if count > self.num_requests:
            self.release()
            return False
        return True

    def allow_request(self, request: Any, view: Any) -> bool:
        """As a DRF throttle: count every request (the login view counts per attempt)."""
        return self.reserve()

    def _increment(self, key: str) -> Any:
        # The key outlives its window, so incr() never meets a key that expired
        # mid-window (Django's RedisCache would recreate it without a timeout).
        timeout = self.duration + 1
        # The common case, the window's first attempt, is one round trip.
        if self.cache.add(key, 1, timeout):
            return 1
        try:
            return self.cache.incr(key)
        except ValueError:  # evicted or flushed since add(): start the window again
            return 1 if self.cache.add(key, 1, timeout) else self.cache.incr(key)

    def release(self) -> None:
        """Give back the reserved slot: this attempt was not a failure."""
        key, self.key = self.key, None
        if key is None or self.timer() >= self.window_ends_at:
            return  # nothing reserved, or a past window that no one counts in any more
        try:
            self.cache.decr(key)
        except ValueError:
            pass  # evicted or flushed: nothing left to give back
        except Exception:
            logger.error("Login throttle cache unavailable; slot not released.", exc_info=True)

    def wait(self) -> float:
        """Return the seconds until this window ends (``Retry-After``)."""
        return max(1.0, math.ceil(self.window_ends_at - self.timer()))


class LoginAttempt:
    """The buckets one login attempt counts in.

    ``reserve()`` before ``authenticate()``; after a success ``release()`` gives the
    slots back, while a failure keeps them (nothing to call). See the module docstring.
    """

    def __init__(self, request: HttpRequest, username: str) -> None:
        self.request = request
        #: The name as submitted: what a device cookie must name exactly.
        self.username = username
        #: The name as counted (``normalize_username``).
        self.ident = normalize_username(username)
        self.held: list[LoginFailureThrottle] = []

    def _take(self, buckets: list[LoginFailureThrottle]) -> float | None:
        """Reserve every bucket, or none: return the wait of the first that refuses."""
        for bucket in buckets:
            if not bucket.reserve():
                self.release()
                return bucket.wait()
            self.held.append(bucket)
        return None

    def reserve(self) -> float | None:
        """Count the attempt; return ``None`` if it may go on, else seconds to wait."""
        device = devices.device_id(self.request, self.username)
        if device is not None:
            known = [
                LoginFailureThrottle("device", device),
                LoginFailureThrottle("known_devices", self.ident),
            ]
            if self._take(known) is None:
                return None
            # This device, or this account's devices together, failed too often: the
            # attempt counts as untrusted for now.
        return self._take(
            [
                LoginFailureThrottle("ip", client_network(self.request)),
                LoginFailureThrottle("username", self.ident),
            ]
        )

    def release(self) -> None:
        """Give back every slot: a success (or a refused attempt) is no failure."""
        held, self.held = self.held, []
        for bucket in held:
            bucket.release()


def authenticate_counted(
    request: HttpRequest,
    identifier: str,
    credentials: dict[str, Any],
    *,
    cleansed_credentials: dict[str, Any] | None = None,
) -> tuple[Any, LoginAttempt]:
    """Count a password attempt, then check it: ``(active user or None, the attempt)``.

    The attempt takes its slots before ``authenticate()`` runs, so concurrent guesses
    cannot pass the limit, and gives them back on success (only failures count).
    Raises DRF's ``Throttled`` when a bucket is full. A backend that admits inactive
    users (``AllowAllUsersModelBackend``) gets ``user_login_failed`` with
    ``cleansed_credentials`` and a None user, as Django's own form does.
    """
    attempt = LoginAttempt(request, identifier)
    wait = attempt.reserve()
    if wait is not None:
        raise exceptions.Throttled(wait)
    user = authenticate(request, **credentials)
    if user is not None and not getattr(user, "is_active", True):
        user_login_failed.send(
            sender=__name__, credentials=cleansed_credentials or {}, request=request
        )
        user = None
    if user is not None:
        attempt.release()
    return user, attempt
