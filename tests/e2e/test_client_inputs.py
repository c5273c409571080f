"""The JavaScript client against hostile CSRF cookies, in Chromium (issue 9 item 15).

A malformed ``csrftoken`` cookie must not stop ``logout()``, and a planted duplicate
(another path or a parent-domain cookie, as a sibling subdomain can set) must cost no
extra round trips once the client knows the server's token. Requests are counted at
the network layer.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.harness import DemoServer, Traffic
from tests.e2e.spa import log_in, open_spa, settle, wait_signed_out

pytestmark = pytest.mark.e2e

MALFORMED = "%E0%A4%A"  # decodeURIComponent throws URIError on it


def csrf_cookies(page: Any) -> list[str]:
    return [
        part.strip() for part in page.evaluate("document.cookie").split(";") if "csrftoken=" in part
    ]


@pytest.mark.parametrize("how", ["document.cookie", "add_cookies"])
def test_malformed_csrf_cookie_does_not_stop_logout(
    browsing: Any, demo_server: DemoServer, record_counts: Any, how: str
) -> None:
    context = browsing.context()
    traffic = Traffic(context)
    page = open_spa(context, demo_server)
    info = log_in(page, "badcookie")
    settle(page)
    if how == "document.cookie":
        page.evaluate(f"document.cookie = 'csrftoken={MALFORMED}; path=/'")
    else:
        context.add_cookies(
            [{"name": "csrftoken", "value": MALFORMED, "domain": "localhost", "path": "/"}]
        )
    assert csrf_cookies(page) == [f"csrftoken={MALFORMED}"]

    mark = traffic.mark()
    page.evaluate("jwtClient.logout()")
    wait_signed_out(page)
    settle(page)

    logouts = traffic.since(mark, "/auth/logout/")
    assert [e.status for e in logouts] == [204], traffic.summary(mark)
    assert demo_server.session_row(info["session_id"])["revoked_at"] is not None
    # The broken cookie can only be replaced by the server: one GET, then the logout.
    assert traffic.summary(mark) == ["GET /auth/session/ 200", "POST /auth/logout/ 204"]
    record_counts(requests=traffic.summary(mark))


@pytest.mark.parametrize("value", ["P" * 32, MALFORMED], ids=["well-formed", "malformed"])
def test_duplicate_csrf_cookie_costs_no_extra_round_trips(
    browsing: Any, demo_server: DemoServer, record_counts: Any, value: str
) -> None:
    """A second ``csrftoken`` that the page sees (Path=/spa/, listed first in
    document.cookie) but the API never gets: unsafe calls still take one request."""
    context = browsing.context()
    traffic = Traffic(context)
    page = open_spa(context, demo_server)
    info = log_in(page, "dupcookie")
    settle(page)
    context.add_cookies(
        [{"name": "csrftoken", "value": value, "domain": "localhost", "path": "/spa/"}]
    )
    assert len(csrf_cookies(page)) == 2
    assert csrf_cookies(page)[0] == f"csrftoken={value}"

    # Before the fix the client sent the planted value (the first one listed), got a
    # 403, fetched a new token and retried: three requests for every unsafe call.
    calls = []
    for _ in range(3):
        mark = traffic.mark()
        status = page.evaluate(
            "jwtClient.fetch('/api/me/', {method: 'POST'}).then((r) => r.status)"
        )
        settle(page, 100)
        assert status == 405  # the CSRF check passed; the view has no POST handler
        calls.append(traffic.summary(mark))
    assert calls == [["POST /api/me/ 405"]] * 3, calls

    mark = traffic.mark()
    page.evaluate("jwtClient.logout()")
    wait_signed_out(page)
    settle(page)
    assert demo_server.session_row(info["session_id"])["revoked_at"] is not None
    logout_requests = traffic.summary(mark)
    assert logout_requests == ["POST /auth/logout/ 204"], logout_requests
    record_counts(api_calls=calls, logout=logout_requests)
