"""A clock that tests hold still and move: ``frozen_clock()``.

``jwt_cookie_auth.clock.now`` is the package's one source of time: token ``exp`` and
``iat`` checks, the transparent renewal, the rotation grace window, session expiry
and revocation times all read it. ``FrozenClock`` replaces it for a block, so a test
moves past an access token's lifetime instead of sleeping, and the package's real
rotation and expiry code runs.

Only the package's clock moves, together with the database clock that production
uses for the rotation grace window (``jwt_cookie_auth.db_clock``). Django's own
sessions, cache timeouts (revocation markers, the user cache) and the login
throttle's windows keep real time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from types import TracebackType

from jwt_cookie_auth import clock


class FrozenClock:
    """Hold ``jwt_cookie_auth.clock.now()`` at one moment until ``advance`` moves it.

    Use it as a context manager (``with frozen_clock() as c:``), from a
    ``django.test.TestCase`` (``self.clock = self.enterContext(frozen_clock())``), or
    with ``start()``/``stop()`` like ``unittest.mock.patch``. Frozen clocks nest: an
    inner one starts where the outer one stands and gives it back on exit.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start
        self._current: datetime | None = None
        self._saved: Callable[[], datetime] | None = None
        self._saved_follows = False

    def start(self) -> FrozenClock:
        """Freeze the package's clock; return this clock.

        Raises ``RuntimeError`` if this clock is already running.
        """
        if self._saved is not None:
            raise RuntimeError("This FrozenClock is already running.")
        saved = clock.now
        moment = saved() if self._start is None else clock.stored(clock.aware(self._start))
        # Tokens carry whole seconds: a whole-second start keeps stored times and
        # token claims equal, so tests can compare them.
        self._current = moment.replace(microsecond=0)
        self._saved = saved
        self._saved_follows = clock.database_follows_now
        setattr(clock, "now", self.now)  # noqa: B010 (mypy refuses assigning a function)
        # The rotation grace window is judged on the database's clock in production;
        # under a frozen clock it must move with advance() like every other check.
        clock.database_follows_now = True
        return self

    def stop(self) -> None:
        """Give the package its previous clock back (idempotent)."""
        if self._saved is not None:
            setattr(clock, "now", self._saved)  # noqa: B010
            clock.database_follows_now = self._saved_follows
            self._saved = None

    def __enter__(self) -> FrozenClock:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def now(self) -> datetime:
        """Return the frozen time, in the form ``jwt_cookie_auth.clock.now()`` gives.

        Raises ``RuntimeError`` before ``start()``.
        """
        if self._current is None:
            raise RuntimeError("Start the FrozenClock first (with frozen_clock() as clock: ...).")
        return self._current

    def advance(self, delta: timedelta | None = None, /, **kwargs: float) -> datetime:
        """Move the clock on by ``delta`` or ``timedelta(**kwargs)``; return the new time.

        Elapsed time, as the package counts lifetimes: with ``USE_TZ = False`` an
        hour is an hour across a DST change. A negative delta moves the clock back.
        """
        step = (delta or timedelta()) + timedelta(**kwargs)
        self._current = clock.after(self.now(), step)
        return self._current

    def move_to(self, moment: datetime) -> None:
        """Set the clock to ``moment`` (aware, or naive local time in ``TIME_ZONE``)."""
        self.now()  # started?
        self._current = clock.stored(clock.aware(moment))


def frozen_clock(start: datetime | None = None) -> FrozenClock:
    """Return a ``FrozenClock`` at ``start`` (default: now, to the whole second).

    ``with frozen_clock() as clock: clock.advance(minutes=6)`` moves every expiry
    check of the package six minutes on.
    """
    return FrozenClock(start)
