"""Device cookies: a browser that has logged in to an account before is a known device.

OWASP, "Slow Down Online Guessing Attacks with Device Cookies" (Authentication Cheat
Sheet): after a successful login the browser gets a signed, long-lived device cookie
bound to the account that logged in. A later attempt that carries a valid device
cookie for the account it names is counted in that device's own bucket
(``LOGIN_THROTTLE_RATES["device"]``) and in the account's ``"known_devices"`` bucket
instead of the per-username and per-IP buckets, so someone else's failures, or a
neighbour behind the same NAT, cannot lock the owner out. Guessing stays limited: a
device cookie that fails too often, or an account whose devices together failed too
often, loses the exemption for the rest of the window, and its attempts then count
like anyone else's.

The cookie is ``signing.dumps({"u": <username binding>, "a": <account binding>, "n":
<nonce>})``: signed with ``SECRET_KEY`` (``SECRET_KEY_FALLBACKS`` verify too) under
its own salt, timestamped and refused once older than ``DEVICE_COOKIE_MAX_AGE``. The
bindings are keyed hashes, so the cookie does not show whom it belongs to:

- ``u``: the *exact* username submitted at the successful login, not its normalised
  form. The throttle counts ``straße`` and ``strasse`` (or ``Alice`` and ``alice``)
  as one name, but they can be two accounts: a cookie earned by logging in to one
  must buy no guesses against the other.
- ``a``: the primary key of the user who logged in. Before the password is checked,
  the submitted name is looked up by natural key (``get_by_natural_key``, one
  indexed query, only when a cookie names the exact username); a name that now
  belongs to another account (deleted and re-created) does not honour the cookie.

It grants nothing but the throttling exemption: it is no credential, and it outlives
logout on purpose. One browser holds one device cookie; logging in as another user
replaces it.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core import signing
from django.http import HttpRequest, HttpResponseBase
from django.utils.crypto import constant_time_compare, salted_hmac

from jwt_cookie_auth.conf import app_settings
from jwt_cookie_auth.cookie_names import wire_name
from jwt_cookie_auth.partitioned import partition_if_configured

SALT = "jwt_cookie_auth.devices"
# A genuine cookie is about 160 characters; anything much longer is not ours.
MAX_COOKIE_LENGTH = 512


def enabled() -> bool:
    """Return whether device cookies are honoured and issued (a ``"device"`` rate is set)."""
    return app_settings.LOGIN_THROTTLE_RATES.get("device") is not None


def device_cookie_name() -> str:
    """Return the cookie's name on the wire, prefixed like the token cookies (Path=/)."""
    return wire_name(app_settings.DEVICE_COOKIE_NAME, "/")


def _binding(username: str) -> str:
    return salted_hmac(SALT, username, algorithm="sha256").hexdigest()[:32]


def _account_binding(pk: Any) -> str:
    return _binding(f"pk:{pk}")


def _account_of(username: str) -> str | None:
    """Return the account binding of the user ``username`` names, or None if none does."""
    user_model = get_user_model()
    try:
        user = user_model._default_manager.get_by_natural_key(username)
    except (user_model.DoesNotExist, user_model.MultipleObjectsReturned, ValueError, TypeError):
        return None
    return _account_binding(user.pk)


def device_id(request: HttpRequest, username: str) -> str | None:
    """Return the id of the request's device cookie if it is valid for ``username``.

    ``username`` is the name as submitted, not normalised: the cookie must name it
    exactly, and the account it names now must be the one that earned the cookie. A
    missing, forged, expired, oversized or other account's cookie gives ``None``: the
    attempt is then an untrusted one.
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
    bound, account, nonce = data.get("u"), data.get("a"), data.get("n")
    if not all(isinstance(part, str) for part in (bound, account, nonce)):
        return None  # cookies from before the account binding: untrusted, replaced at login
    if not constant_time_compare(str(bound), _binding(username)):
        return None
    current = _account_of(username)
    # A name no account has (a login name that is not the natural key, e.g. an e-mail
    # for a custom LOGIN_SERIALIZER, or a deleted user) cannot have been re-assigned.
    if current is not None and not constant_time_compare(str(account), current):
        return None
    return str(nonce)


def set_device_cookie(response: HttpResponseBase, username: str, pk: Any) -> None:
    """Give the browser a new device cookie for the account ``pk`` logged in as ``username``.

    ``username`` is the login name exactly as submitted (after a successful login).
    """
    if not enabled():
        return
    payload = {"u": _binding(username), "a": _account_binding(pk), "n": secrets.token_urlsafe(16)}
    value = signing.dumps(payload, salt=SALT)
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
    # In an embed whose browser blocks third-party cookies, an unpartitioned device
    # cookie is dropped and the owner loses the lockout exemption there.
    partition_if_configured(response, device_cookie_name())
