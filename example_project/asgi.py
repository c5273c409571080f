"""ASGI entry point of the demo: Django for HTTP, Channels for ``/ws/whoami/``.

Run it with ``uvicorn example_project.asgi:application`` (``pip install -e ".[channels]"``
plus ``uvicorn`` and ``websockets``), then open http://localhost:8000/private/. The
WebSocket stack is the one the README documents: the Origin check first, then the
access cookie.
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")
# Before anything imports models: get_asgi_application() sets Django up.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from example_project.demo.consumers import websocket_urlpatterns  # noqa: E402
from jwt_cookie_auth.contrib.channels import JWTCookieAuthMiddlewareStack  # noqa: E402

application = ProtocolTypeRouter(
    {
        # The demo's static files, as runserver serves them (DEBUG only).
        "http": ASGIStaticFilesHandler(django_asgi_app) if settings.DEBUG else django_asgi_app,
        "websocket": JWTCookieAuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
    }
)
