"""Test clients with a real JWT login: ``JWTTestClient`` and ``JWTAPIClient``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.test import Client
from rest_framework.test import APIClient

from jwt_cookie_auth.testing import logins

if TYPE_CHECKING:
    from jwt_cookie_auth.models import LoginSession


class JWTClientMixin:
    """``jwt_login`` / ``jwt_logout`` for a ``django.test.Client`` subclass."""

    def jwt_login(self, user: Any, *, remember: bool = True) -> LoginSession:
        """Log in as ``user`` with token cookies and a preset CSRF header (``login``)."""
        assert isinstance(self, Client)
        return logins.login(self, user, remember=remember)

    def jwt_logout(self) -> bool:
        """End the client's session and delete its token cookies (``logout``)."""
        assert isinstance(self, Client)
        return logins.logout(self)


class JWTTestClient(JWTClientMixin, Client):
    """Django's test ``Client`` that logs in with the package's cookies.

    ``client.force_login(user)`` still works for plain views (Django's session user is
    the fallback of the middleware), but DRF views behind ``JWTCookieAuthentication``
    see only ``jwt_login``.
    """


class JWTAPIClient(JWTClientMixin, APIClient):
    """DRF's ``APIClient`` that logs in with the package's cookies or a Bearer token."""

    def jwt_bearer_login(self, user: Any, *, remember: bool = True) -> LoginSession:
        """Start a session for ``user`` and send its access token as ``Bearer`` header.

        Replaces the client's ``credentials()``. ``jwt_logout()`` ends this session
        and clears the header.
        """
        issued = logins.bearer_tokens(user, remember=remember)
        self.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.access}")
        return issued.session

    def jwt_logout(self) -> bool:
        """End the session of the cookies and of the Bearer header; clear the header."""
        ended = super().jwt_logout()
        self.credentials()
        return ended
