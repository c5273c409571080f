"""Only the package's URLs, as the README mounts them: the schema tests' urlconf."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [path("auth/", include("jwt_cookie_auth.urls"))]
