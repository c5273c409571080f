"""Device cookies: a browser that has logged in as a user before is a known device.

OWASP, "Slow Down Online Guessing Attacks with Device Cookies" (Authentication Cheat
Sheet): after a successful login the browser gets a signed, long-lived device cookie
bound to the username it logged in with. A later attempt that carries a valid device
cookie for the username it names is counted in that device's own bucket
(``LOGIN_THROTTLE_RATES["device"]``) instead of the per-username and per-IP buckets, so
someone else's failures, or a neighbour behind the same NAT, cannot lock the owner out.
Guessing stays limited: a device cookie that fails too often loses its exemption for
the rest of the window, and its attempts then count like anyone else's.

The cookie is ``signing.dumps({"u": <username binding>, "n": <nonce>})``: signed with
``SECRET_KEY`` (``SECRET_KEY_FALLBACKS`` verify too) under its own salt, timestamped and
refused once older than ``DEVICE_COOKIE_MAX_AGE``. The binding is a keyed hash of the
normalised username, so the cookie does not show whom it belongs to. It grants nothing
but the throttling exemption: it is no credential, and it outlives logout on purpose.
One browser holds one device cookie; logging in as another user replaces it.
"""

from __future__ import annotations

import secrets

from django.core import signing
from django.http import HttpRequest, HttpResponseBase
from django.utils.crypto import constant_time_compare, salted_hmac

from jwt_cookie_auth.conf import app_settings
from jwt_cookie_auth.cookie_names import wire_name

SALT = "jwt_cookie_auth.devices"
# A genuine cookie is about 120 characters; anything much longer is not ours.
MAX_COOKIE_LENGTH = 512


def enabled() -> bool:
    """Return whether device cookies are honoured and issued (a ``"device"`` rate is set)."""
    return app_settings.LOGIN_THROTTLE_RATES.get("device") is not None


def device_cookie_name() -> str:
    """Return the cookie's name on the wire, prefixed like the token cookies (Path=/)."""
    return wire_name(app_settings.DEVICE_COOKIE_NAME, "/")


def _binding(username: str) -> str:
    return salted_hmac(SALT, username, algorithm="sha256").hexdigest()[:32]


def device_id(request: HttpRequest, username: str) -> str | None:
    """Return the id of the request's device cookie if it is valid for ``username``.

    ``username`` is the normalised one the throttle counts under. A missing, forged,
    expired, oversized or other user's cookie gives ``None``: the attempt is then an
    untrusted one.
    """
    if not enabled():
        return None
    value = request.COOKIES.get(device_cookie_name())
    if not value or len(value) > MAX_COOKIE_LENGTH:
        return None
    max_age = app_settings.DEVICE_COOKIE_MAX_AGE
    try:
        data = signing.loads(value, salt=SALT, max_age=max_age)
    except signing.BadSignature:  # SignatureExpired included
        return None
    if not isinstance(data, dict):
        return None
    bound, nonce = data.get("u"), data.get("n")
    if not isinstance(bound, str) or not isinstance(nonce, str):
        return None
    return nonce if constant_time_compare(bound, _binding(username)) else None


def set_device_cookie(response: HttpResponseBase, username: str) -> None:
    """Give the browser a new device cookie for ``username`` (after a successful login)."""
    if not enabled():
        return
    value = signing.dumps({"u": _binding(username), "n": secrets.token_urlsafe(16)}, salt=SALT)
    response.set_cookie(
        device_cookie_name(),
        value,
        max_age=int(app_settings.DEVICE_COOKIE_MAX_AGE.total_seconds()),
        path="/",
        domain=app_settings.COOKIE_DOMAIN,
        secure=app_settings.COOKIE_SECURE,
        httponly=True,
        samesite=app_settings.COOKIE_SAMESITE,  # type: ignore[arg-type]
    )
