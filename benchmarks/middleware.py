"""Django's SessionMiddleware with the session engine chosen by URL prefix.

``SESSION_ENGINE`` is a global setting, so the two session variants (database and
cache engines) cannot share one project otherwise. This is Django's own middleware,
unchanged but for the ``SessionStore`` class it instantiates per request: requests under
``/session-cache/`` get the cache engine's store, every other request the database
engine's. Both stores are imported once, at startup.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.sessions.backends import cache as cache_engine
from django.contrib.sessions.backends import db as db_engine
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest

CACHE_PREFIX = "/session-cache/"


class PerPrefixSessionMiddleware(SessionMiddleware):
    def __init__(self, get_response: Any) -> None:
        super().__init__(get_response)
        self.db_store = db_engine.SessionStore
        self.cache_store = cache_engine.SessionStore

    def process_request(self, request: HttpRequest) -> None:
        # SessionMiddleware.process_request, with the store picked per request.
        store = self.cache_store if request.path_info.startswith(CACHE_PREFIX) else self.db_store
        request.session = store(request.COOKIES.get(settings.SESSION_COOKIE_NAME))
