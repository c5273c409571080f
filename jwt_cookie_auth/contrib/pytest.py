"""pytest fixtures over ``jwt_cookie_auth.testing``, loaded through the ``pytest11`` entry point.

- ``jwt_client``: a ``JWTTestClient`` (``jwt_client.jwt_login(user)``).
- ``jwt_api_client``: a ``JWTAPIClient`` (``jwt_login`` or ``jwt_bearer_login``).
- ``jwt_clock``: a running ``FrozenClock`` (``jwt_clock.advance(minutes=6)``).
- ``jwt_bearer``: ``bearer_headers``, a function ``user -> {"HTTP_AUTHORIZATION": ...}``.

Logging in writes a session row, so tests need database access as for any model
(pytest-django's ``db`` fixture or ``django_db`` mark). This module imports nothing of
Django or of the package until a fixture runs: pytest loads it in every project where
the package is installed, with or without pytest-django and Django settings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from jwt_cookie_auth.testing.clients import JWTAPIClient, JWTTestClient
    from jwt_cookie_auth.testing.clocks import FrozenClock


@pytest.fixture
def jwt_client() -> JWTTestClient:
    """Return a ``JWTTestClient``; ``jwt_client.jwt_login(user)`` logs it in."""
    from jwt_cookie_auth.testing.clients import JWTTestClient

    return JWTTestClient()


@pytest.fixture
def jwt_api_client() -> JWTAPIClient:
    """Return a ``JWTAPIClient``; ``jwt_login(user)`` or ``jwt_bearer_login(user)``."""
    from jwt_cookie_auth.testing.clients import JWTAPIClient

    return JWTAPIClient()


@pytest.fixture
def jwt_clock() -> Iterator[FrozenClock]:
    """Freeze the package's clock for the test; ``jwt_clock.advance(...)`` moves it."""
    from jwt_cookie_auth.testing.clocks import frozen_clock

    with frozen_clock() as clock:
        yield clock


@pytest.fixture
def jwt_bearer() -> Callable[..., dict[str, str]]:
    """Return ``bearer_headers``: ``jwt_bearer(user)`` starts a session, gives the header."""
    from jwt_cookie_auth.testing.logins import bearer_headers

    return bearer_headers
