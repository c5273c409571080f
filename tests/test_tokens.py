"""Tokens: what we mint, and every kind of bad token we must refuse (SECURITY.md 1-10, 13, 15).

Forged tokens are built by hand here (base64url + JSON + a signature from PyJWT's algorithm
objects or ``hmac``), because ``jwt.encode`` refuses to build most of them. Each refusal is
checked twice: directly through ``tokens.decode`` and over HTTP, where a bad access token is
a 401 with ``WWW-Authenticate`` on a DRF view, anonymous (never a 500) on a plain Django
view, and a bad refresh token is a 401 that deletes both cookies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.contrib.auth import get_user_model
from django.test import Client, override_settings
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm, get_default_algorithms

from jwt_cookie_auth import keys, tokens
from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from tests.conftest import PASSWORD, access_cookie, login, make_user, refresh_cookie

LEEWAY = 10  # seconds, the default
WWW_AUTHENTICATE = 'Bearer realm="api"'
ANONYMOUS = {"authenticated": False, "user": None}


# --- Crafting tokens ---------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def encode_json(value: Any) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


def sign(signing_input: str, algorithm: str | None = None, key: Any = None) -> str:
    """Return the base64url signature of ``signing_input``; our current key by default."""
    keyset = keys.get_keys()
    algorithm = algorithm or keyset.algorithm
    key = keyset.signing_key if key is None else key
    return b64(get_default_algorithms()[algorithm].sign(signing_input.encode("ascii"), key))


def forge(header: Any, payload: Any, *, algorithm: str | None = None, key: Any = None) -> str:
    """Sign a header and payload (JSON values, or ready-made segments given as ``bytes``)."""
    h = b64(header) if isinstance(header, bytes) else encode_json(header)
    p = b64(payload) if isinstance(payload, bytes) else encode_json(payload)
    return f"{h}.{p}.{sign(f'{h}.{p}', algorithm, key)}"


def unsigned(header: dict[str, Any], payload: dict[str, Any]) -> str:
    return f"{encode_json(header)}.{encode_json(payload)}."


def nested(depth: int) -> str:
    """A base64url JSON segment nested ``depth`` deep (deep enough to hit recursion limits)."""
    return b64(b"[" * depth + b"]" * depth)


def wire(value: str) -> str:
    """Return ``value`` as a WSGI server hands a header over: its UTF-8 bytes as latin-1."""
    return value.encode("utf-8").decode("latin-1")


@dataclass(frozen=True)
class Pair:
    user: Any
    access: str
    refresh: str

    def of(self, kind: tokens.TokenType) -> str:
        return self.access if kind == tokens.ACCESS else self.refresh


def issue_pair(user: Any, **extra: Any) -> Pair:
    client = Client()
    login(client, user, **extra)
    return Pair(user, access_cookie(client), refresh_cookie(client))


@dataclass(frozen=True)
class Ctx:
    """One genuine token (of ``kind``) and material to build forgeries from."""

    kind: tokens.TokenType
    token: str
    other: str  # the same kind of token from another user's session
    opposite: str  # the other kind of token from the same session

    @property
    def segments(self) -> list[str]:
        return self.token.split(".")

    @property
    def signing_input(self) -> str:
        return ".".join(self.segments[:2])

    @property
    def signature(self) -> str:
        return self.segments[2]

    @property
    def header(self) -> dict[str, Any]:
        return json.loads(unb64(self.segments[0]))  # type: ignore[no-any-return]

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(unb64(self.segments[1]))  # type: ignore[no-any-return]

    def h(self, **changes: Any) -> dict[str, Any]:
        return {**self.header, **changes}

    def p(self, **changes: Any) -> dict[str, Any]:
        return {**self.payload, **changes}

    def p_without(self, claim: str) -> dict[str, Any]:
        return {k: v for k, v in self.payload.items() if k != claim}

    def h_without(self, name: str) -> dict[str, Any]:
        return {k: v for k, v in self.header.items() if k != name}

    @property
    def other_typ(self) -> str:
        return tokens.TYP_HEADERS[tokens.REFRESH if self.kind == tokens.ACCESS else tokens.ACCESS]

    @property
    def other_type(self) -> str:
        return tokens.REFRESH if self.kind == tokens.ACCESS else tokens.ACCESS


def make_ctx(kind: tokens.TokenType, mine: Pair, theirs: Pair) -> Ctx:
    opposite = mine.refresh if kind == tokens.ACCESS else mine.access
    return Ctx(kind, mine.of(kind), theirs.of(kind), opposite)


def flip_first(segment: str) -> str:
    return ("B" if segment[0] == "A" else "A") + segment[1:]


def replace_segment(token: str, index: int, value: str) -> str:
    parts = token.split(".")
    parts[index] = value
    return ".".join(parts)


# Every entry builds a token that must be refused, from a genuine token of either kind.
CASES: dict[str, Callable[[Ctx], str]] = {
    # 1. alg none, in any spelling, and an empty signature.
    "alg-none": lambda c: unsigned(c.h(alg="none"), c.payload),
    "alg-None": lambda c: unsigned(c.h(alg="None"), c.payload),
    "alg-NONE": lambda c: unsigned(c.h(alg="NONE"), c.payload),
    "alg-none-bare-header": lambda c: unsigned({"alg": "none"}, c.payload),
    "alg-none-keeps-signature": lambda c: replace_segment(c.token, 0, encode_json(c.h(alg="none"))),
    "empty-signature": lambda c: c.signing_input + ".",
    # The header's alg never chooses: HS512 with our own key is still refused.
    "alg-HS512-with-our-key": lambda c: forge(c.h(alg="HS512"), c.payload, algorithm="HS512"),
    "alg-not-a-string": lambda c: forge(c.h(alg=["HS256"]), c.payload),
    # 3. Tampering.
    "header-reencoded": lambda c: replace_segment(
        c.token, 0, b64(json.dumps(c.header, indent=1).encode())
    ),
    "header-kid-swapped": lambda c: replace_segment(c.token, 0, encode_json(c.h(kid="0" * 16))),
    "payload-sub-swapped": lambda c: replace_segment(
        c.token, 1, encode_json(c.p(sub=json.loads(unb64(c.other.split(".")[1]))["sub"]))
    ),
    "payload-exp-extended": lambda c: replace_segment(
        c.token, 1, encode_json(c.p(exp=c.payload["exp"] + 3600))
    ),
    "payload-of-other-token": lambda c: replace_segment(c.token, 1, c.other.split(".")[1]),
    "signature-flipped": lambda c: replace_segment(c.token, 2, flip_first(c.signature)),
    "signature-truncated": lambda c: replace_segment(c.token, 2, c.signature[:-6]),
    "signature-of-other-token": lambda c: replace_segment(c.token, 2, c.other.split(".")[2]),
    "signature-of-opposite-token": lambda c: replace_segment(c.token, 2, c.opposite.split(".")[2]),
    # 4. Malformed input.
    "garbage": lambda c: "garbage",
    "empty": lambda c: "",
    "dots-only": lambda c: "..",
    "non-ascii": lambda c: "ünïcødé.тест.签名",
    "non-ascii-appended": lambda c: c.token + "é",
    "two-segments": lambda c: c.signing_input,
    "four-segments": lambda c: f"{c.token}.{c.signature}",
    "five-segments": lambda c: f"{c.token}.e30.e30",
    "bad-base64url-header": lambda c: replace_segment(c.token, 0, "!@#$%^&*"),
    "bad-base64url-payload": lambda c: replace_segment(c.token, 1, "e30*"),
    "bad-base64url-signature": lambda c: replace_segment(c.token, 2, "%%%%"),
    "header-not-an-object": lambda c: forge(["HS256"], c.payload),
    "payload-not-json": lambda c: forge(c.header, b"not json at all"),
    "payload-invalid-utf8": lambda c: forge(c.header, b"\xff\xfe{}"),
    "payload-json-array": lambda c: forge(c.header, [c.payload]),
    "payload-json-string": lambda c: forge(c.header, "sub"),
    "payload-json-number": lambda c: forge(c.header, 1),
    "payload-json-null": lambda c: forge(c.header, None),
    "huge-numbers": lambda c: replace_segment(
        c.token, 1, encode_json(c.p(exp=10**1000, iat=-(10**1000)))
    ),
    "huge-string": lambda c: replace_segment(c.token, 1, encode_json(c.p(sub="x" * 2000))),
    "oversized-64kb-token": lambda c: replace_segment(
        c.token, 1, encode_json(c.p(padding="x" * 65536))
    ),
    "oversized-64kb-garbage": lambda c: "a" * 65536,
    "deeply-nested-header": lambda c: replace_segment(c.token, 0, nested(1200)),
    "deeply-nested-payload": lambda c: replace_segment(c.token, 1, nested(1200)),
    # 5. Headers we never honour, signed with our own key so that only the header is wrong.
    "crit": lambda c: forge(c.h(crit=["exp"]), c.payload),
    "crit-b64": lambda c: forge(c.h(crit=["b64"], b64=False), c.payload),
    "jku": lambda c: forge(c.h(jku="https://attacker.example/jwks.json"), c.payload),
    "x5u": lambda c: forge(c.h(x5u="https://attacker.example/cert.pem"), c.payload),
    "x5c": lambda c: forge(c.h(x5c=["MIIB"]), c.payload),
    "cty": lambda c: forge(c.h(cty="JWT"), c.payload),
    # An embedded key, and the token signed with it (the classic jwk injection).
    "jwk-embedded-key": lambda c: forge(
        c.h(jwk={"kty": "oct", "k": b64(b"attacker-key" * 4)}),
        c.payload,
        key=b"attacker-key" * 4,
    ),
    "kid-int": lambda c: forge(c.h(kid=123), c.payload),
    "kid-list": lambda c: forge(c.h(kid=[c.header["kid"]]), c.payload),
    "kid-object": lambda c: forge(c.h(kid={"kid": c.header["kid"]}), c.payload),
    "kid-null": lambda c: forge(c.h(kid=None), c.payload),
    "kid-bool": lambda c: forge(c.h(kid=True), c.payload),
    "kid-missing": lambda c: forge(c.h_without("kid"), c.payload),
    "kid-unknown": lambda c: forge(c.h(kid="0" * 16), c.payload),
    "kid-path": lambda c: forge(c.h(kid="../../../../dev/null"), c.payload),
    # 6. Required claims, missing or of the wrong type (signed with our key).
    "missing-exp": lambda c: forge(c.header, c.p_without("exp")),
    "missing-iat": lambda c: forge(c.header, c.p_without("iat")),
    "missing-jti": lambda c: forge(c.header, c.p_without("jti")),
    "missing-sub": lambda c: forge(c.header, c.p_without("sub")),
    "missing-sid": lambda c: forge(c.header, c.p_without("sid")),
    "missing-token_type": lambda c: forge(c.header, c.p_without("token_type")),
    "sub-int": lambda c: forge(c.header, c.p(sub=1)),
    "sub-empty": lambda c: forge(c.header, c.p(sub="")),
    "sid-null": lambda c: forge(c.header, c.p(sid=None)),
    "jti-list": lambda c: forge(c.header, c.p(jti=[c.payload["jti"]])),
    "exp-string": lambda c: forge(c.header, c.p(exp=str(c.payload["exp"]))),
    "exp-float": lambda c: forge(c.header, c.p(exp=c.payload["exp"] + 0.5)),
    "exp-bool": lambda c: forge(c.header, c.p(exp=True)),
    "iat-string": lambda c: forge(c.header, c.p(iat="now")),
    "nbf-string": lambda c: forge(c.header, c.p(nbf="now")),
    "aud-when-none-configured": lambda c: forge(c.header, c.p(aud="https://other.example")),
    # 9. Cross-token confusion: a genuine token of the other kind, or a half-swapped one.
    "opposite-kind-genuine": lambda c: c.opposite,
    "typ-swapped": lambda c: forge(c.h(typ=c.other_typ), c.payload),
    "token_type-swapped": lambda c: forge(c.header, c.p(token_type=c.other_type)),
    "typ-missing": lambda c: forge(c.h_without("typ"), c.payload),
    "typ-JWT": lambda c: forge(c.h(typ="JWT"), c.payload),
}


# --- What a refusal looks like ---------------------------------------------------------


def assert_deleted(response: Any) -> None:
    for name in (access_cookie_name(), refresh_cookie_name()):
        morsel = response.cookies[name]
        assert morsel.value == ""
        assert morsel["max-age"] == 0


def assert_refused_as_access(token: str) -> None:
    """Refused as the access cookie and as Bearer on DRF; anonymous on a plain view."""
    access, refresh = access_cookie_name(), refresh_cookie_name()
    client = Client()
    for extra in (
        {"HTTP_COOKIE": f"{access}={wire(token)}"},
        {"HTTP_AUTHORIZATION": f"Bearer {wire(token)}"},
    ):
        response = client.get(reverse("me"), **extra)
        assert response.status_code == 401, (extra.keys(), response.content)
        assert response.headers["WWW-Authenticate"] == WWW_AUTHENTICATE
    # With a refresh cookie beside it the middleware also inspects the access token's
    # expiry before the view runs.
    for cookie in (f"{access}={wire(token)}", f"{access}={wire(token)}; {refresh}=x"):
        response = client.get(reverse("whoami"), HTTP_COOKIE=cookie)
        assert response.status_code == 200
        assert response.json() == ANONYMOUS


def assert_refused_as_refresh(token: str) -> None:
    refresh = refresh_cookie_name()
    response = Client().post(
        reverse("jwt_cookie_auth:refresh"), HTTP_COOKIE=f"{refresh}={wire(token)}"
    )
    assert response.status_code == 401, response.content
    assert response.headers["WWW-Authenticate"] == WWW_AUTHENTICATE
    assert_deleted(response)


def assert_refused(token: str, kind: tokens.TokenType) -> None:
    with pytest.raises(tokens.TokenError):
        tokens.decode(token, kind)
    if kind == tokens.ACCESS:
        assert_refused_as_access(token)
    else:
        assert_refused_as_refresh(token)


def assert_accepted_as_access(token: str, user: Any) -> None:
    response = Client().get(reverse("me"), HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    assert response.json()["user"] == user.get_username()


# --- Keys for the asymmetric algorithms ------------------------------------------------


@dataclass(frozen=True)
class KeyPair:
    private_pem: str
    public_pem: str
    jwk: str  # the public key as JWK JSON


def _pair(private_key: Any, to_jwk: Callable[[Any], str]) -> KeyPair:
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = private_key.public_key()
    public_pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return KeyPair(private_pem, public_pem, to_jwk(public))


@pytest.fixture(scope="session")
def rsa_key() -> KeyPair:
    return _pair(rsa.generate_private_key(65537, 2048), RSAAlgorithm.to_jwk)


@pytest.fixture(scope="session")
def rsa_key_b() -> KeyPair:
    return _pair(rsa.generate_private_key(65537, 2048), RSAAlgorithm.to_jwk)


@pytest.fixture(scope="session")
def rsa_4096_key() -> KeyPair:
    return _pair(rsa.generate_private_key(65537, 4096), RSAAlgorithm.to_jwk)


@pytest.fixture(scope="session")
def ec_key() -> KeyPair:
    return _pair(ec.generate_private_key(ec.SECP256R1()), ECAlgorithm.to_jwk)


@pytest.fixture(scope="session")
def ed_key() -> KeyPair:
    return _pair(ed25519.Ed25519PrivateKey.generate(), OKPAlgorithm.to_jwk)


ASYMMETRIC = [("RS256", "rsa_key"), ("ES256", "ec_key"), ("EdDSA", "ed_key")]


# --- Genuine tokens ----------------------------------------------------------------------


@pytest.fixture
def mine(user: Any) -> Pair:
    return issue_pair(user)


@pytest.fixture
def theirs(other_user: Any) -> Pair:
    return issue_pair(other_user)


def test_issued_tokens_carry_distinct_typ_headers_and_type_claims(mine: Pair) -> None:
    """Access and refresh tokens differ in ``typ`` header and ``token_type`` claim."""
    access_header = jwt.get_unverified_header(mine.access)
    refresh_header = jwt.get_unverified_header(mine.refresh)
    assert access_header["typ"] == "at+jwt"
    assert refresh_header["typ"] == "rt+jwt"
    for header in (access_header, refresh_header):
        assert set(header) == {"alg", "typ", "kid"}
        assert header["alg"] == "HS256"
        assert header["kid"] == keys.get_keys().kid
    options = {"verify_signature": False}
    access = jwt.decode(mine.access, options=options)
    refresh = jwt.decode(mine.refresh, options=options)
    assert access["token_type"] == "access"
    assert refresh["token_type"] == "refresh"
    for claims in (access, refresh):
        assert set(tokens.REQUIRED_CLAIMS) <= set(claims)
        assert claims["sub"] == str(mine.user.pk)
        assert claims["exp"] > claims["iat"]
    assert access["sid"] == refresh["sid"]
    assert access["jti"] != refresh["jti"]
    assert tokens.decode(mine.access, tokens.ACCESS).sub == str(mine.user.pk)
    assert tokens.decode(mine.refresh, tokens.REFRESH).sid == refresh["sid"]


@pytest.mark.parametrize("kind", [tokens.ACCESS, tokens.REFRESH])
def test_forging_helpers_reproduce_genuine_tokens(kind: tokens.TokenType, mine: Pair) -> None:
    """The forgery harness is exact, so each refusal below is caused by its one flaw."""
    ctx = make_ctx(kind, mine, mine)
    assert forge(ctx.header, ctx.payload) == ctx.token
    # A re-signed variant with a fresh jti is still a good token.
    if kind == tokens.ACCESS:
        assert_accepted_as_access(forge(ctx.header, ctx.p(jti="f" * 32)), mine.user)


@pytest.mark.parametrize("kind", [tokens.ACCESS, tokens.REFRESH])
@pytest.mark.parametrize("case", list(CASES))
def test_bad_token_is_refused(case: str, kind: tokens.TokenType, mine: Pair, theirs: Pair) -> None:
    """Every crafted bad token is a TokenError, a 401 or anonymous, and harms no session."""
    token = CASES[case](make_ctx(kind, mine, theirs))
    assert token != mine.of(kind)
    assert_refused(token, kind)
    # Someone who cannot sign cannot end the real session either.
    assert_accepted_as_access(mine.access, mine.user)
    response = Client().post(
        reverse("jwt_cookie_auth:refresh"),
        HTTP_COOKIE=f"{refresh_cookie_name()}={mine.refresh}",
    )
    assert response.status_code == 200


def test_no_url_named_by_a_token_is_fetched(mine: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    """``jku``/``x5u`` are refused without any network access."""
    fetched: list[Any] = []
    monkeypatch.setattr("urllib.request.urlopen", lambda *a, **k: fetched.append(a))
    ctx = make_ctx(tokens.ACCESS, mine, mine)
    for name in ("jku", "x5u"):
        token = forge(ctx.h(**{name: "https://attacker.example/keys"}), ctx.payload)
        assert_refused(token, tokens.ACCESS)
    assert fetched == []


@pytest.mark.parametrize(("algorithm", "key_fixture"), ASYMMETRIC)
def test_hs256_signed_with_our_public_key_is_refused(
    algorithm: str, key_fixture: str, user: Any, request: pytest.FixtureRequest
) -> None:
    """Algorithm confusion: HMAC over our public key (PEM or JWK) never verifies."""
    pair: KeyPair = request.getfixturevalue(key_fixture)
    with override_settings(
        JWT_COOKIE_AUTH={"ALGORITHM": algorithm, "SIGNING_KEY": pair.private_pem}
    ):
        genuine = issue_pair(user)
        assert_accepted_as_access(genuine.access, user)
        for kind in (tokens.ACCESS, tokens.REFRESH):
            ctx = make_ctx(kind, genuine, genuine)
            assert ctx.header["alg"] == algorithm
            for hmac_key in (pair.public_pem, pair.public_pem.strip(), pair.jwk):
                for header in (ctx.h(alg="HS256"), {**ctx.h(alg="HS256"), "kid": "x"}):
                    h, p = encode_json(header), encode_json(ctx.payload)
                    mac = hmac.new(hmac_key.encode(), f"{h}.{p}".encode(), hashlib.sha256)
                    assert_refused(f"{h}.{p}.{b64(mac.digest())}", kind)


@pytest.mark.parametrize(
    ("algorithm", "key_fixture", "with_verifying_key"),
    [*(pytest.param(a, k, False, id=a) for a, k in ASYMMETRIC), ("RS256", "rsa_key", True)],
)
def test_asymmetric_round_trip(
    algorithm: str,
    key_fixture: str,
    with_verifying_key: bool,
    user: Any,
    request: pytest.FixtureRequest,
) -> None:
    """Login, API call, refresh and API call again with RS256, ES256 and EdDSA keys."""
    pair: KeyPair = request.getfixturevalue(key_fixture)
    config: dict[str, Any] = {"ALGORITHM": algorithm, "SIGNING_KEY": pair.private_pem}
    if with_verifying_key:
        config["VERIFYING_KEY"] = pair.public_pem
    client = Client()
    with override_settings(JWT_COOKIE_AUTH=config):
        login(client, user)
        token = access_cookie(client)
        assert jwt.get_unverified_header(token)["alg"] == algorithm
        # Anyone with the public key can verify it; nothing else is needed.
        claims = jwt.decode(token, pair.public_pem, algorithms=[algorithm])
        assert claims["sub"] == str(user.pk)
        assert client.get(reverse("me")).status_code == 200
        assert client.post(reverse("jwt_cookie_auth:refresh")).status_code == 200
        assert access_cookie(client) != token
        assert client.get(reverse("me")).json()["user"] == user.get_username()


def _old_key_configs(
    form: str, rsa_key: KeyPair, rsa_key_b: KeyPair
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    old_hmac, new_hmac = "o" * 64, "n" * 64
    if form == "rsa":
        old = {"ALGORITHM": "RS256", "SIGNING_KEY": rsa_key.private_pem}
        new = {"ALGORITHM": "RS256", "SIGNING_KEY": rsa_key_b.private_pem}
        listed: Any = rsa_key.public_pem
    else:
        old, new = {"SIGNING_KEY": old_hmac}, {"SIGNING_KEY": new_hmac}
        listed = old_hmac if form == "hmac" else {"KEY": old_hmac, "ALGORITHM": "HS256"}
    return old, {**new, "OLD_VERIFYING_KEYS": [listed]}, new


@pytest.mark.parametrize("form", ["hmac", "hmac-dict", "rsa"])
def test_old_verifying_key_works_until_removed(
    form: str, user: Any, rsa_key: KeyPair, rsa_key_b: KeyPair
) -> None:
    """Tokens of a rotated-out key verify while it is listed; then a clean 401 and re-login."""
    old, new_with_old, new_only = _old_key_configs(form, rsa_key, rsa_key_b)
    with override_settings(JWT_COOKIE_AUTH=old):
        before = issue_pair(user)
        old_kid = keys.get_keys().kid
    with override_settings(JWT_COOKIE_AUTH=new_with_old):
        assert keys.get_keys().kid != old_kid
        assert_accepted_as_access(before.access, user)
        # Rotation of an old refresh token moves the session onto the new key.
        carried = issue_pair(user)
        response = Client().post(
            reverse("jwt_cookie_auth:refresh"),
            HTTP_COOKIE=f"{refresh_cookie_name()}={carried.refresh}",
        )
        assert response.status_code == 200
        renewed = response.cookies[access_cookie_name()].value
        assert jwt.get_unverified_header(renewed)["kid"] == keys.get_keys().kid
    with override_settings(JWT_COOKIE_AUTH=new_only):
        assert_refused(before.access, tokens.ACCESS)
        assert_refused(before.refresh, tokens.REFRESH)
        client = Client()
        client.cookies[access_cookie_name()] = before.access
        client.cookies[refresh_cookie_name()] = before.refresh
        response = client.get(reverse("me"))
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == WWW_AUTHENTICATE
        login(client, user)
        assert client.get(reverse("me")).status_code == 200
        assert_accepted_as_access(renewed, user)


def test_secret_key_rotation_with_fallbacks_keeps_tokens_valid(user: Any, settings: Any) -> None:
    """Moving SECRET_KEY into SECRET_KEY_FALLBACKS keeps tokens valid; dropping it ends them."""
    old_secret, new_secret = settings.SECRET_KEY, "rotated-secret-key-" + "z" * 50
    before = issue_pair(user)
    with override_settings(SECRET_KEY=new_secret, SECRET_KEY_FALLBACKS=[old_secret]):
        assert_accepted_as_access(before.access, user)
        response = Client().post(
            reverse("jwt_cookie_auth:refresh"),
            HTTP_COOKIE=f"{refresh_cookie_name()}={before.refresh}",
        )
        assert response.status_code == 200
        renewed = response.cookies[access_cookie_name()].value
        assert_accepted_as_access(renewed, user)
    with override_settings(SECRET_KEY=new_secret, SECRET_KEY_FALLBACKS=[]):
        assert_refused(before.access, tokens.ACCESS)
        assert_accepted_as_access(renewed, user)


def test_default_hmac_key_is_derived_from_secret_key(mine: Pair, settings: Any) -> None:
    """The default key is derived from SECRET_KEY, differs from it, and follows it."""
    secret = settings.SECRET_KEY
    keyset = keys.get_keys()
    assert keyset.algorithm == "HS256"
    assert keyset.signing_key == keys.derive_hmac_key(secret).encode()
    assert keyset.signing_key not in (secret, secret.encode())
    jwt.decode(mine.access, keys.derive_hmac_key(secret), algorithms=["HS256"])
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(mine.access, secret, algorithms=["HS256"])
    # A token signed with SECRET_KEY itself is a forgery.
    ctx = make_ctx(tokens.ACCESS, mine, mine)
    assert_refused(forge(ctx.header, ctx.payload, key=secret.encode()), tokens.ACCESS)
    with override_settings(SECRET_KEY="another-secret-key-" + "q" * 50):
        assert keys.get_keys().signing_key != keyset.signing_key
        assert_refused(mine.access, tokens.ACCESS)


# --- Time claims -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claim", "offset", "accepted"),
    [
        ("exp", -LEEWAY - 1, False),
        ("exp", -LEEWAY, False),
        ("exp", -LEEWAY + 1, True),
        ("iat", LEEWAY + 1, False),
        ("iat", LEEWAY, True),
        ("nbf", LEEWAY + 1, False),
        ("nbf", LEEWAY, True),
        ("nbf", 0, True),
    ],
)
def test_time_claims_respect_leeway(
    claim: str, offset: int, accepted: bool, user: Any, clock: Any
) -> None:
    """``exp`` in the past and ``iat``/``nbf`` in the future count only beyond LEEWAY."""
    genuine = issue_pair(user)
    now = int(clock.now().timestamp())
    for kind in (tokens.ACCESS, tokens.REFRESH):
        ctx = make_ctx(kind, genuine, genuine)
        token = forge(ctx.header, ctx.p(**{claim: now + offset}))
        if accepted:
            assert tokens.decode(token, kind).sid == ctx.payload["sid"]
        elif claim == "exp":
            with pytest.raises(tokens.TokenExpired):
                tokens.decode(token, kind)
        else:
            with pytest.raises(tokens.TokenError):
                tokens.decode(token, kind)
    ctx = make_ctx(tokens.ACCESS, genuine, genuine)
    access = forge(ctx.header, ctx.p(**{claim: now + offset}))
    if accepted:
        assert_accepted_as_access(access, user)
    else:
        assert_refused_as_access(access)


@pytest.mark.parametrize("leeway", [0, 30])
def test_genuine_access_token_expires_after_leeway(leeway: int, user: Any, clock: Any) -> None:
    """A real access token works until exp + LEEWAY and not a second longer."""
    with override_settings(
        JWT_COOKIE_AUTH={"LEEWAY": timedelta(seconds=leeway), "AUTO_REFRESH": False}
    ):
        genuine = issue_pair(user)
        clock.advance(minutes=5, seconds=leeway - 1)
        assert_accepted_as_access(genuine.access, user)
        clock.advance(seconds=1)
        with pytest.raises(tokens.TokenExpired):
            tokens.decode(genuine.access, tokens.ACCESS)
        client = Client()
        client.cookies[access_cookie_name()] = genuine.access
        response = client.get(reverse("me"))
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == WWW_AUTHENTICATE


# --- Issuer and audience -----------------------------------------------------------------

ISSUER = "https://auth.example.com"
AUDIENCE = "https://api.example.com"

ISS_AUD_CASES: dict[str, Callable[[Ctx], dict[str, Any]]] = {
    "missing-aud": lambda c: c.p_without("aud"),
    "wrong-aud": lambda c: c.p(aud="https://api.example.org"),
    "aud-list-without-ours": lambda c: c.p(aud=["https://a.example", "https://b.example"]),
    "aud-substring": lambda c: c.p(aud="api.example.com"),
    "missing-iss": lambda c: c.p_without("iss"),
    "wrong-iss": lambda c: c.p(iss="https://evil.example"),
    "iss-substring": lambda c: c.p(iss="auth.example.com"),
    "iss-prefix": lambda c: c.p(iss="https://auth.example"),
    "iss-superstring": lambda c: c.p(iss="https://auth.example.com.evil.example"),
    "iss-list": lambda c: c.p(iss=[ISSUER]),
    "iss-empty": lambda c: c.p(iss=""),
}


@pytest.fixture
def iss_aud(settings: Any) -> None:
    settings.JWT_COOKIE_AUTH = {"ISSUER": ISSUER, "AUDIENCE": AUDIENCE}


@pytest.mark.usefixtures("iss_aud")
def test_issuer_and_audience_are_set_and_accepted(user: Any) -> None:
    """With ISSUER and AUDIENCE configured, our tokens carry and pass them."""
    genuine = issue_pair(user)
    for kind in (tokens.ACCESS, tokens.REFRESH):
        payload = jwt.decode(genuine.of(kind), options={"verify_signature": False})
        assert payload["iss"] == ISSUER
        assert payload["aud"] == AUDIENCE
        assert tokens.decode(genuine.of(kind), kind).sub == str(user.pk)
    assert_accepted_as_access(genuine.access, user)


@pytest.mark.usefixtures("iss_aud")
@pytest.mark.parametrize("kind", [tokens.ACCESS, tokens.REFRESH])
@pytest.mark.parametrize("case", list(ISS_AUD_CASES))
def test_wrong_issuer_or_audience_is_refused(case: str, kind: tokens.TokenType, user: Any) -> None:
    """Missing, wrong, list-valued or substring iss/aud is refused when configured."""
    genuine = issue_pair(user)
    ctx = make_ctx(kind, genuine, genuine)
    assert_refused(forge(ctx.header, ISS_AUD_CASES[case](ctx)), kind)


def test_tokens_minted_before_issuer_was_configured_are_refused(user: Any) -> None:
    """Turning on ISSUER/AUDIENCE refuses tokens that lack them."""
    genuine = issue_pair(user)
    with override_settings(JWT_COOKIE_AUTH={"ISSUER": ISSUER}):
        assert_refused(genuine.access, tokens.ACCESS)
    with override_settings(JWT_COOKIE_AUTH={"AUDIENCE": AUDIENCE}):
        assert_refused(genuine.refresh, tokens.REFRESH)


# --- Cross-token confusion and where tokens may come from ---------------------------------


def test_refresh_token_is_not_an_access_token(mine: Pair) -> None:
    """A refresh token as access cookie or Bearer is a 401."""
    client = Client()
    client.cookies[access_cookie_name()] = mine.refresh
    response = client.get(reverse("me"))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == WWW_AUTHENTICATE
    response = Client().get(reverse("me"), HTTP_AUTHORIZATION=f"Bearer {mine.refresh}")
    assert response.status_code == 401
    page = Client().get(reverse("whoami"), HTTP_COOKIE=f"{access_cookie_name()}={mine.refresh}")
    assert page.json() == ANONYMOUS


def test_access_token_is_not_a_refresh_token(mine: Pair) -> None:
    """An access token sent as the refresh cookie is a 401 that deletes both cookies."""
    client = Client()
    client.cookies[refresh_cookie_name()] = mine.access
    response = client.post(reverse("jwt_cookie_auth:refresh"))
    assert response.status_code == 401
    assert_deleted(response)


def test_tokens_in_query_string_or_body_are_never_accepted(mine: Pair) -> None:
    """Only the configured cookie or a Bearer header carries a token."""
    names = (access_cookie_name(), "access", "access_token", "token", "jwt")
    as_fields = dict.fromkeys(names, mine.access)
    client = Client()
    assert client.get(reverse("me"), as_fields).status_code == 401
    assert client.post(reverse("me"), as_fields, content_type="application/json").status_code == (
        401
    )
    assert client.post(reverse("me"), as_fields).status_code == 401
    assert client.get(reverse("whoami"), as_fields).json() == ANONYMOUS
    refresh_fields = dict.fromkeys((refresh_cookie_name(), "refresh", "token"), mine.refresh)
    for response in (
        client.post(reverse("jwt_cookie_auth:refresh"), refresh_fields, "application/json"),
        client.post(f"{reverse('jwt_cookie_auth:refresh')}?refresh={mine.refresh}"),
        # A Bearer refresh token is only for native clients, when TOKENS_IN_BODY opts in.
        client.post(
            reverse("jwt_cookie_auth:refresh"), HTTP_AUTHORIZATION=f"Bearer {mine.refresh}"
        ),
    ):
        assert response.status_code == 401
    # Other cookie names and other Authorization schemes carry nothing.
    for extra in (
        {"HTTP_COOKIE": f"access_token={mine.access}; jwt={mine.access}"},
        {"HTTP_AUTHORIZATION": f"JWT {mine.access}"},
        {"HTTP_AUTHORIZATION": f"Token {mine.access}"},
        {"HTTP_X_ACCESS_TOKEN": mine.access},
    ):
        assert client.get(reverse("me"), **extra).status_code == 401
    # The same token where it belongs works.
    assert_accepted_as_access(mine.access, mine.user)


def test_worst_case_token_cookie_fits_in_4096_bytes(rsa_4096_key: KeyPair, db: None) -> None:
    """The largest Set-Cookie we emit (RS512/4096, iss, aud, longest login name) fits."""
    user_model = get_user_model()
    longest = 254 if user_model.USERNAME_FIELD == "email" else 150
    name = "x" * (longest - len("@example.com")) if longest == 254 else "x" * longest
    user = make_user(name, PASSWORD)
    assert len(user.get_username()) == longest
    config = {
        "ALGORITHM": "RS512",
        "SIGNING_KEY": rsa_4096_key.private_pem,
        "ISSUER": "https://" + "i" * 240 + ".example.com",
        "AUDIENCE": "https://" + "a" * 240 + ".example.com",
        "COOKIE_DOMAIN": "." + "d" * 240 + ".example.com",
        "COOKIE_SAMESITE": "None",
    }
    with override_settings(JWT_COOKIE_AUTH=config):
        client = Client()
        response = login(client, user)
        for cookie in (access_cookie_name(), refresh_cookie_name()):
            set_cookie = response.cookies[cookie].OutputString()
            assert len(set_cookie.encode()) < 4096, len(set_cookie)
        assert jwt.get_unverified_header(access_cookie(client))["alg"] == "RS512"
        # Our own MAX_TOKEN_LENGTH accepts what we mint.
        assert client.get(reverse("me")).status_code == 200
        assert client.post(reverse("jwt_cookie_auth:refresh")).status_code == 200


# --- Property tests ----------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)
jwt_headers = st.fixed_dictionaries(
    {},
    optional={
        "alg": st.sampled_from(["HS256", "HS512", "RS256", "none", "None", ""]) | json_values,
        "typ": st.sampled_from(["at+jwt", "rt+jwt", "JWT"]) | json_values,
        # Drawn at run time: the kid of the key the suite is using.
        "kid": st.builds(lambda: keys.get_keys().kid) | json_values,
        "crit": json_values,
        "jku": st.just("https://attacker.example/jwks.json"),
    },
)
jwt_claims = st.fixed_dictionaries(
    {},
    optional={
        name: st.text(max_size=40) | st.integers() | json_values
        for name in ("sub", "sid", "jti", "iat", "exp", "nbf", "aud", "iss")
    }
    | {"token_type": st.sampled_from(["access", "refresh"]) | json_values},
)
segments = (
    (jwt_headers | jwt_claims | json_values).map(encode_json)
    | st.binary(max_size=64).map(b64)
    | st.text(max_size=24)
)
jwt_shaped = st.lists(segments, min_size=1, max_size=5).map(".".join) | st.tuples(
    jwt_headers.map(encode_json),
    jwt_claims.map(encode_json),
    st.binary(max_size=64).map(b64),
).map(".".join)
arbitrary_tokens = st.text() | st.binary().map(lambda raw: raw.decode("latin-1")) | jwt_shaped


@hypothesis_settings(max_examples=200, deadline=None, database=None)
@given(token=arbitrary_tokens, kind=st.sampled_from([tokens.ACCESS, tokens.REFRESH]))
def test_decode_refuses_arbitrary_input_with_token_error_only(
    token: str, kind: tokens.TokenType
) -> None:
    """No string ever authenticates, and nothing but TokenError ever escapes."""
    with pytest.raises(tokens.TokenError):
        tokens.decode(token, kind)
    assert tokens.seems_expired(token) in (True, False)


@pytest.mark.parametrize("value", [None, b"a.b.c", 123, ["a", "b", "c"], {"token": "x"}])
def test_decode_refuses_non_strings(value: Any) -> None:
    """Non-string input is an InvalidToken, not a TypeError."""
    with pytest.raises(tokens.InvalidToken):
        tokens.decode(value, tokens.ACCESS)


@hypothesis_settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(token=arbitrary_tokens)
def test_http_never_fails_on_arbitrary_token(db: None, token: str) -> None:
    """Arbitrary cookie or Bearer values give 401 or anonymous, never a 500."""
    client = Client()
    value = wire(token)
    response = client.get(reverse("me"), HTTP_COOKIE=f"{access_cookie_name()}={value}")
    assert response.status_code == 401
    response = client.get(reverse("me"), HTTP_AUTHORIZATION=f"Bearer {value}")
    assert response.status_code == 401
    pair = f"{access_cookie_name()}={value}; {refresh_cookie_name()}=x"
    response = client.get(reverse("whoami"), HTTP_COOKIE=pair)
    assert response.status_code == 200
    assert response.json() == ANONYMOUS
    refresh = f"{refresh_cookie_name()}={value}"
    response = client.post(reverse("jwt_cookie_auth:refresh"), HTTP_COOKIE=refresh)
    assert response.status_code == 401


@pytest.mark.django_db
def test_absurd_expiry_signed_with_our_key_is_refused() -> None:
    """An ``exp`` beyond what a datetime can hold is a clean refusal, not a later 500."""
    from datetime import UTC, datetime

    token = tokens.encode(
        tokens.ACCESS,
        sub="1",
        sid="00000000-0000-0000-0000-000000000000",
        jti="x",
        issued_at=datetime.now(UTC),
        expires_at=datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
    )
    payload = jwt.decode(token, options={"verify_signature": False})
    assert payload["exp"] == tokens.MAX_TIMESTAMP
    keyset = keys.get_keys()
    huge = jwt.encode(
        {**payload, "exp": 10**400},
        keyset.signing_key,
        algorithm=keyset.algorithm,
        headers={"typ": "at+jwt", "kid": keyset.kid},
    )
    with pytest.raises(tokens.InvalidToken):
        tokens.decode(huge, tokens.ACCESS)
