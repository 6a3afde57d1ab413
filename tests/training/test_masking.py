"""Training data is masked before it is split, saved or learned: no id reaches the vocabulary."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from nabiz.model.baseline import TfidfBaseline
from nabiz.training.data import prepare_data
from tests.training.test_data import fixture_spec, make_config, offline_settings

SECRETS = ["10000000146", "0532 123 45 67", "ali.veli@example.com", "4111111111111111"]


def test_prepared_texts_and_the_baseline_vocabulary_hold_no_personal_data(tmp_path: Path):
    rows = [
        {"text": f"Faturam yanlış {secret} lütfen dönün #{i}", "duygu": "kotu", "konu": "para"}
        for i, secret in enumerate(SECRETS * 3)
    ] + [{"text": f"Uygulama çok iyi #{i}", "duygu": "iyi", "konu": "uygulama"} for i in range(12)]
    source = tmp_path / "pii.csv"
    pd.DataFrame(rows).to_csv(source, index=False)
    config = make_config(tmp_path, [fixture_spec(path=str(source))])
    prepared = prepare_data(config, offline_settings(tmp_path))
    frames = [prepared.datasets[split].to_pandas() for split in prepared.datasets]
    frame = pd.concat(frames, ignore_index=True)
    blob = "\n".join(frame["text"]) + "\n".join(frame["text_original"])
    for secret in SECRETS:
        assert secret not in blob
    assert "[TCKN]" in blob and "[TELEFON]" in blob and "[EPOSTA]" in blob and "[KART]" in blob

    baseline = TfidfBaseline(config.schema).fit(
        list(frame["text"]), {task: list(frame[task]) for task in config.schema.names}
    )
    vocabulary = {term for t in baseline.transforms_.values() for term in t.vocabulary}
    assert not [term for term in vocabulary if re.search(r"\d{3}", term)]  # rows are #0..#11
    assert not any("@" in term or "veli" in term for term in vocabulary)
