"""An app host whose clock is off: ``JWT_TEST_CLOCK_SKEW_SECONDS`` shifts ``clock.now``.

``tests.live_settings`` lists ``middleware`` first when the variable is set. Django
builds the middleware chain when the WSGI handler loads, before the first request:
the factory shifts the package's injected clock (``jwt_cookie_auth.clock.now``, the
one source of the current time) for the whole process, then steps out of the chain
(``MiddlewareNotUsed``). The database's clock is left alone, as on a real host.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import MiddlewareNotUsed

ENV = "JWT_TEST_CLOCK_SKEW_SECONDS"


def middleware(get_response: Callable[[Any], Any]) -> Callable[[Any], Any]:
    from jwt_cookie_auth import clock

    skew = timedelta(seconds=float(os.environ[ENV]))
    real_now = clock.now

    def skewed_now() -> datetime:
        return real_now() + skew

    clock.now = skewed_now
    raise MiddlewareNotUsed(f"clock.now shifted by {skew}")
