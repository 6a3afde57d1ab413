"""The micro-batcher on its own: packing, order, overload, failures, cancellation, the loop."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from nabiz.serving.batching import BatcherStopped, MicroBatcher, Overloaded
from nabiz.serving.metrics import Metrics


class Recorder:
    """A fake predict: answers ``"<text>!"`` per text and records each pass."""

    def __init__(self, gate: threading.Event | None = None, delay: float = 0.0) -> None:
        self.passes: list[list[str]] = []
        self.gate = gate
        self.delay = delay

    def __call__(self, texts):
        self.passes.append(list(texts))
        if self.gate is not None:
            self.gate.wait(5)
        if self.delay:
            time.sleep(self.delay)
        if any("boom" in text for text in texts):
            raise ValueError("boom in the batch")
        return [f"{text}!" for text in texts]


def run(coro):
    return asyncio.run(coro)


def test_concurrent_submits_share_passes_and_keep_their_order():
    recorder = Recorder()

    async def scenario():
        batcher = MicroBatcher(recorder, max_batch_size=8, max_wait_ms=30, metrics=Metrics())
        await batcher.start()
        try:
            requests = [[f"r{r}-t{t}" for t in range(r % 3 + 1)] for r in range(12)]
            results = await asyncio.gather(*(batcher.submit(texts) for texts in requests))
        finally:
            await batcher.stop()
        return requests, results

    requests, results = run(scenario())
    for texts, result in zip(requests, results, strict=True):
        assert result == [f"{text}!" for text in texts]
    assert all(len(batch) <= 8 for batch in recorder.passes)
    assert len(recorder.passes) < len(requests)
    assert sorted(t for batch in recorder.passes for t in batch) == sorted(
        t for texts in requests for t in texts
    )


def test_a_large_request_is_cut_into_passes_of_max_size():
    recorder = Recorder()

    async def scenario():
        batcher = MicroBatcher(recorder, max_batch_size=4, max_wait_ms=0)
        await batcher.start()
        try:
            return await batcher.submit([f"t{i}" for i in range(10)])
        finally:
            await batcher.stop()

    assert run(scenario()) == [f"t{i}!" for i in range(10)]
    assert [len(batch) for batch in recorder.passes] == [4, 4, 2]


def test_a_failing_request_fails_alone():
    recorder = Recorder()

    async def scenario():
        batcher = MicroBatcher(recorder, max_batch_size=16, max_wait_ms=50)
        await batcher.start()
        try:
            return await asyncio.gather(
                batcher.submit(["iyi", "güzel"]),
                batcher.submit(["boom"]),
                batcher.submit(["hoş"]),
                return_exceptions=True,
            )
        finally:
            await batcher.stop()

    good, bad, other = run(scenario())
    assert good == ["iyi!", "güzel!"] and other == ["hoş!"]
    assert isinstance(bad, ValueError)
    assert recorder.passes[0] == ["iyi", "güzel", "boom", "hoş"]  # shared, then retried alone


def test_a_full_queue_refuses_at_once_and_recovers():
    gate = threading.Event()
    recorder = Recorder(gate=gate)
    metrics = Metrics()

    async def scenario():
        batcher = MicroBatcher(
            recorder, max_batch_size=2, max_wait_ms=0, max_queue_texts=2, metrics=metrics
        )
        await batcher.start()
        try:
            running = asyncio.create_task(batcher.submit(["a", "b"]))
            while not recorder.passes:  # the first pass holds the inference thread
                await asyncio.sleep(0.005)
            waiting = asyncio.create_task(batcher.submit(["c", "d"]))
            await asyncio.sleep(0.01)
            assert batcher.queued_texts == 2
            with pytest.raises(Overloaded):
                await batcher.submit(["e"])
            gate.set()
            return await running, await waiting, await batcher.submit(["e"])
        finally:
            gate.set()
            await batcher.stop()

    assert run(scenario()) == (["a!", "b!"], ["c!", "d!"], ["e!"])
    assert metrics.overload._value.get() == 1


def test_an_abandoned_request_is_not_run():
    gate = threading.Event()
    recorder = Recorder(gate=gate)

    async def scenario():
        batcher = MicroBatcher(recorder, max_batch_size=1, max_wait_ms=0)
        await batcher.start()
        try:
            first = asyncio.create_task(batcher.submit(["first"]))
            while not recorder.passes:
                await asyncio.sleep(0.005)
            gone = asyncio.create_task(batcher.submit(["gone"]))
            await asyncio.sleep(0.01)
            gone.cancel()
            gate.set()
            return await first, await batcher.submit(["last"])
        finally:
            await batcher.stop()

    assert run(scenario()) == (["first!"], ["last!"])
    assert ["gone"] not in recorder.passes


def test_the_event_loop_keeps_running_during_inference():
    recorder = Recorder(delay=0.3)

    async def scenario():
        batcher = MicroBatcher(recorder, max_batch_size=4, max_wait_ms=0)
        await batcher.start()
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        try:
            await batcher.submit(["yavaş"])
        finally:
            task.cancel()
            await batcher.stop()
        return ticks

    assert run(scenario()) >= 10  # ~30 ticks fit in 0.3 s when inference runs off the loop


def test_stopped_batcher_refuses_and_releases_waiters():
    gate = threading.Event()
    recorder = Recorder(gate=gate)

    async def scenario():
        batcher = MicroBatcher(recorder, max_batch_size=1, max_wait_ms=0)
        with pytest.raises(BatcherStopped):
            await batcher.submit(["önce"])
        await batcher.start()
        first = asyncio.create_task(batcher.submit(["bir"]))
        while not recorder.passes:
            await asyncio.sleep(0.005)
        queued = asyncio.create_task(batcher.submit(["iki"]))
        await asyncio.sleep(0.01)
        threading.Timer(0.05, gate.set).start()
        await batcher.stop()
        results = await asyncio.gather(first, queued, return_exceptions=True)
        with pytest.raises(BatcherStopped):
            await batcher.submit(["sonra"])
        return results

    first, queued = run(scenario())
    assert isinstance(first, BatcherStopped) and isinstance(queued, BatcherStopped)


def test_a_lone_client_is_not_held_for_max_wait():
    recorder = Recorder()

    async def scenario():
        batcher = MicroBatcher(recorder, max_batch_size=8, max_wait_ms=2000, metrics=Metrics())
        await batcher.start()
        try:
            started = time.perf_counter()
            for i in range(3):  # one request after the other, as a single client sends them
                assert await batcher.submit([f"t{i}"]) == [f"t{i}!"]
            return time.perf_counter() - started
        finally:
            await batcher.stop()

    assert run(scenario()) < 1.0


def test_under_concurrency_a_pass_waits_for_company():
    recorder = Recorder(delay=0.05)

    async def scenario():
        batcher = MicroBatcher(recorder, max_batch_size=64, max_wait_ms=30, metrics=Metrics())
        await batcher.start()
        try:
            await asyncio.gather(batcher.submit(["a"]), batcher.submit(["b"]))  # concurrency seen

            async def late(i: int):
                await asyncio.sleep(0.01 * i)  # arrivals spread over the wait window
                return await batcher.submit([f"late{i}"])

            await asyncio.gather(*(late(i) for i in range(3)))
        finally:
            await batcher.stop()

    run(scenario())
    assert ["late0", "late1", "late2"] in recorder.passes
