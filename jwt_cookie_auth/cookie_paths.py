"""Which URLs a cookie's ``Path`` lets the browser send it to.

A browser sends a cookie only to URLs its ``Path`` attribute matches (RFC 6265
§5.1.4), so a view outside ``REFRESH_COOKIE_PATH`` never sees the refresh cookie.
Checks E051 to E053 use this for the views that read it, and ``logout`` uses it to know
when it cannot see a session it was asked to end.
"""

from __future__ import annotations

from jwt_cookie_auth.conf import app_settings


def path_matches(request_path: str, cookie_path: str) -> bool:
    """Return whether a cookie with ``cookie_path`` is sent to ``request_path``.

    RFC 6265 §5.1.4: equal, or a prefix that ends in ``/`` or is followed by ``/``
    (so ``/auth`` reaches ``/auth/refresh/`` but not ``/authors/``).
    """
    if not cookie_path.startswith("/"):
        cookie_path = "/"  # what browsers store for a missing or relative Path
    if request_path == cookie_path:
        return True
    return request_path.startswith(cookie_path) and (
        cookie_path.endswith("/") or request_path[len(cookie_path)] == "/"
    )


def sees_refresh_cookie(request_path: str) -> bool:
    """Return whether a browser sends the refresh cookie to ``request_path``."""
    return path_matches(request_path, app_settings.REFRESH_COOKIE_PATH)
