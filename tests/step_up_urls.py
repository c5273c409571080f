"""tests.urls plus the views of the step-up and password-change tests."""

from __future__ import annotations

from django.urls import path

from tests import step_up_views as views
from tests.urls import urlpatterns as base

urlpatterns = [
    *base,
    path("api/sensitive/", views.SensitiveView.as_view(), name="sensitive"),
    path("api/default-age/", views.DefaultAgeView.as_view(), name="default_age"),
    path("api/otp-only/", views.OtpOnlyView.as_view(), name="otp_only"),
    path("api/otp-step/", views.OtpStepView.as_view(), name="otp_step"),
    path("sensitive-page/", views.sensitive_page, name="sensitive_page"),
    path("async-sensitive-page/", views.async_sensitive_page, name="async_sensitive_page"),
    path("api/change-password/", views.ChangePasswordView.as_view(), name="change_password"),
    path("api/set-other-password/", views.SetOtherPasswordView.as_view(), name="set_other"),
    path("django-password-change/", views.django_password_change, name="django_pw_change"),
]
