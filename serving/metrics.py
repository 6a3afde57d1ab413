"""Prometheus metrics of one app, in a registry of its own.

Every app gets a fresh :class:`~prometheus_client.CollectorRegistry`, so that tests (and two apps
in one process) never collide on metric names. ``GET /metrics`` renders that registry.

Series:

- ``nabiz_http_requests_total{method,route,status}`` and
  ``nabiz_http_request_duration_seconds{method,route}``: every request, by route template
  (``/v1/predict``), never by raw path, so unknown paths cannot blow up the label set.
- ``nabiz_predict_items_total``: texts tagged through the API.
- ``nabiz_batch_size``: texts per shared forward pass (the micro-batcher's effect),
  ``nabiz_batch_requests``: requests sharing one pass, ``nabiz_inference_duration_seconds``: one
  pass, ``nabiz_queue_wait_seconds``: time a request waited for its pass.
- ``nabiz_queue_texts``: texts waiting now; ``nabiz_overload_rejections_total``: 429s.
- ``nabiz_predicted_labels_total{task,label}``: the top label of every task for every text, and
  ``nabiz_priority_total{level}``: the priorities given.
- ``nabiz_model_info{name,version}``: always 1, names the loaded model.
- ``nabiz_reduced_precision_texts_total{precision}`` and
  ``nabiz_fp32_rescored_texts_total{precision}``: with int8 or bf16 and its plan, texts scored and
  how many of them it left near a tie and fp32 scored again (their ratio is what the rechecks
  cost; ``nabiz quantize`` measured it on validation texts).
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily

from nabiz.model.recheck import RecheckingPredictor

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class Metrics:
    """The app's collectors; ``render()`` gives the exposition text."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "nabiz_http_requests",
            "HTTP requests by route template and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.request_latency = Histogram(
            "nabiz_http_request_duration_seconds",
            "HTTP request latency by route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.items = Counter("nabiz_predict_items", "Texts tagged through the API.", registry=r)
        self.batch_size = Histogram(
            "nabiz_batch_size",
            "Texts per shared forward pass.",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.batch_requests = Histogram(
            "nabiz_batch_requests",
            "Requests (or request chunks) sharing one forward pass.",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.inference_latency = Histogram(
            "nabiz_inference_duration_seconds",
            "Duration of one shared forward pass (tokenize, model, post-process).",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.queue_wait = Histogram(
            "nabiz_queue_wait_seconds",
            "Time a request waited before its forward pass started.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.queue_texts = Gauge(
            "nabiz_queue_texts", "Texts waiting for a forward pass.", registry=r
        )
        self.overload = Counter(
            "nabiz_overload_rejections",
            "Requests refused with 429 because the inference queue was full.",
            registry=r,
        )
        self.labels = Counter(
            "nabiz_predicted_labels",
            "Top label per task of every tagged text.",
            ["task", "label"],
            registry=r,
        )
        self.priorities = Counter(
            "nabiz_priority", "Priority levels given to tagged texts.", ["level"], registry=r
        )
        self.model_info = Gauge(
            "nabiz_model_info", "The loaded model (always 1).", ["name", "version"], registry=r
        )

    def watch_rechecks(self, predictor) -> None:
        """Expose a ``RecheckingPredictor``'s own counts of texts and rechecks; read at each
        scrape, so the inference thread never touches a collector."""
        if isinstance(predictor, RecheckingPredictor):
            self.registry.register(_RecheckCounts(predictor))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _RecheckCounts:
    """A collector reading a ``RecheckingPredictor``'s counters."""

    def __init__(self, predictor: RecheckingPredictor) -> None:
        self.predictor = predictor

    def collect(self):
        labels = [self.predictor.precision]
        texts = CounterMetricFamily(
            "nabiz_reduced_precision_texts",
            "Texts scored in a reduced precision (int8, bf16).",
            labels=["precision"],
        )
        texts.add_metric(labels, self.predictor.scored)
        rescored = CounterMetricFamily(
            "nabiz_fp32_rescored_texts",
            "Texts the reduced precision left near a tie, scored again in fp32.",
            labels=["precision"],
        )
        rescored.add_metric(labels, self.predictor.rechecked)
        yield texts
        yield rescored
