"""What device a stored User-Agent string names: browser, operating system, device.

The sessions API (``device``), the admin's Device column and the demo show this
instead of the raw header. Parsing uses ua-parser (uap-python, a dependency) with the
uap-core rules that ship in ``ua-parser-builtins``; update that package to recognise
newer browsers.

A User-Agent header is whatever the client sent: it identifies nothing and proves
nothing, so this is a label for people looking at their sessions, never an input to
a security decision.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import takewhile
from typing import TypedDict

import ua_parser

# uap-core's own word for a part it cannot name.
UNKNOWN = "Other"
# Distinct User-Agent strings remembered: a sessions list or an admin page shows at
# most a few hundred rows, and most of them repeat a handful of strings.
CACHE_SIZE = 1024


class DeviceInfo(TypedDict):
    """``{"browser": "Chrome 131", "os": "Windows 10", "device": "Other"}``.

    Each value is a name with its version where the header gives one, or ``"Other"``.
    """

    browser: str
    os: str
    device: str


def _name(family: str | None, *version: str | None) -> str:
    if not family or family == UNKNOWN:
        return UNKNOWN
    parts = [part for part in takewhile(bool, version) if part]  # never "14..2"
    return f"{family} {'.'.join(parts)}" if parts else family


@lru_cache(maxsize=CACHE_SIZE)
def _parse(user_agent: str) -> tuple[str, str, str]:
    # Cached per distinct string: the first parse of a string runs every uap-core
    # rule (a few milliseconds), and the sessions list parses once per row.
    result = ua_parser.parse(user_agent)
    browser = UNKNOWN
    if result.user_agent is not None:
        agent = result.user_agent
        # A browser's minor version is noise ("Chrome 131.0") except where the vendor
        # numbers its releases with it ("Safari 17.5").
        minor = agent.minor if agent.minor != "0" else None
        browser = _name(agent.family, agent.major, minor)
    os = UNKNOWN
    if result.os is not None:
        os = _name(result.os.family, result.os.major, result.os.minor, result.os.patch)
    device = UNKNOWN if result.device is None else _name(result.device.family)
    return browser, os, device


def describe(user_agent: str) -> DeviceInfo:
    """Return the browser, operating system and device named by ``user_agent``.

    Any string is accepted (empty, garbage, truncated): what cannot be recognised is
    ``"Other"``. Results are cached per distinct string.
    """
    browser, os, device = _parse(user_agent)
    return {"browser": browser, "os": os, "device": device}


def label(user_agent: str) -> str:
    """Return a short one-line label, e.g. ``"Mobile Safari 17.5 · iOS 17.5 · iPhone"``.

    The parts that are ``"Other"`` are left out; ``""`` when none is known.
    """
    return " · ".join(part for part in _parse(user_agent) if part != UNKNOWN)
