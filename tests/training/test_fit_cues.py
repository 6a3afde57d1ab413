"""The urgency cues are fitted for the task that plays the urgency role, whatever its name."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nabiz.model.schema import LabelSchema
from nabiz.training.cues import fit_urgency_cues

CUE_FILE = Path(__file__).resolve().parents[2] / "data" / "urgency_cues.yaml"
URGENT = "Param iade edilmezse avukata ve tüketici hakem heyetine gideceğim"
CALM = "Kargom ne zaman gelir acaba"


def schema(name: str, role: str | None) -> LabelSchema:
    task = {"name": name, "kind": "ordinal", "labels": ["dusuk", "orta", "acil"]}
    return LabelSchema.model_validate({"tasks": [task | ({"role": role} if role else {})]})


def validation(name: str, n: int = 20):
    scores = np.array([[0.2, 0.5, 0.3]] * (2 * n), dtype=np.float32)
    texts = [URGENT] * n + [CALM] * n
    gold = {name: ["acil"] * n + ["dusuk"] * n}
    return {name: scores}, texts, gold


def test_a_task_with_the_urgency_role_gets_cues_for_its_most_urgent_label():
    scores, texts, gold = validation("aciliyet")
    cues = fit_urgency_cues(CUE_FILE, schema("aciliyet", "urgency"), scores, texts, gold)
    assert cues is not None
    assert (cues.task, cues.label) == ("aciliyet", "acil")


def test_a_model_without_an_urgency_role_gets_no_cues():
    scores, texts, gold = validation("oncelik")
    assert fit_urgency_cues(CUE_FILE, schema("oncelik", None), scores, texts, gold) is None
