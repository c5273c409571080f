"""Property-based tests (Hypothesis) on the token and cookie paths.

Two properties, over HTTP, with the real middleware and DRF class:

- claims of any shape and type, signed with the right key and headers, give a 401
  (or an anonymous page), never a 500; and a request authenticates only when the
  token names a live session that belongs to its subject;
- any ``Cookie`` header at all (up to the size browsers send) gives 401/200 and
  never a 500.

Cost stays bounded by construction (tokens over 4096 bytes are refused before
parsing); no test here measures time.
"""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from jwt_cookie_auth import keys
from jwt_cookie_auth.cookie_names import access_cookie_name
from jwt_cookie_auth.models import LoginSession
from tests.conftest import login, make_user

PROPERTY_SETTINGS = hypothesis_settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)


@pytest.fixture
def live_session(db: None) -> dict[str, Any]:
    """A real user with a live session; its ids are mixed into the generated claims."""
    user = make_user("prop")
    login(Client(), user)
    session = LoginSession.objects.get(user=user)
    return {"sub": str(user.pk), "sid": str(session.pk)}


def claims_strategy(real: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Claims that are sometimes right, sometimes of the wrong type or value."""
    now = st.integers(min_value=1_700_000_000, max_value=2_100_000_000)
    return st.fixed_dictionaries(
        {},
        optional={
            "token_type": st.sampled_from(["access", "refresh", "ACCESS", ""]) | values,
            "sub": st.sampled_from([real["sub"], "0", "-1", " " + real["sub"]]) | values,
            "sid": st.sampled_from([real["sid"], real["sid"].upper(), "not-a-uuid"]) | values,
            "jti": st.text(max_size=32) | values,
            "iat": now | values,
            "exp": now | values,
            "nbf": now | values,
        },
    )


def signed(claims: dict[str, Any]) -> str:
    keyset = keys.get_keys()
    return jwt.encode(
        claims,
        keyset.signing_key,
        algorithm=keyset.algorithm,
        headers={"typ": "at+jwt", "kid": keyset.kid},
    )


def authentic(claims: dict[str, Any], real: dict[str, Any]) -> bool:
    """Whether these claims name the live session of their own subject."""
    return claims.get("sid") == real["sid"] and claims.get("sub") == real["sub"]


@pytest.mark.django_db
def test_signed_claims_of_any_shape_never_500_and_never_impersonate(
    live_session: dict[str, Any],
) -> None:
    @PROPERTY_SETTINGS
    @given(claims=claims_strategy(live_session))
    def check(claims: dict[str, Any]) -> None:
        try:
            token = signed(claims)
        except (TypeError, ValueError, OverflowError):
            return  # PyJWT cannot even serialise these claims: nothing to send
        api = Client().get(reverse("me"), HTTP_AUTHORIZATION=f"Bearer {token}")
        assert api.status_code in (200, 401)
        if api.status_code == 200:
            assert authentic(claims, live_session), claims
        page = Client().get(reverse("whoami"), HTTP_COOKIE=f"{access_cookie_name()}={token}")
        assert page.status_code == 200
        if page.json()["authenticated"]:
            assert authentic(claims, live_session), claims

    check()


# Not "sessionid": Django's database session engine sends a session key containing NUL
# to PostgreSQL, which refuses it with a DataError (a 500 from Django itself, with or
# without this package; seen with header 'sessionid=0000000\x00').
# The default wire names, the pre-prefix (legacy) names, and others.
cookie_names = st.sampled_from(
    ["__Host-jwt_access", "__Host-jwt_refresh", "jwt_access", "jwt_refresh", "csrftoken", "x"]
)
cookie_values = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=200
) | st.text(max_size=50)
cookie_headers = st.lists(
    st.tuples(cookie_names, cookie_values).map(lambda pair: f"{pair[0]}={pair[1]}"),
    max_size=6,
).map("; ".join) | st.text(max_size=300)


@pytest.mark.django_db
@PROPERTY_SETTINGS
@given(header=cookie_headers)
def test_any_cookie_header_is_answered_without_a_server_error(header: str) -> None:
    cookie = header.encode("utf-8", "surrogatepass").decode("latin-1")
    client = Client()
    assert client.get(reverse("me"), HTTP_COOKIE=cookie).status_code == 401
    assert client.get(reverse("whoami"), HTTP_COOKIE=cookie).status_code == 200
    assert client.get(reverse("jwt_cookie_auth:session"), HTTP_COOKIE=cookie).status_code == 200
    refresh = client.post(reverse("jwt_cookie_auth:refresh"), HTTP_COOKIE=cookie)
    assert refresh.status_code == 401


def test_a_64_kb_cookie_is_refused(db: None) -> None:
    """Far beyond what a browser sends: refused as a bad token, not parsed."""
    huge = "a" * 65536
    response = Client().get(reverse("me"), HTTP_COOKIE=f"{access_cookie_name()}={huge}")
    assert response.status_code == 401
