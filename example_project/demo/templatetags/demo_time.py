"""One time format and zone on every demo page: ``2026-11-30 18:40:12 UTC``.

The SPA's JavaScript (``static/demo/time.js``) writes the same text, whatever the
browser's locale and zone.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django import template
from django.utils import timezone as django_timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


def _utc(value: datetime) -> datetime:
    if django_timezone.is_naive(value):
        # USE_TZ=False: Django stores local times in TIME_ZONE.
        value = django_timezone.make_aware(value)
    return value.astimezone(UTC)


@register.filter
def utc_time(value: datetime | None) -> SafeString | str:
    """``<time datetime="ISO">YYYY-MM-DD HH:MM:SS UTC</time>``, or an em dash for None."""
    if value is None:
        return "—"
    moment = _utc(value)
    return format_html(
        '<time datetime="{}">{} UTC</time>',
        moment.isoformat().replace("+00:00", "Z"),
        moment.strftime("%Y-%m-%d %H:%M:%S"),
    )
