"""The demo login page's ``next=`` followed in Chromium (issue 9 item 16).

After a login the page navigates to ``next``; whatever the query says, the browser
stays on the demo's origin. Any request to another host is answered by a stub and
recorded, so an off-site navigation fails the test instead of a DNS lookup.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e import harness
from tests.e2e.harness import DemoServer

pytestmark = pytest.mark.e2e

HOSTILE_QUERIES = [
    "next=//evil.example",
    "next=/%09/evil.example",
    "next=/%0A/evil.example",
    "next=/%0D/evil.example",
    "next=%09//evil.example",
    "next=%5C%5Cevil.example",
    "next=/%5Cevil.example",
    "next=%5C/evil.example",
    "next=https://evil.example",
    "next=https:evil.example",
    "next=javascript:alert(1)",
    "next=/%2509/evil.example",  # a literal "%09" in a path: stays on this site
]


def log_in_through_the_form(page: Any) -> None:
    page.fill("#login-form input[name=username]", "nexthop")
    page.fill("#login-form input[name=password]", harness.E2E_PASSWORD)
    page.click("#login-form button[type=submit]")


def test_next_never_leaves_the_site(browsing: Any, demo_server: DemoServer) -> None:
    context = browsing.context()
    offsite: list[str] = []

    def stub(route: Any) -> None:
        offsite.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<p>off-site</p>")

    context.route(lambda url: not url.startswith(demo_server.url), stub)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    origin = urlsplit(demo_server.url)

    landed = {}
    for query in HOSTILE_QUERIES:
        page.goto(f"{demo_server.url}/login/?{query}")
        log_in_through_the_form(page)
        page.wait_for_url(lambda url: "/login/" not in url)
        page.wait_for_load_state()
        target = urlsplit(page.url)
        landed[query] = page.url
        assert (target.scheme, target.netloc) == (origin.scheme, origin.netloc), landed
    assert not offsite, offsite
    assert not dialogs, dialogs
    assert landed["next=//evil.example"] == f"{demo_server.url}/private/"
    assert landed["next=/%2509/evil.example"] == f"{demo_server.url}/%09/evil.example"


def test_next_to_a_page_of_the_site_is_followed(browsing: Any, demo_server: DemoServer) -> None:
    page = browsing.context().new_page()
    page.goto(f"{demo_server.url}/login/?next=/sessions/%3Fsort%3Dnew")
    log_in_through_the_form(page)
    page.wait_for_url(f"{demo_server.url}/sessions/?sort=new")
