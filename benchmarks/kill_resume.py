"""`nabiz score --resume` after repeated `kill -9`: is every input row in the output exactly once?

Starts `nabiz score` on a generated CSV, kills it with SIGKILL at a random moment after it has
saved some chunks, restarts it with --resume, and does so ``--kills`` times (default 10) before
letting the last run finish. Then it counts the output's ids: missing, doubled, unexpected. Exit
status 1 when any row is lost or doubled.

    .venv/bin/python benchmarks/kill_resume.py            # tiny model, 40 000 rows
    .venv/bin/python benchmarks/kill_resume.py --model models/nabiz-cpu --rows 5000
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from common import machine_description  # noqa: E402

PHRASES = [
    "Faturam bu ay çok yüksek geldi, açıklama bekliyorum.",
    "İnternet üç gündür çekmiyor, arıza kaydı açtım.",
    "Müşteri hizmetleri çok ilgiliydi, teşekkür ederim.",
    "Numaramı başka operatöre taşıyacağım, yeter artık! 0532 123 45 67",
    "Uygulama sürekli hata veriyor, giriş yapamıyorum.",
    '=HYPERLINK("http://x") kampanya fiyatı mağazada farklı söylendi.',
]


def write_input(path: Path, rows: int, seed: int) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "kanal", "yorum"])
        for number in range(rows):
            text = f"{rng.choice(PHRASES)} #{number}"
            writer.writerow([f"r{number}", rng.choice(["twitter", "e-posta", "telefon"]), text])


def rows_done(state: Path) -> int:
    try:
        return int(json.loads(state.read_text(encoding="utf-8"))["rows_done"])
    except (OSError, ValueError, KeyError):
        return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="Model directory; default: a tiny model.")
    parser.add_argument("--rows", type=int, default=40_000)
    parser.add_argument("--chunk-rows", type=int, default=500)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--format", default="csv", choices=["csv", "jsonl", "tsv", "parquet"])
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(machine_description())

    work = Path(tempfile.mkdtemp(prefix="nabiz-kill-"))
    model = args.model
    if model is None:
        from nabiz.model.tiny import make_tiny_model
        from nabiz.training.config import load_config

        schema = load_config(REPO / "configs" / "default.yaml").schema
        model = make_tiny_model(work / "tiny-model", schema)
    source = work / "input.csv"
    output = work / f"output.{args.format}"
    state = work / f"output.{args.format}.partial.state.json"
    write_input(source, args.rows, args.seed)
    command = [
        sys.executable, "-m", "nabiz", "score", str(source), "--output", str(output),
        "--model", str(model), "--id-column", "id", "--channel-column", "kanal",
        "--chunk-rows", str(args.chunk_rows), "--no-progress", "--resume",
    ]  # fmt: skip
    print(f"input: {args.rows} rows, chunks of {args.chunk_rows}; output {output.name}")

    kills = 0
    started = time.monotonic()
    while kills < args.kills:
        before = rows_done(state)
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # wait until this run has saved at least one chunk of its own, then a random moment more
        while process.poll() is None and rows_done(state) <= before:
            time.sleep(0.05)
        if process.poll() is not None:
            error = process.stderr.read().decode(errors="replace")
            print(f"the run finished before kill {kills + 1}; use more --rows\n{error[-2000:]}")
            return 2
        time.sleep(rng.uniform(0.0, 3.0))
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills += 1
        print(f"kill {kills:2d}: SIGKILL after {rows_done(state):6d} rows saved")
    final = subprocess.run(command, capture_output=True, text=True)
    if final.returncode != 0:
        print(f"the final run failed ({final.returncode}):\n{final.stderr[-3000:]}")
        return 2
    seconds = time.monotonic() - started

    from nabiz.tabular import read_table

    table = read_table(output)
    counts = Counter(str(value) for value in table["id"])
    expected = {f"r{number}" for number in range(args.rows)}
    missing = len(expected - set(counts))
    doubled = sum(1 for value, n in counts.items() if n > 1)
    unexpected = len(set(counts) - expected)
    in_order = list(table["id"]) == [f"r{number}" for number in range(args.rows)]
    print(
        f"kills {kills}; input rows {args.rows}; output rows {len(table)}; missing {missing}; "
        f"doubled {doubled}; unexpected {unexpected}; in input order {in_order}; "
        f"{seconds:.0f} s in all"
    )
    return 0 if missing == doubled == unexpected == 0 and in_order else 1


if __name__ == "__main__":
    raise SystemExit(main())
