"""Driving the demo's single-page app (``/spa/``) the way a user does."""

from __future__ import annotations

import os
import time
from typing import Any

from tests.e2e import harness
from tests.e2e.harness import DemoServer

# The demo's defaults (Secure, host-only, Path=/) give the names the __Host- prefix.
ACCESS_COOKIE, REFRESH_COOKIE = TOKEN_COOKIES = ("__Host-jwt_access", "__Host-jwt_refresh")


def open_spa(context: Any, server: DemoServer, ahead: int = 0) -> Any:
    """Open /spa/ (proactive renewal off unless ``ahead``) and wait for its first answer."""
    page = context.new_page()
    page.goto(f"{server.url}/spa/?ahead={ahead}")
    page.wait_for_selector('#spa:not([data-state="loading"])')
    return page


def log_in(page: Any, username: str, *, remember: bool = True) -> dict[str, Any]:
    """Log in through the page's form; return the client's session info."""
    page.fill("#spa-login input[name=username]", username)
    page.fill("#spa-login input[name=password]", harness.E2E_PASSWORD)
    page.set_checked("#spa-login input[name=remember]", remember)
    page.click("#spa-login button[type=submit]")
    page.wait_for_selector('#spa[data-state="signed-in"]')
    # The sessions table is filled right after login: let that request finish first.
    page.wait_for_selector("#spa-sessions tbody tr")
    info: dict[str, Any] = page.evaluate("jwtClient.sessionInfo")
    return info


def wait_until_expired(page: Any, margin_ms: int = 300) -> None:
    """Wait (really: the server's clock is the wall clock) until the access token is dead."""
    left = page.evaluate("jwtClient.accessExpiresAt.getTime() - Date.now()")
    page.wait_for_timeout(max(0, left) + margin_ms)


def click_and_wait_for_result(page: Any, button: str) -> str:
    """Click an API button; return what it reported (HTTP statuses, or the error name)."""
    page.evaluate("delete document.getElementById('api-result').dataset.statuses")
    page.click(button)
    page.wait_for_function("document.getElementById('api-result').dataset.statuses !== undefined")
    result: str = page.evaluate("document.getElementById('api-result').dataset.statuses")
    return result


def wait_signed_out(page: Any) -> str:
    """Wait for the logged-out view; return its notice."""
    page.wait_for_selector('#spa[data-state="signed-out"]')
    notice: str = page.text_content("#logged-out-notice") or ""
    return notice


def settle(page: Any, ms: int = 300) -> None:
    """Let in-flight requests finish and their network events arrive."""
    page.wait_for_timeout(ms)


def token_cookies(context: Any, server: DemoServer) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in context.cookies(server.url) if c["name"] in TOKEN_COOKIES}


def readme_screenshot(page: Any, name: str) -> None:
    """Save a screenshot for the README: always under test-artifacts/, and into
    docs/screenshots/ when it is missing there or JWT_E2E_UPDATE_SCREENSHOTS=1."""
    harness.ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(harness.ARTIFACTS / f"readme-{name}.png"))
    target = harness.SCREENSHOTS / f"{name}.png"
    if os.environ.get("JWT_E2E_UPDATE_SCREENSHOTS") == "1" or not target.exists():
        harness.SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target))


def wall_clock_ms() -> int:
    return int(time.time() * 1000)
