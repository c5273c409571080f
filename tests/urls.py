from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from tests import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("auth/", include("jwt_cookie_auth.urls")),
    path("private/", views.private_page, name="private"),
    path("whoami/", views.whoami_page, name="whoami"),
    path("async-whoami/", views.async_whoami, name="async_whoami"),
    path("api/me/", views.MeView.as_view(), name="me"),
    path("api/open/", views.OpenView.as_view(), name="open"),
    # README "Custom login flows": magic link and django-otp two-step recipes.
    path("recipes/", include("tests.recipe_urls")),
]
