"""CHIPS: the ``Partitioned`` attribute on the package's cookies and Django's CSRF cookie.

An app shown in an ``<iframe>`` on another site (or called with credentials from
another site's page) sets third-party cookies. Browsers that block third-party
cookies (Chromium's setting, Safari, Firefox's strict mode) drop them, so the login
inside the embed never sticks. A ``Partitioned`` cookie (CHIPS, Cookies Having
Independent Partitioned State) is stored in a jar keyed by the top-level site and is
accepted there: the embed on ``https://shop.example`` gets its own cookies, which
the same app embedded on ``https://blog.example`` (or opened directly) never sees.
A partitioned cookie must be ``Secure``; for a cross-site embed it must also be
``SameSite=None`` (checks E121, E123). ``__Host-`` names are allowed and recommended
with it.

With ``COOKIE_PARTITIONED`` every cookie the package sets *and deletes* carries the
attribute (a deletion without it does not reach the partitioned cookie): the access,
refresh and device cookies. Django's CSRF cookie needs it too, or the embed cannot
pass the CSRF check of the login: ``PartitionedCsrfViewMiddleware`` replaces
``django.middleware.csrf.CsrfViewMiddleware`` for that (check E122).

Django 5.2 and 6.1 have no ``partitioned`` argument to ``set_cookie``, and Python's
``http.cookies.Morsel`` knows the attribute only from 3.14: ``partition()`` is the one
place that adds it, through ``Morsel``'s public interface.
"""

from __future__ import annotations

from collections.abc import Container
from http.cookies import Morsel

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.middleware.csrf import CsrfViewMiddleware

from jwt_cookie_auth.conf import app_settings

#: The attribute as it appears in the ``Set-Cookie`` header.
ATTRIBUTE = "Partitioned"


class PartitionedMorsel(Morsel[str]):
    """A cookie whose ``Set-Cookie`` value ends with ``; Partitioned``.

    Django's WSGI and ASGI handlers (and its test client) write each cookie with
    ``Morsel.output()``, which calls ``OutputString()``: the attribute is on the wire
    wherever the response goes.
    """

    def OutputString(self, attrs: Container[str] | None = None) -> str:
        line = super().OutputString(attrs)
        # Python 3.14+ writes the attribute itself when the "partitioned" key is set.
        return line if self.get("partitioned") else f"{line}; {ATTRIBUTE}"


def partition(response: HttpResponseBase, name: str) -> None:
    """Add ``Partitioned`` to the cookie ``name`` that ``response`` already sets.

    Call it after ``response.set_cookie(name, ...)``; a later ``set_cookie`` of the
    same name keeps the attribute (Python's cookie jar updates the existing Morsel).
    Raises ``KeyError`` when the response sets no cookie of that name. Idempotent.
    """
    morsel = response.cookies[name]
    if isinstance(morsel, PartitionedMorsel):
        return
    # Not morsel["partitioned"] = True: only Python 3.14+ accepts that key (gh-112713);
    # the subclass is one code path for every supported Python.
    marked = PartitionedMorsel()
    marked.set(morsel.key, morsel.value, morsel.coded_value)
    marked.update(morsel)
    # A Morsel assigned to the jar is stored as it is (BaseCookie.__setitem__).
    response.cookies[name] = marked


def partition_if_configured(response: HttpResponseBase, name: str) -> None:
    """``partition()`` the cookie ``name`` when ``COOKIE_PARTITIONED`` is on."""
    if app_settings.COOKIE_PARTITIONED is True:
        partition(response, name)


class PartitionedCsrfViewMiddleware(CsrfViewMiddleware):
    """Django's CSRF middleware; its cookie is ``Partitioned`` under ``COOKIE_PARTITIONED``.

    Put it in MIDDLEWARE in place of ``django.middleware.csrf.CsrfViewMiddleware``.
    The checks are Django's own; only the cookie changes. Without the attribute a
    browser that blocks third-party cookies drops the CSRF cookie in an embed, and
    every login there fails with "CSRF cookie not set". Django writes the cookie in
    its ``process_response`` (``get_token`` and ``rotate_token`` only mark it for
    writing), so this is the only place that sees it on every response; the
    package's ``JWTCookieMiddleware`` sits after CSRF in MIDDLEWARE and answers
    before it, too early. With the setting off it behaves exactly as Django's.
    """

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        response = super().process_response(request, response)
        if settings.CSRF_COOKIE_NAME in response.cookies:
            partition_if_configured(response, settings.CSRF_COOKIE_NAME)
        return response
