"""The little of RESP3 that ``local_revocation`` speaks: encode a command, parse replies.

Parsing is ``hiredis.Reader`` (the C parser redis-py itself uses when installed);
from hiredis 3.2 it returns push messages (``invalidate``) as ``hiredis.PushNotification``,
a ``list`` subclass, so a push is never mistaken for an array reply such as ``MGET``'s.
Error replies come back as exception instances, not raised. hiredis is optional (the
``redis`` extra installs it); without it ``hiredis_available()`` is False and the local
cache stays off (system check E166).
"""

from __future__ import annotations

from typing import Any

hiredis: Any
try:
    import hiredis
except ImportError:  # pragma: no cover - the redis extra installs it
    hiredis = None


class _NoPush(list):  # type: ignore[type-arg]
    """Stands in for ``hiredis.PushNotification`` when hiredis is missing or too old."""


Push: type[list[Any]] = getattr(hiredis, "PushNotification", _NoPush)


# What ``Reader.gets()`` raises on bytes that are not RESP (hiredis.ProtocolError):
# never from Redis itself, possibly from a non-conforming proxy or look-alike server.
ParseError: type[Exception] = getattr(hiredis, "HiredisError", ValueError)


def hiredis_available() -> bool:
    """Whether hiredis can tell pushes from replies (hiredis 3.2 or later)."""
    return Push is not _NoPush


def new_reader() -> Any:
    """A new parser: ``feed(bytes)``; ``gets()`` returns an item, or False for "more"."""
    return hiredis.Reader()


def encode_command(*args: bytes) -> bytes:
    """Return ``args`` as one RESP command (an array of bulk strings)."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(parts)
