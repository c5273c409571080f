"""The device behind a session's User-Agent (issue 11): sessions API, admin, demo.

``GET /auth/sessions/`` gives each session a ``device`` object (browser, operating
system, device; ``"Other"`` where unknown) beside the raw ``user_agent``; the admin's
sessions list and the demo's sessions page show the same names instead of a cut header.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from jwt_cookie_auth import device_info
from jwt_cookie_auth.issuing import MAX_USER_AGENT_LENGTH
from jwt_cookie_auth.models import LoginSession
from tests.conftest import credentials, make_user

SESSIONS = "jwt_cookie_auth:sessions"
ADMIN_SESSIONS = "admin:jwt_cookie_auth_loginsession_changelist"

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.6778.81 Mobile Safari/537.36"
)
CURL = "curl/8.5.0"
GARBAGE = "\u00ff\u2603 not a browser {" * 40  # longer than the stored 512 characters

OTHER = {"browser": "Other", "os": "Other", "device": "Other"}
CASES = [
    (CHROME_WINDOWS, {"browser": "Chrome 131", "os": "Windows 10", "device": "Other"}),
    (SAFARI_IPHONE, {"browser": "Mobile Safari 17.5", "os": "iOS 17.5", "device": "iPhone"}),
    (FIREFOX_LINUX, {"browser": "Firefox 133", "os": "Linux", "device": "Other"}),
    (CHROME_ANDROID, {"browser": "Chrome Mobile 131", "os": "Android 14", "device": "Pixel 8"}),
    (CURL, {"browser": "curl 8.5", "os": "Other", "device": "Other"}),
    ("", OTHER),
    (GARBAGE, OTHER),
]


def login_with_agent(user: Any, agent: str | None) -> Client:
    client = Client() if agent is None else Client(HTTP_USER_AGENT=agent)
    response = client.post(
        reverse("jwt_cookie_auth:login"), credentials(user), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return client


@pytest.mark.parametrize(("agent", "expected"), CASES, ids=lambda v: str(v)[:20])
def test_sessions_api_names_the_device_beside_the_raw_user_agent(
    user: Any, agent: str, expected: dict[str, str]
) -> None:
    client = login_with_agent(user, agent)

    response = client.get(reverse(SESSIONS))

    assert response.status_code == 200
    [row] = response.json()
    assert row["device"] == expected
    assert row["user_agent"] == agent[:MAX_USER_AGENT_LENGTH]  # unchanged, still there


def test_sessions_api_device_without_a_user_agent_header(user: Any) -> None:
    client = login_with_agent(user, None)
    [row] = client.get(reverse(SESSIONS)).json()
    assert row["user_agent"] == ""
    assert row["device"] == OTHER


def test_each_distinct_user_agent_is_parsed_once(
    user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sessions list parses per row; the same header is parsed once, not per row."""
    import ua_parser

    device_info._parse.cache_clear()
    parsed: list[str] = []
    real = ua_parser.parse

    def counting(agent: str) -> Any:
        parsed.append(agent)
        return real(agent)

    monkeypatch.setattr(ua_parser, "parse", counting)
    for _ in range(4):
        login_with_agent(user, CHROME_WINDOWS)
    client = login_with_agent(user, FIREFOX_LINUX)

    for _ in range(2):
        rows = client.get(reverse(SESSIONS)).json()
        assert len(rows) == 5
        assert {row["device"]["browser"] for row in rows} == {"Chrome 131", "Firefox 133"}
    assert sorted(parsed) == sorted([CHROME_WINDOWS, FIREFOX_LINUX])


def test_admin_sessions_list_shows_the_parsed_device(db: None) -> None:
    alice = make_user("alice")
    for agent in (CHROME_WINDOWS, SAFARI_IPHONE, GARBAGE, ""):
        login_with_agent(alice, agent)
    admin = Client()
    admin.force_login(make_user("root", is_staff=True, is_superuser=True))

    response = admin.get(reverse(ADMIN_SESSIONS))

    assert response.status_code == 200
    page = response.content.decode()
    cells = re.findall(r'<td class="field-device">(.*?)</td>', page, re.S)
    assert len(cells) == 4
    assert '<th scope="col" class="column-device">' in page
    assert '<span title="Mozilla/5.0 (Windows NT 10.0; Win64; x64) ' in page  # raw on hover
    texts = {re.sub(r"<[^>]+>", "", cell).strip() for cell in cells}
    stored_garbage = LoginSession.objects.get(user_agent__startswith="\u00ff").user_agent
    assert texts == {
        "Chrome 131 · Windows 10",
        "Mobile Safari 17.5 · iOS 17.5 · iPhone",
        stored_garbage[:40],  # recognised by no rule: the header itself, cut
        "-",  # no header: the admin's empty value
    }


def test_demo_sessions_page_shows_the_parsed_device(user: Any, settings: Any) -> None:
    from tests.test_demo_next import DEMO_SETTINGS

    settings.ROOT_URLCONF = "example_project.urls"
    with DEMO_SETTINGS:
        login_with_agent(user, SAFARI_IPHONE)
        client = login_with_agent(user, CURL)
        response = client.get("/sessions/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f'<td title="{CURL}">curl 8.5</td>' in page
    assert ">Mobile Safari 17.5 · iOS 17.5 · iPhone</td>" in page
