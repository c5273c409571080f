"""One URL prefix per variant (see ``views.py``), plus each library's refresh view."""

from __future__ import annotations

from django.urls import include, path
from rest_framework_simplejwt.views import TokenRefreshView

from benchmarks import views

urlpatterns = [
    path("floor/", views.floor),
    path("ours/", views.ours),
    path("simplejwt/", views.simplejwt),
    path("simplejwt-stateless/", views.simplejwt_stateless),
    path("dj-rest-auth/", views.dj_rest_auth),
    # benchmarks.middleware gives each prefix its session engine.
    path("session-db/", views.session),
    path("session-cache/", views.session),
    path("knox/", views.knox),
    path("auth/", include("jwt_cookie_auth.urls")),
    path("simplejwt/refresh/", TokenRefreshView.as_view()),
]
