"""Project hooks the tests configure: CUSTOM_CLAIMS callables and a login body hook."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

#: Every call of ``role_claims``: (user pk, session pk, request) as it was called.
CALLS: list[tuple[Any, Any, Any]] = []
#: User primary keys (as str) whose claims ``sized_claims`` makes too large.
OVERSIZED: set[str] = set()


def role_claims(user: Any, session: Any, request: HttpRequest | None) -> dict[str, Any]:
    CALLS.append((user.pk, session.pk, request))
    return {"role": "staff" if user.is_staff else "member", "tenant": {"id": 7}}


def sized_claims(user: Any, session: Any, request: HttpRequest | None) -> dict[str, Any]:
    """A role, plus 5000 bytes of permissions for the users in ``OVERSIZED``."""
    claims: dict[str, Any] = {"role": "member"}
    if str(user.pk) in OVERSIZED:
        claims["permissions"] = [f"app.permission_{n:04d}" for n in range(250)]
    return claims


def reserved_claims(user: Any, session: Any, request: HttpRequest | None) -> dict[str, Any]:
    return {"role": "member", "sub": "someone-else"}


def step_up_claims(user: Any, session: Any, request: HttpRequest | None) -> dict[str, Any]:
    return {"amr": ["mfa"]}


def unserialisable_claims(user: Any, session: Any, request: HttpRequest | None) -> dict[str, Any]:
    return {"joined": user}


def not_a_dict(user: Any, session: Any, request: HttpRequest | None) -> Any:
    return [("role", "member")]


def greeting_body(request: Any, user: Any, session: Any, body: dict[str, Any]) -> dict[str, Any]:
    return {
        **body,
        "greeting": f"hello {user.get_username()}",
        "same_session": body["session_id"] == str(session.pk),
    }


def body_not_a_dict(request: Any, user: Any, session: Any, body: dict[str, Any]) -> Any:
    return None


NOT_CALLABLE = "a string"
