from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("auth/", include("jwt_cookie_auth.urls")),
    path("", include("example_project.demo.urls")),
]
