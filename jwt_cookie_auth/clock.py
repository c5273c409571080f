"""The one source of the current time, so tests move a clock instead of sleeping."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return timezone.now()
