"""The demo's WebSocket: ``/ws/whoami/`` answers every message with who you are.

Authentication, the Origin check and the close on revocation (code 4401) or expiry
(4419) all come from ``jwt_cookie_auth.contrib.channels`` (see ``asgi.py``); the
consumer only reads ``scope["user"]`` and ``scope["jwt_claims"]``.
"""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.urls import path
from django.utils import timezone


class WhoAmIConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    async def connect(self) -> None:
        await self.accept()
        await self.send_json(self.whoami())

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        await self.send_json(self.whoami())

    def whoami(self) -> dict[str, Any]:
        user = self.scope["user"]
        claims = self.scope.get("jwt_claims")
        return {
            "user": user.get_username() if user.is_authenticated else None,
            "session_id": claims.sid if claims else None,
            "access_expires_at": claims.expires_at.isoformat() if claims else None,
            "server_time": timezone.now().isoformat(timespec="seconds"),
        }


websocket_urlpatterns = [path("ws/whoami/", WhoAmIConsumer.as_asgi())]
