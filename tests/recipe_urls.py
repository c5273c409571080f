"""URLs of the "Custom login flows" recipes (tests/recipes.py)."""

from __future__ import annotations

from django.urls import path

from tests import recipes

urlpatterns = [
    path("magic/<str:token>/", recipes.magic_link, name="magic_link"),
    path("otp/password/", recipes.PasswordStepView.as_view(), name="otp_password"),
    path("otp/verify/", recipes.OTPStepView.as_view(), name="otp_verify"),
]
