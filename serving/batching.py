"""The micro-batcher: concurrent requests share forward passes, and the event loop never blocks.

A request hands its texts to :meth:`MicroBatcher.submit` and awaits them. Texts are queued as
*jobs* of at most ``max_batch_size`` texts (a large request is cut into several jobs). One worker
task takes the oldest job, then keeps adding queued jobs until the pass holds ``max_batch_size``
texts or ``max_wait_ms`` has passed since it started collecting (it waits only when the last
pass held more than one request: a lone client is not made to wait for company), and runs
``predictor.predict`` on all of them in a single inference thread (so torch never runs on the event
loop and two passes never fight over the CPU). Each job's future then gets exactly its own
predictions, in its own order.

The inference thread can be handed in (``executor``): the server loads the model in the same
thread that runs it, so that only one thread ever touches torch. In a plain process, torch ran a
one-text pass up to 1.6x slower in a thread other than the one that loaded the model; the server
showed no such difference (BENCHMARKS.md, section 2), so this is a precaution.

Failure and overload:

- More than ``max_queue_texts`` texts waiting → :class:`Overloaded` at once (the API answers 429
  with ``Retry-After``); a request is always let into an empty queue, however large.
- A pass that raises is retried job by job, so one bad request fails alone and its neighbours in
  the pass still get their results.
- A request whose client went away (its task was cancelled) is dropped from the queue and its
  texts are not run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from nabiz.model.predictor import Prediction
from nabiz.serving.metrics import Metrics

log = logging.getLogger(__name__)

PredictFn = Callable[[Sequence[str]], list[Prediction]]


def inference_thread() -> ThreadPoolExecutor:
    """The one thread that runs the model: passes are serial, and torch uses every core for each."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="nabiz-infer")


class Overloaded(RuntimeError):
    """The inference queue is full; try again shortly (HTTP 429)."""


class BatcherStopped(RuntimeError):
    """The batcher is not running (shutting down or never started; HTTP 503)."""


@dataclass(eq=False)
class _Job:
    texts: list[str]
    future: asyncio.Future[list[Prediction]]
    enqueued: float = field(default_factory=time.perf_counter)


class MicroBatcher:
    """Collects texts from concurrent callers into passes of at most ``max_batch_size`` texts."""

    def __init__(
        self,
        predict: PredictFn,
        max_batch_size: int = 64,
        max_wait_ms: float = 5.0,
        max_queue_texts: int = 4096,
        metrics: Metrics | None = None,
        executor: ThreadPoolExecutor | None = None,
    ) -> None:
        """``executor``: a one-worker pool to run passes in; the caller keeps ownership of it.
        Without one the batcher starts (and stops) its own thread."""
        if max_batch_size < 1:
            raise ValueError("max_batch_size must be at least 1")
        self.predict = predict
        self.max_batch_size = max_batch_size
        self.max_wait = max(max_wait_ms, 0.0) / 1000.0
        self._last_pass_requests = 0
        self.max_queue_texts = max_queue_texts
        self.metrics = metrics
        self._queue: deque[_Job] = deque()
        self._queued_texts = 0
        self._wakeup: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._worker: asyncio.Task | None = None
        self._given_executor = executor
        self._executor: ThreadPoolExecutor | None = None
        self.passes = 0  # forward passes run, for tests and the curious

    # lifecycle ------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._worker is not None and not self._worker.done()

    async def start(self) -> None:
        if self.running:
            return
        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        self._executor = self._given_executor or inference_thread()
        self._worker = asyncio.create_task(self._run(), name="nabiz-micro-batcher")

    async def stop(self) -> None:
        """Stop the worker; callers still waiting get :class:`BatcherStopped`."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        while self._queue:
            job = self._queue.popleft()
            if not job.future.done():
                job.future.set_exception(BatcherStopped("the server is shutting down"))
        self._queued_texts = 0
        self._set_queue_gauge()
        if self._executor is not None and self._executor is not self._given_executor:
            self._executor.shutdown(wait=True, cancel_futures=True)
        self._executor = None

    # submitting -----------------------------------------------------------------------------
    @property
    def queued_texts(self) -> int:
        return self._queued_texts

    async def submit(self, texts: Sequence[str]) -> list[Prediction]:
        """Predictions for ``texts``, in order, from shared forward passes."""
        texts = list(texts)
        if not texts:
            return []
        if not self.running or self._wakeup is None:
            raise BatcherStopped("the model is not serving yet")
        if self._queued_texts and self._queued_texts + len(texts) > self.max_queue_texts:
            if self.metrics is not None:
                self.metrics.overload.inc()
            raise Overloaded(
                f"{self._queued_texts} texts are already waiting for the model; retry shortly"
            )
        loop = asyncio.get_running_loop()
        jobs = [
            _Job(texts[start : start + self.max_batch_size], loop.create_future())
            for start in range(0, len(texts), self.max_batch_size)
        ]
        for job in jobs:
            self._queue.append(job)
            self._queued_texts += len(job.texts)
        self._set_queue_gauge()
        self._wakeup.set()
        try:
            results = await asyncio.gather(*(job.future for job in jobs))
        except BaseException:
            for job in jobs:  # cancelled or failed: drop whatever has not run yet
                job.future.cancel()
            raise
        return [prediction for chunk in results for prediction in chunk]

    # the worker -----------------------------------------------------------------------------
    def _pop(self) -> _Job | None:
        while self._queue:
            job = self._queue.popleft()
            self._queued_texts -= len(job.texts)
            if not job.future.done():  # skip jobs whose caller went away
                return job
        return None

    async def _collect(self) -> list[_Job]:
        assert self._wakeup is not None
        while True:
            first = self._pop()
            if first is not None:
                break
            self._wakeup.clear()
            await self._wakeup.wait()
        batch, size = [first], len(first.texts)
        # Waiting for company pays only under concurrency: a lone client (the last pass held
        # one request) gets its pass at once instead of paying max_wait on every request.
        wait = self.max_wait if self._last_pass_requests > 1 else 0.0
        deadline = time.perf_counter() + wait
        while size < self.max_batch_size:
            if self._queue:
                if size + len(self._queue[0].texts) > self.max_batch_size:
                    break
                job = self._pop()
                if job is not None:
                    batch.append(job)
                    size += len(job.texts)
                continue
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                break
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), remaining)
        self._set_queue_gauge()
        self._last_pass_requests = len(batch)
        return batch

    async def _run(self) -> None:
        while True:
            batch = await self._collect()
            try:
                await self._run_batch(batch)
            except asyncio.CancelledError:
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(BatcherStopped("the server is shutting down"))
                raise
            except Exception:  # never let the worker die
                log.exception("micro-batch failed outside the model")

    async def _infer(self, texts: list[str]) -> list[Prediction]:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        predictions = await loop.run_in_executor(self._executor, self.predict, texts)
        self.passes += 1
        if self.metrics is not None:
            self.metrics.inference_latency.observe(time.perf_counter() - started)
            self.metrics.batch_size.observe(len(texts))
        if len(predictions) != len(texts):
            raise RuntimeError(f"predictor returned {len(predictions)} results for {len(texts)}")
        return predictions

    async def _run_batch(self, batch: list[_Job]) -> None:
        now = time.perf_counter()
        if self.metrics is not None:
            self.metrics.batch_requests.observe(len(batch))
            for job in batch:
                self.metrics.queue_wait.observe(now - job.enqueued)
        texts = [text for job in batch for text in job.texts]
        try:
            predictions = await self._infer(texts)
        except Exception as error:
            if len(batch) == 1:
                _resolve(batch[0], error=error)
                return
            log.warning("a shared pass of %d requests failed; retrying them one by one", len(batch))
            for job in batch:  # isolate the request that broke the pass
                if job.future.done():
                    continue
                try:
                    _resolve(job, await self._infer(job.texts))
                except Exception as own_error:
                    _resolve(job, error=own_error)
            return
        start = 0
        for job in batch:
            _resolve(job, predictions[start : start + len(job.texts)])
            start += len(job.texts)

    def _set_queue_gauge(self) -> None:
        if self.metrics is not None:
            self.metrics.queue_texts.set(self._queued_texts)


def _resolve(
    job: _Job, result: list[Prediction] | None = None, error: BaseException | None = None
) -> None:
    if job.future.done():
        return
    if error is not None:
        job.future.set_exception(error)
    else:
        job.future.set_result(result or [])
