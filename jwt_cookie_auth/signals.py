"""Signals sent by jwt_cookie_auth.

Django's own ``user_logged_in``, ``user_logged_out`` and ``user_login_failed`` are
sent too, so code written for session logins keeps working.
"""

from __future__ import annotations

from django.dispatch import Signal

#: A new login session (token family) started.
#: Arguments: ``user``, ``session`` (a ``LoginSession``), ``request``.
session_created = Signal()

#: One or more sessions of one user were revoked; their tokens die on the next request.
#: Arguments: ``user_id``, ``session_ids`` (list of UUIDs), ``reason`` (a
#: ``RevokeReason`` value), ``request`` (or ``None`` outside a request).
session_revoked = Signal()

#: A consumed refresh token came back after the grace period: the family was revoked.
#: Arguments: ``user_id``, ``session_id``, ``jti`` (of the replayed token), ``request``.
refresh_token_reused = Signal()
