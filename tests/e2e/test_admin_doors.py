"""Django's admin and the token cookies in one Chromium profile (issue 10, items 1-3).

The three stories of the issue, as a user clicks them: the admin's Log out ends the
JWT session too; a browser holding a plain user's token cookies can log in to the
admin; an administrator's Force logout of a staff member ends that member's admin
session on their next page.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e import harness
from tests.e2e.harness import DemoServer
from tests.e2e.spa import log_in, open_spa, token_cookies

pytestmark = pytest.mark.e2e

STAFF = ["door_a", "door_b", "door_member"]
PLAIN = ["door_plain"]


@pytest.fixture(scope="module")
def door_users(demo_server: DemoServer) -> None:
    """Superusers (the admin needs staff status) and a plain user, for this module only."""
    script = (
        "from django.contrib.auth import get_user_model\n"
        "from django.contrib.auth.hashers import make_password\n"
        f"hashed = make_password({harness.E2E_PASSWORD!r})\n"
        "manager = get_user_model().objects\n"
        f"for name in {STAFF!r}:\n"
        "    manager.create(username=name, password=hashed, is_staff=True, is_superuser=True)\n"
        f"for name in {PLAIN!r}:\n"
        "    manager.create(username=name, password=hashed)\n"
    )
    harness.manage(demo_server.database, "shell", "-c", script)


def admin_log_in(page: Any, server: DemoServer, username: str, password: str) -> None:
    page.goto(f"{server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(f"{server.url}/admin/")


def session_cookie(context: Any) -> bool:
    return any(cookie["name"] == "sessionid" for cookie in context.cookies())


def test_admin_log_out_ends_the_jwt_session(
    browsing: Any, demo_server: DemoServer, door_users: None
) -> None:
    """Logged in through the SPA (token cookies only), the admin's Log out logs out."""
    context = browsing.context()
    page = open_spa(context, demo_server)
    info = log_in(page, "door_a")
    page.goto(f"{demo_server.url}/admin/")
    assert "door_a" in (page.text_content("#user-tools") or "")  # the JWT user is in

    page.click("#logout-form button[type=submit]")
    page.wait_for_url(f"{demo_server.url}/admin/logout/")

    assert token_cookies(context, demo_server) == {}
    page.goto(f"{demo_server.url}/admin/")
    assert "/admin/login/" in page.url
    assert demo_server.session_row(info["session_id"])["revoke_reason"] == "session_logout"


def test_admin_login_in_a_browser_holding_a_plain_users_jwt(
    browsing: Any, demo_server: DemoServer, door_users: None
) -> None:
    context = browsing.context()
    page = open_spa(context, demo_server)
    info = log_in(page, "door_plain")
    page.goto(f"{demo_server.url}/admin/")
    assert "/admin/login/" in page.url  # a plain user may not enter

    admin_log_in(page, demo_server, "door_b", harness.E2E_PASSWORD)

    assert "door_b" in (page.text_content("#user-tools") or "")
    assert token_cookies(context, demo_server) == {}
    page.goto(f"{demo_server.url}/admin/")
    assert page.url == f"{demo_server.url}/admin/"  # still in, on the next page too
    row = demo_server.session_row(info["session_id"])
    assert row["revoke_reason"] == "session_login_other_user"


def test_force_logout_of_a_staff_member_ends_their_admin_session(
    browsing: Any, demo_server: DemoServer, door_users: None
) -> None:
    member_context = browsing.context()
    member = member_context.new_page()
    admin_log_in(member, demo_server, "door_member", harness.E2E_PASSWORD)
    assert session_cookie(member_context)
    assert token_cookies(member_context, demo_server) == {}  # a Django session only

    operator = browsing.context().new_page()
    operator.goto(f"{demo_server.url}/admin/login/?next=/admin/auth/user/")
    operator.fill("#id_username", "admin")
    operator.fill("#id_password", "admin")
    operator.click("input[type=submit]")
    operator.wait_for_url("**/admin/auth/user/")
    operator.fill("#searchbar", "door_member")
    operator.press("#searchbar", "Enter")
    operator.wait_for_load_state()
    operator.check("input.action-select")
    operator.select_option("select[name=action]", "force_logout")
    operator.click("button[name=index]")
    message = operator.text_content(".messagelist .success")
    assert message is not None
    assert "1 user: 0 JWT sessions revoked" in message  # the Django one ends anyway

    member.goto(f"{demo_server.url}/admin/")
    assert "/admin/login/" in member.url
    assert not session_cookie(member_context)  # flushed: the sessionid is deleted
    operator.goto(f"{demo_server.url}/admin/")
    assert operator.url == f"{demo_server.url}/admin/"  # the operator stays in
