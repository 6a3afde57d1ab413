"""Soak: constant load on predict and the triage queue for a bounded time, over loopback only.

Starts `nabiz serve` on 127.0.0.1 (a tiny model unless --model, a fresh SQLite queue unless
--database-url), then runs --workers closed-loop clients for --minutes (at most 30). Each client
repeats: POST /v1/predict (one text), POST /v1/feedback (a new id), GET /v1/feedback/{id} for its
ETag, PATCH it with If-Match, GET /v1/queue. Any 5xx, transport error or unexpected status is an
error. Prints errors, p50/p99 per route and overall, and the server's RSS after warm-up and at
the end.

    .venv/bin/python benchmarks/soak.py --minutes 30
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from common import machine_description  # noqa: E402

MAX_MINUTES = 30
TEXTS = [
    "Faturam bu ay çok yüksek geldi, açıklama bekliyorum. 0532 123 45 67",
    "İnternet üç gündür çekmiyor, arıza kaydı açtım.",
    "Müşteri hizmetleri çok ilgiliydi, teşekkür ederim.",
    "Kartımdan iki kez çekim yapıldı: 4111 1111 1111 1111, iade istiyorum!",
]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def client_loop(
    worker: int, base: str, deadline: float, latencies: dict, errors: Counter, phase: str
) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        number = 0

        async def call(route: str, method: str, url: str, expect: set[int], **kwargs):
            started = time.perf_counter()
            try:
                response = await client.request(method, url, **kwargs)
            except httpx.HTTPError as error:
                errors[f"{route}: {type(error).__name__}"] += 1
                return None
            latencies[route].append((time.perf_counter() - started) * 1000)
            if response.status_code not in expect:
                errors[f"{route}: HTTP {response.status_code}"] += 1
            return response

        while time.monotonic() < deadline:
            number += 1
            text = TEXTS[(worker + number) % len(TEXTS)]
            item = f"soak-{phase}-{worker}-{number}"  # new ids in every phase: POST is a 201
            await call("predict", "POST", "/v1/predict", {200}, json={"items": [{"text": text}]})
            await call(
                "feedback POST", "POST", "/v1/feedback", {201}, json={"id": item, "text": text}
            )
            got = await call("feedback GET", "GET", f"/v1/feedback/{item}", {200})
            if got is not None and got.status_code == 200:
                await call(
                    "feedback PATCH",
                    "PATCH",
                    f"/v1/feedback/{item}",
                    {200},
                    json={"status": "resolved"},
                    headers={"If-Match": got.headers["etag"]},
                )
            await call("queue GET", "GET", "/v1/queue", {200}, params={"limit": 20})


async def run_load(base: str, workers: int, seconds: float, latencies, errors, phase: str) -> None:
    deadline = time.monotonic() + seconds
    await asyncio.gather(
        *(client_loop(w, base, deadline, latencies, errors, phase) for w in range(workers))
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="Model directory; default: a tiny model.")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--warmup-minutes", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--database-url", help="Queue database; default: a fresh SQLite file.")
    args = parser.parse_args()
    if not 0 < args.minutes <= MAX_MINUTES:
        parser.error(f"--minutes must be in (0, {MAX_MINUTES}]")
    print(machine_description())
    work = Path(tempfile.mkdtemp(prefix="nabiz-soak-"))
    model = args.model
    if model is None:
        from nabiz.model.tiny import make_tiny_model
        from nabiz.training.config import load_config

        schema = load_config(REPO / "configs" / "default.yaml").schema
        model = make_tiny_model(work / "tiny-model", schema)
    port = _free_port()
    env = dict(
        os.environ,
        NABIZ_DATABASE_URL=args.database_url or f"sqlite:///{work / 'soak.db'}",
        NABIZ_AUTH="off",
    )
    log = (work / "server.log").open("wb")
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "nabiz", "serve", "--model", str(model)),
            *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
        ],
        env=env,
        stdout=log,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                print((work / "server.log").read_text()[-3000:])
                return 2
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                print("the server did not get ready in 120 s")
                return 2
            time.sleep(0.2)
        warm: dict = defaultdict(list)
        asyncio.run(run_load(base, args.workers, args.warmup_minutes * 60, warm, Counter(), "warm"))
        rss_start = rss_kib(server.pid)
        latencies: dict = defaultdict(list)
        errors: Counter = Counter()
        started = time.monotonic()
        asyncio.run(run_load(base, args.workers, args.minutes * 60, latencies, errors, "run"))
        elapsed = time.monotonic() - started
        rss_end = rss_kib(server.pid)
    finally:
        server.terminate()
        server.wait(30)
    total = sum(len(v) for v in latencies.values())
    print(
        f"soak: {args.minutes:g} min after {args.warmup_minutes:g} min warm-up, "
        f"{args.workers} workers, loopback; {total} requests ({total / elapsed:.1f}/s)"
    )
    for route, values in sorted(latencies.items()):
        print(
            f"  {route:<15} n={len(values):6d} p50 {percentile(values, 0.5):7.1f} ms  "
            f"p99 {percentile(values, 0.99):7.1f} ms  mean {statistics.fmean(values):7.1f} ms"
        )
    every = [v for values in latencies.values() for v in values]
    p50, p99 = percentile(every, 0.5), percentile(every, 0.99)
    print(f"  all             p50 {p50:.1f} ms  p99 {p99:.1f} ms")
    print(f"errors: {sum(errors.values())}" + "".join(f"\n  {k}: {n}" for k, n in errors.items()))
    growth = (rss_end - rss_start) / rss_start * 100 if rss_start else float("nan")
    print(
        f"server RSS after warm-up {rss_start / 1024:.1f} MiB, at the end {rss_end / 1024:.1f} "
        f"MiB ({growth:+.1f} %)"
    )
    return 0 if not errors else 1


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


if __name__ == "__main__":
    raise SystemExit(main())
