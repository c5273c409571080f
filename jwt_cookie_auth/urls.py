"""``path("auth/", include("jwt_cookie_auth.urls"))``."""

from __future__ import annotations

from django.urls import path

from jwt_cookie_auth import reauthentication, views

app_name = "jwt_cookie_auth"

urlpatterns = [
    path("login/", views.login, name="login"),
    path("refresh/", views.refresh, name="refresh"),
    path("logout/", views.logout, name="logout"),
    path("logout/all/", views.logout_all, name="logout_all"),
    path("session/", views.session, name="session"),
    path("reauthenticate/", reauthentication.reauthenticate, name="reauthenticate"),
    path("sessions/", views.sessions, name="sessions"),
    # Any segment, not <uuid:>: a malformed id gets the view's JSON 404, not Django's
    # HTML one. reverse() with a UUID gives the same URL as before.
    path("sessions/<str:session_id>/", views.session_detail, name="session_detail"),
]
