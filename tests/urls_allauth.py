"""``tests.urls`` plus allauth's URLs (tests/settings_allauth.py)."""

from __future__ import annotations

from django.urls import include, path

from tests.urls import urlpatterns as base_urlpatterns

urlpatterns = [*base_urlpatterns, path("accounts/", include("allauth.urls"))]
