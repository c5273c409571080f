"""Let the demo's cross-site front ends embed it in an ``<iframe>`` (and nobody else).

Replaces Django's ``XFrameOptionsMiddleware`` in the cross-site mode: ``X-Frame-Options``
can only say DENY or SAMEORIGIN, while ``Content-Security-Policy: frame-ancestors``
names the sites allowed to frame the pages (clickjacking protection stays on for every
other site). Django 5.2 has no CSP middleware, hence this one header.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase


class FrameAncestorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        ancestors = " ".join(["'self'", *settings.DEMO_FRAME_ANCESTORS])
        response.headers.setdefault("Content-Security-Policy", f"frame-ancestors {ancestors}")
        return response
