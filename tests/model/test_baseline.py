"""The TF-IDF baseline, the half of the served mixture that catches misspellings and names."""

from __future__ import annotations

import numpy as np
import pytest

from nabiz.model.baseline import TfidfBaseline
from nabiz.model.schema import LabelSchema
from tests.helpers import CUSTOM_TASKS, labelled_frame


def _fixture_fit(n_jobs: int | None = None) -> TfidfBaseline:
    schema = LabelSchema(tasks=CUSTOM_TASKS)
    frame = labelled_frame(90, seed=2)
    targets = {
        "mood": frame["duygu"].tolist(),
        "area": [None if a is None else [a] for a in frame["alan"]],
        "level": frame["seviye"].tolist(),
    }
    return TfidfBaseline(schema).fit(frame["metin"].tolist(), targets, n_jobs=n_jobs)


@pytest.fixture(scope="module")
def fitted():
    return _fixture_fit()


def test_tasks_fitted_in_worker_processes_get_the_same_weights(fitted):
    """A large training set fits one task per process; the weights must not depend on it
    beyond float32 rounding (a worker's BLAS runs one thread, which may sum in another order:
    on the `cpu` profile's 30,469 texts the weights differed by at most 2.4e-7, no label)."""
    in_workers = _fixture_fit(n_jobs=2)
    for task in fitted.schema.tasks:
        for name in ("coef_", "intercept_"):
            ours, theirs = getattr(in_workers, name)[task.name], getattr(fitted, name)[task.name]
            np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)


def test_scores_are_each_tasks_own_linear_model(fitted):
    """All tasks are scored in one product with stacked weights; each must still be exactly
    its own logistic regression: softmax for single-label, sigmoid per label for multi-label."""
    texts = labelled_frame(12, seed=9)["metin"].tolist()
    scores = fitted.predict_scores(texts)
    features = fitted._features(texts)
    for task in fitted.schema.tasks:
        z = np.asarray(features @ fitted.coef_[task.name].T) + fitted.intercept_[task.name]
        if task.is_multi_label:
            expected = 1 / (1 + np.exp(-z))
        else:
            expected = np.exp(z - z.max(1, keepdims=True))
            expected /= expected.sum(1, keepdims=True)
        np.testing.assert_allclose(scores[task.name], expected, rtol=1e-5, atol=1e-6)


def test_saved_and_loaded_baseline_scores_the_same(fitted, tmp_path):
    texts = ["fatura çok yüksek", "internet yok", ""]
    fitted.save(tmp_path)
    loaded = TfidfBaseline.load(tmp_path, fitted.schema)
    before, after = fitted.predict_scores(texts), loaded.predict_scores(texts)
    for name in before:
        np.testing.assert_array_equal(before[name], after[name])


def test_a_task_without_any_training_label_gets_uniform_scores():
    """A leave-out run can leave a task with no labels at all (no brain_tr: no urgency)."""
    from nabiz.model.baseline import TfidfBaseline
    from nabiz.model.schema import LabelSchema, TaskSpec

    schema = LabelSchema(
        tasks=[
            TaskSpec(name="mood", labels=["sad", "glad"]),
            TaskSpec(name="level", labels=["a", "b", "c"]),
        ]
    )
    texts = ["çok kötü bir gün", "harika bir gün", "berbat hizmet", "güzel hizmet"] * 3
    mood = ["sad", "glad", "sad", "glad"] * 3
    model = TfidfBaseline(schema, max_features=1000).fit(
        texts, {"mood": mood, "level": [None] * 12}
    )
    scores = model.predict_scores(["kötü hizmet"])
    assert scores["level"][0].tolist() == pytest.approx([1 / 3] * 3)
