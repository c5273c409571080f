"""The client IP behind proxies (issue 9 item 6, SECURITY.md item 34).

The left-most ``X-Forwarded-For`` entry is written by the client, so it is never
trusted: the client is found from the right, by ``NUM_PROXIES`` or
``TRUSTED_PROXIES``. A value that is not a plain IP address is never stored and never
a 5xx.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from jwt_cookie_auth.client_ip import MAX_ADDRESS_LENGTH
from jwt_cookie_auth.issuing import client_ip
from jwt_cookie_auth.models import LoginSession
from tests.conftest import credentials, make_user

XFF = "HTTP_X_FORWARDED_FOR"
PROXY = "10.0.0.2"  # REMOTE_ADDR: the proxy in front of the app
REAL = "203.0.113.9"  # what the proxy saw and appended


def jwt(**config: Any) -> Any:
    return override_settings(JWT_COOKIE_AUTH=config)


def ip_of(meta: dict[str, str], **config: Any) -> str | None:
    request = RequestFactory().get("/", **meta)
    if "REMOTE_ADDR" not in meta:
        request.META.pop("REMOTE_ADDR", None)
    with jwt(**config):
        return client_ip(request)


def login(client: Client, user: Any, **headers: Any) -> None:
    response = client.post(
        reverse("jwt_cookie_auth:login"),
        credentials(user),
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 200, response.content


def stored_ips() -> list[str | None]:
    return list(LoginSession.objects.values_list("ip_address", flat=True))


ONE_PROXY_CONFIGS = [
    pytest.param({"CLIENT_IP_HEADER": XFF}, id="header-alone-trusts-one-proxy"),
    pytest.param({"CLIENT_IP_HEADER": XFF, "NUM_PROXIES": 1}, id="num-proxies"),
    pytest.param({"CLIENT_IP_HEADER": XFF, "TRUSTED_PROXIES": ["10.0.0.0/8"]}, id="networks"),
]


# --- What a user sees -------------------------------------------------------------------


@pytest.mark.parametrize("config", ONE_PROXY_CONFIGS)
def test_forged_leftmost_entry_does_not_evade_the_login_throttle(
    client: Client, user: Any, config: dict[str, Any]
) -> None:
    """A new forged first entry per attempt: the 4th failure from one client is a 429."""
    rates = {"ip": "3/min", "username": None}
    statuses = []
    with jwt(**config, LOGIN_THROTTLE_RATES=rates):
        for n in range(6):
            response = client.post(
                reverse("jwt_cookie_auth:login"),
                credentials(user, password="wrong"),
                content_type="application/json",
                REMOTE_ADDR=PROXY,
                HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, {REAL}",
            )
            statuses.append(response.status_code)
    assert statuses == [401, 401, 401, 429, 429, 429]


def test_forged_entries_do_not_evade_the_throttle_behind_two_proxies(
    client: Client, user: Any
) -> None:
    rates = {"ip": "2/min", "username": None}
    statuses = []
    with jwt(CLIENT_IP_HEADER=XFF, NUM_PROXIES=2, LOGIN_THROTTLE_RATES=rates):
        for n in range(4):
            response = client.post(
                reverse("jwt_cookie_auth:login"),
                credentials(user, password="wrong"),
                content_type="application/json",
                REMOTE_ADDR="10.0.0.3",
                HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, 10.9.{n}.1, {REAL}, 10.0.0.2",
            )
            statuses.append(response.status_code)
    assert statuses == [401, 401, 429, 429]


@pytest.mark.parametrize("config", ONE_PROXY_CONFIGS)
def test_sessions_api_and_admin_show_the_real_client_ip(
    client: Client, user: Any, config: dict[str, Any]
) -> None:
    admin = Client()
    admin.force_login(make_user("root", is_staff=True, is_superuser=True))
    with jwt(**config):
        login(client, user, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"6.6.6.6, {REAL}")
        rows = client.get(reverse("jwt_cookie_auth:sessions")).json()
        assert [row["ip_address"] for row in rows] == [REAL]
        page = admin.get(reverse("admin:jwt_cookie_auth_loginsession_changelist"))
        assert page.status_code == 200
        assert REAL in page.text
        assert "6.6.6.6" not in page.text
        # A refresh records where the session was last used from: the real client too.
        refreshed = client.post(
            reverse("jwt_cookie_auth:refresh"),
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR="7.7.7.7, 203.0.113.10",
        )
        assert refreshed.status_code == 200
        rows = client.get(reverse("jwt_cookie_auth:sessions")).json()
        assert [row["ip_address"] for row in rows] == ["203.0.113.10"]


NOT_AN_ADDRESS = [
    pytest.param("fe80::1%" + "a" * 300, id="scope-id-308-chars"),
    pytest.param("fe80::1%eth0", id="scope-id"),
    pytest.param("x" * 5000, id="huge"),
    pytest.param("not-an-ip", id="garbage"),
    pytest.param("1.2.3.4\x00", id="nul"),
    pytest.param("unknown", id="nginx-unknown"),
    pytest.param("203.0.113.9:80:90", id="bad-port"),
    pytest.param("[2001:db8::1]x", id="bad-bracket"),
    pytest.param("\uff11.\uff12.\uff13.\uff14", id="fullwidth-digits"),
]
# An empty header is no header (no proxy wrote it); an empty entry in a list is junk.
EMPTY = [pytest.param("", id="empty"), pytest.param(" ", id="blank")]


@pytest.mark.parametrize("value", [*NOT_AN_ADDRESS, *EMPTY])
def test_a_value_that_is_not_an_ip_is_a_200_and_never_stored(
    client: Client, user: Any, value: str
) -> None:
    """Through login and refresh, behind a proxy; on PostgreSQL the column is ``inet``."""
    with jwt(CLIENT_IP_HEADER=XFF, NUM_PROXIES=1):
        login(client, user, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"198.51.100.1, {value}")
        assert stored_ips() == [None]
        refreshed = client.post(
            reverse("jwt_cookie_auth:refresh"),
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR=f"198.51.100.2,{value}",
        )
        assert refreshed.status_code == 200
        assert stored_ips() == [None]


@pytest.mark.parametrize("value", [*NOT_AN_ADDRESS, *EMPTY])
def test_a_remote_addr_that_is_not_an_ip_is_a_200_and_never_stored(
    client: Client, user: Any, value: str
) -> None:
    """No header configured: REMOTE_ADDR itself (a unix socket gives "")."""
    login(client, user, REMOTE_ADDR=value)
    assert stored_ips() == [None]


@pytest.mark.parametrize("value", NOT_AN_ADDRESS)
def test_a_single_value_header_that_is_not_an_ip_is_never_stored(
    client: Client, user: Any, value: str
) -> None:
    with jwt(CLIENT_IP_HEADER="HTTP_X_REAL_IP", TRUSTED_PROXIES=["10.0.0.0/8"]):
        login(client, user, REMOTE_ADDR=PROXY, HTTP_X_REAL_IP=value)
    assert stored_ips() == [None]


def test_the_real_ip_header_of_a_trusted_proxy_is_stored(client: Client, user: Any) -> None:
    with jwt(CLIENT_IP_HEADER="HTTP_X_REAL_IP", TRUSTED_PROXIES=["10.0.0.0/8"]):
        login(client, user, REMOTE_ADDR=PROXY, HTTP_X_REAL_IP=REAL)
        # Straight to the app, not through the proxy: the header is the client's own.
        login(Client(), user, REMOTE_ADDR="198.51.100.7", HTTP_X_REAL_IP="192.0.2.1")
    assert sorted(stored_ips()) == sorted([REAL, "198.51.100.7"])  # type: ignore[type-var]


# --- The rules, one by one ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("meta", "config", "expected"),
    [
        # No header configured: REMOTE_ADDR, and the client's headers are ignored.
        ({"REMOTE_ADDR": REAL, XFF: "6.6.6.6"}, {}, REAL),
        ({"REMOTE_ADDR": ""}, {}, None),
        ({}, {}, None),
        # A count from the right (DRF's NUM_PROXIES): the address the outermost proxy saw.
        ({"REMOTE_ADDR": PROXY, XFF: f"6.6.6.6, {REAL}"}, {"NUM_PROXIES": 1}, REAL),
        ({"REMOTE_ADDR": PROXY, XFF: f"6.6.6.6,{REAL}"}, {"NUM_PROXIES": 1}, REAL),
        ({"REMOTE_ADDR": PROXY, XFF: f"6.6.6.6, {REAL}, 10.0.0.1"}, {"NUM_PROXIES": 2}, REAL),
        ({"REMOTE_ADDR": PROXY, XFF: f"6.6.6.6, {REAL}"}, {"NUM_PROXIES": 0}, PROXY),
        ({"REMOTE_ADDR": PROXY, XFF: f"6.6.6.6, , {REAL}"}, {"NUM_PROXIES": 2}, None),
        ({"REMOTE_ADDR": REAL, XFF: ""}, {"NUM_PROXIES": 1}, REAL),
        # Not through the proxy at all (no header): the peer is the client.
        ({"REMOTE_ADDR": REAL}, {"NUM_PROXIES": 1}, REAL),
        # Fewer entries than proxies: the left-most there is (as DRF does).
        ({"REMOTE_ADDR": PROXY, XFF: REAL}, {"NUM_PROXIES": 2}, REAL),
        # Trusted networks: the right-most address that is not a trusted proxy.
        (
            {"REMOTE_ADDR": PROXY, XFF: f"6.6.6.6, {REAL}, 10.1.1.1"},
            {"TRUSTED_PROXIES": ["10.0.0.0/8"]},
            REAL,
        ),
        (
            {"REMOTE_ADDR": "2001:db8::2", XFF: f"6.6.6.6, {REAL}, 192.168.0.5"},
            {"TRUSTED_PROXIES": ["2001:db8::/32", "192.168.0.0/16"]},
            REAL,
        ),
        # The peer is not a trusted proxy: its header is its own, ignored.
        ({"REMOTE_ADDR": REAL, XFF: "6.6.6.6"}, {"TRUSTED_PROXIES": ["10.0.0.0/8"]}, REAL),
        # Every hop trusted (an internal client): the left-most.
        ({"REMOTE_ADDR": PROXY, XFF: "10.5.5.5"}, {"TRUSTED_PROXIES": ["10.0.0.0/8"]}, "10.5.5.5"),
        # A trusted proxy wrote something that is not an address: unknown, not a guess.
        ({"REMOTE_ADDR": PROXY, XFF: "6.6.6.6, junk"}, {"TRUSTED_PROXIES": ["10.0.0.0/8"]}, None),
        # Proxies that add ports or brackets; IPv4-mapped IPv6 is the IPv4 address.
        ({"REMOTE_ADDR": PROXY, XFF: "203.0.113.9:4711"}, {"NUM_PROXIES": 1}, REAL),
        ({"REMOTE_ADDR": PROXY, XFF: "[2001:db8::1]:443"}, {"NUM_PROXIES": 1}, "2001:db8::1"),
        ({"REMOTE_ADDR": PROXY, XFF: "[2001:db8::1]"}, {"NUM_PROXIES": 1}, "2001:db8::1"),
        ({"REMOTE_ADDR": PROXY, XFF: "2001:DB8:0::1"}, {"NUM_PROXIES": 1}, "2001:db8::1"),
        ({"REMOTE_ADDR": f"::ffff:{REAL}"}, {}, REAL),
        ({"REMOTE_ADDR": "::ffff:10.0.0.2", XFF: REAL}, {"TRUSTED_PROXIES": ["10.0.0.0/8"]}, REAL),
        # A unix socket (REMOTE_ADDR ""): the local proxy's entries count, the count too.
        ({"REMOTE_ADDR": "", XFF: f"6.6.6.6, {REAL}"}, {"TRUSTED_PROXIES": ["10.0.0.0/8"]}, REAL),
        ({"REMOTE_ADDR": "", XFF: f"6.6.6.6, {REAL}"}, {"NUM_PROXIES": 1}, REAL),
        ({"REMOTE_ADDR": ""}, {"TRUSTED_PROXIES": ["10.0.0.0/8"]}, None),
    ],
)
def test_client_ip_rules(
    meta: dict[str, str], config: dict[str, Any], expected: str | None
) -> None:
    header = {"CLIENT_IP_HEADER": XFF} if config else {}
    assert ip_of(meta, **header, **config) == expected


def test_rfc_7239_forwarded_header() -> None:
    value = 'for=6.6.6.6, for="[2001:db8:cafe::17]:4711";proto=https, For=203.0.113.9;by=x'
    meta = {"REMOTE_ADDR": PROXY, "HTTP_FORWARDED": value}
    assert ip_of(meta, CLIENT_IP_HEADER="HTTP_FORWARDED", NUM_PROXIES=1) == REAL
    assert ip_of(meta, CLIENT_IP_HEADER="HTTP_FORWARDED", NUM_PROXIES=2) == "2001:db8:cafe::17"
    hidden = {"REMOTE_ADDR": PROXY, "HTTP_FORWARDED": "for=_hidden, for=unknown"}
    assert ip_of(hidden, CLIENT_IP_HEADER="HTTP_FORWARDED", NUM_PROXIES=1) is None


def test_header_alone_takes_the_rightmost_entry() -> None:
    """Without NUM_PROXIES or TRUSTED_PROXIES one proxy is assumed (check W090 says so)."""
    meta = {"REMOTE_ADDR": PROXY, XFF: f"6.6.6.6, {REAL}"}
    assert ip_of(meta, CLIENT_IP_HEADER=XFF) == REAL


def test_a_stored_address_fits_the_column() -> None:
    """The longest text form of a plain IPv6 address is 39 characters, the column's size."""
    field = LoginSession._meta.get_field("ip_address")
    longest = "1111:2222:3333:4444:5555:6666:7777:8888"
    assert ip_of({"REMOTE_ADDR": longest}) == longest
    assert field.max_length is not None
    assert len(longest) <= field.max_length <= MAX_ADDRESS_LENGTH


def test_unusable_trust_settings_never_raise() -> None:
    """Check E090/E091 report these; a request still gets an answer, never a 5xx."""
    meta = {"REMOTE_ADDR": PROXY, XFF: f"6.6.6.6, {REAL}"}
    assert ip_of(meta, CLIENT_IP_HEADER=XFF, TRUSTED_PROXIES=["not a network"]) == PROXY
    assert ip_of(meta, CLIENT_IP_HEADER=XFF, TRUSTED_PROXIES=10) == PROXY
    assert ip_of(meta, CLIENT_IP_HEADER=XFF, NUM_PROXIES="2") == REAL
