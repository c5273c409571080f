"""No request body gives a 5xx (issue 9 item 13, SECURITY.md item 37).

Every package endpoint (from ``jwt_cookie_auth.urls``) and a project DRF view behind
``JWTCookieAuthentication`` get hostile bodies, anonymous and with token cookies, with
no CSRF token, a forged one (a well-formed ``csrftoken`` cookie and a wrong header,
so Django's check reads the form field from the body), and a valid one (so the view
itself parses the body). Every answer is below 500.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client, RequestFactory, override_settings
from django.urls import URLPattern, reverse
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from jwt_cookie_auth import urls as package_urls
from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from jwt_cookie_auth.issuing import start_session
from tests.conftest import make_user

CSRF_SECRET = "a" * 32
FORGED_SECRET = "b" * 32
NESTED = 2048  # about 2 KB of brackets: deeper than Python's recursion limit
# Django's DATA_UPLOAD_* limits, lowered so the "too big/many" bodies stay small.
MAX_MEMORY = 20_000
MAX_FIELDS = 50
MAX_FILES = 5

BOUNDARY = "hostileboundary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def package_endpoints() -> list[str]:
    """Every URL of jwt_cookie_auth.urls, by reversing its names."""
    paths = []
    for pattern in package_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        assert pattern.name
        kwargs = {"session_id": uuid.uuid4()} if "session_id" in str(pattern.pattern) else {}
        paths.append(reverse(f"jwt_cookie_auth:{pattern.name}", kwargs=kwargs))
    return paths


ENDPOINTS = [*package_endpoints(), "/api/me/"]

BODIES: dict[str, tuple[str | None, bytes]] = {
    "nested-json-array": (JSON, b"[" * NESTED + b"]" * NESTED),
    "nested-json-object": (JSON, b'{"a":' * NESTED + b"1" + b"}" * NESTED),
    "nested-json-unclosed": (JSON, b"[" * NESTED),
    "huge-integer": (JSON, b'{"password": ' + b"9" * 100_000 + b"}"),
    "huge-exponent": (JSON, b'{"password": 1e999999, "remember": 1e999999}'),
    "nan": (JSON, b'{"password": NaN}'),
    "invalid-utf8-json": (JSON, b'{"username": "\xff\xfe", "password": "x"}'),
    "utf16-bom-json": (JSON, '{"username": "a"}'.encode("utf-16")),
    "lone-surrogate": (JSON, b'{"username": "\\ud800", "password": "\\udfff"}'),
    "nul-chars": (JSON, b'{"username": "a\\u0000b", "password": "\\u0000"}'),
    "wrong-types": (JSON, b'{"username": {"a": [1]}, "password": [1], "remember": "maybe"}'),
    "top-level-scalar": (JSON, b'"just a string"'),
    "unknown-charset-json": ("application/json; charset=no-such-codec", b'{"a": 1}'),
    "utf7-charset-json": ("application/json; charset=utf-7", b'{"a": "+AGEAYgBj-"}'),
    "truncated-json": (JSON, b'{"username": "a", "pass'),
    "text-plain": ("text/plain", b"username=a&password=b"),
    "xml": ("application/xml", b"<?xml version='1.0'?><!DOCTYPE a [<!ENTITY b 'c'>]><a>&b;</a>"),
    "no-content-type": (None, b'{"a": 1}'),
    "empty-content-type": ("", b"garbage"),
    "garbage-content-type": (";;;=\x7f", b"garbage"),
    "invalid-utf8-form": (FORM, b"csrfmiddlewaretoken=%ff%fe&username=\xff\xfe"),
    "form-unknown-charset": (f"{FORM}; charset=no-such-codec", b"csrfmiddlewaretoken=x"),
    "form-too-many-fields": (FORM, b"&".join(b"f%d=1" % i for i in range(MAX_FIELDS + 10))),
    "form-nested-names": (FORM, b"a" + b"[b]" * 3000 + b"=1"),
    "form-too-big": (FORM, b"csrfmiddlewaretoken=" + b"x" * 2 * MAX_MEMORY),
    "json-too-big": (JSON, b'{"password": "' + b"x" * 2 * MAX_MEMORY + b'"}'),
    "multipart-garbage": (MULTIPART, b"\x00\xff garbage without any boundary"),
    "multipart-no-boundary": ("multipart/form-data", b"--x\r\n\r\n"),
    "multipart-bad-boundary": ("multipart/form-data; boundary=\x7f\x00", b"--\x7f\r\n"),
    "multipart-truncated": (
        MULTIPART,
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\nx'.encode(),
    ),
    "multipart-bad-header": (
        MULTIPART,
        f"--{BOUNDARY}\r\nContent-Disposition: \xff\x00\r\n\r\nx\r\n--{BOUNDARY}--\r\n".encode(
            "latin-1"
        ),
    ),
    "multipart-too-many-fields": (
        MULTIPART,
        "".join(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\n1\r\n'
            for i in range(MAX_FIELDS + 10)
        ).encode()
        + f"--{BOUNDARY}--\r\n".encode(),
    ),
    "multipart-too-many-files": (
        MULTIPART,
        "".join(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="f"; filename="{i}.txt"\r\n'
            "Content-Type: text/plain\r\n\r\n1\r\n"
            for i in range(MAX_FILES + 2)
        ).encode()
        + f"--{BOUNDARY}--\r\n".encode(),
    ),
    "multipart-base64-garbage": (
        MULTIPART,
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n'
        f"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!\r\n--{BOUNDARY}--\r\n".encode(),
    ),
}


@pytest.fixture(autouse=True)
def _small_upload_limits() -> Iterator[None]:
    with override_settings(
        DATA_UPLOAD_MAX_MEMORY_SIZE=MAX_MEMORY,
        DATA_UPLOAD_MAX_NUMBER_FIELDS=MAX_FIELDS,
        DATA_UPLOAD_MAX_NUMBER_FILES=MAX_FILES,
    ):
        yield


def browser(*, csrf: str, tokens: Any = None) -> tuple[Client, dict[str, str]]:
    """A CSRF-enforcing client, and the headers its requests carry."""
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    headers: dict[str, str] = {}
    if csrf != "none":
        client.cookies["csrftoken"] = CSRF_SECRET
        headers["HTTP_X_CSRFTOKEN"] = CSRF_SECRET if csrf == "valid" else FORGED_SECRET
    if tokens is not None:
        client.cookies[access_cookie_name()] = tokens.access
        client.cookies[refresh_cookie_name()] = tokens.refresh
    return client, headers


def send(
    client: Client, method: str, url: str, body: tuple[str | None, bytes], **headers: str
) -> int:
    content_type, data = body
    extra: dict[str, Any] = dict(headers)
    if content_type is None:
        response = client.generic(method, url, data, **extra)
    else:
        response = client.generic(method, url, data, content_type=content_type, **extra)
    return int(response.status_code)


# Anonymous, then with token cookies; a forged token first (the CSRF check reads the
# body and fails), then a valid one (the view reads the body; logout ends the session).
VARIANTS = [(False, "forged"), (False, "valid"), (True, "forged"), (True, "valid")]


@pytest.mark.parametrize("url", ENDPOINTS)
def test_no_body_gives_a_server_error(db: None, url: str) -> None:
    user = make_user("hostile")
    failures = []
    for name, body in BODIES.items():
        tokens = start_session(RequestFactory().post("/"), user)
        for signed_in, csrf in VARIANTS:
            client, headers = browser(csrf=csrf, tokens=tokens if signed_in else None)
            status = send(client, "POST", url, body, **headers)
            if status >= 500:
                failures.append((name, "cookies" if signed_in else "anonymous", csrf, status))
    assert not failures


# The bodies Django itself parses for the CSRF form field (and JSON, which it doesn't).
FORM_BODIES = {
    name: body
    for name, body in BODIES.items()
    if name.startswith(("form", "multipart", "invalid-utf8-form", "nested-json-array"))
}


@pytest.mark.parametrize("url", ENDPOINTS)
def test_expired_access_cookie_and_hostile_body_gives_no_server_error(
    db: None, clock: Any, url: str
) -> None:
    """The transparent renewal's CSRF check reads the body in the middleware too."""
    user = make_user("hostile")
    failures = []
    for name, body in FORM_BODIES.items():
        tokens = start_session(RequestFactory().post("/"), user)
        clock.advance(minutes=6)
        for csrf in ("forged", "valid"):
            client, headers = browser(csrf=csrf, tokens=tokens)
            status = send(client, "POST", url, body, **headers)
            if status >= 500:
                failures.append((name, csrf, status))
        clock.advance(minutes=-6)
    assert not failures


def test_the_csrf_variants_reach_where_they_should(db: None) -> None:
    """The forged token fails Django's check after it read the body; the valid one passes."""
    make_user("hostile")
    body = (JSON, json.dumps({"username": "hostile", "password": "wrong"}).encode())
    login = reverse("jwt_cookie_auth:login")
    client, headers = browser(csrf="forged")
    assert send(client, "POST", login, body, **headers) == 403
    client, headers = browser(csrf="valid")
    assert send(client, "POST", login, body, **headers) in (400, 401)


def test_nested_json_to_login_is_a_400_not_a_500(db: None) -> None:
    """The example of the report: 2 KB of [[[...]]], a forged csrftoken, a wrong header."""
    login = reverse("jwt_cookie_auth:login")
    client, headers = browser(csrf="forged")
    # 400 where json overflows the stack parsing it (Python 3.11/3.12); Python 3.13's
    # parser takes the depth, and the forged token then fails the check: 403.
    assert send(client, "POST", login, BODIES["nested-json-array"], **headers) in (400, 403)
    client, headers = browser(csrf="valid")
    assert send(client, "POST", login, BODIES["nested-json-array"], **headers) == 400


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=8,
)
json_bodies = st.one_of(
    json_values.map(lambda value: json.dumps(value).encode()),
    st.fixed_dictionaries(
        {"username": json_values, "password": json_values, "remember": json_values}
    ).map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=300),
    st.integers(min_value=1, max_value=5000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.integers(min_value=1, max_value=5000).map(lambda depth: b'{"a":' * depth),
)
content_types = st.sampled_from(
    [JSON, f"{JSON}; charset=latin-1", FORM, MULTIPART, "text/plain", "application/xml"]
)


@hypothesis_settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@example(body=BODIES["nested-json-array"][1], content_type=JSON, csrf="forged", url=ENDPOINTS[0])
@given(
    body=json_bodies,
    content_type=content_types,
    csrf=st.sampled_from(["forged", "valid"]),
    url=st.sampled_from(ENDPOINTS),
)
def test_any_body_to_any_endpoint_is_below_500(
    db: None, body: bytes, content_type: str, csrf: str, url: str
) -> None:
    client, headers = browser(csrf=csrf)
    assert send(client, "POST", url, (content_type, body), **headers) < 500
