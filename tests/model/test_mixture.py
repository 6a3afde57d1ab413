"""The mixture: any two predictors of the same schema, mixed per task by the second's share."""

from __future__ import annotations

import numpy as np
import pytest

from nabiz.model.mixture import MixturePredictor, SchemaMismatch
from nabiz.model.predictor import ModelInfo, Predictor, ScoredBatch
from nabiz.model.schema import LabelSchema, TaskKind, TaskSpec

SCHEMA = LabelSchema(
    tasks=[
        TaskSpec(name="duygu", labels=["kotu", "orta", "iyi"]),
        TaskSpec(name="alan", kind=TaskKind.MULTI_LABEL, labels=["fatura", "sebeke"]),
    ]
)


class Constant(Predictor):
    """The same scores for every text; ``truncated`` marks the texts it names."""

    def __init__(self, schema, rows: dict[str, list[float]], truncate: str = "") -> None:
        self.schema, self.rows, self.truncate = schema, rows, truncate
        self.info = ModelInfo(name="sabit", version="0", model_type="tfidf")

    def compute_scores(self, texts):
        scores = {name: np.tile(np.float32(r), (len(texts), 1)) for name, r in self.rows.items()}
        truncated = np.array([text == self.truncate for text in texts], dtype=bool)
        return ScoredBatch(scores=scores, truncated=truncated)


FIRST = Constant(SCHEMA, {"duygu": [0.8, 0.1, 0.1], "alan": [0.9, 0.2]}, truncate="uzun")
SECOND = Constant(SCHEMA, {"duygu": [0.2, 0.2, 0.6], "alan": [0.1, 0.7]})


def test_each_task_is_mixed_by_its_own_share_of_the_second():
    mixture = MixturePredictor(FIRST, SECOND, {"duygu": 0.25, "alan": 0.0})
    scores = mixture.predict_scores(["bir", "iki"]).scores
    np.testing.assert_allclose(scores["duygu"][1], [0.65, 0.125, 0.225], atol=1e-6)
    np.testing.assert_allclose(scores["alan"][0], [0.9, 0.2], atol=1e-6)


def test_a_task_without_a_share_keeps_the_first_predictors_scores():
    mixture = MixturePredictor(FIRST, SECOND, {"duygu": 0.5})
    first = FIRST.predict_scores(["bir"]).scores["alan"]
    np.testing.assert_array_equal(mixture.predict_scores(["bir"]).scores["alan"], first)


def test_a_text_either_part_truncated_is_reported_truncated():
    mixture = MixturePredictor(SECOND, FIRST, {"duygu": 0.5})
    assert mixture.predict_scores(["kısa", "uzun"]).truncated.tolist() == [False, True]


def test_the_mixture_speaks_for_the_first_predictor():
    mixture = MixturePredictor(FIRST, SECOND, {"duygu": 0.5})
    assert mixture.schema is FIRST.schema and mixture.info is FIRST.info


def test_predictors_whose_labels_are_ordered_differently_are_refused():
    swapped = LabelSchema(
        tasks=[TaskSpec(name="duygu", labels=["iyi", "orta", "kotu"]), SCHEMA.tasks[1]]
    )
    other = Constant(swapped, SECOND.rows)
    with pytest.raises(SchemaMismatch, match="task 'duygu': labels"):
        MixturePredictor(FIRST, other, {"duygu": 0.5})


def test_predictors_of_different_tasks_are_refused():
    other = Constant(LabelSchema(tasks=[SCHEMA.tasks[0]]), {"duygu": [0.2, 0.2, 0.6]})
    with pytest.raises(SchemaMismatch, match="tasks"):
        MixturePredictor(FIRST, other, {})


def test_thresholds_of_the_first_predictor_are_the_mixtures():
    tuned = SCHEMA.model_copy(deep=True)
    tuned.tasks[1].thresholds = {"fatura": 0.3, "sebeke": 0.8}
    mixture = MixturePredictor(Constant(tuned, FIRST.rows), SECOND, {"duygu": 0.5})
    assert mixture.schema.task("alan").threshold("sebeke") == 0.8


def test_thresholds_tuned_on_the_mixture_replace_the_first_predictors():
    tuned = {"alan": {"fatura": 0.6, "sebeke": 0.2}}
    mixture = MixturePredictor(FIRST, SECOND, {"alan": 0.5}, tuned)
    (prediction,) = mixture.predict(["metin"])
    assert prediction.tasks["alan"].labels == ["sebeke"]  # mixed: fatura 0.5, sebeke 0.45
    assert FIRST.schema.task("alan").thresholds is None


def test_thresholds_for_a_task_the_schema_lacks_are_refused():
    with pytest.raises(ValueError, match="konu"):
        MixturePredictor(FIRST, SECOND, {"duygu": 0.5}, {"konu": {"a": 0.5}})


@pytest.mark.parametrize("weights", [{"duygu": 1.5}, {"duygu": -0.1}, {"konu": 0.2}])
def test_a_share_outside_zero_to_one_or_for_an_unknown_task_is_refused(weights):
    with pytest.raises(ValueError, match=r"share from 0 to 1|tasks the schema does not have"):
        MixturePredictor(FIRST, SECOND, weights)


def test_scores_of_different_shapes_are_refused():
    class Short(Constant):
        def compute_scores(self, texts):
            return super().compute_scores(texts[:1])

    mixture = MixturePredictor(FIRST, Short(SCHEMA, SECOND.rows), {"duygu": 0.5})
    with pytest.raises(ValueError, match="shapes"):
        mixture.predict_scores(["bir", "iki"])
