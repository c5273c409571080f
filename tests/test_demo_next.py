"""The demo login page's ``next=`` (issue 9 item 16, SECURITY.md item 41).

The server validates ``next`` with Django's ``url_has_allowed_host_and_scheme`` and
renders the result into the page (``data-next``), which the page's JavaScript follows
after a login. These tests render the real demo page; tests/e2e/test_demo_next.py
follows the redirect in Chromium.
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client, override_settings

HOSTILE = [
    "//evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "\t//evil.example",
    " //evil.example",
    "///evil.example",
    "\\\\evil.example",
    "/\\evil.example",
    "\\/evil.example",
    "https://evil.example",
    "http:/evil.example",
    "https:evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "http://testserver@evil.example/",
    "http://evil.example\\@testserver/",
]
# As they arrive in a query string: percent-encoded tab, newline, slash, backslash.
HOSTILE_QUERIES = [
    "next=/%09/evil.example",
    "next=/%0A/evil.example",
    "next=/%0D/evil.example",
    "next=%2F%2Fevil.example",
    "next=/%5Cevil.example",
    "next=%09//evil.example",
    "next=%5C%5Cevil.example",
]

_TEMPLATES = settings.TEMPLATES[0]
DEMO_SETTINGS = override_settings(
    INSTALLED_APPS=[*settings.INSTALLED_APPS, "django.contrib.staticfiles", "example_project.demo"],
    STATIC_URL="static/",
    TEMPLATES=[
        {
            **_TEMPLATES,
            "OPTIONS": {
                "context_processors": [
                    *_TEMPLATES["OPTIONS"]["context_processors"],
                    "example_project.demo.context_processors.jwt_auth",
                ]
            },
        }
    ],
)

pytestmark = [pytest.mark.urls("example_project.urls"), pytest.mark.django_db]


@pytest.fixture(autouse=True, scope="module")
def _demo_app() -> Any:
    # Once per module: installing an app reloads the app registry.
    with DEMO_SETTINGS:
        yield


def rendered_next(query: str | dict[str, str]) -> str:
    """The redirect target the login page hands its JavaScript."""
    client = Client()
    if isinstance(query, str):
        response = client.get(f"/login/?{query}")
    else:
        response = client.get("/login/", query)
    assert response.status_code == 200
    match = re.search(r'data-next="([^"]*)"', response.content.decode())
    assert match is not None
    return html.unescape(match.group(1))


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_next_falls_back_to_the_private_page(value: str) -> None:
    assert rendered_next({"next": value}) == "/private/"


@pytest.mark.parametrize("query", HOSTILE_QUERIES)
def test_percent_encoded_hostile_next_falls_back_to_the_private_page(query: str) -> None:
    assert rendered_next(query) == "/private/"


@pytest.mark.parametrize(
    "value", ["/sessions/", "/private/?tab=1#top", "/%09/evil.example", "/spa/?next=//x"]
)
def test_same_site_path_is_kept(value: str) -> None:
    """A local path survives as it is; a percent-encoded one stays a path."""
    target = rendered_next({"next": value})
    assert target == value
    assert not urlsplit(target).netloc


def test_no_next_goes_to_the_private_page() -> None:
    assert rendered_next({}) == "/private/"
