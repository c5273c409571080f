"""Request-derived text the package stores is storable on every database.

PostgreSQL refuses NUL in text (``DataError: A string literal cannot contain NUL``),
and control characters in a stored string turn up in the sessions list, the admin
and logs. The only free text taken from a request and saved is the User-Agent
(``LoginSession.user_agent``); IP addresses are parsed by ``client_ip.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from jwt_cookie_auth import login as public_login
from jwt_cookie_auth.issuing import MAX_USER_AGENT_LENGTH
from jwt_cookie_auth.models import LoginSession
from tests.conftest import credentials

HOSTILE_AGENTS = [
    pytest.param("Mozilla\x00evil", "Mozilla\ufffdevil", id="nul"),
    pytest.param(
        "Mozilla\r\n\x1b[31mred\x7f\x85",
        "Mozilla\ufffd\ufffd\ufffd[31mred\ufffd\ufffd",
        id="controls",
    ),
    pytest.param("Mozilla \ud800 lone", "Mozilla \ufffd lone", id="lone-surrogate"),
    pytest.param(
        "Mozilla/5.0 (X11; Linux) Éé\u200b", "Mozilla/5.0 (X11; Linux) Éé\u200b", id="plain"
    ),
]


@pytest.mark.parametrize(("agent", "stored"), HOSTILE_AGENTS)
def test_login_with_a_hostile_user_agent_works_and_stores_it_clean(
    client: Client, user: Any, agent: str, stored: str
) -> None:
    response = client.post(
        reverse("jwt_cookie_auth:login"),
        credentials(user),
        content_type="application/json",
        HTTP_USER_AGENT=agent,
    )
    assert response.status_code == 200, response.content
    session = LoginSession.objects.get(user=user)
    assert session.user_agent == stored
    listing = client.get(reverse("jwt_cookie_auth:sessions"))
    assert listing.status_code == 200
    assert stored in {row["user_agent"] for row in listing.json()}


def test_public_login_api_stores_a_clean_user_agent(rf: Any, user: Any) -> None:
    from django.http import HttpResponse

    request = rf.post("/", HTTP_USER_AGENT="A\x00" * 400)
    request.user = user
    public_login(request, user, HttpResponse())
    stored = LoginSession.objects.get(user=user).user_agent
    assert "\x00" not in stored
    assert len(stored) == MAX_USER_AGENT_LENGTH


def test_storable_text_bounds_after_cleaning() -> None:
    from jwt_cookie_auth.issuing import storable_text

    assert storable_text("a\x00" * 10, 5) == "a\ufffda\ufffda"
    assert storable_text("", 5) == ""
    assert storable_text(None, 5) == ""
