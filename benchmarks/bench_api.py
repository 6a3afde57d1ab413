"""API latency and throughput for single-text requests, driven by wrk against `nabiz serve`.

Starts the server on loopback, waits for /readyz, then runs wrk (Debian package `wrk`) — or, where
wrk is not installed (the GPU machine), an asyncio httpx client with the same bodies — at each
concurrency with one-text POST /v1/predict requests drawn from the model's test split, and prints
p50/p95/p99 latency and requests/s. The naive way is the same server in fp32 with micro-batching
off (batch size 1: one forward pass per request), measured in the same run.

    python benchmarks/bench_api.py --model models/nabiz-cpu [--duration 20] [--concurrency 1 8 32]
    python benchmarks/bench_api.py ... --runtimes   # torch fp32 and ONNX Runtime fp32 beside it
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import git_revision, machine_description, test_split_texts

LUA = r"""
local bodies = {}
for line in io.lines("%(bodies)s") do bodies[#bodies + 1] = line end
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "/v1/predict", {["Content-Type"] = "application/json"},
                    bodies[(n %% #bodies) + 1])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%d %%f %%f %%f %%f %%d\n",
    summary.requests, summary.errors.status, summary.errors.timeout + summary.errors.connect
      + summary.errors.read + summary.errors.write,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, summary.duration / 1e6, latency.max / 1000))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model: Path, port: int, env_extra: dict[str, str], workdir: Path):
    env = dict(
        os.environ,
        NABIZ_MODEL_DIR=str(model),
        NABIZ_DATABASE_URL=f"sqlite:///{workdir / 'bench.db'}",
        **env_extra,
    )
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "nabiz.cli", "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/readyz"
    while time.perf_counter() - started < 120:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return proc, time.perf_counter() - started
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("server not ready in 120 s")


def run_wrk(port: int, script: Path, concurrency: int, duration: int) -> dict:
    threads = min(concurrency, 2)
    out = subprocess.run(
        [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(concurrency),
            "-d",
            f"{duration}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT"))
    requests, status_errors, socket_errors, p50, p95, p99, seconds, worst = line.split()[1:]
    return {
        "requests": int(requests),
        "non_2xx": int(status_errors),
        "socket_errors": int(socket_errors),
        "p50_ms": float(p50),
        "p95_ms": float(p95),
        "p99_ms": float(p99),
        "max_ms": float(worst),
        "rps": int(requests) / float(seconds),
    }


def run_python(port: int, bodies: list[str], concurrency: int, duration: int) -> dict:
    """wrk's measurement with httpx: `concurrency` clients posting back to back for `duration` s."""
    import asyncio

    import httpx

    latencies: list[float] = []
    failures = {"non_2xx": 0, "socket_errors": 0}

    async def client(http: httpx.AsyncClient, offset: int, deadline: float) -> None:
        n = offset
        while time.perf_counter() < deadline:
            body = bodies[n % len(bodies)]
            n += concurrency
            start = time.perf_counter()
            try:
                response = await http.post("/v1/predict", content=body, headers=HEADERS)
            except httpx.HTTPError:
                failures["socket_errors"] += 1
                continue
            latencies.append(time.perf_counter() - start)
            if response.status_code != 200:
                failures["non_2xx"] += 1

    async def drive() -> float:
        limits = httpx.Limits(max_connections=concurrency)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=10
        ) as http:
            start = time.perf_counter()
            deadline = start + duration
            await asyncio.gather(*(client(http, i, deadline) for i in range(concurrency)))
            return time.perf_counter() - start

    seconds = asyncio.run(drive())
    ms = np.asarray(latencies) * 1000
    return {
        "requests": len(latencies),
        **failures,
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
        "rps": len(latencies) / seconds,
    }


HEADERS = {"content-type": "application/json"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/nabiz-cpu"))
    parser.add_argument("--duration", type=int, default=20, help="Seconds per wrk run.")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument(
        "--runtimes",
        action="store_true",
        help="also serve with torch fp32 and with ONNX Runtime fp32 (needs network.onnx)",
    )
    parser.add_argument(
        "--driver",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="Load generator: wrk (apt-get install wrk), or the httpx client; auto = wrk if found.",
    )
    args = parser.parse_args()
    driver = args.driver
    if driver == "auto":
        driver = "wrk" if shutil.which("wrk") else "python"
    if driver == "wrk" and shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk (or --driver python)")

    print(f"# API latency — {machine_description()}; nabiz {git_revision()}; driver {driver}")
    workdir = Path(tempfile.mkdtemp(prefix="nabiz-bench-"))
    bodies = workdir / "bodies.jsonl"
    texts = test_split_texts(args.model)[:2000]
    bodies.write_text(
        "\n".join(json.dumps({"items": [{"text": t}]}, ensure_ascii=False) for t in texts) + "\n",
        encoding="utf-8",
    )
    script = workdir / "post.lua"
    script.write_text(LUA % {"bodies": bodies}, encoding="utf-8")
    lines = bodies.read_text(encoding="utf-8").splitlines()

    def load(port: int, concurrency: int, duration: int) -> dict:
        if driver == "wrk":
            return run_wrk(port, script, concurrency, duration)
        return run_python(port, lines, concurrency, duration)

    variants = {"product": {}}
    if args.runtimes:  # the encoder's two fp32 runtimes side by side, micro-batching on
        variants["torch fp32"] = {"NABIZ_RUNTIME": "torch", "NABIZ_PRECISION": "fp32"}
        variants["onnxruntime fp32"] = {"NABIZ_RUNTIME": "onnx", "NABIZ_PRECISION": "fp32"}
    if not args.skip_naive:
        variants["naive (fp32, no micro-batching)"] = {
            "NABIZ_BATCH_MAX_SIZE": "1",
            "NABIZ_BATCH_MAX_WAIT_MS": "0",
            "NABIZ_PRECISION": "fp32",
        }
    results = {}
    for name, env in variants.items():
        port = free_port()
        proc, ready = start_server(args.model, port, env, workdir)
        print(f"{name}: ready in {ready:.1f} s")
        try:
            load(port, 4, 3)  # warm-up
            for c in args.concurrency:
                r = load(port, c, args.duration)
                results[(name, c)] = r
                print(
                    f"  c={c:>3}: p50 {r['p50_ms']:7.1f} ms  p95 {r['p95_ms']:7.1f} ms  "
                    f"p99 {r['p99_ms']:7.1f} ms  {r['rps']:7.1f} req/s  "
                    f"({r['requests']} requests, {r['non_2xx']} non-2xx, "
                    f"{r['socket_errors']} socket errors)",
                    flush=True,
                )
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    if not args.skip_naive:
        for c in args.concurrency:
            fast, slow = results[("product", c)], results[("naive (fp32, no micro-batching)", c)]
            print(
                f"  c={c:>3}: throughput {fast['rps'] / slow['rps']:.2f}x the naive server, "
                f"p50 {slow['p50_ms'] / fast['p50_ms']:.2f}x lower"
            )
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
