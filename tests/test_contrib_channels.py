"""WebSockets under Channels (jwt_cookie_auth.contrib.channels), on the in-memory layer.

What a socket's client sees: who the handshake authenticated, a 403 for a foreign
Origin, and a close with code 4401 (and the revocation reason) on every way a session
ends, or 4419 when the access token runs out. The same against the Redis channel layer:
tests/test_contrib_channels_redis.py.

Each scenario runs in one event loop (``run``); the sync steps (HTTP calls, saves)
run back on the test's thread through ``sync_to_async``, inside the test's transaction,
with its on-commit callbacks executed as a real commit would (``committed``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.testing import WebsocketCommunicator
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import transaction
from django.test import Client, TestCase
from django.urls import reverse

from jwt_cookie_auth import tokens
from jwt_cookie_auth.conf import app_settings
from jwt_cookie_auth.contrib.channels import (
    CLOSE_ACCESS_EXPIRED,
    CLOSE_SESSION_REVOKED,
    JWTCookieAuthMiddleware,
    JWTCookieAuthMiddlewareStack,
)
from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from jwt_cookie_auth.models import RevokeReason
from jwt_cookie_auth.revocation import is_session_revoked, revoke_session
from tests.conftest import FakeClock, make_user, new_session
from tests.test_revocation import PATHS, Device, log_in

#: A browser's handshake always names the host; the Origin check compares with it.
HOST = (b"host", b"testserver")
ORIGIN = (b"origin", b"http://testserver")
IN_MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

#: The codes each test consumer saw in ``disconnect`` (a socket closed for the
#: consumer must still run its disconnect handler).
DISCONNECTS: list[int | None] = []


class WhoAmI(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """Accept everyone; answer any message with who the handshake authenticated."""

    async def connect(self) -> None:
        await self.accept()

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        user = self.scope["user"]
        claims = self.scope["jwt_claims"]
        await self.send_json(
            {
                "user": str(user.pk) if user.is_authenticated else None,
                "sid": claims.sid if claims else None,
            }
        )

    async def disconnect(self, code: int | None) -> None:
        DISCONNECTS.append(code)


@pytest.fixture(autouse=True)
def _layer(settings: Any) -> None:
    settings.CHANNEL_LAYERS = IN_MEMORY
    DISCONNECTS.clear()


@pytest.fixture(autouse=True)
def _keep_the_test_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """Channels' ``database_sync_to_async`` calls ``close_old_connections()`` around each
    call (channels/db.py). Here that call runs on the test's thread, inside its
    transaction, and on PostgreSQL it would close the test's connection (SQLite's
    in-memory one ignores it). Other threads' connections are still closed, as in
    production. A private detail of Channels: pinned below."""
    import threading

    import channels.db

    real = channels.db.close_old_connections

    def close_unless_on_the_test_thread() -> None:
        if threading.current_thread() is not threading.main_thread():
            real()

    monkeypatch.setattr(channels.db, "close_old_connections", close_unless_on_the_test_thread)


def test_channels_still_closes_old_connections_around_database_calls() -> None:
    """Pins the detail ``_keep_the_test_connection`` replaces."""
    import inspect

    import channels.db

    source = inspect.getsource(channels.db.DatabaseSyncToAsync.thread_handler)
    assert source.count("close_old_connections()") == 2


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    async_to_sync(scenario)()


@contextmanager
def committed() -> Iterator[None]:
    """Run the block's on-commit callbacks at its end, as the commit of a request would."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        yield


def in_test_thread(action: Callable[[], Any]) -> Awaitable[Any]:
    """Run a sync step (HTTP, ORM) on the test's thread, its transaction, committed."""

    def step() -> Any:
        with committed():
            return action()

    return sync_to_async(step)()


def socket(access: str | None, *, app: Any = None, headers: Any = None) -> WebsocketCommunicator:
    cookie = [(b"cookie", f"{access_cookie_name()}={access}".encode())] if access else []
    headers = headers if headers is not None else [ORIGIN, *cookie]
    if not any(name == b"host" for name, _ in headers):
        headers = [HOST, *headers]
    return WebsocketCommunicator(
        app or JWTCookieAuthMiddlewareStack(WhoAmI.as_asgi()), "/ws/whoami/", headers=headers
    )


async def whoami(ws: WebsocketCommunicator) -> dict[str, Any]:
    await ws.send_json_to({})
    answer: dict[str, Any] = await ws.receive_json_from(timeout=5)
    return answer


async def closed_with(ws: WebsocketCommunicator) -> tuple[int, str]:
    message = await ws.receive_output(timeout=5)
    assert message["type"] == "websocket.close", message
    return message["code"], message.get("reason", "")


# --- The handshake ----------------------------------------------------------------


def test_access_cookie_authenticates_the_socket(user: Any) -> None:
    access = new_session(user)
    sid = tokens.decode(access, tokens.ACCESS).sid

    async def scenario() -> None:
        ws = socket(access)
        assert (await ws.connect(timeout=10))[0]
        assert await whoami(ws) == {"user": str(user.pk), "sid": sid}
        await ws.disconnect()

    run(scenario)


def test_prefixed_cookie_name_is_the_one_read(user: Any, settings: Any) -> None:
    """``__Host-jwt_access`` on the wire; the bare configured name is never read."""
    assert access_cookie_name().startswith("__Host-")
    access = new_session(user)
    bare = [ORIGIN, (b"cookie", f"jwt_access={access}".encode())]

    async def scenario() -> None:
        ws = socket(None, headers=bare)
        assert (await ws.connect(timeout=10))[0]
        assert (await whoami(ws))["user"] is None
        await ws.disconnect()

    run(scenario)


@pytest.mark.parametrize(
    "where",
    ["query", "authorization", "protocol"],
)
def test_a_token_anywhere_but_the_cookie_is_ignored(user: Any, where: str) -> None:
    access = new_session(user)
    path, headers = "/ws/whoami/", [HOST, ORIGIN]
    if where == "query":
        path = f"/ws/whoami/?token={access}"
    elif where == "authorization":
        headers.append((b"authorization", f"Bearer {access}".encode()))
    else:
        headers.append((b"sec-websocket-protocol", access.encode()))

    async def scenario() -> None:
        ws = WebsocketCommunicator(
            JWTCookieAuthMiddlewareStack(WhoAmI.as_asgi()), path, headers=headers
        )
        assert (await ws.connect(timeout=10))[0]
        assert (await whoami(ws))["user"] is None
        await ws.disconnect()

    run(scenario)


@pytest.mark.parametrize("origin", [b"https://evil.example", None])
def test_foreign_or_missing_origin_is_refused_with_403(user: Any, origin: bytes | None) -> None:
    cookie = (b"cookie", f"{access_cookie_name()}={new_session(user)}".encode())
    headers = [cookie] if origin is None else [(b"origin", origin), cookie]

    async def scenario() -> None:
        ws = socket(None, headers=headers)
        connected, code = await ws.connect()
        assert not connected
        assert code == 1000  # the denier's close before accept: HTTP 403 on the wire

    run(scenario)


def test_without_the_validator_a_foreign_origin_gets_an_anonymous_socket(user: Any) -> None:
    """The middleware checks the Origin itself: leaving out the validator is not CSWSH."""
    cookie = (b"cookie", f"{access_cookie_name()}={new_session(user)}".encode())
    bare = JWTCookieAuthMiddleware(WhoAmI.as_asgi())

    async def scenario() -> None:
        foreign = socket(None, app=bare, headers=[(b"origin", b"https://evil.example"), cookie])
        assert (await foreign.connect(timeout=10))[0]
        assert (await whoami(foreign))["user"] is None
        await foreign.disconnect()
        own = socket(None, app=bare, headers=[ORIGIN, cookie])
        assert (await own.connect(timeout=10))[0]
        assert (await whoami(own))["user"] == str(user.pk)
        await own.disconnect()

    run(scenario)


def test_explicit_allowed_origins(user: Any) -> None:
    cookie = (b"cookie", f"{access_cookie_name()}={new_session(user)}".encode())
    app = JWTCookieAuthMiddlewareStack(WhoAmI.as_asgi(), ["https://app.example.com"])

    async def scenario() -> None:
        allowed = socket(None, app=app, headers=[(b"origin", b"https://app.example.com"), cookie])
        assert (await allowed.connect(timeout=10))[0]
        assert (await whoami(allowed))["user"] == str(user.pk)
        await allowed.disconnect()
        own_host = socket(None, app=app, headers=[ORIGIN, cookie])
        assert not (await own_host.connect())[0]

    run(scenario)


# The review's hostile origins (/tmp/reports/newuser.md, bug 1), against a site served
# at localhost:8123: (ALLOWED_HOSTS, the handshake's scheme, its Origin or None).
HOSTILE_ORIGINS = [
    (["*"], "ws", b"https://evil.example"),
    (["*"], "ws", None),
    (["*"], "ws", b"null"),
    (["*"], "ws", b"http://127.0.0.1.evil.example"),
    (["*"], "ws", b"http://localhost@evil.example"),
    (["*"], "ws", b"http://localhost:8123.evil.example"),
    ([".localhost", "127.0.0.1"], "ws", b"http://evil.localhost:8123"),
    ([".localhost", "127.0.0.1"], "ws", b"https://usercontent.localhost"),
    ([".localhost", "127.0.0.1"], "ws", b"http://localhost:9999"),
    (["localhost"], "ws", b"http://localhost:9999"),
    (["localhost"], "ws", b"http://localhost"),
    (["localhost"], "ws", b"https://localhost:8123"),
    (["localhost"], "wss", b"http://localhost:8123"),
    (["localhost"], "ws", b"http://localhost:8123, http://localhost:8123"),
]


def handshake(app: Any, scheme: str, origin: bytes | None, access: str) -> WebsocketCommunicator:
    """A handshake to localhost:8123 over ``scheme`` (ws or wss), as a server gives it."""
    headers = [(b"host", b"localhost:8123")]
    if origin is not None:
        headers.append((b"origin", origin))
    headers.append((b"cookie", f"{access_cookie_name()}={access}".encode()))
    ws = WebsocketCommunicator(app, "/ws/whoami/", headers=headers)
    # The application has not started yet: it will see the scope a server builds.
    ws.scope.update(scheme=scheme, server=("127.0.0.1", 8123))
    return ws


async def who_connects(ws: WebsocketCommunicator) -> str | None:
    """``"refused"`` (HTTP 403), or the socket's user pk (None: anonymous)."""
    if not (await ws.connect(timeout=10))[0]:
        return "refused"
    user: str | None = (await whoami(ws))["user"]
    await ws.disconnect()
    return user


@pytest.mark.parametrize(("allowed_hosts", "scheme", "origin"), HOSTILE_ORIGINS)
def test_a_hostile_origin_never_gets_the_users_socket(
    user: Any, settings: Any, allowed_hosts: list[str], scheme: str, origin: bytes | None
) -> None:
    """Refused by the stack's validator (403) or anonymous, never authenticated; the
    middleware alone (without the validator) makes it anonymous."""
    settings.ALLOWED_HOSTS = allowed_hosts
    access = new_session(user)

    async def scenario() -> None:
        stack = JWTCookieAuthMiddlewareStack(WhoAmI.as_asgi())
        assert await who_connects(handshake(stack, scheme, origin, access)) in ("refused", None)
        bare = JWTCookieAuthMiddleware(WhoAmI.as_asgi())
        assert await who_connects(handshake(bare, scheme, origin, access)) is None

    run(scenario)


@pytest.mark.parametrize(
    ("allowed_hosts", "scheme", "origin", "headers"),
    [
        (["localhost"], "ws", b"http://localhost:8123", {}),
        (["*"], "ws", b"http://localhost:8123", {}),
        ([".localhost"], "wss", b"https://localhost:8123", {}),
        # TLS ends at a proxy that says so (SECURE_PROXY_SSL_HEADER, set below).
        (["localhost"], "ws", b"https://localhost:8123", {"x-forwarded-proto": b"https"}),
        # CSRF_TRUSTED_ORIGINS (set below): exactly, and its subdomain rule.
        ([".example.com", "localhost"], "ws", b"https://app.example.com", {}),
        ([".example.com", "localhost"], "ws", b"https://a.trusted.example.com", {}),
    ],
)
def test_the_sites_own_or_a_trusted_origin_is_authenticated(
    user: Any,
    settings: Any,
    allowed_hosts: list[str],
    scheme: str,
    origin: bytes,
    headers: dict[str, bytes],
) -> None:
    settings.ALLOWED_HOSTS = allowed_hosts
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example.com", "https://*.trusted.example.com"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    access = new_session(user)

    async def scenario() -> None:
        for app in (
            JWTCookieAuthMiddlewareStack(WhoAmI.as_asgi()),
            JWTCookieAuthMiddleware(WhoAmI.as_asgi()),
        ):
            ws = handshake(app, scheme, origin, access)
            ws.scope["headers"] += [(name.encode(), value) for name, value in headers.items()]
            assert await who_connects(ws) == str(user.pk)

    run(scenario)


def test_a_trusted_origin_of_another_host_needs_it_in_allowed_hosts_for_the_stack(
    user: Any, settings: Any
) -> None:
    """The stack's validator compares host names with ALLOWED_HOSTS (403); the
    middleware alone accepts the CSRF_TRUSTED_ORIGINS entry."""
    settings.ALLOWED_HOSTS = ["localhost"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example.com"]
    access = new_session(user)
    origin = b"https://app.example.com"

    async def scenario() -> None:
        stack = JWTCookieAuthMiddlewareStack(WhoAmI.as_asgi())
        assert await who_connects(handshake(stack, "ws", origin, access)) == "refused"
        bare = JWTCookieAuthMiddleware(WhoAmI.as_asgi())
        assert await who_connects(handshake(bare, "ws", origin, access)) == str(user.pk)

    run(scenario)


def test_duplicated_access_cookie_is_anonymous(user: Any) -> None:
    """Cookie tossing: a second same-named cookie makes the socket anonymous."""
    name = access_cookie_name()
    raw = f"{name}={new_session(user)}; {name}={new_session(user)}"

    async def scenario() -> None:
        ws = socket(None, headers=[ORIGIN, (b"cookie", raw.encode())])
        assert (await ws.connect(timeout=10))[0]
        assert (await whoami(ws))["user"] is None
        await ws.disconnect()

    run(scenario)


def test_revoked_or_expired_cookie_is_anonymous(user: Any, clock: FakeClock) -> None:
    revoked = new_session(user)
    revoke_session(tokens.decode(revoked, tokens.ACCESS).sid, RevokeReason.ADMIN)
    expired = new_session(user)
    clock.advance(minutes=30)

    async def scenario() -> None:
        for access in (revoked, expired, "not-a-jwt"):
            ws = socket(access)
            assert (await ws.connect(timeout=10))[0]
            assert (await whoami(ws))["user"] is None
            await ws.disconnect()

    run(scenario)


def test_no_channel_layer_is_refused_loudly(user: Any, settings: Any) -> None:
    del settings.CHANNEL_LAYERS
    access = new_session(user)

    async def scenario() -> None:
        ws = socket(access)
        with pytest.raises(ImproperlyConfigured, match="CHANNEL_LAYERS"):
            await ws.connect()

    run(scenario)


# --- Revocation reaches the open socket -------------------------------------------


#: The test's clock, for the path that must move it (reuse after the grace period).
CLOCK: list[FakeClock] = []


def do_reuse_detected(victim: Any, device: Device, other_device: Device) -> None:
    """A consumed refresh token replayed after the grace period revokes the family."""
    thief = Client()
    thief.cookies[refresh_cookie_name()] = device.refresh
    assert thief.post(reverse("jwt_cookie_auth:refresh")).status_code == 200
    CLOCK[0].advance(seconds=app_settings.ROTATION_GRACE_PERIOD.total_seconds() + 1)
    replay = Client()
    replay.cookies[refresh_cookie_name()] = device.refresh
    assert replay.post(reverse("jwt_cookie_auth:refresh")).status_code == 401


def do_admin_revokes_the_session_row(victim: Any, device: Device, other_device: Device) -> None:
    client = Client()
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    response = client.post(
        reverse("admin:jwt_cookie_auth_loginsession_changelist"),
        {"action": "revoke_selected", "_selected_action": [device.session_id], "index": "0"},
    )
    assert response.status_code == 302, response.content


def do_django_logout(victim: Any, device: Device, other_device: Device) -> None:
    """django.contrib.auth.logout() (the admin's Log out) with the JWT cookies."""
    victim.is_staff = True  # the admin's views are for staff
    victim.save()
    assert device.client.post(reverse("admin:logout")).status_code == 200


def do_password_written_without_save(victim: Any, device: Device, other_device: Device) -> None:
    """The session is revoked (password binding) when its cookies are next used."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    get_user_model()._default_manager.filter(pk=victim.pk).update(
        password=make_password("changed elsewhere")
    )
    assert device.client.get(reverse("me")).status_code == 401


ALL_PATHS = {
    **PATHS,
    "reuse_detected": (do_reuse_detected, RevokeReason.REUSE_DETECTED, False),
    "admin_session_row": (do_admin_revokes_the_session_row, RevokeReason.ADMIN, False),
    "django_logout": (do_django_logout, RevokeReason.SESSION_LOGOUT, False),
    "password_binding": (do_password_written_without_save, RevokeReason.PASSWORD_CHANGE, False),
}


@pytest.mark.parametrize("path", list(ALL_PATHS))
def test_every_revocation_closes_the_sessions_sockets(
    user: Any, path: str, clock: FakeClock
) -> None:
    """Two sockets of the session close with 4401 and the reason; the other device's
    socket closes too exactly when the path ends every session of the user."""
    CLOCK[:] = [clock]
    action, reason, kills_other = ALL_PATHS[path]
    if path == "admin" and not admin.site.is_registered(get_user_model()):
        pytest.skip("no ModelAdmin registered for this user model (test_admin.py covers it)")
    device, other_device = log_in(user), log_in(user)
    bystander = new_session(make_user("carol"))

    async def scenario() -> None:
        sockets = [socket(device.access), socket(device.access)]
        other, unrelated = socket(other_device.access), socket(bystander)
        for ws in [*sockets, other, unrelated]:
            assert (await ws.connect(timeout=10))[0]
        await in_test_thread(lambda: action(user, device, other_device))
        for ws in sockets:
            assert await closed_with(ws) == (CLOSE_SESSION_REVOKED, reason.value)
        if kills_other:
            assert await closed_with(other) == (CLOSE_SESSION_REVOKED, reason.value)
        else:
            assert await whoami(other) == {"user": str(user.pk), "sid": other_device.session_id}
            await other.disconnect()
        assert (await whoami(unrelated))["user"] is not None
        await unrelated.disconnect()

    run(scenario)
    assert DISCONNECTS.count(CLOSE_SESSION_REVOKED) == (3 if kills_other else 2)


def test_bulk_force_logout_closes_every_users_sockets(db: None) -> None:
    """One ``jwt_force_logout`` of three users with two sessions each: six sockets close."""
    victims = [make_user(f"bulk{i}") for i in range(3)]
    accesses = [new_session(victim) for victim in victims for _ in range(2)]
    names = [victim.get_username() for victim in victims]

    async def scenario() -> None:
        sockets = [socket(access) for access in accesses]
        for ws in sockets:
            assert (await ws.connect(timeout=10))[0]
        await in_test_thread(lambda: call_command("jwt_force_logout", *names, stdout=StringIO()))
        for ws in sockets:
            assert await closed_with(ws) == (CLOSE_SESSION_REVOKED, "command")

    run(scenario)


def test_a_rolled_back_revocation_closes_nothing(user: Any) -> None:
    """The close is sent on commit: a socket closed before it could reconnect for good."""
    device = log_in(user)

    def revoke_then_roll_back() -> None:
        with transaction.atomic():
            revoke_session(device.session_id, RevokeReason.ADMIN)
            transaction.set_rollback(True)

    async def scenario() -> None:
        ws = socket(device.access)
        assert (await ws.connect(timeout=10))[0]
        await in_test_thread(revoke_then_roll_back)
        assert (await whoami(ws))["sid"] == device.session_id
        await ws.disconnect()

    run(scenario)


def test_consumer_messages_after_the_close_are_dropped(user: Any) -> None:
    device = log_in(user)

    class Chatty(WhoAmI):
        async def disconnect(self, code: int | None) -> None:
            # A consumer that answers a disconnect: nothing of it reaches the client.
            await self.send_json({"bye": True})
            DISCONNECTS.append(code)

    async def scenario() -> None:
        ws = socket(device.access, app=JWTCookieAuthMiddlewareStack(Chatty.as_asgi()))
        assert (await ws.connect(timeout=10))[0]
        await in_test_thread(lambda: device.client.post(reverse("jwt_cookie_auth:logout")))
        assert await closed_with(ws) == (CLOSE_SESSION_REVOKED, "logout")
        await ws.wait(timeout=1)
        assert await ws.receive_nothing(timeout=0.2)

    run(scenario)
    assert DISCONNECTS == [CLOSE_SESSION_REVOKED]


# --- Expiry -------------------------------------------------------------------------


def test_socket_closes_when_its_access_token_expires(
    user: Any, clock: FakeClock, settings: Any
) -> None:
    settings.JWT_COOKIE_AUTH = {
        "ACCESS_TOKEN_LIFETIME": timedelta(minutes=5),
        "LEEWAY": timedelta(0),
    }
    access = new_session(user)
    # 0.5 s of real time left on the token.
    clock.advance(minutes=5, seconds=-1)
    clock.current += timedelta(milliseconds=500)

    async def scenario() -> None:
        ws = socket(access)
        assert (await ws.connect(timeout=10))[0]
        assert (await whoami(ws))["user"] == str(user.pk)
        assert await closed_with(ws) == (CLOSE_ACCESS_EXPIRED, "access_expired")
        await ws.wait(timeout=1)

    run(scenario)
    assert DISCONNECTS == [CLOSE_ACCESS_EXPIRED]


def test_leeway_extends_the_socket_like_it_extends_the_token(
    user: Any, clock: FakeClock, settings: Any
) -> None:
    settings.JWT_COOKIE_AUTH = {"LEEWAY": timedelta(seconds=10)}
    access = new_session(user)
    clock.advance(minutes=5, seconds=9)  # past exp, within the leeway: 1 s left

    async def scenario() -> None:
        ws = socket(access)
        assert (await ws.connect(timeout=10))[0]
        assert await ws.receive_nothing(timeout=0.5)
        assert await closed_with(ws) == (CLOSE_ACCESS_EXPIRED, "access_expired")

    run(scenario)


# --- A layer that fails -------------------------------------------------------------


class LosingLayer:
    """The in-memory layer, but it loses every group message and its receive fails once
    ``broken`` is set: channels_redis under load (a read timeout after the pop)."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.broken = asyncio.Event()
        self.failed = 0

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        return None

    async def receive(self, channel: str) -> dict[str, Any]:
        if not self.failed:
            await self.broken.wait()
            self.failed += 1
            raise ConnectionError("lost the connection mid-read")
        message: dict[str, Any] = await self.real.receive(channel)
        return message

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_a_layer_error_makes_the_socket_ask_the_store(
    user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The revocation message was lost; the listener's error check closes the socket."""
    from channels.layers import get_channel_layer

    from jwt_cookie_auth.contrib import channels as contrib

    layer = LosingLayer(get_channel_layer())
    monkeypatch.setattr(contrib, "get_channel_layer", lambda: layer)
    monkeypatch.setattr(contrib, "LISTEN_RETRY_SECONDS", 0.01)
    device, other = log_in(user), log_in(user)

    async def scenario() -> None:
        revoked, alive = socket(device.access), socket(other.access)
        for ws in (revoked, alive):
            assert (await ws.connect(timeout=10))[0]
        await in_test_thread(lambda: revoke_session(device.session_id, RevokeReason.ADMIN))
        assert await revoked.receive_nothing(timeout=0.3)  # the message was lost
        layer.broken.set()
        assert await closed_with(revoked) == (CLOSE_SESSION_REVOKED, "admin")
        assert (await whoami(alive))["sid"] == other.session_id  # a live session stays
        await alive.disconnect()

    run(scenario)


def test_the_recheck_ends_a_socket_whose_user_was_deactivated_without_a_signal(
    user: Any,
) -> None:
    """queryset.update(is_active=False) sends nothing: HTTP refuses the next request
    (identity reloads the user), and the socket's re-check must refuse it too."""
    app = JWTCookieAuthMiddlewareStack(WhoAmI.as_asgi(), recheck_seconds=0.2)
    device = log_in(user)

    def deactivate_and_ask_over_http() -> int:
        get_user_model()._default_manager.filter(pk=user.pk).update(is_active=False)
        client = Client()
        client.cookies[access_cookie_name()] = device.access
        return client.get(reverse("me")).status_code

    async def scenario() -> None:
        ws = socket(device.access, app=app)
        assert (await ws.connect(timeout=10))[0]
        assert await in_test_thread(deactivate_and_ask_over_http) == 401
        assert await closed_with(ws) == (CLOSE_SESSION_REVOKED, "unknown_user")

    run(scenario)


def test_the_recheck_ends_a_socket_whose_password_was_written_without_save(user: Any) -> None:
    """No HTTP request comes in to notice the password: the re-check revokes the session."""
    from django.contrib.auth.hashers import make_password

    app = JWTCookieAuthMiddlewareStack(WhoAmI.as_asgi(), recheck_seconds=0.2)
    device = log_in(user)

    async def scenario() -> None:
        ws = socket(device.access, app=app)
        assert (await ws.connect(timeout=10))[0]
        await in_test_thread(
            lambda: (
                get_user_model()
                ._default_manager.filter(pk=user.pk)
                .update(password=make_password("another-pass-123"))
            )
        )
        assert await closed_with(ws) == (CLOSE_SESSION_REVOKED, "password_change")
        assert await in_test_thread(lambda: is_session_revoked(device.session_id))

    run(scenario)


# --- System checks ------------------------------------------------------------------


def check_ids() -> list[str]:
    from django.core import checks

    return [m.id for m in checks.run_checks(tags=[checks.Tags.security]) if m.id]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"CHANNEL_LAYERS": None}, set()),  # Channels installed, not used
        ({"ASGI_APPLICATION": "x.asgi.application", "CHANNEL_LAYERS": None}, {"W130"}),
        ({"DEBUG": False}, {"W131"}),
        ({"DEBUG": True}, set()),
        (
            {
                "DEBUG": False,
                "CHANNEL_LAYERS": {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer"}},
            },
            set(),
        ),
    ],
)
def test_channel_layer_checks(settings: Any, changes: dict[str, Any], expected: set[str]) -> None:
    for name, value in changes.items():
        if value is None:
            delattr(settings, name)
        else:
            setattr(settings, name, value)
    found = {i.removeprefix("jwt_cookie_auth.") for i in check_ids()}
    assert found & {"W130", "W131"} == expected


class DroppingLayer:
    """The in-memory layer, losing every group message (and nothing else)."""

    def __init__(self, real: Any) -> None:
        self.real = real

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_the_periodic_recheck_closes_a_socket_whose_message_was_lost(
    user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from channels.layers import get_channel_layer

    from jwt_cookie_auth.contrib import channels as contrib

    layer = DroppingLayer(get_channel_layer())
    monkeypatch.setattr(contrib, "get_channel_layer", lambda: layer)
    app = JWTCookieAuthMiddlewareStack(WhoAmI.as_asgi(), recheck_seconds=0.2)
    device, other = log_in(user), log_in(user)

    async def scenario() -> None:
        revoked, alive = socket(device.access, app=app), socket(other.access, app=app)
        for ws in (revoked, alive):
            assert (await ws.connect(timeout=10))[0]
        await in_test_thread(lambda: revoke_session(device.session_id, RevokeReason.ADMIN))
        assert await closed_with(revoked) == (CLOSE_SESSION_REVOKED, "admin")
        assert await alive.receive_nothing(timeout=0.5)  # rechecked, and still live
        assert (await whoami(alive))["sid"] == other.session_id
        await alive.disconnect()

    run(scenario)


def test_a_message_lost_right_after_the_handshake_closes_the_socket_within_a_second(
    user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Default re-check interval (30 s): the first check comes EARLY_RECHECK_SECONDS
    after the handshake, so a revocation the layer lost then still closes the socket."""
    from channels.layers import get_channel_layer

    from jwt_cookie_auth.contrib import channels as contrib

    layer = DroppingLayer(get_channel_layer())
    monkeypatch.setattr(contrib, "get_channel_layer", lambda: layer)
    device = log_in(user)

    async def scenario() -> None:
        ws = socket(device.access)  # the documented stack, default intervals
        assert (await ws.connect(timeout=10))[0]
        await in_test_thread(lambda: revoke_session(device.session_id, RevokeReason.ADMIN))
        assert await closed_with(ws) == (CLOSE_SESSION_REVOKED, "admin")

    run(scenario)


#: How long ``HangingLayer.group_send`` waits: "never" for a logout. On code without
#: the bound, the logout waits this long (and the test then fails).
HANG_SECONDS = 30.0


class HangingLayer:
    """The in-memory layer, but ``group_send`` never answers: a Redis that accepts
    the connection and then says nothing (5.1 s per logout in the review)."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.sends = 0
        self.cancelled = 0

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        self.sends += 1
        try:
            await asyncio.sleep(HANG_SECONDS)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_a_hung_layer_does_not_hold_the_logout(
    user: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The logout answers 204 once the notice's bound (0.5 s) is up, the stuck send is
    abandoned, and the socket still closes, at its next re-check."""
    import logging

    from channels.layers import get_channel_layer

    from jwt_cookie_auth.contrib import channels as contrib

    layer = HangingLayer(get_channel_layer())
    monkeypatch.setattr(contrib, "get_channel_layer", lambda: layer)
    app = JWTCookieAuthMiddlewareStack(WhoAmI.as_asgi(), recheck_seconds=0.2)
    device = log_in(user)

    async def scenario() -> None:
        ws = socket(device.access, app=app)
        assert (await ws.connect(timeout=10))[0]
        response = await in_test_thread(
            lambda: device.client.post(reverse("jwt_cookie_auth:logout"))
        )
        assert response.status_code == 204
        assert (layer.sends, layer.cancelled) == (1, 1)  # given up, not completed
        assert await closed_with(ws) == (CLOSE_SESSION_REVOKED, "logout")

    with caplog.at_level(logging.ERROR, logger="jwt_cookie_auth"):
        run(scenario)
    assert any("did not take the revocation notice" in r.getMessage() for r in caplog.records)


def test_a_hung_layer_does_not_hold_a_logout_outside_any_event_loop(
    user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A WSGI worker: no event loop anywhere; the logout still answers after the bound."""
    from channels.layers import get_channel_layer

    from jwt_cookie_auth.contrib import channels as contrib

    layer = HangingLayer(get_channel_layer())
    monkeypatch.setattr(contrib, "get_channel_layer", lambda: layer)
    device = log_in(user)
    with committed():
        response = device.client.post(reverse("jwt_cookie_auth:logout"))
    assert response.status_code == 204
    assert (layer.sends, layer.cancelled) == (1, 1)
    assert is_session_revoked(device.session_id)  # the revocation itself held
