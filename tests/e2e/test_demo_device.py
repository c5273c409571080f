"""The demo's sessions tables name the device, not a cut User-Agent (issue 11).

Chromium pretends to be Safari on an iPhone; both the SPA's table (from the sessions
API's ``device``) and the server-rendered sessions page show the parsed names, with the
raw header on hover.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.harness import DemoServer
from tests.e2e.spa import log_in, open_spa

pytestmark = pytest.mark.e2e

SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
LABEL = "Mobile Safari 17.5 · iOS 17.5 · iPhone"


def test_both_sessions_tables_show_the_parsed_device(
    browsing: Any, demo_server: DemoServer
) -> None:
    context = browsing.context(user_agent=SAFARI_IPHONE)
    page = open_spa(context, demo_server)
    log_in(page, "device")

    cell = page.locator("#spa-sessions tbody tr.current td").nth(2)
    assert cell.text_content() == LABEL
    assert cell.get_attribute("title") == SAFARI_IPHONE

    page.goto(f"{demo_server.url}/sessions/")
    cell = page.locator("#sessions tr.current td").nth(3)
    assert cell.text_content() == LABEL
    assert cell.get_attribute("title") == SAFARI_IPHONE
