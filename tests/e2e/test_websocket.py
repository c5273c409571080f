"""A live WebSocket closed by an administrator's Force logout (issue 13, Channels).

The demo runs under uvicorn (example_project/asgi.py, the README's stack). A user's
private page holds ``/ws/whoami/`` open; the admin, in another browser context, forces
that user out; the page sees its socket close with code 4401 and reason ``admin``. The
time from the admin's click to the page's close event is written to
test-artifacts/channels-close-latency.json (``e2e_force_logout``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import harness
from tests.e2e.harness import DemoServer
from tests.e2e.spa import log_in, open_spa

pytestmark = pytest.mark.e2e

USER = "socket_user"


@pytest.fixture(scope="module")
def asgi_server(
    template_database: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DemoServer]:
    """The demo under uvicorn, with a 60-second access token (no expiry mid-test)."""
    server = harness.start_demo_server(
        template_database,
        tmp_path_factory.mktemp("asgi"),
        "asgi",
        asgi=True,
        JWT_DEMO_ACCESS_SECONDS="60",
    )
    script = (
        "from django.contrib.auth import get_user_model\n"
        "from django.contrib.auth.hashers import make_password\n"
        f"get_user_model().objects.create(username={USER!r}, "
        f"password=make_password({harness.E2E_PASSWORD!r}))\n"
    )
    harness.manage(server.database, "shell", "-c", script)
    yield server
    server.stop()


def test_force_logout_closes_the_users_websocket(browsing: Any, asgi_server: DemoServer) -> None:
    user_page = open_spa(browsing.context(), asgi_server)
    info = log_in(user_page, USER)
    user_page.goto(f"{asgi_server.url}/private/")
    user_page.wait_for_function("window.demoSocket && window.demoSocket.opened === 1")
    user_page.wait_for_selector(f"#socket [data-socket-info]:has-text('as {USER}')")

    operator = browsing.context().new_page()
    operator.goto(f"{asgi_server.url}/admin/login/?next=/admin/auth/user/")
    operator.fill("#id_username", "admin")
    operator.fill("#id_password", "admin")
    operator.click("input[type=submit]")
    operator.wait_for_url("**/admin/auth/user/")
    operator.fill("#searchbar", USER)
    operator.press("#searchbar", "Enter")
    operator.wait_for_load_state()
    operator.check("input.action-select")
    operator.select_option("select[name=action]", "force_logout")
    clicked_ms = time.time() * 1000
    operator.click("button[name=index]")

    user_page.wait_for_function("window.demoSocket.closeCode !== null")
    seen = user_page.evaluate("window.demoSocket")
    assert (seen["closeCode"], seen["closeReason"]) == (4401, "admin")
    assert "session revoked: admin" in (user_page.text_content("[data-socket-state]") or "")
    assert asgi_server.session_row(info["session_id"])["revoke_reason"] == "admin"

    latency_ms = round(seen["closedAt"] - clicked_ms, 1)
    harness.ARTIFACTS.mkdir(exist_ok=True)
    path = harness.ARTIFACTS / "channels-close-latency.json"
    found = json.loads(path.read_text()) if path.exists() else {}
    found["e2e_force_logout"] = {"click_to_close_ms": latency_ms}
    path.write_text(json.dumps(found, indent=2) + "\n")
