"""The circuit breaker: stop sending to a provider that is down, not to one that is flaky.

It judges by the failure rate of the provider's recent calls, not by consecutive failures
(which concurrent workers pile up in a burst against a merely flaky provider)::

    closed    --(>= min_calls of the last `window` calls, in the last `window_seconds`,
                 and >= failure_rate of them failed)--> open
    open      --(cooldown seconds pass)--> half-open: one probe request is let through
    half-open --probe answered--> closed (the window starts afresh)
    half-open --probe failed----> open (for another cooldown)

Defaults: ``window=50``, ``min_calls=20``, ``failure_rate=0.9``, ``window_seconds=30``,
``cooldown=2``. A provider failing half its requests stays closed: 45 or more failures in 50
calls at p=0.5 has probability ~2e-9. What counts as a failure: a 5xx, a timeout, a refused or
dropped connection. A 429 is pacing (:mod:`workbench.quotes.pacing`) and a 404 or malformed
body is an answer; neither counts.

The breaker also remembers the last real failure, so a symbol that never got through reports
``timeout`` or ``unavailable`` as the provider actually failed, and how long the current
outage has lasted: callers wait for the provider to come back for at most ``max_outage``
seconds (default 20) before giving up on it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from workbench.errors import QuoteError

Clock = Callable[[], float]

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half-open"


class CircuitBreaker:
    """Failure-rate circuit breaker with half-open probing (see the module docstring)."""

    def __init__(
        self,
        *,
        window: int = 50,
        min_calls: int = 20,
        failure_rate: float = 0.9,
        window_seconds: float = 30.0,
        cooldown: float = 2.0,
        max_outage: float = 20.0,
        clock: Clock = time.monotonic,
    ) -> None:
        if min_calls < 1 or window < min_calls:
            raise ValueError("need 1 <= min_calls <= window")
        if not 0.0 < failure_rate <= 1.0:
            raise ValueError(f"failure_rate must be in (0, 1], got {failure_rate}")
        self.window = window
        self.min_calls = min_calls
        self.failure_rate = failure_rate
        self.window_seconds = window_seconds
        self.cooldown = cooldown
        self.max_outage = max_outage
        self._clock = clock
        self._calls: deque[tuple[float, bool]] = deque(maxlen=window)
        self._state = CLOSED
        self._opened_at = 0.0
        self._outage_since: float | None = None
        self._probing = False
        #: the provider's most recent real failure (what a blocked symbol reports)
        self.last_error: QuoteError | None = None
        #: outages so far (times the breaker opened from closed)
        self.outages = 0

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half-open`` (an open breaker past its cool-down)."""
        if self._state == OPEN and self._clock() - self._opened_at >= self.cooldown:
            return HALF_OPEN
        return self._state

    def failure_ratio(self) -> tuple[int, int]:
        """(failed, calls) in the current window."""
        horizon = self._clock() - self.window_seconds
        while self._calls and self._calls[0][0] < horizon:
            self._calls.popleft()
        return sum(failed for _, failed in self._calls), len(self._calls)

    def retry_in(self) -> float:
        """Seconds until an open breaker lets a probe through (0 when it would now)."""
        if self._state != OPEN:
            return 0.0
        return max(0.0, self._opened_at + self.cooldown - self._clock())

    def outage(self) -> float:
        """Seconds since the breaker first opened in the current outage (0 when closed)."""
        if self._outage_since is None:
            return 0.0
        return self._clock() - self._outage_since

    def given_up(self) -> bool:
        """Whether the current outage has outlasted ``max_outage``."""
        return self._outage_since is not None and self.outage() >= self.max_outage

    def allow(self) -> bool:
        """Whether a request may be sent now; in half-open only one probe at a time is."""
        state = self.state
        if state == CLOSED:
            return True
        if state == HALF_OPEN and not self._probing:
            self._probing = True
            return True
        return False

    def record_success(self) -> None:
        """The provider answered (a quote, a 404, even a bad body): it is up."""
        if self._state != CLOSED:
            self._calls.clear()
        self._state = CLOSED
        self._outage_since = None
        self._probing = False
        self._calls.append((self._clock(), False))

    def record_failure(self, error: QuoteError) -> None:
        """A 5xx, timeout or connection failure."""
        now = self._clock()
        self.last_error = error
        if self._probing:
            self._open(now)  # the probe failed: another cool-down
            return
        if self._state == OPEN:
            return  # sent before it opened; says nothing new
        self._calls.append((now, True))
        failed, calls = self.failure_ratio()
        if calls >= self.min_calls and failed >= self.failure_rate * calls:
            self._open(now)

    def release(self) -> None:
        """A request let through ended without a verdict (cancelled, paced): free the probe."""
        self._probing = False

    def _open(self, now: float) -> None:
        self._state = OPEN
        self._opened_at = now
        self._probing = False
        if self._outage_since is None:
            self._outage_since = now
            self.outages += 1
