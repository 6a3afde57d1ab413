"""Inputs of the batch scorer's tests: a small export in every format and encoding, and checks."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from openpyxl import Workbook, load_workbook

from nabiz.model.predictor import ModelInfo, Predictor, ScoredBatch
from nabiz.tabular import read_table

REPO = Path(__file__).resolve().parents[3]
NOW = datetime(2025, 2, 4, 12, 0)
COLUMNS = ["id", "kanal", "tarih", "baslik", "yorum"]
ROWS = [
    ["1", "Twitter", "03.02.2025 08:12", "Fatura", "Faturam bu ay çok yüksek geldi, açıklama!"],
    ["2", "e-posta", "2025-02-03T09:00:00+03:00", "", "İnternet üç gündür çekmiyor; arıza var."],
    ["3", "telefon", "03.02.2025 10:30", "Teşekkür", "Müşteri hizmetleri çok ilgiliydi."],
    ["4", "web", "03.02.2025 11:00", "", ""],  # empty text
    ["5", "Mağaza", "03.02.2025 12:00", "Şube", "Şubede ığdır, çğüşöı ÇĞÜŞÖİ harfleri."],
    ["6", "SMS", "", "", "Şifre kodu gelmiyor, giriş yapamıyorum."],  # no time in the cell
    ["7", "faks", "03.02.2025 13:00", "", "Kayıtlarımı faksla gönderin."],  # unknown channel
    ["8", "", "dün akşam", "", "Kampanya fiyatı mağazada farklı söylendi."],  # bad time
]
BAD_IDS = {"4"}  # no prediction
UNDATED_IDS = {"6", "7", "8"}  # tagged and levelled, no respond-by: a note says which value
KEYS = {"id_column": "id", "channel_column": "kanal", "time_column": "tarih"}


class FakePredictor(Predictor):
    """Deterministic scores from the text's hash: fast, for property tests; records texts."""

    def __init__(self, schema) -> None:
        self.schema = schema
        self.info = ModelInfo(name="fake", version="0", model_type="tfidf")
        self.seen: list[str] = []

    def compute_scores(self, texts):
        self.seen.extend(texts)
        scores = {}
        for task in self.schema.tasks:
            rows = []
            for text in texts:
                rng = np.random.default_rng(abs(hash((task.name, text))) % (2**32))
                row = rng.random(task.num_labels)
                rows.append(row / row.sum())
            scores[task.name] = np.asarray(rows, dtype=np.float32)
        return ScoredBatch(scores=scores, truncated=np.zeros(len(texts), dtype=bool))


def write_input(path: Path, columns=COLUMNS, rows=ROWS) -> Path:
    """Write a table in the format (and encoding) the file name asks for."""
    name = path.name
    if name.endswith(".xlsx"):
        workbook = Workbook()
        sheet = workbook.active
        sheet.append(columns)
        for row in rows:
            sheet.append([value if value != "" else None for value in row])
        workbook.save(path)
    elif name.endswith(".parquet"):
        table = pa.table({c: [row[i] for row in rows] for i, c in enumerate(columns)})
        pq.write_table(table, path)
    elif name.endswith(".jsonl"):
        lines = [
            json.dumps(dict(zip(columns, row, strict=True)), ensure_ascii=False) for row in rows
        ]
        lines.insert(2, '{"id": "broken", "yorum": "no closing brace"')  # a broken line
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        delimiter = {"semicolon": ";", "tab": "\t"}.get(path.stem.split("-")[-1], ",")
        if name.endswith(".tsv"):
            delimiter = "\t"
        encoding = {
            "bom": "utf-8-sig",
            "utf16": "utf-16",
            "cp1254": "cp1254",
        }.get(path.stem.split("-")[0], "utf-8")
        with path.open("w", encoding=encoding, newline="") as handle:
            writer = csv.writer(handle, delimiter=delimiter)
            writer.writerow(columns)
            writer.writerows(rows)
    return path


def read_output(path: Path) -> pd.DataFrame:
    return read_table(path)


def jsonl_rows(path: Path) -> list[dict]:
    # not splitlines(): texts may hold U+2028 and other characters it splits on
    return [json.loads(line) for line in path.read_text("utf-8").split("\n") if line]


def texts(values) -> list[str]:
    """Missing as "" (CSV cannot tell missing from empty)."""
    return ["" if value is None else str(value) for value in values]


def numbers(values) -> list[float | None]:
    return [None if value in (None, "") else float(value) for value in values]


def check_rows(
    table: pd.DataFrame,
    predictor: Predictor,
    expected_ids: list[str],
    bad: set[str],
    undated: set[str] = frozenset(),
):
    assert list(table["id"]) == expected_ids  # every row, in order
    for column in COLUMNS:
        assert column in table.columns
    for task in predictor.schema.tasks:
        assert {task.name, f"{task.name}_score", f"{task.name}_scores"} <= set(table.columns)
    for row in table.to_dict("records"):
        if row["id"] in bad:
            assert row["error"], row
            assert not row["sentiment"] and not row["priority_level"]
            continue
        assert row["sentiment"] in predictor.schema.task("sentiment").labels
        assert row["priority_level"] in {"P1", "P2", "P3", "P4"}
        if row["id"] in undated:
            assert row["error"].startswith("note: no respond-by: "), row
            assert not row["respond_by"], row
        else:
            assert not row["error"], row
            assert row["respond_by"]


def many_rows(n: int) -> list[list[str]]:
    channels = ["Twitter", "e-posta", "telefon", "web", "SMS", "Mağaza"]
    bodies = ["Fatura çok yüksek", "İnternet yok", "Teşekkürler", "Uygulama çöküyor", ""]
    return [
        [
            str(i),
            channels[i % 6],
            f"0{1 + i % 9}.02.2025 1{i % 10}:00",
            "",
            f"{bodies[i % 5]} #{i}" if bodies[i % 5] else "",
        ]
        for i in range(n)
    ]


def read_any(path: Path):
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pylist()
    if path.suffix == ".xlsx":
        workbook = load_workbook(path, read_only=True)
        values = [list(row) for row in workbook.active.iter_rows(values_only=True)]
        workbook.close()
        return values
    return path.read_bytes()
