"""Why a user is no longer signed in: one sentence per refusal reason, for every page.

The server pages and the SPA show the same sentences. The server pages learn the
reason from the request whose token cookies the package refused
(``jwt_cookie_auth.request_auth.resolve(request).reason``, the value the refresh
401's JSON ``reason`` carries too) and pass it on as a Django message, because that
request is usually answered by a redirect to the login page, and the cookies are gone
by the next one. The SPA gets the reason in its client's ``logout`` event and reads
this table from the page (``json_script``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponseBase

from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from jwt_cookie_auth.request_auth import resolve

ENDED = "Your session has ended"

#: Reason -> sentence. Server reasons are jwt_cookie_auth.refusals values and the
#: RevokeReason values; "logout-all" and "revoked" are the SPA's own actions.
MESSAGES: dict[str, str] = {
    "expired": f"{ENDED} (it timed out). Log in again.",
    "absolute_lifetime": f"{ENDED} (it reached its maximum lifetime). Log in again.",
    "admin": f"{ENDED}: an administrator signed you out. Log in again.",
    "command": f"{ENDED}: an administrator signed you out. Log in again.",
    "password_change": f"{ENDED}: your password was changed. Log in again.",
    "reuse_detected": (
        f"{ENDED}: a stolen refresh token was replayed, so every token of this login "
        "was revoked. Log in again."
    ),
    "logout": "You logged out.",
    "logout_all": "You logged out everywhere.",
    "logout-all": "You logged out everywhere.",
    "revoked": "You revoked this browser's session.",
    "user_revoked": f"{ENDED}: it was revoked from another device. Log in again.",
    "deactivated": f"{ENDED}: your account was deactivated.",
    "user_deleted": f"{ENDED}: your account was deleted.",
    "superseded": f"{ENDED}: this browser logged in again.",
    "session_logout": "You logged out.",
    "session_login_other_user": f"{ENDED}: another user logged in in this browser.",
    "unknown_session": f"{ENDED}: it no longer exists. Log in again.",
    "unknown_user": f"{ENDED}: your account is inactive or gone. Log in again.",
}
FALLBACK = f"{ENDED}: your sign-in was no longer valid. Log in again."

#: Django message tag, so a page (and a test) can tell this note from other messages.
TAG = "signed-out"


def message_for(reason: str) -> str:
    return MESSAGES.get(reason, FALLBACK)


class SignedOutNoticeMiddleware:
    """Add "why you are signed out" to the next page of a refused browser navigation.

    Place after ``MessageMiddleware``. Only GET/HEAD navigations (``Accept`` names
    ``text/html``; ``fetch`` sends ``*/*``) that carried token cookies are looked at,
    and the cookies are resolved only if nothing resolved them before the view (the
    view usually does, through ``request.user``).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> None:
        if request.method not in ("GET", "HEAD"):
            return
        if "text/html" not in request.headers.get("Accept", ""):
            return
        if getattr(request.resolver_match, "namespace", "") == "jwt_cookie_auth":
            return
        if not {access_cookie_name(), refresh_cookie_name()} & request.COOKIES.keys():
            return
        # Before the view, so that the page it renders (or the login page it redirects
        # to) shows the notice.
        state = resolve(request)
        if state.clear_cookies and state.reason:
            messages.info(request, message_for(state.reason), extra_tags=TAG)
