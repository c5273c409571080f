"""Django Channels: WebSockets authenticated by the access cookie, closed on revocation.

The stack for ``asgi.py``::

    from jwt_cookie_auth.contrib.channels import JWTCookieAuthMiddlewareStack

    application = ProtocolTypeRouter({
        "http": django_asgi_app,
        "websocket": JWTCookieAuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
    })

Install with ``pip install django-jwt-cookie-auth[channels]`` and configure a channel
layer (``CHANNEL_LAYERS``; in production channels-redis's ``RedisPubSubChannelLayer``).

- **Handshake**: the access cookie (its wire name, ``__Host-`` and all) is verified
  like an HTTP request's: signature, revocation, owner, active user, password
  binding. ``scope["user"]`` is the user or ``AnonymousUser``, ``scope["jwt_claims"]``
  the verified ``Claims`` or None. A token in the URL or a header is never read: it
  would land in server and proxy logs. An expired access cookie is not renewed here
  (a handshake cannot rotate tokens safely): the client refreshes over HTTP and
  connects again.
- **Origin**: no CORS or CSRF check applies to a WebSocket handshake, and browsers
  attach the ``SameSite=Lax`` cookies to one from any same-site page (another port,
  scheme or subdomain), and ``SameSite=None`` ones from any site (cross-site
  WebSocket hijacking). The middleware uses the cookie only when the ``Origin`` is
  the handshake's own ``scheme://host[:port]`` or in ``CSRF_TRUSTED_ORIGINS``,
  compared as Django's CSRF middleware compares it (``jwt_cookie_auth.origin``), or
  matches an explicit ``allowed_origins``; any other Origin, or none, gets an
  anonymous socket. The stack also puts Channels' origin validator in front, which
  refuses (403) an Origin whose host is not in ``ALLOWED_HOSTS``.
- **Revocation**: every authenticated socket joins the channel-layer group of its
  session (``session_group``). ``session_revoked`` (every revocation path of the
  package sends it, bulk ones once per user) makes ``notify_revoked`` send to those
  groups after the transaction commits, and the middleware closes each socket with
  ``CLOSE_SESSION_REVOKED`` (4401) and the revocation reason as the close reason.
  The consumer gets ``websocket.disconnect`` with that code; anything it sends
  afterwards is dropped.
- **Expiry**: at the access token's ``exp`` (plus ``LEEWAY``) the socket is closed
  with ``CLOSE_ACCESS_EXPIRED`` (4419). A client renews by refreshing the cookie
  (``POST /auth/refresh/``) and connecting again: the cookie is HttpOnly, so script
  cannot hand a new token to an open socket, and a socket never outlives the token
  it was opened with.
- **A lost message** (Redis down; channels_redis's list-based layer can drop one,
  django/channels_redis#366): every socket also asks the revocation store itself
  every ``recheck_seconds`` (30 s; one cache ``get``), and after a layer error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from io import BytesIO
from typing import Any
from urllib.parse import urlparse

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.security.websocket import (
    AllowedHostsOriginValidator,
    OriginValidator,
)
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core import checks
from django.core.handlers.asgi import ASGIRequest
from django.db import transaction
from django.http import HttpRequest
from django.http.cookie import parse_cookie

from jwt_cookie_auth import clock, identity, refusals, revocation, tokens, verified_tokens
from jwt_cookie_auth.conf import app_settings
from jwt_cookie_auth.cookie_names import access_cookie_name
from jwt_cookie_auth.cookies import duplicated_token_cookies
from jwt_cookie_auth.origin import origin_verified

logger = logging.getLogger("jwt_cookie_auth")

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Close code of a socket whose session was revoked: log in again. The close reason
#: is the revocation reason (a ``RevokeReason`` value such as ``admin``).
CLOSE_SESSION_REVOKED = 4401
#: Close code of a socket whose access token expired: refresh the cookie, reconnect.
CLOSE_ACCESS_EXPIRED = 4419
#: The close reason sent with ``CLOSE_ACCESS_EXPIRED`` (the ``refusals`` value).
ACCESS_EXPIRED_REASON = "access_expired"
#: How often an open socket asks the revocation store itself (one cache ``get``), in
#: case the layer lost the message: the bound on a lost message's delay (seconds).
RECHECK_SECONDS = 30.0
#: The first of those checks, sooner: a revocation published while the layer's
#: subscription for a new socket is not yet active is heard by no one (seconds).
EARLY_RECHECK_SECONDS = 1.0
#: Pause after a channel-layer error before listening again (seconds).
LISTEN_RETRY_SECONDS = 0.5
#: How long a revocation waits for the channel layer to take its close notice
#: (seconds). It waits inside the revoking request, after the commit: a hung layer
#: would otherwise hold every logout (5 s and more). Past it the notice is dropped,
#: and each socket's re-check (``recheck_seconds``) closes it instead.
NOTIFY_TIMEOUT_SECONDS = 0.5
#: The channel-layer message type ``notify_revoked`` sends to a session's group.
REVOKED_MESSAGE = "jwt_cookie_auth.revoked"


def session_group(session_id: Any) -> str:
    """Return the channel-layer group of one session's sockets (ASCII, < 100 chars)."""
    return f"jwt_cookie_auth.session.{session_id}"


# --- Revocation: from any process to the sockets ------------------------------------


async def send_revoked(session_ids: Iterable[Any], reason: str) -> None:
    """Tell every socket of these sessions, in any process, to close (async)."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": REVOKED_MESSAGE, "reason": reason}
    # Concurrently: a bulk revocation costs about one round trip, not one per session.
    results = await asyncio.gather(
        *(layer.group_send(session_group(session_id), message) for session_id in session_ids),
        return_exceptions=True,
    )
    failures = [result for result in results if isinstance(result, BaseException)]
    if failures:
        # The revocation itself is done; each socket's re-check closes it, or expiry.
        logger.error(
            "Could not notify the sockets of %d of %d revoked sessions.",
            len(failures),
            len(results),
            exc_info=failures[0],
        )


async def _send_bounded(session_ids: list[Any], reason: str) -> None:
    """``send_revoked`` for at most ``NOTIFY_TIMEOUT_SECONDS``: it runs inside the
    revoking request (after its commit), and a hung layer must not hold the logout."""
    try:
        await asyncio.wait_for(send_revoked(session_ids, reason), NOTIFY_TIMEOUT_SECONDS)
    except TimeoutError:
        # The revocation itself is committed: each socket's periodic re-check
        # (recheck_seconds) closes it, or its access token's expiry.
        logger.error(
            "The channel layer did not take the revocation notice of %d sessions within "
            "%.1f s; their sockets close at their next re-check.",
            len(session_ids),
            NOTIFY_TIMEOUT_SECONDS,
        )


def _send_now(session_ids: list[Any], reason: str) -> None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    try:
        if loop is None:
            # A sync caller (a view thread, a command): under an ASGI server this hops
            # back to the server's loop, where an in-memory layer's sockets live.
            async_to_sync(_send_bounded)(session_ids, reason)
        else:
            # Called from inside an event loop (sync code run directly in a coroutine):
            # async_to_sync would refuse; the loop sends it.
            task = loop.create_task(_send_bounded(session_ids, reason))
            _pending.add(task)
            task.add_done_callback(_pending.discard)
    except Exception:
        # The revocation itself is done; each socket's re-check closes it, or expiry.
        logger.error(
            "Could not notify the sockets of %d revoked sessions.", len(session_ids), exc_info=True
        )


_pending: set[asyncio.Task[None]] = set()


def notify_revoked(
    sender: Any, *, session_ids: Sequence[Any], reason: Any = "", **kwargs: Any
) -> None:
    """``session_revoked`` receiver: close the sessions' sockets once the revocation commits.

    After the commit, not before: a socket closed earlier could reconnect while the
    database still says "live", and no message would ever close the new one.
    """
    if not session_ids or not getattr(settings, "CHANNEL_LAYERS", None):
        return  # No layer: a project that does not use Channels pays nothing.
    ids = [str(session_id) for session_id in session_ids]
    text = str(getattr(reason, "value", reason))
    transaction.on_commit(lambda: _send_now(ids, text), robust=True)


def ready() -> None:
    """Connect ``notify_revoked`` and register ``check_channel_layer``.

    ``AppConfig.ready`` calls it when Channels is installed, in every process.
    """
    from jwt_cookie_auth.signals import session_revoked

    session_revoked.connect(notify_revoked, dispatch_uid="jwt_cookie_auth.contrib.channels")
    checks.register(check_channel_layer, checks.Tags.security)


IN_MEMORY_LAYER = "channels.layers.InMemoryChannelLayer"


def check_channel_layer(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """W130: a Channels project without a channel layer; W131: an in-memory one in production."""
    layers = getattr(settings, "CHANNEL_LAYERS", None) or {}
    default = layers.get("default")
    if default is None:
        if not getattr(settings, "ASGI_APPLICATION", None):
            return []  # Channels is installed, not used.
        return [
            checks.Warning(
                "ASGI_APPLICATION is set but CHANNEL_LAYERS has no 'default' layer: a "
                "revoked session's WebSockets cannot be closed, and "
                "JWTCookieAuthMiddleware refuses to authenticate sockets.",
                hint="Set CHANNEL_LAYERS to channels_redis.pubsub.RedisPubSubChannelLayer "
                "(pip install django-jwt-cookie-auth[channels]).",
                id="jwt_cookie_auth.W130",
            )
        ]
    if default.get("BACKEND") == IN_MEMORY_LAYER and not settings.DEBUG:
        return [
            checks.Warning(
                "CHANNEL_LAYERS uses InMemoryChannelLayer: a revocation in another process "
                "(another worker, manage.py jwt_force_logout) does not reach open "
                "WebSockets at once; they close at their next re-check (every 30 s by "
                "default) if the revocation cache is shared between processes (else, at "
                "the latest, when their access token expires).",
                hint="Use channels_redis.pubsub.RedisPubSubChannelLayer in production.",
                id="jwt_cookie_auth.W131",
            )
        ]
    return []


# --- The handshake --------------------------------------------------------------------


def handshake_request(scope: Scope) -> HttpRequest:
    """Return the handshake as the ``HttpRequest`` Django would see (no body).

    ``ws``/``wss`` become ``http``/``https``, so ``is_secure()``, ``get_host()`` and
    ``SECURE_PROXY_SSL_HEADER`` mean what they mean for the site's HTTP requests.
    """
    scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
    return ASGIRequest({**scope, "type": "http", "method": "GET", "scheme": scheme}, BytesIO())


def origin_allowed(scope: Scope, allowed_origins: Sequence[str] | None) -> bool:
    """Return whether the handshake's ``Origin`` may carry the user's cookie.

    ``allowed_origins`` None: Django's CSRF ``Origin`` check (``origin.origin_verified``):
    the handshake's own ``scheme://host[:port]`` exactly, or ``CSRF_TRUSTED_ORIGINS``.
    A list: Channels' ``OriginValidator`` patterns, as the project wrote them.
    """
    if allowed_origins is None:
        return origin_verified(handshake_request(scope))
    origin = None
    for name, value in scope.get("headers", []):
        if name == b"origin":
            with contextlib.suppress(UnicodeDecodeError):
                origin = urlparse(value.decode("latin1"))
    return bool(OriginValidator(None, allowed_origins).valid_origin(origin))


def access_cookie(scope: Scope) -> str | None:
    """Return the handshake's access cookie, or None (also when it came twice)."""
    raw = "; ".join(
        value.decode("latin1") for name, value in scope.get("headers", []) if name == b"cookie"
    )
    if not raw:
        return None
    # The HTTP path's cookie-tossing rule, on a request built from the handshake.
    request = HttpRequest()
    request.META["HTTP_COOKIE"] = raw
    request.COOKIES = parse_cookie(raw)
    duplicated = duplicated_token_cookies(request)
    if duplicated:
        logger.warning(
            "Token cookie %s sent more than once on a WebSocket handshake: possible "
            "cookie tossing; the socket is anonymous.",
            ", ".join(duplicated),
        )
        return None
    return request.COOKIES.get(access_cookie_name())


def _authenticate_sync(token: str) -> tuple[Any, tokens.Claims] | None:
    try:
        return identity.authenticate_access_token(token)
    except tokens.TokenError as exc:
        logger.debug("WebSocket access cookie refused: %s", exc)
        return None


def _refusal_sync(claims: tokens.Claims) -> str | None:
    if revocation.is_session_revoked(claims.sid, owner=claims.sub):
        return revocation.refusal_reason(claims.sid, owner=claims.sub)
    # What an HTTP request checks after the revocation store (identity), so a socket
    # ends when the next request would be refused: a user deactivated or deleted with
    # queryset.update()/delete() and a password written without save() send no signal,
    # so only this re-check sees them. One user query per socket per re-check.
    user = identity.find_active_user(claims.sub)
    if user is None:
        return refusals.UNKNOWN_USER
    try:
        identity.check_password_binding(user, claims)  # revokes the session on a change
    except identity.SessionRevoked as refused:
        return refused.reason or refusals.REVOKED
    return None


async def _refusal(claims: tokens.Claims) -> str | None:
    """Return why the session is refused now (a ``refusals`` reason), or None if live."""
    reason: str | None = await database_sync_to_async(_refusal_sync)(claims)
    return reason


async def _authenticate(token: str) -> tuple[Any, tokens.Claims] | None:
    """Return ``(user, claims)`` for a live access token, or None (in a thread: SQL)."""
    found: tuple[Any, tokens.Claims] | None = await database_sync_to_async(_authenticate_sync)(
        token
    )
    return found


class JWTCookieAuthMiddleware:
    """ASGI middleware: authenticate a WebSocket from the access cookie; close it on revocation.

    The access cookie counts only from an allowed ``Origin`` (see ``origin_allowed``);
    any other handshake is anonymous. Use ``JWTCookieAuthMiddlewareStack``, which
    also puts Channels' origin validator in front. Other
    scope types pass through untouched. Raises ``ImproperlyConfigured`` on the first
    authenticated socket if no channel layer is configured: without one, revocation
    could not reach the socket.
    """

    def __init__(
        self,
        inner: ASGIApp,
        allowed_origins: Sequence[str] | None = None,
        recheck_seconds: float | None = RECHECK_SECONDS,
    ) -> None:
        self.inner = inner
        self.allowed_origins = allowed_origins
        self.recheck_seconds = recheck_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.inner(scope, receive, send)
            return
        token = access_cookie(scope)
        if token is not None and not origin_allowed(scope, self.allowed_origins):
            # Another port, scheme or subdomain of a same site gets the Lax cookies;
            # with SameSite=None any site does (cross-site WebSocket hijacking).
            origins = [value for name, value in scope.get("headers", []) if name == b"origin"]
            logger.warning(
                "WebSocket handshake with the access cookie from Origin %r, not this "
                "site's own nor an allowed one: the socket is anonymous.",
                origins[0] if origins else None,
            )
            token = None
        if token is None:
            await self.inner({**scope, "user": AnonymousUser(), "jwt_claims": None}, receive, send)
            return
        try:
            # Verified, but not yet checked against revocation: the group is joined
            # first, so a revocation that commits after the check is still heard.
            # Through the verified-token cache, so _authenticate's decode is a hit, not
            # a second signature check.
            unchecked = verified_tokens.decode(token, tokens.ACCESS)
        except tokens.TokenError as exc:
            logger.debug("WebSocket access cookie refused: %s", exc)
            await self.inner({**scope, "user": AnonymousUser(), "jwt_claims": None}, receive, send)
            return
        watch = SessionWatch(unchecked, receive, send, self.recheck_seconds)
        await watch.join()
        try:
            found = await _authenticate(token)
            if found is None:
                await watch.leave()
                await self.inner(
                    {**scope, "user": AnonymousUser(), "jwt_claims": None}, receive, send
                )
                return
            user, claims = found
            watch.start()
            await self.inner(
                {**scope, "user": user, "jwt_claims": claims}, watch.receive, watch.send
            )
        finally:
            await watch.leave()


def _no_layer_error() -> Exception:
    from django.core.exceptions import ImproperlyConfigured

    return ImproperlyConfigured(
        "jwt_cookie_auth.contrib.channels needs a channel layer: set CHANNEL_LAYERS "
        "(channels_redis.pubsub.RedisPubSubChannelLayer in production), so that a revoked "
        "session's sockets can be closed."
    )


class SessionWatch:
    """One authenticated socket: its session group, its expiry timer, its forced close."""

    def __init__(
        self,
        claims: tokens.Claims,
        receive: Receive,
        send: Send,
        recheck_seconds: float | None = RECHECK_SECONDS,
    ) -> None:
        self.claims = claims
        self.recheck_seconds = recheck_seconds
        self._receive = receive
        self._send = send
        self.layer = get_channel_layer()
        if self.layer is None:
            raise _no_layer_error()
        self.channel: str | None = None
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        self.app_closed = False
        self._tasks: list[asyncio.Task[Any]] = []
        self._pending_receive: asyncio.Future[Message] | None = None

    async def join(self) -> None:
        self.channel = await self.layer.new_channel()
        await self.layer.group_add(session_group(self.claims.sid), self.channel)

    def start(self) -> None:
        self._tasks = [
            asyncio.ensure_future(self._listen()),
            asyncio.ensure_future(self._expire()),
        ]
        if self.recheck_seconds:
            self._tasks.append(asyncio.ensure_future(self._recheck(self.recheck_seconds)))

    async def leave(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        if self._pending_receive is not None:
            self._pending_receive.cancel()
            self._pending_receive = None
        if self.channel is not None:
            channel, self.channel = self.channel, None
            try:
                await self.layer.group_discard(session_group(self.claims.sid), channel)
            except Exception:
                # The group forgets the channel at its group_expiry anyway.
                logger.warning("Could not leave a session's socket group.", exc_info=True)

    async def _listen(self) -> None:
        assert self.channel is not None
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except Exception:
                # A layer error (channels_redis: a read timeout under load) may have
                # swallowed our message: ask the store whether the session still lives.
                logger.warning("WebSocket revocation listener: layer error.", exc_info=True)
                reason = await _refusal(self.claims)
                if reason is not None:
                    await self.close(CLOSE_SESSION_REVOKED, reason)
                    return
                await asyncio.sleep(LISTEN_RETRY_SECONDS)
                continue
            if message.get("type") == REVOKED_MESSAGE:
                await self.close(CLOSE_SESSION_REVOKED, str(message.get("reason") or "revoked"))
                return

    async def _recheck(self, interval: float) -> None:
        # A safety net under the layer: channels_redis can drop a message when another
        # receive() in the process is cancelled mid-read (django/channels_redis#366,
        # django/channels#1683), e.g. while many sockets close at once. The first check
        # comes early: the pub/sub layer sends SUBSCRIBE without waiting for Redis to
        # confirm it, so a revocation published in the moment after the handshake can
        # reach no one (1 of 20 quick revocations in one loaded CI run); checking the
        # store EARLY_RECHECK_SECONDS after the handshake keeps such a socket's close
        # within the stated bound.
        delay = min(interval, EARLY_RECHECK_SECONDS)
        while True:
            await asyncio.sleep(delay)
            delay = interval
            reason = await _refusal(self.claims)
            if reason is not None:
                await self.close(CLOSE_SESSION_REVOKED, reason)
                return

    async def _expire(self) -> None:
        deadline = self.claims.exp + app_settings.LEEWAY.total_seconds()
        await asyncio.sleep(max(0.0, deadline - clock.timestamp(clock.now())))
        await self.close(CLOSE_ACCESS_EXPIRED, ACCESS_EXPIRED_REASON)

    async def close(self, code: int, reason: str) -> None:
        """Close the socket (once) and let the application see a disconnect."""
        if self.closed.is_set() or self.app_closed:
            return
        self.close_code = code
        self.closed.set()
        logger.info("Closing a WebSocket of session %s (%d %s).", self.claims.sid, code, reason)
        with contextlib.suppress(Exception):
            # The client may be gone already; the server then has nothing to close.
            await self._send({"type": "websocket.close", "code": code, "reason": reason})

    async def receive(self) -> Message:
        """The application's ``receive``: the client's messages, until a forced close."""
        if not self.closed.is_set():
            if self._pending_receive is None:
                self._pending_receive = asyncio.ensure_future(self._receive())
            closing: asyncio.Future[Any] = asyncio.ensure_future(self.closed.wait())
            waiting: set[asyncio.Future[Any]] = {self._pending_receive, closing}
            try:
                await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            finally:
                closing.cancel()
            if self._pending_receive.done() and not self.closed.is_set():
                received, self._pending_receive = self._pending_receive, None
                return received.result()
        return {"type": "websocket.disconnect", "code": self.close_code}

    async def send(self, message: Message) -> None:
        """The application's ``send``: dropped once the socket was closed for it."""
        if self.closed.is_set():
            logger.debug("Dropped %s sent after the socket was closed.", message.get("type"))
            return
        if message.get("type") == "websocket.close":
            self.app_closed = True
        await self._send(message)


# Named like Channels' AuthMiddlewareStack, which it replaces.
def JWTCookieAuthMiddlewareStack(
    inner: ASGIApp,
    allowed_origins: Sequence[str] | None = None,
    recheck_seconds: float | None = RECHECK_SECONDS,
) -> ASGIApp:
    """Return ``inner`` behind the Origin check and ``JWTCookieAuthMiddleware``.

    ``allowed_origins`` None (the default): the access cookie counts only when the
    ``Origin`` is the handshake's own ``scheme://host[:port]`` or in
    ``CSRF_TRUSTED_ORIGINS`` (Django's CSRF ``Origin`` check); any other Origin, or
    none, gets an anonymous socket, and Channels' ``AllowedHostsOriginValidator`` in
    front refuses (HTTP 403) one whose host name is not in ``ALLOWED_HOSTS``. A list
    (e.g. ``["https://app.example.com"]``, Channels' ``OriginValidator`` patterns;
    give scheme and port, a bare host name matches any): only those, others get 403
    (the handshake's own origin too, unless listed). ``recheck_seconds``: how often
    each socket also asks the revocation store itself (None: never), the bound on the
    delay of a revocation message the channel layer lost.
    """
    authenticated = JWTCookieAuthMiddleware(inner, allowed_origins, recheck_seconds)
    if allowed_origins is None:
        return AllowedHostsOriginValidator(authenticated)  # type: ignore[no-any-return]
    return OriginValidator(authenticated, allowed_origins)  # type: ignore[no-any-return]
