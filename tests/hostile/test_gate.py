"""The admission gate behind draft queries (issue 12 item 8): bounded running, bounded waiting,
bounded wait, refusal at once with a Retry-After. The server-level test is in
tests/hostile/test_server_hostile.py; the latency it protects is measured in benchmarks/drafts.py.
"""

from __future__ import annotations

import asyncio

import pytest

from recommender.gate import Gate, GateBusy


async def _hold(gate: Gate, seconds: float, log: list[str], name: str) -> None:
    try:
        async with gate.slot():
            log.append(f"in {name}")
            await asyncio.sleep(seconds)
    except GateBusy as busy:
        log.append(f"busy {name} {busy.retry_after}")


def test_concurrency_queue_and_refusal() -> None:
    async def scenario() -> tuple[list[str], int]:
        gate = Gate(concurrency=2, queue=1, timeout=5)
        log: list[str] = []
        peak = 0

        async def watch() -> None:
            nonlocal peak
            for _ in range(40):
                peak = max(peak, gate.running)
                await asyncio.sleep(0.005)

        tasks = [asyncio.create_task(_hold(gate, 0.05, log, str(i))) for i in range(5)]
        await asyncio.gather(watch(), *tasks)
        return log, peak

    log, peak = asyncio.run(scenario())
    assert peak == 2
    assert sorted(e for e in log if e.startswith("in")) == ["in 0", "in 1", "in 2"]
    busy = sorted(e.split()[1] for e in log if e.startswith("busy"))
    assert busy == ["3", "4"]  # refused at once: two running, one waiting
    assert all(int(e.split()[2]) >= 1 for e in log if e.startswith("busy"))


def test_waiting_times_out() -> None:
    async def scenario() -> list[str]:
        gate = Gate(concurrency=1, queue=5, timeout=0.05)
        log: list[str] = []
        await asyncio.gather(_hold(gate, 0.3, log, "long"), _hold(gate, 0.01, log, "late"))
        return log

    log = asyncio.run(scenario())
    assert log[0] == "in long" and log[1].startswith("busy late")


def test_slots_are_released_after_errors() -> None:
    async def scenario() -> int:
        gate = Gate(concurrency=1, queue=0, timeout=1)
        for _ in range(3):
            with pytest.raises(RuntimeError):
                async with gate.slot():
                    raise RuntimeError("handler failed")
        async with gate.slot():
            return gate.running

    assert asyncio.run(scenario()) == 1


@pytest.mark.parametrize(
    ("concurrency", "queue", "timeout"),
    [(0, 1, 1.0), (1, -1, 1.0), (1, 1, 0.0), (1, 1, float("inf"))],
)
def test_bad_settings(concurrency: int, queue: int, timeout: float) -> None:
    with pytest.raises(ValueError):
        Gate(concurrency, queue, timeout)
