"""DRF permission that demands a recent (or a particular) authentication — RFC 9470.

::

    from datetime import timedelta
    from jwt_cookie_auth.permissions import RecentAuthentication

    class DeleteAccountView(APIView):
        permission_classes = [
            IsAuthenticated,
            RecentAuthentication.require(max_age=timedelta(minutes=5)),
        ]

A request whose access token says the user authenticated longer ago than ``max_age``
(or without every ``amr`` value asked for) gets 401 with
``WWW-Authenticate: Bearer error="insufficient_user_authentication",
error_description="...", max_age=300`` and the body ``{"detail": ..., "code":
"insufficient_user_authentication", "max_age": 300}``: the client re-authenticates
(``POST reauthenticate/``) and retries. Plain ``RecentAuthentication`` uses
``STEP_UP_MAX_AGE``. An anonymous request gets DRF's usual 401 (not authenticated).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from rest_framework import exceptions, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from jwt_cookie_auth import step_up
from jwt_cookie_auth.conf import app_settings


class InsufficientUserAuthentication(exceptions.APIException):
    """401 with the RFC 9470 challenge; DRF's exception handler sends ``auth_header``."""

    status_code = status.HTTP_401_UNAUTHORIZED
    default_code = step_up.ERROR

    def __init__(self, shortfall: step_up.Shortfall) -> None:
        super().__init__(code=step_up.ERROR)
        # A plain dict: DRF would turn max_age into a string inside ErrorDetails.
        self.detail = shortfall.body()
        self.auth_header = shortfall.www_authenticate()


class RecentAuthentication(BasePermission):
    """Allow a request whose access token shows a recent enough authentication.

    ``max_age`` (a ``timedelta``; None: ``STEP_UP_MAX_AGE``) bounds the age of the
    token's ``auth_time``; every value of ``amr`` must be in the token's ``amr``.
    Use ``RecentAuthentication.require(...)`` for other values than the defaults.
    """

    max_age: timedelta | None = None
    amr: tuple[str, ...] = ()

    @classmethod
    def require(
        cls, *, max_age: timedelta | None = None, amr: Iterable[str] = ()
    ) -> type[RecentAuthentication]:
        """Return a subclass demanding ``max_age`` and the ``amr`` values (``ValueError``)."""
        methods = tuple(step_up.normalize_amr(amr))
        return type(cls.__name__, (cls,), {"max_age": max_age, "amr": methods})

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False  # DRF answers 401 "not authenticated" (or 403 without auth)
        max_age = self.max_age if self.max_age is not None else app_settings.STEP_UP_MAX_AGE
        shortfall = step_up.shortfall(request.auth, max_age, self.amr)
        if shortfall is not None:
            raise InsufficientUserAuthentication(shortfall)
        return True
