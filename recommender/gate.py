"""A bounded admission gate for expensive requests (draft queries, which embed text).

Without one, 60 concurrent ``POST /related`` took every worker thread of the server (each
waiting its turn for the model), and ``GET /related/{id}``, which needs a few milliseconds,
waited behind them: its median went from 3.4 ms to 1.4 s. With the gate, drafts wait as
coroutines on the event loop (no thread held), at most ``concurrency`` of them run, at most
``queue`` wait, and none waits longer than ``timeout`` seconds. A draft that cannot get in is
answered at once: :class:`GateBusy`, which the route turns into ``503`` with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator


class GateBusy(Exception):
    """No room: the queue is full, or the wait ran out. ``retry_after`` in whole seconds."""

    def __init__(self, reason: str, retry_after: int) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class Gate:
    """At most ``concurrency`` holders at once; at most ``queue`` waiting, ``timeout`` s each."""

    def __init__(self, concurrency: int, queue: int, timeout: float) -> None:
        if concurrency < 1 or queue < 0 or not (timeout > 0 and math.isfinite(timeout)):
            raise ValueError("concurrency >= 1, queue >= 0 and a finite timeout > 0 are needed")
        self.concurrency, self.queue, self.timeout = concurrency, queue, timeout
        self._slots: asyncio.Semaphore | None = None
        self.running = 0
        self.waiting = 0
        self.refused = 0
        self._mean_seconds = 0.5  # running estimate of one holder's time, for Retry-After

    def _semaphore(self) -> asyncio.Semaphore:
        if self._slots is None:  # created on the serving loop, on first use
            self._slots = asyncio.Semaphore(self.concurrency)
        return self._slots

    def retry_after(self) -> int:
        """Seconds until a slot is likely free: the queue ahead, at the measured pace."""
        ahead = self.waiting + self.running
        return max(1, min(60, math.ceil(ahead * self._mean_seconds / self.concurrency)))

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one slot for the ``async with`` block, or raise :class:`GateBusy`."""
        slots = self._semaphore()
        # Counted without an await in between, so the check and the count are one step.
        if self.running + self.waiting >= self.concurrency + self.queue:
            self.refused += 1
            raise GateBusy(f"{self.running} running and {self.waiting} waiting", self.retry_after())
        self.waiting += 1
        try:
            await asyncio.wait_for(slots.acquire(), self.timeout)
        except asyncio.TimeoutError:
            self.refused += 1
            raise GateBusy(f"waited {self.timeout:g} s for a slot", self.retry_after()) from None
        finally:
            self.waiting -= 1
        self.running += 1
        started = time.monotonic()
        try:
            yield
        finally:
            self.running -= 1
            slots.release()
            elapsed = time.monotonic() - started
            self._mean_seconds = 0.8 * self._mean_seconds + 0.2 * elapsed
