"""System checks: insecure or inconsistent configuration is loud at startup.

Every check has a unique id (``jwt_cookie_auth.E0xx`` errors, ``W0xx`` warnings) and
a hint that names the fix. Run them with ``manage.py check --deploy`` or any command.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.urls import NoReverseMatch, reverse
from django.utils.module_loading import import_string

from jwt_cookie_auth import client_ip, cookie_names
from jwt_cookie_auth.conf import DEFAULTS, app_settings
from jwt_cookie_auth.cookie_paths import path_matches

ID = "jwt_cookie_auth."
MIDDLEWARE_PATH = "jwt_cookie_auth.middleware.JWTCookieMiddleware"
AUTH_MIDDLEWARE_PATH = "django.contrib.auth.middleware.AuthenticationMiddleware"
CSRF_MIDDLEWARE_PATH = "django.middleware.csrf.CsrfViewMiddleware"
LOCMEM_BACKEND = "django.core.cache.backends.locmem.LocMemCache"
DJANGO_REDIS = "django_redis.cache.RedisCache"
SAMESITE_VALUES = ("Lax", "Strict", "None")
# How request.META names a header (or REMOTE_ADDR itself).
META_KEY = re.compile(r"REMOTE_ADDR|HTTP_[A-Z0-9_]+")
LIFETIMES = ("ACCESS_TOKEN_LIFETIME", "REFRESH_TOKEN_LIFETIME", "SESSION_MAX_LIFETIME")


def register() -> None:
    checks.register(check_settings, checks.Tags.security)
    checks.register(check_cookies, checks.Tags.security)
    checks.register(check_cookie_prefixes, checks.Tags.security, deploy=True)
    checks.register(check_error_reports, checks.Tags.security, deploy=True)
    checks.register(check_keys, checks.Tags.security)
    checks.register(check_middleware, checks.Tags.security)
    checks.register(check_cache, checks.Tags.security, checks.Tags.caches)
    checks.register(check_cache_replicas, checks.Tags.security, checks.Tags.caches)
    checks.register(check_refresh_path, checks.Tags.security, checks.Tags.urls)
    checks.register(check_client_ip, checks.Tags.security)
    checks.register(check_login_throttle, checks.Tags.security, checks.Tags.caches)
    checks.register(check_step_up, checks.Tags.security)
    checks.register(check_django_login, checks.Tags.security)
    checks.register(check_extensions, checks.Tags.security)
    checks.register(check_partitioned, checks.Tags.security)
    checks.register(check_verified_token_cache, checks.Tags.security)
    checks.register(check_local_revocation_cache, checks.Tags.security, checks.Tags.caches)


def _error(number: int, msg: str, hint: str) -> checks.CheckMessage:
    return checks.Error(msg, hint=hint, id=f"{ID}E{number:03d}")


def _warning(number: int, msg: str, hint: str) -> checks.CheckMessage:
    return checks.Warning(msg, hint=hint, id=f"{ID}W{number:03d}")


def check_settings(**kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    raw = getattr(settings, "JWT_COOKIE_AUTH", None)
    if raw is not None and not isinstance(raw, dict):
        return [_error(1, "JWT_COOKIE_AUTH must be a dict.", "Use JWT_COOKIE_AUTH = {...}.")]
    for key in sorted(set(raw or {}) - set(DEFAULTS)):
        errors.append(
            _error(
                2,
                f"JWT_COOKIE_AUTH has an unknown key {key!r}.",
                f"Valid keys: {', '.join(sorted(DEFAULTS))}. Check the spelling.",
            )
        )
    durations = [
        *LIFETIMES,
        "ROTATION_GRACE_PERIOD",
        "LEEWAY",
        "REVOCATION_CACHE_TIMEOUT",
        "USER_CACHE_TIMEOUT",
    ]
    bad = [name for name in durations if not isinstance(getattr(app_settings, name), timedelta)]
    for name in bad:
        errors.append(
            _error(
                3, f"JWT_COOKIE_AUTH[{name!r}] must be a timedelta.", "e.g. timedelta(minutes=5)."
            )
        )
    if bad:
        return errors
    for name in LIFETIMES:
        if getattr(app_settings, name) <= timedelta(0):
            errors.append(
                _error(
                    4, f"JWT_COOKIE_AUTH[{name!r}] must be positive.", "Use a positive timedelta."
                )
            )
    access, refresh = app_settings.ACCESS_TOKEN_LIFETIME, app_settings.REFRESH_TOKEN_LIFETIME
    if access >= refresh:
        errors.append(
            _error(
                5,
                "ACCESS_TOKEN_LIFETIME must be shorter than REFRESH_TOKEN_LIFETIME.",
                "Access tokens cannot be revoked by rotation; keep them short (5-15 min) "
                "and the refresh token longer (about a day).",
            )
        )
    if refresh > app_settings.SESSION_MAX_LIFETIME:
        errors.append(
            _error(
                6,
                "REFRESH_TOKEN_LIFETIME must not exceed SESSION_MAX_LIFETIME.",
                "SESSION_MAX_LIFETIME is the absolute limit counted from login.",
            )
        )
    grace = app_settings.ROTATION_GRACE_PERIOD
    if grace < timedelta(0) or grace >= access:
        errors.append(
            _error(
                7,
                "ROTATION_GRACE_PERIOD must be at least 0 and shorter than ACCESS_TOKEN_LIFETIME.",
                "10-30 seconds covers parallel requests; longer widens the window a "
                "stolen refresh token can be used in without being detected.",
            )
        )
    if timedelta(seconds=30) < app_settings.LEEWAY or timedelta(0) > app_settings.LEEWAY:
        errors.append(
            _warning(
                1,
                "LEEWAY should be between 0 and 30 seconds.",
                "RFC 8725 advises a small clock skew allowance.",
            )
        )
    if access > timedelta(minutes=15):
        errors.append(
            _warning(
                2,
                "ACCESS_TOKEN_LIFETIME is longer than 15 minutes.",
                "Revocation reaches access tokens through the cache, but if the cache "
                "is lost, a short lifetime bounds the damage.",
            )
        )
    try:
        import_string(app_settings.USER_SERIALIZER)
    except ImportError:
        errors.append(
            _error(
                8,
                f"USER_SERIALIZER {app_settings.USER_SERIALIZER!r} cannot be imported.",
                "Give a dotted path to a Serializer class.",
            )
        )
    return errors


def _prefix_errors(name: str, path: str) -> Iterable[checks.CheckMessage]:
    if name.startswith("__Host-"):
        if not app_settings.COOKIE_SECURE or app_settings.COOKIE_DOMAIN or path != "/":
            yield _error(
                13,
                f"Cookie {name!r} uses the __Host- prefix, which requires COOKIE_SECURE=True, "
                "COOKIE_DOMAIN=None and path '/'.",
                "Browsers silently drop __Host- cookies that break these rules.",
            )
    elif name.startswith("__Secure-") and not app_settings.COOKIE_SECURE:
        yield _error(
            14,
            f"Cookie {name!r} uses the __Secure- prefix, which requires COOKIE_SECURE=True.",
            "Browsers silently drop __Secure- cookies without Secure.",
        )


def check_cookies(**kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    samesite = app_settings.COOKIE_SAMESITE
    if samesite not in SAMESITE_VALUES:
        errors.append(
            _error(
                10,
                f"COOKIE_SAMESITE={samesite!r} is not one of {SAMESITE_VALUES}.",
                "Use 'Lax' unless the front end is on another site.",
            )
        )
    if samesite == "None" and not app_settings.COOKIE_SECURE:
        errors.append(
            _error(
                11,
                "COOKIE_SAMESITE='None' requires COOKIE_SECURE=True.",
                "Browsers reject SameSite=None cookies without Secure. Cross-site setups "
                "need HTTPS on both sites.",
            )
        )
    if samesite == "None" and (
        getattr(settings, "CSRF_COOKIE_SAMESITE", "Lax") != "None"
        or not getattr(settings, "CSRF_COOKIE_SECURE", False)
    ):
        errors.append(
            _warning(
                3,
                "COOKIE_SAMESITE='None' but Django's CSRF cookie is not SameSite=None; Secure.",
                "A front end on another site cannot send the CSRF cookie: set "
                "CSRF_COOKIE_SAMESITE='None', CSRF_COOKIE_SECURE=True and CSRF_TRUSTED_ORIGINS.",
            )
        )
    prefix = app_settings.COOKIE_NAME_PREFIX
    if prefix not in cookie_names.PREFIX_CHOICES:
        errors.append(
            _error(
                15,
                f"COOKIE_NAME_PREFIX={prefix!r} is not 'auto' or ''.",
                "Leave 'auto' (__Host-/__Secure- wherever the configuration allows); to "
                "pick a prefix yourself, write it into ACCESS_COOKIE_NAME/REFRESH_COOKIE_NAME.",
            )
        )
    if (
        app_settings.ACCESS_COOKIE_NAME == app_settings.REFRESH_COOKIE_NAME
        or cookie_names.access_cookie_name() == cookie_names.refresh_cookie_name()
    ):
        errors.append(
            _error(
                12,
                "ACCESS_COOKIE_NAME and REFRESH_COOKIE_NAME must differ.",
                "Give each cookie its own name.",
            )
        )
    errors += _prefix_errors(app_settings.ACCESS_COOKIE_NAME, app_settings.ACCESS_COOKIE_PATH)
    errors += _prefix_errors(app_settings.REFRESH_COOKIE_NAME, app_settings.REFRESH_COOKIE_PATH)
    if not app_settings.COOKIE_SECURE and not settings.DEBUG:
        errors.append(
            _warning(
                4,
                "COOKIE_SECURE is False outside DEBUG: tokens can travel over plain HTTP.",
                "Leave COOKIE_SECURE=True; browsers accept Secure cookies on http://localhost.",
            )
        )
    return errors


def check_cookie_prefixes(**kwargs: Any) -> list[checks.CheckMessage]:
    """Deploy check: a token cookie without a prefix can be tossed by a subdomain."""
    unprefixed = [
        name
        for name in (cookie_names.access_cookie_name(), cookie_names.refresh_cookie_name())
        if not cookie_names.has_prefix(name)
    ]
    if not unprefixed:
        return _secure_prefix_warnings()
    return [
        _warning(
            15,
            f"Token cookie names {unprefixed} have no __Host- or __Secure- prefix: a "
            "sibling subdomain or a plain-HTTP response can set cookies of the same name.",
            "Keep COOKIE_SECURE=True and COOKIE_NAME_PREFIX='auto' (the defaults); without "
            "a COOKIE_DOMAIN and with path '/' the names become __Host-.",
        )
    ]


def _secure_prefix_warnings() -> list[checks.CheckMessage]:
    """``__Secure-`` names: a sibling subdomain over HTTPS can still plant them."""
    warnings: list[checks.CheckMessage] = []
    configured = [
        ("ACCESS_COOKIE_PATH", cookie_names.access_cookie_name(), app_settings.ACCESS_COOKIE_PATH),
        (
            "REFRESH_COOKIE_PATH",
            cookie_names.refresh_cookie_name(),
            app_settings.REFRESH_COOKIE_PATH,
        ),
    ]
    for path_setting, name, path in configured:
        if not name.lower().startswith(cookie_names.SECURE_PREFIX.lower()):
            continue
        causes = []
        if app_settings.COOKIE_DOMAIN is not None:
            causes.append(f"COOKIE_DOMAIN={app_settings.COOKIE_DOMAIN!r}")
        if path != "/":
            causes.append(f"{path_setting}={path!r}")
        cause = " and ".join(causes) or "its configured name"
        warnings.append(
            _warning(
                16,
                f"Token cookie {name!r} is a __Secure- cookie, not __Host-, because of "
                f"{cause}: any sibling subdomain over HTTPS can plant a cookie of that name.",
                "For __Host- names leave COOKIE_DOMAIN unset and keep the cookie's path '/' "
                "(a narrower REFRESH_COOKIE_PATH only limits where the browser sends it). "
                "If you keep them, trust every subdomain of the cookie's domain.",
            )
        )
    return warnings


def check_error_reports(**kwargs: Any) -> list[checks.CheckMessage]:
    """Deploy check: reports made before the middleware runs mask the token cookies."""
    from jwt_cookie_auth.reporting import masks_token_cookies

    path = getattr(settings, "DEFAULT_EXCEPTION_REPORTER_FILTER", "")
    try:
        # Not get_default_exception_reporter_filter(): it caches the first instance.
        masked = masks_token_cookies(import_string(path)())
    except Exception:  # not importable or not constructible: Django will say so itself
        masked = False
    if masked:
        return []
    return [
        _warning(
            17,
            f"DEFAULT_EXCEPTION_REPORTER_FILTER ({path!r}) does not mask the token cookies: "
            "an error raised before JWTCookieMiddleware runs (DisallowedHost from "
            "CommonMiddleware, an outer middleware's exception) is reported with both tokens.",
            "Set DEFAULT_EXCEPTION_REPORTER_FILTER = "
            "'jwt_cookie_auth.reporting.TokenSafeExceptionReporterFilter' (or a subclass).",
        )
    ]


def check_keys(**kwargs: Any) -> list[checks.CheckMessage]:
    from jwt_cookie_auth import keys

    algorithm = app_settings.ALGORITHM
    if algorithm not in keys.SUPPORTED_ALGORITHMS:
        return [
            _error(
                20,
                f"ALGORITHM {algorithm!r} is not supported.",
                f"Use one of {sorted(keys.SUPPORTED_ALGORITHMS)}.",
            )
        ]
    errors: list[checks.CheckMessage] = []
    signing = app_settings.SIGNING_KEY
    if algorithm in keys.HMAC_ALGORITHMS and signing is not None:
        length = len(signing.encode() if isinstance(signing, str) else signing)
        if length < keys.MIN_HMAC_KEY_BYTES:
            errors.append(
                _error(
                    21,
                    f"SIGNING_KEY is {length} bytes; HMAC keys need at least "
                    f"{keys.MIN_HMAC_KEY_BYTES}.",
                    "Leave SIGNING_KEY unset to derive a key from SECRET_KEY, or use "
                    "secrets.token_urlsafe(64).",
                )
            )
    if algorithm in keys.HMAC_ALGORITHMS and app_settings.VERIFYING_KEY is not None:
        errors.append(
            _error(
                22,
                "VERIFYING_KEY is only for asymmetric algorithms.",
                "Remove VERIFYING_KEY or use RS256/ES256/EdDSA.",
            )
        )
    if errors:
        return errors
    try:
        keys.clear_cache()
        keys.get_keys()
    except Exception as exc:  # any loading failure is a configuration error to report
        errors.append(
            _error(
                23,
                f"The signing or verifying keys cannot be loaded: {exc!r}",
                "Check ALGORITHM, SIGNING_KEY, VERIFYING_KEY and OLD_VERIFYING_KEYS.",
            )
        )
    return errors


def check_middleware(**kwargs: Any) -> list[checks.CheckMessage]:
    middleware = list(settings.MIDDLEWARE)
    if MIDDLEWARE_PATH not in middleware:
        if app_settings.AUTO_REFRESH:
            return [
                _warning(
                    5,
                    f"{MIDDLEWARE_PATH} is not in MIDDLEWARE, so AUTO_REFRESH has no effect "
                    "and plain Django views do not see the JWT user.",
                    "Add it after AuthenticationMiddleware, or set AUTO_REFRESH=False.",
                )
            ]
        return []
    errors: list[checks.CheckMessage] = []
    position = middleware.index(MIDDLEWARE_PATH)
    if AUTH_MIDDLEWARE_PATH not in middleware[:position]:
        errors.append(
            _error(
                30,
                f"{MIDDLEWARE_PATH} must come after {AUTH_MIDDLEWARE_PATH} in MIDDLEWARE.",
                "It builds on request.user set by Django's authentication middleware.",
            )
        )
    if not _csrf_middlewares(middleware):
        errors.append(
            _error(
                31,
                f"{CSRF_MIDDLEWARE_PATH} is not in MIDDLEWARE.",
                "Cookie credentials need CSRF protection, and the session endpoint relies "
                "on it to set the CSRF cookie.",
            )
        )
    return errors


def check_cache(**kwargs: Any) -> list[checks.CheckMessage]:
    alias = app_settings.CACHE_ALIAS
    caches_setting = getattr(settings, "CACHES", {})
    if alias not in caches_setting:
        return [
            _error(
                40,
                f"CACHE_ALIAS {alias!r} is not in CACHES.",
                "Name a configured cache, e.g. a django-redis cache.",
            )
        ]
    backend = caches_setting[alias].get("BACKEND", "")
    if (
        backend in (LOCMEM_BACKEND, "django.core.cache.backends.dummy.DummyCache")
        and not settings.DEBUG
    ):
        return [
            _warning(
                6,
                f"The revocation cache {alias!r} uses {backend.rsplit('.', 1)[-1]}, which other "
                "worker processes cannot see.",
                "Revocation is still enforced through the database fallback, but each "
                "process caches its own answers for REVOCATION_CACHE_TIMEOUT: use "
                "django-redis (or another shared cache) in production.",
            )
        ]
    return []


def check_cache_replicas(**kwargs: Any) -> list[checks.CheckMessage]:
    """REVOCATION_CACHE_MIN_REPLICAS and its timeout are valid, and can be honoured."""
    errors = []
    wanted = app_settings.REVOCATION_CACHE_MIN_REPLICAS
    valid_count = isinstance(wanted, int) and not isinstance(wanted, bool) and wanted >= 0
    if wanted != "connected" and not valid_count:
        errors.append(
            _error(
                150,
                f"REVOCATION_CACHE_MIN_REPLICAS must be 'connected' or an integer >= 0, "
                f"not {wanted!r}.",
                "Use 'connected' (the default: every replica connected when the markers "
                "are written) or the number of Redis replicas that must confirm them.",
            )
        )
    timeout = app_settings.REVOCATION_CACHE_REPLICA_TIMEOUT
    if not isinstance(timeout, timedelta) or not timedelta(0) < timeout <= timedelta(seconds=10):
        errors.append(
            _error(
                151,
                f"REVOCATION_CACHE_REPLICA_TIMEOUT must be a timedelta above 0 and at most "
                f"10 seconds, not {timeout!r}.",
                "Each revocation waits up to this long for Redis replicas: e.g. "
                "timedelta(milliseconds=500), the default.",
            )
        )
    backend = getattr(settings, "CACHES", {}).get(app_settings.CACHE_ALIAS, {}).get("BACKEND", "")
    if isinstance(wanted, int) and valid_count and wanted > 0 and backend != DJANGO_REDIS:
        errors.append(
            _warning(
                150,
                f"REVOCATION_CACHE_MIN_REPLICAS={wanted}, but the revocation cache uses "
                f"{backend.rsplit('.', 1)[-1] or 'no backend'}: only django-redis's "
                "DefaultClient and SentinelClient wait for replicas (Redis WAIT).",
                "Use django-redis for a replicated Redis, or set "
                "REVOCATION_CACHE_MIN_REPLICAS to 0.",
            )
        )
    return errors


def check_refresh_path(**kwargs: Any) -> list[checks.CheckMessage]:
    path = app_settings.REFRESH_COOKIE_PATH
    errors: list[checks.CheckMessage] = []
    if app_settings.AUTO_REFRESH and path != "/":
        errors.append(
            _error(
                50,
                "AUTO_REFRESH needs the refresh cookie on every page, but "
                f"REFRESH_COOKIE_PATH is {path!r}.",
                "Set REFRESH_COOKIE_PATH='/' or AUTO_REFRESH=False.",
            )
        )
    # The views that read the refresh cookie themselves (with AUTO_REFRESH every view
    # does, hence E050). A view the project did not route is not checked.
    urls = {name: _url(f"jwt_cookie_auth:{name}") for name in ("refresh", "logout", "login")}
    routed = [url for url in urls.values() if url is not None]
    hint = f"Set REFRESH_COOKIE_PATH to {_common_path(routed)!r}, which all of them are under."
    refresh_url, logout_url, login_url = urls["refresh"], urls["logout"], urls["login"]
    if refresh_url is not None and not path_matches(refresh_url, path):
        errors.append(
            _error(
                51,
                f"The refresh view ({refresh_url}) is outside REFRESH_COOKIE_PATH {path!r}: "
                "the browser would never send it the refresh cookie.",
                hint,
            )
        )
    if logout_url is not None and not path_matches(logout_url, path):
        errors.append(
            _error(
                52,
                f"The logout view ({logout_url}) is outside REFRESH_COOKIE_PATH {path!r}: "
                "once the access cookie has expired, logout cannot see the session, and "
                "it stays live.",
                hint,
            )
        )
    if login_url is not None and not path_matches(login_url, path):
        errors.append(
            _error(
                53,
                f"The login view ({login_url}) is outside REFRESH_COOKIE_PATH {path!r}: it "
                "cannot revoke the session whose refresh cookie a new login replaces.",
                hint,
            )
        )
    return errors


def _url(name: str) -> str | None:
    try:
        return reverse(name)
    except (NoReverseMatch, ImproperlyConfigured):
        return None


def _common_path(urls: list[str]) -> str:
    """The deepest directory every URL is under, e.g. '/auth/'."""
    if not urls:
        return "/"
    common = posixpath.commonpath([posixpath.dirname(url.rstrip("/")) + "/" for url in urls])
    return common.rstrip("/") + "/"


def check_client_ip(**kwargs: Any) -> list[checks.CheckMessage]:
    """The client IP keys the login throttle: a client must not be able to choose it."""
    errors: list[checks.CheckMessage] = []
    header = app_settings.CLIENT_IP_HEADER
    count, networks = app_settings.NUM_PROXIES, app_settings.TRUSTED_PROXIES
    if header is not None and (not isinstance(header, str) or not META_KEY.fullmatch(header)):
        errors.append(
            _error(
                93,
                f"CLIENT_IP_HEADER={header!r} is not a request.META key.",
                "Name the header as Django's request.META does: 'HTTP_X_FORWARDED_FOR' for "
                "X-Forwarded-For, 'HTTP_X_REAL_IP' for X-Real-IP, 'HTTP_FORWARDED' for RFC "
                "7239 Forwarded.",
            )
        )
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 0):
        errors.append(
            _error(
                90,
                f"NUM_PROXIES={count!r} is not a count.",
                "The number of reverse proxies in front of the app (0 or more), as DRF's "
                "NUM_PROXIES; or None.",
            )
        )
    bad = list(client_ip.invalid_networks(networks)) if networks else []
    if bad:
        errors.append(
            _error(
                91,
                f"TRUSTED_PROXIES has entries that are not IP networks: {', '.join(bad)}.",
                "Give a list of CIDR strings, e.g. ['10.0.0.0/8', '2001:db8::/32'].",
            )
        )
    if count is not None and networks:
        errors.append(
            _error(
                92,
                "NUM_PROXIES and TRUSTED_PROXIES are both set.",
                "Use one: NUM_PROXIES when every request passes the same number of "
                "proxies, TRUSTED_PROXIES when the proxies' networks are known.",
            )
        )
    forwarded = header not in (None, "REMOTE_ADDR")
    if forwarded and count is None and not networks:
        errors.append(
            _warning(
                90,
                f"CLIENT_IP_HEADER is {header!r} but neither NUM_PROXIES nor "
                "TRUSTED_PROXIES says which of its entries to trust.",
                "One proxy is assumed (the right-most entry). Behind another number of "
                "proxies, set NUM_PROXIES or TRUSTED_PROXIES: a wrong guess either lets "
                "clients choose their throttle key or puts every client in one.",
            )
        )
    if not forwarded and (count is not None or networks):
        errors.append(
            _warning(
                91,
                "NUM_PROXIES or TRUSTED_PROXIES is set but CLIENT_IP_HEADER is not, so "
                "they have no effect.",
                "Set CLIENT_IP_HEADER to the header your proxy writes, e.g. "
                "'HTTP_X_FORWARDED_FOR'.",
            )
        )
    return errors


THROTTLE_SCOPES = ("ip", "username", "device", "known_devices")
# DRF's rate syntax, as SimpleRateThrottle.parse_rate reads it; at least one attempt.
THROTTLE_RATE = re.compile(r"[1-9][0-9]*/[smhd][a-z]*")
DUMMY_BACKEND = "django.core.cache.backends.dummy.DummyCache"
# Caches whose incr() is a read followed by a write (BaseCache.incr), not atomic.
NON_ATOMIC_BACKENDS = (
    "django.core.cache.backends.db.DatabaseCache",
    "django.core.cache.backends.filebased.FileBasedCache",
)


def _backend_is(backend: str, paths: Iterable[str]) -> bool:
    try:
        cls = import_string(backend)
    except ImportError:
        return False
    return any(isinstance(cls, type) and issubclass(cls, import_string(path)) for path in paths)


def check_login_throttle(**kwargs: Any) -> list[checks.CheckMessage]:
    """The login throttle and its device cookies are configured, and they can count."""
    errors: list[checks.CheckMessage] = []
    raw = getattr(settings, "JWT_COOKIE_AUTH", None)
    rates = raw.get("LOGIN_THROTTLE_RATES", {}) if isinstance(raw, dict) else {}
    if not isinstance(rates, dict):
        rates = {"": rates}
    for scope, rate in rates.items():
        valid = rate is None or (isinstance(rate, str) and THROTTLE_RATE.fullmatch(rate))
        if scope not in THROTTLE_SCOPES or not valid:
            errors.append(
                _error(
                    80,
                    f"LOGIN_THROTTLE_RATES has {scope!r}: {rate!r}.",
                    f"A dict with the keys {', '.join(THROTTLE_SCOPES)}, each a DRF rate such as "
                    "'5/min' (at least 1) or None to turn that limit off.",
                )
            )
    name = app_settings.DEVICE_COOKIE_NAME
    if not isinstance(name, str) or not name:
        errors.append(
            _error(81, "DEVICE_COOKIE_NAME must be a non-empty str.", "e.g. 'jwt_device'.")
        )
    elif name in (app_settings.ACCESS_COOKIE_NAME, app_settings.REFRESH_COOKIE_NAME):
        errors.append(
            _error(
                81,
                f"DEVICE_COOKIE_NAME {name!r} is also a token cookie's name.",
                "Give the device cookie its own name.",
            )
        )
    else:
        errors += _prefix_errors(name, "/")
    errors += _ipv6_prefix_errors()
    max_age = app_settings.DEVICE_COOKIE_MAX_AGE
    if not isinstance(max_age, timedelta) or max_age <= timedelta(0):
        errors.append(
            _error(
                82,
                "DEVICE_COOKIE_MAX_AGE must be a positive timedelta.",
                "e.g. timedelta(days=365): a device stays known this long after its last login.",
            )
        )
    counted = dict(app_settings.LOGIN_THROTTLE_RATES)
    if counted.get("device") is None:
        counted.pop("known_devices", None)  # only device cookies count there
    if errors or all(rate is None for rate in counted.values()):
        return errors
    backend = getattr(settings, "CACHES", {}).get(app_settings.CACHE_ALIAS, {}).get("BACKEND", "")
    if _backend_is(backend, [DUMMY_BACKEND]):
        errors.append(
            _warning(
                80,
                f"Login throttling is off: the cache {app_settings.CACHE_ALIAS!r} "
                "(CACHE_ALIAS) is a DummyCache, which stores nothing.",
                "Point CACHE_ALIAS at a real cache (django-redis in production, local memory "
                "in development), or set every LOGIN_THROTTLE_RATES value to None to say so.",
            )
        )
    elif _backend_is(backend, NON_ATOMIC_BACKENDS):
        errors.append(
            _warning(
                81,
                f"The cache {app_settings.CACHE_ALIAS!r} (CACHE_ALIAS) cannot count login "
                f"attempts atomically ({backend.rsplit('.', 1)[-1]}.incr reads, then writes).",
                "Concurrent guesses can exceed LOGIN_THROTTLE_RATES. Use Redis or memcached.",
            )
        )
    return errors


def _ipv6_prefix_errors() -> list[checks.CheckMessage]:
    """LOGIN_THROTTLE_IPV6_PREFIX_LENGTH: how much of an IPv6 address is one client."""
    length = app_settings.LOGIN_THROTTLE_IPV6_PREFIX_LENGTH
    if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= 128:
        return [
            _error(
                85,
                f"LOGIN_THROTTLE_IPV6_PREFIX_LENGTH must be an int from 1 to 128, not {length!r}.",
                "64 (the default): the per-IP login bucket counts each IPv6 /64 as one client.",
            )
        ]
    if length > 64:
        return [
            _warning(
                85,
                f"LOGIN_THROTTLE_IPV6_PREFIX_LENGTH is {length}: one client holding an IPv6 /64 "
                "gets a fresh per-IP login bucket for every address it takes.",
                "ISPs and hosts commonly hand a /64 (or more) to one client: use 64 or less.",
            )
        ]
    return []


def check_step_up(**kwargs: Any) -> list[checks.CheckMessage]:
    """STEP_UP_MAX_AGE: how recent RecentAuthentication wants an authentication (step_up.py)."""
    max_age = app_settings.STEP_UP_MAX_AGE
    if not isinstance(max_age, timedelta) or max_age <= timedelta(0):
        return [
            _error(
                115,
                "STEP_UP_MAX_AGE must be a positive timedelta.",
                "e.g. timedelta(minutes=5): how long after logging in or re-authenticating "
                "a user may use views that demand a recent authentication.",
            )
        ]
    lifetime = app_settings.SESSION_MAX_LIFETIME
    if isinstance(lifetime, timedelta) and max_age >= lifetime:
        return [
            _warning(
                115,
                "STEP_UP_MAX_AGE is not shorter than SESSION_MAX_LIFETIME: RecentAuthentication "
                "never asks a logged-in user to re-authenticate.",
                "Use minutes (RFC 9470 examples: 5 minutes) for the views that need it.",
            )
        ]
    return []


def check_django_login(**kwargs: Any) -> list[checks.CheckMessage]:
    """DJANGO_LOGIN_STARTS_JWT_SESSION: a bool, and a middleware to set the cookies."""
    starts = app_settings.DJANGO_LOGIN_STARTS_JWT_SESSION
    if not isinstance(starts, bool):
        return [
            _error(
                100,
                "DJANGO_LOGIN_STARTS_JWT_SESSION must be True or False.",
                "True: django.contrib.auth.login() also starts a JWT session and sets "
                "the token cookies; False (the default): it does not.",
            )
        ]
    if starts and MIDDLEWARE_PATH not in settings.MIDDLEWARE:
        return [
            _error(
                101,
                "DJANGO_LOGIN_STARTS_JWT_SESSION=True needs "
                f"{MIDDLEWARE_PATH} in MIDDLEWARE: it puts the new cookies on the "
                "response of the login view.",
                "Add it after AuthenticationMiddleware, or set "
                "DJANGO_LOGIN_STARTS_JWT_SESSION=False.",
            )
        ]
    return []


CLAIMS_CALLABLE = "a callable (user, session, request) -> dict"
SERIALIZER_CLASS = "a DRF serializer class"
BODY_CALLABLE = "a callable (request, user, session, body) -> dict"


def _extension_problem(name: str, expected: str) -> str | None:
    """Why the dotted-path setting ``name`` does not name ``expected``, or None."""
    path = getattr(app_settings, name)
    if path is None and name != "LOGIN_SERIALIZER":
        return None
    try:
        target = import_string(path) if isinstance(path, str) else None
    except ImportError as exc:
        return f"{name} {path!r} cannot be imported: {exc}."
    if name == "LOGIN_SERIALIZER":
        from rest_framework.serializers import BaseSerializer

        valid = isinstance(target, type) and issubclass(target, BaseSerializer)
    else:
        valid = callable(target)
    return None if valid else f"{name} {path!r} is not {expected}."


def check_extensions(**kwargs: Any) -> list[checks.CheckMessage]:
    """The extension points resolve, and the token cookies fit before any custom claim."""
    errors: list[checks.CheckMessage] = []
    problem = _extension_problem("CUSTOM_CLAIMS", CLAIMS_CALLABLE)
    if problem:
        errors.append(_error(110, problem, f"Give the dotted path of {CLAIMS_CALLABLE}."))
    problem = _extension_problem("LOGIN_SERIALIZER", SERIALIZER_CLASS)
    if problem:
        errors.append(
            _error(
                111,
                problem,
                f"Give the dotted path of {SERIALIZER_CLASS} whose validated_data holds "
                "'credentials' and 'identifier' (README, Custom login serializer).",
            )
        )
    problem = _extension_problem("LOGIN_RESPONSE_BODY", BODY_CALLABLE)
    if problem:
        errors.append(_error(112, problem, f"Give the dotted path of {BODY_CALLABLE}."))
    return errors + _cookie_size_errors()


def _cookie_size_errors() -> list[checks.CheckMessage]:
    from jwt_cookie_auth import clock, cookie_size, keys, password_binding, step_up, tokens

    try:
        keys.get_keys()
        ids, now = "0" * 36, clock.now()  # a UUID primary key as text
        # What the package itself adds, at its longest: the password fingerprint (as
        # long as password_binding makes it) and the step-up claims.
        binding = {password_binding.CLAIM: "0" * password_binding.FINGERPRINT_LENGTH}
        own: dict[str, Any] = {
            **binding,
            step_up.AUTH_TIME_CLAIM: 0,
            step_up.AMR_CLAIM: ["pwd", "otp", "mfa"],
        }
        access, refresh = (
            tokens.encode(
                kind,
                sub=ids,
                sid=ids,
                jti=tokens.new_jti(),
                issued_at=now,
                expires_at=now,
                extra_claims=extra,
            )
            for kind, extra in ((tokens.ACCESS, own), (tokens.REFRESH, binding))
        )
    except Exception:  # settings or keys that other checks report (E003, E020-E023)
        return []
    errors = []
    for kind, token in (("access", access), ("refresh", refresh)):
        try:
            cookie_size.check(kind, token)
        except cookie_size.CookieTooLarge as exc:
            errors.append(
                _error(
                    113,
                    str(exc),
                    "Browsers drop a cookie over 4096 bytes, so no login could work: shorten "
                    "ISSUER, AUDIENCE, COOKIE_DOMAIN or the cookie names.",
                )
            )
    return errors


def _csrf_middlewares(middleware: Iterable[str]) -> list[type]:
    """The MIDDLEWARE entries that are Django's CSRF middleware or a subclass of it.

    By class, not by path: ``PartitionedCsrfViewMiddleware`` (or a project's own
    subclass) replaces Django's. An entry that cannot be imported is Django's to report.
    """
    from django.middleware.csrf import CsrfViewMiddleware

    found = []
    for path in middleware:
        try:
            cls = import_string(path)
        except ImportError:
            continue
        if isinstance(cls, type) and issubclass(cls, CsrfViewMiddleware):
            found.append(cls)
    return found


def check_partitioned(**kwargs: Any) -> list[checks.CheckMessage]:
    """COOKIE_PARTITIONED (partitioned.py): CHIPS needs Secure, and an embed needs
    SameSite=None and a partitioned CSRF cookie, or no login inside it can work."""
    from jwt_cookie_auth.partitioned import PartitionedCsrfViewMiddleware

    partitioned = app_settings.COOKIE_PARTITIONED
    if not isinstance(partitioned, bool):
        return [
            _error(
                120,
                f"COOKIE_PARTITIONED must be True or False, not {partitioned!r}.",
                "True: the token and device cookies carry the CHIPS Partitioned attribute "
                "(an app embedded in another site); False (the default): they do not.",
            )
        ]
    if not partitioned:
        return []
    errors: list[checks.CheckMessage] = []
    if not app_settings.COOKIE_SECURE or app_settings.COOKIE_SAMESITE != "None":
        errors.append(
            _error(
                121,
                "COOKIE_PARTITIONED=True requires COOKIE_SECURE=True and COOKIE_SAMESITE='None'.",
                "Browsers refuse a Partitioned cookie without Secure, and in another site's "
                "page they send a Lax or Strict cookie with no request of the embed.",
            )
        )
    path = f"{PartitionedCsrfViewMiddleware.__module__}.{PartitionedCsrfViewMiddleware.__name__}"
    csrf = _csrf_middlewares(settings.MIDDLEWARE)
    if csrf and not any(issubclass(cls, PartitionedCsrfViewMiddleware) for cls in csrf):
        errors.append(
            _error(
                122,
                "COOKIE_PARTITIONED=True, but Django's CSRF cookie is not partitioned: "
                "a browser that blocks third-party cookies drops it in an embed, and every "
                "login there fails with 'CSRF cookie not set'.",
                f"Replace {CSRF_MIDDLEWARE_PATH} in MIDDLEWARE with {path}.",
            )
        )
    csrf_problems = []
    if getattr(settings, "CSRF_USE_SESSIONS", False):
        csrf_problems.append(
            "CSRF_USE_SESSIONS=True (the secret lives in Django's session, whose cookie "
            "cannot be partitioned)"
        )
    if not getattr(settings, "CSRF_COOKIE_SECURE", False):
        csrf_problems.append("CSRF_COOKIE_SECURE is not True")
    if getattr(settings, "CSRF_COOKIE_SAMESITE", "Lax") != "None":
        csrf_problems.append("CSRF_COOKIE_SAMESITE is not 'None'")
    if csrf_problems:
        errors.append(
            _error(
                123,
                "COOKIE_PARTITIONED=True, but the CSRF secret cannot reach an embed: "
                + "; ".join(csrf_problems)
                + ".",
                "Set CSRF_USE_SESSIONS=False, CSRF_COOKIE_SECURE=True and "
                "CSRF_COOKIE_SAMESITE='None'.",
            )
        )
    return errors


# Memory per process: about 1.4 KiB per default access token (verified_tokens.py).
MAX_VERIFIED_TOKEN_CACHE_SIZE = 1_000_000


def check_verified_token_cache(**kwargs: Any) -> list[checks.CheckMessage]:
    size = app_settings.VERIFIED_TOKEN_CACHE_SIZE
    if type(size) is not int or not 0 <= size <= MAX_VERIFIED_TOKEN_CACHE_SIZE:
        return [
            _error(
                160,
                f"VERIFIED_TOKEN_CACHE_SIZE must be an integer from 0 to "
                f"{MAX_VERIFIED_TOKEN_CACHE_SIZE:,}, not {size!r}.",
                "The number of verified access tokens each process keeps (about 1.4 KiB "
                "each) so a token seen before skips its signature check; 0 turns the "
                "cache off. The default, 1024, covers 1024 sessions active within an "
                "access token's lifetime per process.",
            )
        ]
    return []


def check_local_revocation_cache(**kwargs: Any) -> list[checks.CheckMessage]:
    """LOCAL_REVOCATION_CACHE's settings are valid and its prerequisites present."""
    from jwt_cookie_auth import local_revocation, resp3

    errors = []
    silence = app_settings.LOCAL_REVOCATION_CACHE_MAX_SILENCE
    if not local_revocation.max_silence_valid(silence):
        errors.append(
            _error(
                167,
                f"LOCAL_REVOCATION_CACHE_MAX_SILENCE must be a timedelta from 10 ms to 5 s, "
                f"not {silence!r}.",
                "Local entries are trusted only while Redis has answered within this "
                "bound: e.g. timedelta(milliseconds=250), the default.",
            )
        )
    for name in ("LOCAL_REVOCATION_CACHE_SIZE", "LOCAL_REVOCATION_CACHE_MAX_BYTES"):
        value = getattr(app_settings, name)
        if type(value) is not int or value < 1:
            errors.append(
                _error(
                    168,
                    f"{name} must be a positive integer, not {value!r}.",
                    "It bounds each process's memory: entries, and bytes of keys and values.",
                )
            )
    wanted = app_settings.LOCAL_REVOCATION_CACHE
    if wanted not in (True, False, None):
        errors.append(
            _error(
                165,
                f"LOCAL_REVOCATION_CACHE must be True, False or None, not {wanted!r}.",
                "None (the default) uses it where the cache can serve it; True requires it; "
                "False turns it off.",
            )
        )
        return errors
    if wanted is not True:
        # None: the normal path where a prerequisite is missing, as documented.
        return errors
    cache = getattr(settings, "CACHES", {}).get(app_settings.CACHE_ALIAS, {})
    client_class = cache.get("OPTIONS", {}).get("CLIENT_CLASS", "django_redis.client.DefaultClient")
    missing = []
    if cache.get("BACKEND") != DJANGO_REDIS or client_class not in (
        "django_redis.client.DefaultClient",
        "django_redis.client.default.DefaultClient",
    ):
        missing.append(f"django-redis's DefaultClient, not {cache.get('BACKEND')!r}")
    if not resp3.hiredis_available():
        missing.append("hiredis 3.2 or later, which is not installed")
    if missing:
        errors.append(
            _error(
                165,
                "LOCAL_REVOCATION_CACHE needs " + " and ".join(missing) + ".",
                "Use django_redis.cache.RedisCache with its default CLIENT_CLASS on Redis 6 "
                "or later and pip install 'django-jwt-cookie-auth[redis]' (hiredis), or set "
                "LOCAL_REVOCATION_CACHE to False.",
            )
        )
    return errors
