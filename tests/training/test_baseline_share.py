"""The baseline's share of the served scores: chosen by the calibrated likelihood of validation."""

from __future__ import annotations

import numpy as np

from nabiz.model.schema import LabelSchema, TaskKind, TaskSpec
from nabiz.training.pipeline import tune_baseline_weights

SCHEMA = LabelSchema(
    tasks=[
        TaskSpec(name="duygu", labels=["olumsuz", "notr", "olumlu"]),
        TaskSpec(name="alan", kind=TaskKind.MULTI_LABEL, labels=["fatura", "sebeke"]),
    ]
)
LABELS = ["olumsuz", "notr", "olumlu"]


def scores_for(gold: list[str], sharpness: float, wrong: float, seed: int) -> np.ndarray:
    """Probability rows that put ``sharpness`` on the gold label, except for a ``wrong`` share of
    the rows (seeded), where they put it on another label."""
    rng = np.random.default_rng(seed)
    rows = np.full((len(gold), 3), (1 - sharpness) / 2)
    for i, label in enumerate(gold):
        top = LABELS.index(label)
        if rng.random() < wrong:
            top = (top + 1 + rng.integers(2)) % 3
        rows[i, top] = sharpness
    return rows


def tune(ours: np.ndarray, theirs: np.ndarray, gold: list) -> dict[str, float]:
    multi = np.full((len(gold), 2), 0.5)
    return tune_baseline_weights(
        SCHEMA, {"duygu": ours, "alan": multi}, {"duygu": theirs, "alan": multi}, {"duygu": gold}
    )


def tune_multi(ours: np.ndarray, theirs: np.ndarray, gold: list) -> float:
    single = np.full((len(gold), 3), 1 / 3)
    return tune_baseline_weights(
        SCHEMA, {"duygu": single, "alan": ours}, {"duygu": single, "alan": theirs}, {"alan": gold}
    )["alan"]


def yes_no_scores(truth: np.ndarray, sure: float, wrong: float, seed: int) -> np.ndarray:
    """Probabilities ``sure`` for each true label and ``1 - sure`` for each false one, with a
    ``wrong`` share of the cells (seeded) the other way round."""
    flip = np.random.default_rng(seed).random(truth.shape) < wrong
    return np.where(truth ^ flip, sure, 1 - sure)


GOLD = [LABELS[i % 3] for i in range(300)]


def test_a_baseline_that_is_right_where_the_transformer_is_not_gets_the_larger_share():
    weights = tune(scores_for(GOLD, 0.5, 0.5, 1), scores_for(GOLD, 0.8, 0.05, 2), GOLD)
    assert weights["duygu"] >= 0.7


def test_a_baseline_that_adds_only_errors_gets_no_share():
    weights = tune(scores_for(GOLD, 0.9, 0.0, 1), scores_for(GOLD, 0.9, 0.6, 2), GOLD)
    assert weights["duygu"] == 0.0


def test_two_equally_good_models_with_independent_errors_are_mixed():
    weights = tune(scores_for(GOLD, 0.8, 0.2, 1), scores_for(GOLD, 0.8, 0.2, 2), GOLD)
    assert 0.3 <= weights["duygu"] <= 0.7


def test_texts_without_a_gold_label_do_not_count():
    gold = [*GOLD, *([None] * 300)]
    ours, theirs = scores_for(GOLD, 0.5, 0.5, 1), scores_for(GOLD, 0.8, 0.05, 2)
    noise = np.tile([1.0, 0.0, 0.0], (300, 1))  # confidently "olumsuz" where nothing is known
    with_unlabelled = tune(np.vstack([ours, noise]), np.vstack([theirs, noise[:, ::-1]]), gold)
    assert with_unlabelled == tune(ours, theirs, GOLD)


MULTI_GOLD = [["fatura"], ["sebeke"], ["fatura", "sebeke"], []] * 75
TRUTH = np.array([[label in labels for label in ("fatura", "sebeke")] for labels in MULTI_GOLD])


def test_a_multi_label_task_takes_the_baseline_where_its_yes_and_no_are_likelier():
    weak, strong = yes_no_scores(TRUTH, 0.6, 0.4, 1), yes_no_scores(TRUTH, 0.8, 0.05, 2)
    assert tune_multi(weak, strong, MULTI_GOLD) >= 0.7


def test_a_multi_label_task_keeps_the_transformer_alone_when_the_baseline_adds_only_errors():
    good, noisy = yes_no_scores(TRUTH, 0.9, 0.0, 1), yes_no_scores(TRUTH, 0.9, 0.6, 2)
    assert tune_multi(good, noisy, MULTI_GOLD) == 0.0
