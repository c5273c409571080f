"""WSGI and ASGI entry points of the async-vs-sync benchmark (``async_settings``)."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.async_settings")

if os.environ.get("BENCH_SERVER") == "asgi":
    from django.core.asgi import get_asgi_application

    application = get_asgi_application()
else:
    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()  # type: ignore[assignment]
