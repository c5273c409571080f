from __future__ import annotations

from django.urls import path

from example_project.demo import views

app_name = "demo"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_page, name="login"),
    path("private/", views.private_page, name="private"),
    path("sessions/", views.sessions_page, name="sessions"),
    path("spa/", views.spa_page, name="spa"),
    path("api/me/", views.MeView.as_view(), name="me"),
    path("favicon.ico", views.favicon, name="favicon"),
]
