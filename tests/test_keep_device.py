"""Keep this device after a password change (issue 10, item 7).

Saving a new password ends every session of the user. ``update_session_auth_hash``
(ours, or Django's own through its ``PasswordChangeView``) keeps the browser that made
the change logged in, while every other session stays ended.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

import jwt_cookie_auth
from jwt_cookie_auth import tokens
from jwt_cookie_auth.models import LoginSession, RevokeReason
from tests.conftest import PASSWORD, FakeClock, access_cookie, login, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.step_up_urls")]

NEW_PASSWORD = "a brand new passphrase 2026"


def change_password(client: Client, *, keep: bool) -> Any:
    return client.post(
        reverse("change_password"),
        {"password": NEW_PASSWORD, "keep": keep},
        content_type="application/json",
    )


def me(client: Client) -> Any:
    return client.get(reverse("me"))


def test_keep_this_device_ends_every_other_session(client: Client, user: Any) -> None:
    login(client, user)
    other = Client()
    login(other, user)
    old_sid = tokens.decode(access_cookie(client), tokens.ACCESS).sid

    response = change_password(client, keep=True)

    assert response.status_code == 200
    assert response.json() == {"changed": True, "kept": True}
    answer = me(client)
    assert answer.status_code == 200
    assert answer.json()["user"] == user.get_username()
    assert me(other).status_code == 401
    assert other.post(reverse("jwt_cookie_auth:refresh")).status_code == 401
    # The refresh works afterwards, and the session list shows one live session.
    assert client.post(reverse("jwt_cookie_auth:refresh")).status_code == 200
    assert me(client).status_code == 200
    live = client.get(reverse("jwt_cookie_auth:sessions")).json()
    rows = live["results"] if isinstance(live, dict) else live
    assert [row["current"] for row in rows] == [True]
    assert LoginSession.objects.get(pk=old_sid).revoke_reason == RevokeReason.SUPERSEDED


def test_without_the_call_every_session_ends(client: Client, user: Any) -> None:
    login(client, user)
    other = Client()
    login(other, user)
    assert change_password(client, keep=False).status_code == 200
    assert me(client).status_code == 401
    assert me(other).status_code == 401
    assert set(LoginSession.objects.values_list("revoke_reason", flat=True)) == {
        RevokeReason.PASSWORD_CHANGE
    }


def test_the_kept_session_carries_over_its_metadata(
    client: Client, user: Any, clock: FakeClock
) -> None:
    login(client, user, remember=False)
    old = LoginSession.objects.get()
    clock.advance(minutes=2)
    change_password(client, keep=True)
    new = LoginSession.objects.exclude(pk=old.pk).get()
    assert new.absolute_expires_at == old.absolute_expires_at  # never extended
    assert (new.persistent, new.auth_time, new.amr) == (False, old.auth_time, ["pwd"])
    claims = tokens.decode(access_cookie(client), tokens.ACCESS)
    assert claims.sid == str(new.pk)
    assert claims.payload["auth_time"] == tokens.timestamp(old.created_at)


def test_djangos_password_change_view_keeps_this_device_too(client: Client, user: Any) -> None:
    """django.contrib.auth.views.PasswordChangeView calls Django's update_session_auth_hash."""
    login(client, user)
    other = Client()
    login(other, user)
    response = client.post(
        reverse("django_pw_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302, response.content
    assert me(client).status_code == 200
    assert client.get(reverse("whoami")).json()["user"] == user.get_username()
    assert me(other).status_code == 401
    assert client.post(reverse("jwt_cookie_auth:refresh")).status_code == 200


def test_changing_someone_elses_password_keeps_nothing_of_theirs(
    client: Client, user: Any, other_user: Any
) -> None:
    login(client, user)
    victim = Client()
    login(victim, other_user)
    response = client.post(
        reverse("set_other"),
        {"pk": other_user.pk, "password": NEW_PASSWORD},
        content_type="application/json",
    )
    assert response.json() == {"kept": False}
    assert me(victim).status_code == 401
    assert me(client).status_code == 200  # the administrator's own session is untouched


def cookies_request(client: Client) -> Any:
    """A new request carrying the client's cookies, its token state resolved."""
    from jwt_cookie_auth.request_auth import resolve

    request = RequestFactory().get("/")
    request.COOKIES = {name: morsel.value for name, morsel in client.cookies.items()}
    resolve(request)
    return request


def test_a_session_is_kept_at_most_once(client: Client, user: Any) -> None:
    """A double submit: both requests authenticated before the save, one successor.

    A second call on the same request gives the same successor; the other request
    gets none and leaves the first one's successor alive.
    """
    login(client, user)
    first_request, second_request = cookies_request(client), cookies_request(client)
    user.set_password(NEW_PASSWORD)
    user.save()

    first = jwt_cookie_auth.update_session_auth_hash(first_request, user)
    again = jwt_cookie_auth.update_session_auth_hash(first_request, user)
    second = jwt_cookie_auth.update_session_auth_hash(second_request, user)

    assert first is not None
    assert again is first
    assert second is None
    assert LoginSession.objects.get(revoked_at=None).pk == first.session.pk


def test_replayed_cookies_of_the_old_session_keep_nothing(client: Client, user: Any) -> None:
    login(client, user)
    old_cookies = Client()
    old_cookies.cookies = client.cookies.__class__(client.cookies)
    change_password(client, keep=True)
    assert me(old_cookies).status_code == 401
    assert change_password(old_cookies, keep=True).status_code == 401


def test_password_written_without_save_still_ends_the_others(client: Client, user: Any) -> None:
    """The call revokes the other sessions itself: no signal is needed."""
    login(client, user)
    other = Client()
    login(other, user)
    from django.contrib.auth.hashers import make_password

    request = cookies_request(client)
    type(user)._default_manager.filter(pk=user.pk).update(password=make_password(NEW_PASSWORD))
    user.refresh_from_db()
    issued = jwt_cookie_auth.update_session_auth_hash(request, user)
    assert issued is not None
    assert me(other).status_code == 401
    holder = Client()
    from jwt_cookie_auth.cookie_names import access_cookie_name

    holder.cookies[access_cookie_name()] = issued.access
    assert me(holder).status_code == 200


def test_unrelated_user_is_unaffected(client: Client, user: Any) -> None:
    bob = make_user("carol")
    bob_client = Client()
    login(bob_client, bob)
    login(client, user)
    change_password(client, keep=True)
    assert me(bob_client).status_code == 200


def test_the_browsers_django_session_is_kept_too(client: Client, user: Any) -> None:
    """Logged in through Django's session as well: one call keeps both."""
    from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name

    client.force_login(user)
    login(client, user)
    other = Client()
    other.force_login(user)
    assert change_password(client, keep=True).json()["kept"] is True
    for name in (access_cookie_name(), refresh_cookie_name()):
        del client.cookies[name]
    assert client.get(reverse("whoami")).json()["user"] == user.get_username()
    assert other.get(reverse("whoami")).json()["user"] is None


def test_a_written_session_without_a_password_change_costs_no_query(
    client: Client, user: Any, django_assert_num_queries: Any
) -> None:
    """The middleware's check: a modified Django session holding the same password."""
    from django.contrib.auth import HASH_SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.http import HttpResponse

    from jwt_cookie_auth.password_change import keep_if_django_kept
    from jwt_cookie_auth.request_auth import resolve

    login(client, user)
    request = cookies_request(client)
    request.session = SessionStore()
    request.session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    assert request.session.modified
    with django_assert_num_queries(0):
        assert keep_if_django_kept(request, resolve(request), HttpResponse()) is False
