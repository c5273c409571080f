"""Views for the step-up and "keep this device" tests (tests/step_up_urls.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth.views import PasswordChangeView
from django.http import HttpRequest, JsonResponse
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

import jwt_cookie_auth
from jwt_cookie_auth.cookies import set_token_cookies
from jwt_cookie_auth.decorators import require_recent_authentication
from jwt_cookie_auth.permissions import RecentAuthentication
from jwt_cookie_auth.reauthentication import record_reauthentication

FIVE_MINUTES = timedelta(minutes=5)


class SensitiveView(APIView):
    permission_classes = [IsAuthenticated, RecentAuthentication.require(max_age=FIVE_MINUTES)]

    def post(self, request: Request) -> Response:
        return Response({"done": True, "session_id": request.auth.sid})


class DefaultAgeView(APIView):
    permission_classes = [RecentAuthentication]

    def get(self, request: Request) -> Response:
        return Response({"done": True})


class OtpOnlyView(APIView):
    permission_classes = [IsAuthenticated, RecentAuthentication.require(amr=["otp"])]

    def get(self, request: Request) -> Response:
        return Response({"done": True})


class OtpStepView(APIView):
    """A project's own second factor: here any code "123456" is right."""

    def post(self, request: Request) -> Response:
        if request.data.get("code") != "123456":
            return Response(status=400)
        response = Response({"ok": True})
        issued = record_reauthentication(request._request, request.auth, ["otp", "mfa"])
        assert issued is not None
        set_token_cookies(response, issued)
        return response


@require_recent_authentication(max_age=FIVE_MINUTES)
def sensitive_page(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"user": request.user.get_username()})


@require_recent_authentication
async def async_sensitive_page(request: HttpRequest) -> JsonResponse:
    user: Any = await request.auser()
    return JsonResponse({"user": user.get_username()})


class ChangePasswordView(APIView):
    """A project's password change endpoint; ``keep`` calls update_session_auth_hash."""

    def post(self, request: Request) -> Response:
        user: Any = request.user
        user.set_password(request.data["password"])
        user.save()
        response = Response({"changed": True})
        if request.data.get("keep"):
            kept = jwt_cookie_auth.update_session_auth_hash(request, user, response)
            response.data["kept"] = kept is not None
        return response


class SetOtherPasswordView(APIView):
    """An administrator sets another user's password and (wrongly) asks to keep."""

    def post(self, request: Request) -> Response:
        from django.contrib.auth import get_user_model

        other: Any = get_user_model()._default_manager.get(pk=request.data["pk"])
        other.set_password(request.data["password"])
        other.save()
        response = Response({})
        kept = jwt_cookie_auth.update_session_auth_hash(request, other, response)
        response.data["kept"] = kept is not None
        return response


django_password_change = PasswordChangeView.as_view(success_url="/whoami/")
