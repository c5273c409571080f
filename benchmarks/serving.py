"""One server process for a benchmark phase: start it, wait until it answers, stop it.

``bench_http`` (gunicorn under wrk) and ``bench_async`` (gunicorn or uvicorn) run a
server per variant; this is the one place that starts it, waits for its first answer
and stops it again, so neither leaks a process or a log file.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def serving(
    argv: Sequence[str], env: Mapping[str, str], ready_url: str, name: str
) -> Iterator[None]:
    """Run ``argv`` (from the repository root) until the block ends.

    Waits at most 60 s for ``ready_url`` to answer 200; raises ``RuntimeError`` with the
    end of the server's log if it exits or does not answer by then.
    """
    log = tempfile.NamedTemporaryFile(prefix=f"bench-{name}-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(list(argv), env=dict(env), stdout=log, stderr=log, cwd=ROOT)  # noqa: S603
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(ready_url, timeout=2) as answer:  # noqa: S310 (http on loopback)
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start: {Path(log.name).read_text()[-2000:]}")
            time.sleep(0.3)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        os.unlink(log.name)
