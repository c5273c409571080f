"""Fixtures of the browser tests: live servers, Chromium, a screenshot of each test's end.

Run them with ``pytest -m e2e tests/e2e`` (the fourth pass of scripts/test.sh). The
default ``addopts`` has ``-m "not e2e"``, so the ordinary passes never start a browser.
Without Playwright or the ``chromium`` executable they are skipped locally, with the
reason; under ``CI=true`` they fail instead.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import harness
from tests.e2e.harness import DemoServer, OtherSite


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    e2e = [item for item in items if item.get_closest_marker("e2e")]
    reason = harness.missing_requirements() if e2e else None
    if reason is None or os.environ.get("CI") == "true":
        return
    skip = pytest.mark.skip(reason=f"browser tests need Playwright and Chromium: {reason}")
    for item in e2e:
        item.add_marker(skip)


@pytest.fixture(scope="session")
def e2e_ready() -> None:
    # Reached without the requirements only under CI=true (else skipped at collection).
    reason = harness.missing_requirements()
    if reason is not None:
        pytest.fail(f"CI=true, and the browser tests cannot run: {reason}")


@pytest.fixture(scope="session")
def template_database(e2e_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return harness.build_template_database(tmp_path_factory.mktemp("e2e-db") / "template.sqlite3")


@pytest.fixture(scope="session")
def demo_server(
    template_database: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DemoServer]:
    """The example project: 3-second access token, no leeway, AUTO_REFRESH off."""
    server = harness.start_demo_server(template_database, tmp_path_factory.mktemp("demo"), "demo")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def other_site(e2e_ready: None) -> Iterator[OtherSite]:
    site = harness.start_other_site()
    yield site
    site.stop()


@pytest.fixture(scope="session")
def cross_site_server(
    template_database: Path, tmp_path_factory: pytest.TempPathFactory, other_site: OtherSite
) -> Iterator[DemoServer]:
    """The example project in cross-site mode, for a front end on http://127.0.0.1:<port>."""
    server = harness.start_demo_server(
        template_database,
        tmp_path_factory.mktemp("cross-site"),
        "cross-site",
        JWT_DEMO_CROSS_SITE_ORIGINS=other_site.url("127.0.0.1", ""),
    )
    yield server
    server.stop()


@pytest.fixture(scope="session")
def playwright(e2e_ready: None) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Any) -> Iterator[Any]:
    instance = playwright.chromium.launch(
        executable_path=shutil.which("chromium"),
        headless=True,
        args=harness.CHROMIUM_ARGS,
        timeout=60_000,
    )
    yield instance
    instance.close()


class Browsing:
    """The browser contexts of one test. Every page still open is photographed at the end."""

    def __init__(self, playwright: Any, browser: Any, workdir: Path) -> None:
        self.playwright = playwright
        self.browser = browser
        self.workdir = workdir
        self.contexts: list[Any] = []
        self.page_errors: list[str] = []

    def _prepare(self, context: Any) -> Any:
        context.set_default_timeout(harness.STEP_TIMEOUT_MS)
        context.set_default_navigation_timeout(harness.STEP_TIMEOUT_MS)
        context.on("page", self._watch)
        self.contexts.append(context)
        return context

    def _watch(self, page: Any) -> None:
        page.on("pageerror", lambda error: self.page_errors.append(f"{page.url}: {error}"))

    def context(self, **options: Any) -> Any:
        """A fresh browser context: its own cookie jar and storage, like a new profile."""
        options.setdefault("viewport", {"width": 1000, "height": 760})
        return self._prepare(self.browser.new_context(**options))

    def profile(self, preferences: dict[str, Any]) -> Any:
        """A persistent Chromium profile whose Preferences file is given (own browser)."""
        user_data = self.workdir / f"profile-{len(self.contexts)}"
        (user_data / "Default").mkdir(parents=True)
        (user_data / "Default" / "Preferences").write_text(json.dumps(preferences))
        context = self.playwright.chromium.launch_persistent_context(
            str(user_data),
            executable_path=shutil.which("chromium"),
            headless=True,
            args=harness.CHROMIUM_ARGS,
            viewport={"width": 1000, "height": 760},
            timeout=60_000,
        )
        for page in context.pages:
            self._watch(page)
        return self._prepare(context)

    def finish(self, test_name: str) -> None:
        harness.ARTIFACTS.mkdir(exist_ok=True)
        stem = re.sub(r"[^\w.-]+", "_", test_name)
        pages = [page for context in self.contexts for page in context.pages]
        for index, page in enumerate(pages):
            suffix = "" if index == 0 else f"-{index + 1}"
            try:
                page.screenshot(path=str(harness.ARTIFACTS / f"{stem}{suffix}.png"))
            except Exception as exc:  # a crashed page must not hide the test's own failure
                print(f"screenshot of {page.url} failed: {exc}", file=sys.stderr)
        for context in self.contexts:
            try:
                context.close()
            except Exception as exc:
                print(f"closing a browser context failed: {exc}", file=sys.stderr)


@pytest.fixture
def browsing(
    request: pytest.FixtureRequest, playwright: Any, browser: Any, tmp_path: Path
) -> Iterator[Browsing]:
    session = Browsing(playwright, browser, tmp_path)
    yield session
    session.finish(request.node.name)
    assert not session.page_errors, f"uncaught JavaScript errors: {session.page_errors}"


_COUNTS: dict[str, Any] = {}


@pytest.fixture
def record_counts(request: pytest.FixtureRequest) -> Any:
    """Keep observed request counts; written to test-artifacts/e2e-request-counts.json."""

    def record(**counts: Any) -> None:
        _COUNTS[request.node.name] = counts
        harness.ARTIFACTS.mkdir(exist_ok=True)
        path = harness.ARTIFACTS / "e2e-request-counts.json"
        path.write_text(json.dumps(_COUNTS, indent=2) + "\n")

    return record
