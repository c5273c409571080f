from __future__ import annotations

import importlib.util

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("auth/", include("jwt_cookie_auth.urls")),
    path("", include("example_project.demo.urls")),
]

if importlib.util.find_spec("ninja") is not None:
    from example_project.ninja_api import api as ninja_api

    # A django-ninja API beside the DRF one (example_project/ninja_api.py).
    urlpatterns += [path("ninja/", ninja_api.urls)]

if getattr(settings, "OPENAPI", False):
    from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

    # The schema, and Swagger UI from this site's static files (settings.py).
    urlpatterns += [
        path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
        path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    ]
