"""Micro-benchmark: a full ``tokens.decode`` against a verified-token cache hit.

    .venv-bench/bin/python -m benchmarks.bench_token_cache [--repeats 15] [--number 2000]

Both are timed in the same process, interleaved: each repeat times ``number`` calls
of each (the faster of two passes), and the ratio is taken per repeat. The hit
includes everything a request pays for it: the fingerprint lookup, the lock, the
re-check of ``exp``/``iat``/``nbf`` against the clock and the copy of the claims.
No database or cache is touched.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import timeit
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--number", type=int, default=2000)
    args = parser.parse_args(argv)

    import django

    django.setup()
    from datetime import timedelta

    from benchmarks.verdict import interval, paired_ratios
    from jwt_cookie_auth import tokens, verified_tokens
    from jwt_cookie_auth.clock import now

    issued = now()
    token = tokens.encode(
        tokens.ACCESS,
        sub="1",
        sid="a" * 32,
        jti=tokens.new_jti(),
        issued_at=issued,
        expires_at=issued + timedelta(minutes=5),
    )
    claims = verified_tokens.decode(token, tokens.ACCESS)

    def per_call(function: Callable[[], object]) -> float:
        seconds = min(timeit.repeat(function, number=args.number, repeat=2))
        return float(seconds) / int(args.number) * 1e6

    decode, hit = [], []
    for _ in range(args.repeats):
        decode.append(per_call(lambda: tokens.decode(token, tokens.ACCESS)))
        hit.append(per_call(lambda: verified_tokens.decode(token, tokens.ACCESS)))
    ratio = interval(paired_ratios(decode, hit))
    print(f"access token: {len(token)} characters, HS256; {args.repeats} repeats")
    print(f"tokens.decode:          median {statistics.median(decode):6.2f} µs")
    print(f"verified_tokens hit:    median {statistics.median(hit):6.2f} µs")
    print(f"decode / hit per repeat: {ratio.describe()}")
    print(f"memory per entry: {verified_tokens.entry_bytes(token, claims)} bytes")


if __name__ == "__main__":
    main()
