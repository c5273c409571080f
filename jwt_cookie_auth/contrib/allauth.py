"""django-allauth: every allauth login ends in this package's token cookies.

Social logins (their browser callback is a top-level redirect from the provider),
password logins, logins by code and logins completed after allauth's MFA stage all
finish in the account adapter's ``post_login``, the one hook that runs once the login
is complete *and* holds the response (the redirect, or the headless JSON). There the
JWT session starts and its cookies go on that response::

    ACCOUNT_ADAPTER = "jwt_cookie_auth.contrib.allauth.JWTCookieAccountAdapter"

or, with an adapter of your own, put ``JWTCookieAccountAdapterMixin`` first in its
bases. Install with ``pip install django-jwt-cookie-auth[allauth]``.

allauth has already called ``django.contrib.auth.login()`` (``adapter.login``), so the
browser also holds a Django session of the same user, which allauth's own pages use;
``user_logged_in`` was sent then and is not sent a second time. ``amr`` comes from
allauth's record of how the user authenticated in this login (``pwd``, ``otp``,
``hwk``, plus ``mfa`` for two of them); a social login has no RFC 8176 value and
records none. ``remember_login`` decides whether the cookies outlive the browser.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from allauth.account import app_settings as account_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.authentication import get_authentication_records

from jwt_cookie_auth.auth_api import login

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

#: allauth's recorded methods (and MFA types) as RFC 8176 ``amr`` values.
METHOD_AMR = {"password": "pwd", "totp": "otp", "recovery_codes": "otp", "webauthn": "hwk"}
FACTORS = frozenset(METHOD_AMR.values())


def allauth_amr(request: HttpRequest, user: Any) -> list[str]:
    """Return RFC 8176 ``amr`` values for the methods allauth recorded for this login."""
    values: list[str] = []
    for record in get_authentication_records(request, user):
        method = record.get("method")
        value = METHOD_AMR.get(record.get("type") if method == "mfa" else method)
        if value is not None and value not in values:
            values.append(value)
    if len(FACTORS.intersection(values)) > 1:
        values.append("mfa")
    return values


class JWTCookieAccountAdapterMixin:
    """Start a JWT session at the end of every completed allauth login."""

    def post_login(self, request: HttpRequest, user: Any, **kwargs: Any) -> HttpResponse:
        response: HttpResponse = super().post_login(request, user, **kwargs)  # type: ignore[misc]
        if response is not None:
            # adapter.login() ran django.contrib.auth.login(): user_logged_in is sent.
            login(
                request,
                user,
                response,
                remember=self.remember_login(request),
                amr=allauth_amr(request, user),
                send_signal=False,
            )
        return response

    def remember_login(self, request: HttpRequest) -> bool:
        """Return whether the token cookies outlive the browser session.

        ``ACCOUNT_SESSION_REMEMBER`` when set, else whether the Django session does
        (``SESSION_EXPIRE_AT_BROWSER_CLOSE``). The "remember me" box of allauth's
        login form is applied only after ``post_login``, so it is not seen here:
        override this to read it.
        """
        setting = account_settings.SESSION_REMEMBER
        if setting is not None:
            return bool(setting)
        session = getattr(request, "session", None)
        return session is None or not session.get_expire_at_browser_close()


class JWTCookieAccountAdapter(JWTCookieAccountAdapterMixin, DefaultAccountAdapter):  # type: ignore[misc]
    """allauth's default account adapter, ending every login in the token cookies."""
