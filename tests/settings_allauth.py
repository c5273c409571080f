"""``tests.settings`` plus django-allauth, for tests/test_recipe_allauth.py only.

allauth brings its own apps, middleware, backend and URLs, which the rest of the suite
must not see; scripts/test.sh runs that file in a pass of its own with these settings.
"""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS, MIDDLEWARE

INSTALLED_APPS = [
    *INSTALLED_APPS,
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.github",
]
MIDDLEWARE = [*MIDDLEWARE, "allauth.account.middleware.AccountMiddleware"]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ROOT_URLCONF = "tests.urls_allauth"

# The recipe: every allauth login ends in the token cookies.
ACCOUNT_ADAPTER = "jwt_cookie_auth.contrib.allauth.JWTCookieAccountAdapter"
ACCOUNT_EMAIL_VERIFICATION = "none"
LOGIN_REDIRECT_URL = "/whoami/"
SOCIALACCOUNT_PROVIDERS = {
    "github": {"APP": {"client_id": "test-client-id", "secret": "test-client-secret"}}
}
SOCIALACCOUNT_QUERY_EMAIL = True

if os.environ.get("JWT_TEST_USER_MODEL") == "custom":
    # tests.custom_user.EmailUser has no username field.
    ACCOUNT_USER_MODEL_USERNAME_FIELD = None
    ACCOUNT_LOGIN_METHODS = {"email"}
    ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
