"""Encoding detection on real Turkish complaints: Nabız's own detector beside charset-normalizer.

Why Nabız has no encoding-detection dependency. Samples of 1, 3, 20 and 200 texts from the
şikayetvar sources of the data mirror are written as CSV files in each encoding Turkish exports
use (UTF-8, UTF-8 with BOM, UTF-16, Windows-1254, ISO-8859-9) and detected by
``nabiz.tabular.detect_encoding`` and by ``charset_normalizer.from_bytes`` restricted to those
encodings. A detection counts as right when the file decodes to the original text. Then a few
edge cases. Needs ``pip install charset-normalizer`` (not a dependency of Nabız).

    python benchmarks/bench_encoding.py [--data-dir ../shared/data]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import git_revision, machine_description

from nabiz.settings import Settings
from nabiz.tabular import detect_encoding

ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "cp1254", "iso-8859-9"]
ISOLATION = ["utf_8", "utf_16", "cp1254", "iso8859_9"]
SOURCES = ["bilgenai_sikayetvar/sikayet-var.csv", "sikayetvar_banks/sikayetvar_vakifbank.csv"]


def turkish_texts(data_dir: Path) -> list[str]:
    texts: list[str] = []
    for source in SOURCES:
        frame = pd.read_csv(data_dir / source, dtype=str)
        column = max(frame.columns, key=lambda c: frame[c].fillna("").str.len().mean())
        texts += frame[column].dropna().tolist()
    return texts


def as_csv(texts: list[str]) -> str:
    return "metin\n" + "".join('"' + text.replace('"', '""') + '"\n' for text in texts)


def main() -> None:
    from charset_normalizer import from_bytes

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Settings().data_dir)
    parser.add_argument("--trials", type=int, default=40)
    args = parser.parse_args()
    print(f"# encoding detection — {machine_description()}; nabiz {git_revision()}")

    texts, rng = turkish_texts(args.data_dir), random.Random(0)
    right = {"nabiz": 0, "charset-normalizer": 0}
    seconds = {"nabiz": 0.0, "charset-normalizer": 0.0}
    files = 0
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.csv"
        for rows in (1, 3, 20, 200):
            for _ in range(args.trials):
                body = as_csv(rng.sample(texts, rows))
                for encoding in ENCODINGS:
                    try:
                        raw = body.encode(encoding)
                    except UnicodeEncodeError:  # a text with a letter the code page lacks
                        continue
                    path.write_bytes(raw)
                    files += 1
                    started = time.perf_counter()
                    name = detect_encoding(path)
                    seconds["nabiz"] += time.perf_counter() - started
                    right["nabiz"] += raw.decode(name, "replace").lstrip("\ufeff") == body
                    started = time.perf_counter()
                    best = from_bytes(path.read_bytes(), cp_isolation=ISOLATION).best()
                    seconds["charset-normalizer"] += time.perf_counter() - started
                    right["charset-normalizer"] += (
                        best is not None and str(best).lstrip("\ufeff") == body
                    )
        print(f"{files} files of 1-200 texts in {', '.join(ENCODINGS)}")
        for name in right:
            print(
                f"  {name:<19} decoded right {right[name]}/{files}, "
                f"{1000 * seconds[name] / files:.2f} ms a file (read included)"
            )
        text = "metin\nŞikayetim: faturam çok yüksek geldi, iade istiyorum.\n"
        edges = {
            "UTF-16 LE without a BOM": (text.encode("utf-16-le"), text),
            "ASCII only": (b"text\nabc\n", "text\nabc\n"),
        }
        for label, (raw, expected) in edges.items():
            path.write_bytes(raw)
            ours = raw.decode(detect_encoding(path)) == expected
            best = from_bytes(raw, cp_isolation=ISOLATION).best()
            theirs = best is not None and str(best) == expected
            print(
                f"  {label}: nabiz {'right' if ours else 'wrong'}, "
                f"charset-normalizer {'right' if theirs else 'wrong or none'}"
            )


if __name__ == "__main__":
    main()
