"""Small labelled data and configs shared by tests (built in code, so tests stay self-contained)."""

from __future__ import annotations

import random

import pandas as pd

from nabiz.model.tiny import DEFAULT_CORPUS

# a made-up taxonomy: nothing in the code may assume the default one
CUSTOM_TASKS = [
    {"name": "mood", "kind": "single_label", "labels": ["sad", "calm", "glad"]},
    {"name": "area", "kind": "multi_label", "labels": ["bill", "net", "staff"]},
    {"name": "level", "kind": "ordinal", "labels": ["low", "high"]},
]
_PHRASES = {
    ("sad", "bill", "high"): "faturam çok yüksek geldi, paramı geri istiyorum",
    ("sad", "net", "high"): "internet üç gündür yok, hiç çekmiyor",
    ("glad", "staff", "low"): "müşteri temsilcisi çok ilgiliydi, teşekkürler",
    ("calm", "bill", "low"): "fatura tarihini öğrenmek istiyorum",
    ("sad", "staff", "high"): "çağrı merkezi telefonu açmıyor, rezalet",
    ("glad", "net", "low"): "fiber hızı harika, memnunum",
}


def _word_tag(number: int) -> str:
    """A distinct word per row ("kayıta", "kayıtb", …): rows that differ only in digits would be
    near duplicates, and data preparation keeps one of them."""
    letters = ""
    while True:
        number, rest = divmod(number, 26)
        letters = "abcdefghijklmnopqrstuvwxyz"[rest] + letters
        if number == 0:
            return "kayıt" + letters


def labelled_frame(n: int = 120, seed: int = 0, unlabelled_share: float = 0.2) -> pd.DataFrame:
    """Rows whose labels follow from their phrase; some rows miss the ``area`` label."""
    rng = random.Random(seed)
    rows = []
    keys = list(_PHRASES)
    for i in range(n):
        mood, area, level = keys[i % len(keys)]
        text = f"{_PHRASES[(mood, area, level)]} {_word_tag(i)} {rng.choice(['!', '.', '?'])}"
        area_cell = None if rng.random() < unlabelled_share else area
        rows.append({"metin": text, "duygu": mood, "alan": area_cell, "seviye": level})
    return pd.DataFrame(rows)


def custom_config_dict(data_path: str, base_model: str, prepared_dir: str, output_dir: str) -> dict:
    return {
        "name": "custom-test",
        "version": "0.0.1",
        "output_dir": output_dir,
        "tasks": CUSTOM_TASKS,
        "data": {
            "files": [
                {
                    "name": "mine",
                    "path": data_path,
                    "text": ["metin"],
                    "labels": {
                        "mood": {"column": "duygu"},
                        "area": {"column": "alan", "separator": ";"},
                        "level": {"column": "seviye"},
                    },
                }
            ],
            "prepared_dir": prepared_dir,
            "split": {"validation": 0.2, "test": 0.2, "seed": 1},
            "min_class_examples": 0,
        },
        "training": {
            "base_model": base_model,
            "max_length": 32,
            "epochs": 3,
            "batch_size": 16,
            "learning_rate": 1e-3,
            "freeze_embeddings": False,
            "seed": 7,
            # fp32 on every machine: bf16 `auto` would make a test's figures depend on the CPU
            "bf16": False,
        },
        "baseline": {"max_features": 2000},
    }


# texts a precision plan of the tiny model is measured on (tests/model/test_quantize.py, …)
PLAN_TEXTS = [
    *DEFAULT_CORPUS[:-1],
    "Paketimi değiştirdim ama fatura eski fiyattan geldi, iade istiyorum.",
    "Mağazadaki çalışan çok kabaydı, bir daha gitmem.",
    "Sms kampanyaları yüzünden telefonum susmuyor, listeden çıkarın!",
    "Teşekkürler, arıza bir saatte giderildi.",
    "Uygulamaya giriş yapamıyorum, şifre sıfırlama mesajı gelmiyor.",
    "Şebeke çekmiyor evde, taşınacağım başka operatöre.",
]
