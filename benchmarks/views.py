"""One DRF view, mounted once per variant with that variant's authentication class.

Every variant runs exactly the same view code; only ``authentication_classes``
differ. The floor is the same view with no authentication and ``AllowAny``.
"""

from __future__ import annotations

from typing import Any

from dj_rest_auth.jwt_auth import JWTCookieAuthentication as DjRestAuthCookie
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import (
    JWTAuthentication,
    JWTStatelessUserAuthentication,
)

from jwt_cookie_auth.authentication import JWTCookieAuthentication


class WhoAmI(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response({"id": request.user.pk})

    def post(self, request: Request) -> Response:
        return Response({"id": request.user.pk})


def whoami(*authentication: type[Any], allow_any: bool = False) -> Any:
    permissions = [AllowAny] if allow_any else [IsAuthenticated]
    return WhoAmI.as_view(
        authentication_classes=list(authentication), permission_classes=permissions
    )


floor = whoami(allow_any=True)
ours = whoami(JWTCookieAuthentication)
simplejwt = whoami(JWTAuthentication)
simplejwt_stateless = whoami(JWTStatelessUserAuthentication)
dj_rest_auth = whoami(DjRestAuthCookie)
session = whoami(SessionAuthentication)
knox = whoami(KnoxTokenAuthentication)
