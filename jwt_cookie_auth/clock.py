"""The one source of the current time, and the one place times change form.

Tests move a clock (``now``) instead of sleeping. Every datetime the package keeps,
compares or stores is in the form the project's database stores, which is what
Django's ``timezone.now()`` gives: an aware UTC datetime with ``USE_TZ = True``, a
naive local time in ``TIME_ZONE`` with ``USE_TZ = False``. Tokens carry integer
seconds since the epoch; ``timestamp`` and ``from_timestamp`` convert between the two,
reading a naive time in ``TIME_ZONE`` (``fold`` tells the repeated hour apart when
clocks fall back).

Lifetimes are elapsed time (``after``), never wall-clock arithmetic: with naive local
times, ``01:58 + 5 minutes`` on the night clocks fall back is ``02:03``, 65 minutes
later. The database keeps no ``fold``: a naive time stored in the repeated hour comes
back as one of the two (SQLite: the earlier, PostgreSQL: the later). Only that hour,
once a year, is ambiguous, as for all of a project's naive times; token ``exp`` and
``iat`` are exact integers whatever the database does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone


def now() -> datetime:
    """Return the current time as the database stores it (Django's ``timezone.now()``)."""
    return timezone.now()


#: True while ``jwt_cookie_auth.testing.frozen_clock`` holds the clock: the rotation
#: grace window, which production judges on the database's clock (``db_clock``), is
#: then judged on ``now()`` too, so a frozen test moves every expiry check at once.
database_follows_now = False


def aware(moment: datetime) -> datetime:
    """Return ``moment`` as an aware datetime; a naive one is local time in ``TIME_ZONE``."""
    if moment.utcoffset() is None:
        return timezone.make_aware(moment, timezone.get_default_timezone())
    return moment


def stored(moment: datetime) -> datetime:
    """Return an aware ``moment`` in the form the database stores (see ``now``)."""
    if settings.USE_TZ:
        return moment.astimezone(UTC)
    return timezone.make_naive(moment, timezone.get_default_timezone())


def timestamp(moment: datetime) -> float:
    """Return seconds since the epoch of ``moment``, aware or naive (see ``aware``)."""
    return aware(moment).timestamp()


def from_timestamp(seconds: float) -> datetime:
    """Return the datetime, in stored form, of ``seconds`` since the epoch (token claims)."""
    return stored(datetime.fromtimestamp(seconds, UTC))


def after(moment: datetime, delta: timedelta) -> datetime:
    """Return ``moment + delta`` in elapsed time (negative ``delta``: before), stored form."""
    if settings.USE_TZ and moment.tzinfo is UTC:
        return moment + delta  # what now() gives with USE_TZ: no conversion needed
    return stored(aware(moment).astimezone(UTC) + delta)


def seconds_until(moment: datetime) -> float:
    """Return the seconds from now until ``moment`` (negative once it has passed)."""
    return timestamp(moment) - timestamp(now())


def isoformat(moment: datetime) -> str:
    """Return ``moment`` as ISO 8601 in UTC with its offset, whatever ``USE_TZ`` says.

    JSON clients get an unambiguous instant (``2026-11-01T05:58:00+00:00``); a naive
    local time without an offset would be read as the client's own local time.
    """
    return aware(moment).astimezone(UTC).isoformat()
