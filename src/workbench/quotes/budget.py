"""Daily request caps (Alpha Vantage's 25 a day), remembered in the store across runs.

A :class:`DailyBudget` counts the requests sent to one provider on the current UTC day and
refuses more once the cap is reached, or once the provider itself said the day's quota is
spent (Alpha Vantage's HTTP-200 ``Information`` body). With a database, the count is read at
the start of a call and written back at its end (:mod:`workbench.store.provider_usage`), so a second run on
the same day does not burn requests it cannot get: its symbols end ``rate limited`` at once,
without a request. Alpha Vantage does not say when its day rolls over; workbench counts UTC
days, so a run just after midnight UTC may meet the provider's refusal once more, which is
then remembered too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any


def utc_today() -> dt.date:
    """The current UTC date."""
    return dt.datetime.now(dt.UTC).date()


class DailyBudget:
    """Requests left today for one provider."""

    def __init__(
        self, provider: str, limit: int, *, today: Callable[[], dt.date] = utc_today
    ) -> None:
        if limit < 0:
            raise ValueError(f"daily limit must not be negative, got {limit}")
        self.provider = provider
        self.limit = limit
        self._today = today
        self.day = today()
        self.used = 0
        self.exhausted = False
        #: whether anything changed since the store was read (nothing to write otherwise)
        self.dirty = False

    def _roll(self) -> None:
        today = self._today()
        if today != self.day:
            self.day, self.used, self.exhausted = today, 0, False

    def restore(self, day: dt.date, used: int, exhausted: bool) -> None:
        """Take over a count read from the store (ignored unless it is for today)."""
        self._roll()
        if day == self.day:
            self.used = max(self.used, used)
            self.exhausted = self.exhausted or exhausted

    @property
    def left(self) -> int:
        """Requests that may still be sent today."""
        self._roll()
        return 0 if self.exhausted else max(0, self.limit - self.used)

    def take(self) -> bool:
        """Count one request about to be sent; False (and nothing counted) if none are left."""
        if self.left <= 0:
            return False
        self.used += 1
        self.dirty = True
        return True

    def exhaust(self) -> None:
        """The provider said today's quota is spent."""
        self._roll()
        self.exhausted = True
        self.dirty = True

    def describe(self) -> str:
        """Why a request was not sent, for the error message."""
        if self.exhausted:
            return f"{self.provider}: daily request limit reached (the provider said so)"
        return f"{self.provider}: daily limit of {self.limit} requests used up on {self.day}"


def load_usage(db: Any, budgets: Iterable[DailyBudget]) -> None:
    """Restore today's counts of ``budgets`` from the store (call in a worker thread)."""
    from workbench import store
    from workbench.store.provider_usage import read_usage

    wanted = list(budgets)
    if not wanted:
        return
    with store.connect(db) as con:
        for budget in wanted:
            stored = read_usage(con, budget.provider, budget.day)
            if stored is not None:
                budget.restore(budget.day, stored.requests, stored.exhausted)
            budget.dirty = False


def save_usage(db: Any, budgets: Iterable[DailyBudget]) -> None:
    """Write the counts of ``budgets`` that changed (call in a worker thread).

    Another process may have counted too: the store keeps the larger count.
    """
    from workbench import store
    from workbench.store.provider_usage import Usage, record_usage

    changed = [b for b in budgets if b.dirty]
    if not changed:
        return
    with store.connect(db) as con:
        for budget in changed:
            record_usage(con, budget.provider, budget.day, Usage(budget.used, budget.exhausted))
            budget.dirty = False
