"""Judge the targets and write docs/benchmarks.md and docs/benchmarks.png."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import verdict

TIMES, DASH, MINUS = "\N{MULTIPLICATION SIGN}", "\N{EN DASH}", "\N{MINUS SIGN}"


@dataclass
class Target:
    number: int
    text: str
    measured: str
    # verdict.PASS / FAIL / INCONCLUSIVE; None: the phase did not run.
    result: str | None

    @property
    def verdict(self) -> str:
        return self.result or "not run"


def _x(value: float) -> str:
    return f"{value:.2f}x"


def _ratio(ours: dict[str, Any], reference: dict[str, Any]) -> list[float]:
    return verdict.paired_ratios(ours["added_us_rounds"], reference["added_us_rounds"])


def evaluate(results: dict[str, Any]) -> list[Target]:
    errors = {k: v["error"] for k, v in results.items() if isinstance(v, dict) and "error" in v}
    results = {k: v for k, v in results.items() if k not in errors}
    targets = _evaluate(results)
    phase_of = {1: "requests", 2: "requests", 3: "refresh", 4: "logout", 5: "flush", 6: "http"}
    for target in targets:
        if phase_of[target.number] in errors:
            target.measured = f"the phase failed: {errors[phase_of[target.number]]}"
            target.result = verdict.FAIL
    return targets


def _evaluate(results: dict[str, Any]) -> list[Target]:
    """Judge every target with a verdict that can fail (benchmarks/verdict.py).

    Ratios: PASS only when the whole 95 % interval of the per-round paired ratio is on
    the right side of the target. Counts (SQL statements, round trips, transactions,
    table locks) and the flush's memory are exact: PASS or FAIL.
    """
    targets = []
    requests = results.get("requests")
    if requests:
        targets += _per_request(requests["variants"])
    else:
        targets += [
            Target(1, "default mode per request", "", None),
            Target(2, "CACHE_USERS", "", None),
        ]
    refresh = results.get("refresh")
    if refresh:
        ours, simple = refresh["variants"]["ours"], refresh["variants"]["simplejwt"]
        speed, ci = verdict.judge(_ratio(ours, simple), 0.5, "at_most")
        targets.append(
            Target(
                3,
                "Refresh (rotation + theft detection + blacklist): <= 0.5x simplejwt's "
                "rotate+blacklist time, <= 6 SQL statements with BEGIN/COMMIT",
                f"{ci.describe()} ({ours['added_us']['median']:.0f} vs "
                f"{simple['added_us']['median']:.0f} µs), {ours['sql']} statements",
                verdict.combine(speed, verdict.exact(ours["sql"] <= 6)),
            )
        )
    else:
        targets.append(Target(3, "refresh", "", None))
    logout = results.get("logout")
    if logout:
        ours, simple = logout["variants"]["ours"], logout["variants"]["simplejwt"]
        sizes = [str(n) for n in logout["sizes"]]
        low, high = sizes[0], sizes[-1]
        at = "1000" if "1000" in sizes else sizes[-1]
        runs = min(len(ours[at]["ms_runs"]), len(simple[at]["ms_runs"]))
        speed, ci = verdict.judge(
            verdict.paired_ratios(ours[at]["ms_runs"][:runs], simple[at]["ms_runs"][:runs]),
            1 / 50,
            "at_most",
        )
        targets.append(
            Target(
                4,
                f"Forced logout: same SQL count for N={int(low):,} and N={int(high):,}; "
                f"<= 1/50 of simplejwt's time at N={int(at):,}",
                f"{ours[low]['sql']} and {ours[high]['sql']} statements; {ci.describe()} = "
                f"1/{1 / ci.mean:.0f} ({ours[at]['ms']['median']:.1f} vs "
                f"{simple[at]['ms']['median']:.0f} ms)",
                verdict.combine(verdict.exact(ours[low]["sql"] == ours[high]["sql"]), speed),
            )
        )
    else:
        targets.append(Target(4, "forced logout", "", None))
    flush = results.get("flush")
    if flush:
        batches = -(-flush["expired_blacklist"] // flush["batch_size"]) - (
            -flush["expired_sessions"] // flush["batch_size"]
        )
        batched = flush["transactions"] == batches
        targets.append(
            Target(
                5,
                f"jwt_flush_expired over {flush['expired_rows']:,} rows: batched, peak memory "
                "< 200 MB, no table lock held for more than a batch (exact, one run)",
                f"{flush['transactions']} transactions of <= {flush['batch_size']:,} rows "
                f"(longest {flush['longest_transaction_ms']:.0f} ms), peak RSS "
                f"{flush['peak_rss_mib']:.0f} MiB, table locks: "
                f"{'yes' if flush['table_lock'] else 'none'}, concurrent writes max "
                f"{flush['probe_max_ms']:.0f} ms",
                verdict.exact(
                    batched and flush["peak_rss_mib"] * 1.048576 < 200 and not flush["table_lock"]
                ),
            )
        )
    else:
        targets.append(Target(5, "flush", "", None))
    http = results.get("http")
    if http:
        v = http["variants"]
        ratios = verdict.paired_ratios(v["ours_cookie"]["rps_runs"], v["simplejwt"]["rps_runs"])
        result, ci = verdict.judge(ratios, 1.3, "at_least")
        targets.append(
            Target(
                6,
                "HTTP (gunicorn gthread workers): our cookie mode's req/s >= 1.3x simplejwt's",
                f"{ci.describe()} (medians {v['ours_cookie']['rps']['median']:.0f} vs "
                f"{v['simplejwt']['rps']['median']:.0f} req/s)",
                result,
            )
        )
    else:
        targets.append(Target(6, "HTTP", "", None))
    return targets


def _per_request(v: dict[str, Any]) -> list[Target]:
    cookie, bearer, simple = v["ours_cookie"], v["ours_bearer"], v["simplejwt"]
    cookie_speed, cookie_ci = verdict.judge(_ratio(cookie, simple), 0.5, "at_most")
    bearer_speed, bearer_ci = verdict.judge(_ratio(bearer, simple), 0.5, "at_most")
    first = Target(
        1,
        "Default mode, steady state: added cost <= 0.5x simplejwt JWTAuthentication's "
        "(cookie and Bearer), 0 network round trips for revocation",
        f"cookie {cookie_ci.describe()}, Bearer {bearer_ci.describe()}; "
        f"{cookie['cache_round_trips']} / {bearer['cache_round_trips']} round trips",
        verdict.combine(
            cookie_speed,
            bearer_speed,
            verdict.exact(cookie["cache_round_trips"] == 0 and bearer["cache_round_trips"] == 0),
        ),
    )
    # The fastest mode with the Authorization header (simplejwt's transport) and with
    # the cookie; both must meet every condition.
    cached, cookie_cached = v["ours_cached_bearer"], v["ours_cached"]
    stateless = v["simplejwt_stateless"]
    verdicts, shown = [], []
    for name, entry in (("Bearer", cached), ("cookie", cookie_cached)):
        speed, ci = verdict.judge(_ratio(entry, simple), 0.25, "at_most")
        near, diff = verdict.judge_within(
            entry["added_us_rounds"], stateless["added_us_rounds"], 1.5
        )
        verdicts += [
            speed,
            near,
            verdict.exact(entry["sql"] == 0 and entry["cache_round_trips"] == 0),
        ]
        shown.append(
            f"{name} {ci.describe()}, {entry['sql']} SQL, {entry['cache_round_trips']} round "
            f"trips, minus 1.5x stateless {diff.mean:+.0f} µs "
            f"({diff.low:+.0f}{DASH}{diff.high:+.0f})"
        )
    second = Target(
        2,
        "CACHE_USERS: added cost <= 0.25x simplejwt's, 0 SQL, 0 round trips, "
        "and <= 1.5x simplejwt JWTStatelessUserAuthentication's added cost",
        "; ".join(shown),
        verdict.combine(*verdicts),
    )
    return [first, second]


# --- Markdown ------------------------------------------------------------------------


def _range(entry: dict[str, float], fmt: str = ".0f") -> str:
    return f"{entry['median']:{fmt}} ({entry['min']:{fmt}}{DASH}{entry['max']:{fmt}})"


def _header(results: dict[str, Any]) -> list[str]:
    meta = results["meta"]
    machine = meta["machine"]
    packages = meta["packages"]
    versions = ", ".join(f"{name} {value}" for name, value in packages.items())
    servers = ", ".join(f"{name} {value}" for name, value in meta["servers"].items())
    lines = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`benchmarks/run.py`); do not edit by hand.",
        "",
        "| | |",
        "|---|---|",
        f"| date | {meta['date']} (commit {meta['git_commit']}) |",
        f"| machine | {machine['nproc']} CPUs (`nproc`), {machine['cpu_model']}, "
        f"{machine['memory_gib']} GiB, Linux {machine['kernel']} |",
        f"| Python | {meta['python']} |",
        f"| packages | {versions} |",
        f"| servers | {servers} (all on loopback, same machine) |",
        f"| run time | {results.get('elapsed_s', 0) / 60:.1f} min"
        f"{' (--quick)' if results.get('quick') else ''} |",
        "",
    ]
    return lines


def _targets(targets: list[Target]) -> list[str]:
    lines = ["## Targets", "", "| # | target | measured (same run) | result |", "|---|---|---|---|"]
    for t in targets:
        lines.append(f"| {t.number} | {t.text} | {t.measured or DASH} | **{t.verdict}** |")
    return [*lines, ""]


def _requests(data: dict[str, Any]) -> list[str]:
    floor, decode = data["floor_us"], data["jwt_decode_us"]
    lines = [
        "## Per authenticated request",
        "",
        f"GET of the same DRF view through the whole Django stack (WSGI handler, the same "
        f"middleware for every variant), {data['rounds']} interleaved rounds of "
        f"{data['per_slice']} requests per variant; medians of the per-round medians, "
        "with the spread across rounds in parentheses. Floors measured in "
        f"the same run: the unauthenticated view takes **{_range(floor)} µs**; a bare "
        f"`jwt.decode` of our access token **{decode['median']:.1f} µs**.",
        "",
        "| variant | revokes immediately | µs per request | µs added over the floor | "
        f"{TIMES} bare decode | {TIMES} simplejwt | SQL | cache round trips |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, v in data["variants"].items():
        if key == "floor":
            continue
        lines.append(
            f"| {v['label']} | {v['revokes']} | {v['total_us']['median']:.0f} | "
            f"{_range(v['added_us'])} | {v['added_x_decode']:.1f} | "
            f"{_x(v['ratio_to_simplejwt'])} ({v['per_round_ratio_to_simplejwt']['min']:.2f}{DASH}"
            f"{v['per_round_ratio_to_simplejwt']['max']:.2f}) | {v['sql']} | "
            f"{v['cache_round_trips']} |"
        )
    return [*lines, ""]


def _refresh(data: dict[str, Any]) -> list[str]:
    lines = [
        "## Per refresh",
        "",
        f"A chain of refreshes (each presents the token the previous one returned), "
        f"{data['rounds']} interleaved rounds of {data['per_slice']}; floor: a POST of a "
        f"JSON body to the unauthenticated view, {_range(data['floor_us'])} µs.",
        "",
        f"| variant | µs per refresh | µs added over the floor | {TIMES} simplejwt | "
        "SQL statements (with BEGIN/COMMIT) | cache round trips |",
        "|---|---|---|---|---|---|",
    ]
    for v in data["variants"].values():
        lines.append(
            f"| {v['label']} | {v['total_us']['median']:.0f} | {_range(v['added_us'])} | "
            f"{_x(v['ratio_to_simplejwt'])} | {v['sql']} | {v['cache_round_trips']} |"
        )
    ours, simple = data["variants"]["ours"], data["variants"]["simplejwt"]
    lines += [
        "",
        "Ours runs in one transaction: "
        + "; ".join(s.split(" FROM ")[0][:60] for s in ours["statements"])
        + ". A replayed (already rotated) token revokes the whole session.",
        f"simplejwt sends {simple['sql']} statements in {simple['statements'].count('BEGIN')} "
        "separate transactions and has no reuse detection: a stolen refresh token used "
        "first wins, and the victim's next refresh merely fails.",
        "",
    ]
    return lines


def _logout(data: dict[str, Any]) -> list[str]:
    ours, simple = data["variants"]["ours"], data["variants"]["simplejwt"]
    lines = [
        "## Forced logout of one user with N sessions",
        "",
        "Ours: `revocation.revoke_user_sessions` (what the admin action, `jwt_force_logout` "
        "and log-out-everywhere call): every access and refresh token of every session is "
        "dead on the next request. simplejwt: the loop over the user's `OutstandingToken` "
        "rows with `BlacklistedToken.objects.get_or_create`, which blacklists refresh "
        "tokens only (access tokens stay valid until they expire). Median of "
        f"{data['rounds']} runs (simplejwt at N=10,000: one run).",
        "",
        "| N sessions | ours ms | ours SQL | ours cache round trips | simplejwt ms | "
        "simplejwt SQL | simplejwt / ours |",
        "|---|---|---|---|---|---|---|",
    ]
    for n in data["sizes"]:
        o, s = ours[str(n)], simple[str(n)]
        lines.append(
            f"| {n:,} | {_range(o['ms'], '.1f')} | {o['sql']} | {o['cache_round_trips']} | "
            f"{_range(s['ms'], '.0f')} | {s['sql']:,} | "
            f"{s['ms']['median'] / o['ms']['median']:.0f}{TIMES} |"
        )
    return [*lines, ""]


def _flush(data: dict[str, Any]) -> list[str]:
    return [
        f"## `jwt_flush_expired` over {data['expired_rows']:,} expired rows",
        "",
        f"{data['expired_sessions']:,} expired sessions and {data['expired_blacklist']:,} "
        f"expired blacklist entries (plus live rows that must survive), made with "
        f"`INSERT ... SELECT generate_series` in {data['generate_seconds']:.0f} s and ANALYZEd. "
        "The command ran in its own process; meanwhile another connection updated a live "
        "session and inserted a new one every 20 ms, and sampled `pg_locks` for the "
        "table-level locks the command held.",
        "",
        "| | |",
        "|---|---|",
        f"| rows deleted | {data['expired_rows']:,} in {data['seconds']:.1f} s "
        f"({data['rows_per_second']:,.0f} rows/s) |",
        f"| batches | {data['transactions']} transactions of at most {data['batch_size']:,} rows "
        f"each (one DELETE of blacklist rows and the session DELETEs of Django's collector); "
        f"longest {data['longest_transaction_ms']:.0f} ms, median "
        f"{data['median_transaction_ms']:.0f} ms |",
        "| where the time goes | "
        + ", ".join(
            f"{kind} {seconds:.0f} s" for kind, seconds in data["statement_seconds"].items()
        )
        + f" of {data['seconds']:.0f} s; the rest is Python (Django's delete collector "
        "loads each batch's sessions as objects) |",
        f"| memory | peak RSS {data['peak_rss_mib']:.0f} MiB (process at start "
        f"{data['rss_before_mib']:.0f} MiB; after the first batch "
        f"{data['rss_first_batch_mib']:.0f}, "
        f"after the last {data['rss_last_batch_mib']:.0f}) |",
        f"| locks held by the command | {', '.join(data['lock_modes']) or 'none seen'} "
        f"({data['lock_samples']} samples): "
        f"{'a table lock' if data['table_lock'] else 'row-level only, no table lock'} |",
        f"| concurrent writes | {data['probe_writes']} UPDATE+INSERT pairs, median "
        f"{data['probe_median_ms']:.0f} ms, slowest {data['probe_max_ms']:.0f} ms |",
        f"| live rows | {data['before']['live_sessions']:,} sessions and "
        f"{data['before']['live_blacklist']:,} blacklist entries before; all kept |",
        "",
    ]


def _http(data: dict[str, Any]) -> list[str]:
    lines = [
        "## HTTP under gunicorn",
        "",
        f"{data['setup']}, {data['repeats']} interleaved repeats after a warm-up; median "
        f"(min{DASH}max) of req/s. {TIMES} simplejwt: the mean of the per-repeat paired "
        "ratios (each repeat runs every variant once) with its 95 % confidence interval; "
        "the target's verdict uses that interval (benchmarks/verdict.py). Spread: "
        f"(max {MINUS} min) / median of a variant's req/s across repeats.",
        "",
        f"| variant | req/s | {TIMES} simplejwt (95 % CI) | spread | p50 ms | p99 ms |",
        "|---|---|---|---|---|---|",
    ]
    simple = data["variants"]["simplejwt"]["rps_runs"]
    for v in data["variants"].values():
        ci = verdict.interval(verdict.paired_ratios(v["rps_runs"], simple))
        lines.append(
            f"| {v['label']} | {_range(v['rps'])} | {ci.describe()} | "
            f"±{v['noise_band'] * 100:.0f} % | {v['p50_ms']['median']:.1f} | "
            f"{_range(v['p99_ms'], '.1f')} |"
        )
    return [*lines, ""]


METHOD = """## How it is measured

- One Django project (`benchmarks/`), one process: every variant is a URL prefix whose
  view differs only in `authentication_classes`; the middleware stack is the same for
  all. PostgreSQL and Redis (django-redis) on loopback, persistent database
  connections (`CONN_MAX_AGE=None`), DEBUG off.
- Requests go through Django's `WSGIHandler` in process (no HTTP server), except in
  the HTTP section. Each round runs every variant once, in a new shuffled order; a
  variant's figure is the median over rounds of its per-round median, and "added" is
  taken against the floor of the same round. The tables' ratios to simplejwt compare
  medians, with the per-round range. The targets' verdicts use the per-round (per-repeat)
  paired ratios instead: their mean and its 95 % Student-t interval; PASS only when the
  whole interval clears the target, FAIL when it lies wholly on the wrong side,
  INCONCLUSIVE (not met) otherwise. Counts (SQL, round trips) are exact.
- SQL statements are counted as PostgreSQL receives them (Django's execute wrappers,
  plus the BEGIN and COMMIT psycopg sends for a transaction); cache round trips at the
  socket (`redis.connection.Connection.send_packed_command`, a pipeline is one).
- The session engine is chosen per URL prefix by a subclass of Django's
  SessionMiddleware (`benchmarks/middleware.py`), since `SESSION_ENGINE` is global.
  `CACHE_USERS` is switched with `override_settings` around its slices (outside the
  timed region); under gunicorn it has its own server.
- dj-rest-auth runs with `JWT_AUTH_COOKIE_USE_CSRF=True` (off by default), so that all
  cookie variants do the same CSRF work; cookie requests carry Django's CSRF cookie as
  a browser's do. Token lifetimes are 2 hours for both JWT libraries so that none
  expires during a run. redis-py parses with hiredis (as redis-py recommends in
  production); it serves ours and the cache session engine alike.
- `jwt_flush_expired` runs in a subprocess: its peak RSS (`ru_maxrss`) is the whole
  process, interpreter and Django included. Versions are pinned in
  `benchmarks/requirements.txt`; the package itself is installed from this checkout.
- This machine is shared and noisy: figures move between runs, ratios much less.
  Rerun with `make bench`.
"""


def write_markdown(results: dict[str, Any], targets: list[Target], path: Path) -> None:
    results = {k: v for k, v in results.items() if not (isinstance(v, dict) and "error" in v)}
    lines = _header(results) + _targets(targets)
    lines += ["![Benchmark chart](benchmarks.png)", ""]
    if "requests" in results:
        lines += _requests(results["requests"])
    if "refresh" in results:
        lines += _refresh(results["refresh"])
    if "logout" in results:
        lines += _logout(results["logout"])
    if "flush" in results:
        lines += _flush(results["flush"])
    if "http" in results:
        lines += _http(results["http"])
    if "profile" in results:
        lines += [
            "## Profile of the hot path",
            "",
            f"pyinstrument over {results['profile']['requests']:,} requests of our cookie "
            "mode, default and CACHE_USERS: "
            f"[{results['profile']['file']}]({results['profile']['file']}).",
            "",
        ]
    lines += [
        "## Async views under ASGI",
        "",
        "Measured apart (`benchmarks/bench_async.py`, not part of `make bench`): "
        "[benchmarks-async.md](benchmarks-async.md).",
        "",
    ]
    lines.append(METHOD)
    path.write_text("\n".join(lines))


# --- chart ---------------------------------------------------------------------------

OURS_COLOUR, PEER_COLOUR = "#2a7ab0", "#b0b0b0"


def write_chart(results: dict[str, Any], path: Path) -> None:
    results = {k: v for k, v in results.items() if not (isinstance(v, dict) and "error" in v)}
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    fig.suptitle(
        f"django-jwt-cookie-auth vs peers — {results['meta']['date']}, "
        f"{results['meta']['machine']['nproc']} CPUs",
        fontsize=12,
    )
    ax = axes[0][0]
    if "requests" in results:
        items = [(k, v) for k, v in results["requests"]["variants"].items() if k != "floor"]
        items.sort(key=lambda kv: kv[1]["added_us"]["median"])
        labels = [f"{v['label']}\n{v['sql']} SQL, {v['cache_round_trips']} cache" for _, v in items]
        values = [v["added_us"]["median"] for _, v in items]
        errors = [
            [v["added_us"]["median"] - v["added_us"]["min"] for _, v in items],
            [v["added_us"]["max"] - v["added_us"]["median"] for _, v in items],
        ]
        colours = [OURS_COLOUR if k.startswith("ours") else PEER_COLOUR for k, _ in items]
        ax.barh(labels, values, xerr=errors, color=colours, capsize=3)
        ax.set_xlabel("µs added per request over the unauthenticated floor")
        ax.set_title("Per authenticated request (lower is better)")
        ax.tick_params(axis="y", labelsize=7)
    ax = axes[0][1]
    if "refresh" in results:
        data = results["refresh"]["variants"]
        labels = [f"ours\n{data['ours']['sql']} SQL", f"simplejwt\n{data['simplejwt']['sql']} SQL"]
        values = [data[k]["added_us"]["median"] / 1000 for k in ("ours", "simplejwt")]
        errors = [
            [
                (data[k]["added_us"]["median"] - data[k]["added_us"]["min"]) / 1000
                for k in ("ours", "simplejwt")
            ],
            [
                (data[k]["added_us"]["max"] - data[k]["added_us"]["median"]) / 1000
                for k in ("ours", "simplejwt")
            ],
        ]
        ax.bar(labels, values, yerr=errors, color=[OURS_COLOUR, PEER_COLOUR], capsize=4)
        ax.set_ylabel("ms added per refresh over the floor")
        ax.set_title("Per refresh, rotation + blacklist (lower is better)")
    ax = axes[1][0]
    if "logout" in results:
        sizes = results["logout"]["sizes"]
        for key, colour, label in (
            ("ours", OURS_COLOUR, "ours"),
            ("simplejwt", PEER_COLOUR, "simplejwt loop"),
        ):
            series = results["logout"]["variants"][key]
            ax.plot(
                sizes,
                [series[str(n)]["ms"]["median"] for n in sizes],
                "o-",
                color=colour,
                label=label,
            )
            for n in sizes:
                ax.annotate(f"{series[str(n)]['sql']:,} SQL", (n, series[str(n)]["ms"]["median"]),
                            fontsize=6, xytext=(3, 3), textcoords="offset points")  # fmt: skip
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("sessions of the user (N)")
        ax.set_ylabel("ms")
        ax.set_title("Forced logout of one user (lower is better)")
        ax.legend()
    ax = axes[1][1]
    if "http" in results:
        items = list(results["http"]["variants"].items())
        labels = [v["label"].replace(", ", "\n") for _, v in items]
        values = [v["rps"]["median"] for _, v in items]
        errors = [
            [v["rps"]["median"] - v["rps"]["min"] for _, v in items],
            [v["rps"]["max"] - v["rps"]["median"] for _, v in items],
        ]
        colours = [OURS_COLOUR if k.startswith("ours") else PEER_COLOUR for k, _ in items]
        ax.bar(range(len(items)), values, yerr=errors, color=colours, capsize=4)
        ax.set_xticks(range(len(items)), labels, fontsize=6, rotation=20, ha="right")
        ax.set_ylabel("requests/s (gunicorn + wrk)")
        ax.set_title("HTTP throughput (higher is better; bars: min-max across repeats)")
    for row in axes:
        for ax in row:
            if not ax.has_data():
                ax.set_axis_off()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def print_targets(targets: list[Target]) -> None:
    print("\nTargets:")
    for t in targets:
        print(f"  {t.number}. {t.verdict:7} {t.text}\n             {t.measured}")
