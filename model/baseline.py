"""The TF-IDF + logistic-regression baseline, behind the same Predictor interface.

Every evaluation report puts the transformer beside this baseline, trained on the same split, so
that a score is always read against what a cheap model reaches. It is saved without pickles:
vocabularies and settings as JSON, arrays as ``.npz``, and rebuilt into scikit-learn objects.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nabiz.model.predictor import ModelInfo, Predictor, ScoredBatch, probabilities
from nabiz.model.schema import LabelSchema, TaskSpec
from nabiz.model.tfidf import TfidfTransform, linear_scores
from nabiz.text import normalize_text, turkish_lower

VECTORIZERS_FILE = "vectorizers.json"
ARRAYS_FILE = "baseline.npz"
_PARALLEL_MIN_TEXTS = 5000

_VECTORIZER_PARAMS = {
    "char": {"analyzer": "char_wb", "ngram_range": (2, 5), "sublinear_tf": True, "min_df": 2},
    "word": {"analyzer": "word", "ngram_range": (1, 2), "sublinear_tf": True, "min_df": 2},
}


def _prepare(texts: Sequence[str]) -> list[str]:
    return [turkish_lower(normalize_text(text)) for text in texts]


def _transform(params: dict, vocabulary: dict, idf: np.ndarray) -> TfidfTransform:
    return TfidfTransform(
        params["analyzer"],
        params["ngram_range"],
        vocabulary,
        idf,
        sublinear_tf=params.get("sublinear_tf", False),
        lowercase=params.get("lowercase", True),
    )


def _fit_task(task: TaskSpec, x, values: list, C: float) -> tuple[np.ndarray, np.ndarray]:
    """One task's logistic regression(s) on its rows: coefficients (labels × features) and
    intercepts, in the task's label order."""
    if task.is_multi_label:
        return _fit_multi_label(task, x, values, C)
    return _fit_single_label(task, x, values, C)


def _fit_single_label(task: TaskSpec, x, values: list[str], C: float):
    from sklearn.linear_model import LogisticRegression

    y = np.array([task.index(value) for value in values])
    coef = np.zeros((task.num_labels, x.shape[1]), dtype=np.float32)
    intercept = np.full(task.num_labels, -30.0, dtype=np.float32)  # unseen class: ~0 prob
    present = np.unique(y)
    if len(present) == 0:  # no training text has this task's label (a leave-out run)
        intercept[:] = 0.0  # uniform scores: the baseline knows nothing here
    elif len(present) == 1:
        intercept[present[0]] = 30.0
    else:
        clf = LogisticRegression(C=C, max_iter=2000, class_weight="balanced")
        clf.fit(x, y)
        if len(present) == 2:  # binary LR: one decision function, as two softmax logits
            coef[present[1]], intercept[present[1]] = clf.coef_[0], clf.intercept_[0]
            coef[present[0]], intercept[present[0]] = 0.0, 0.0
        else:
            coef[clf.classes_] = clf.coef_
            intercept[clf.classes_] = clf.intercept_
    return coef, intercept


def _fit_multi_label(task: TaskSpec, x, values: list[list[str]], C: float):
    from sklearn.linear_model import LogisticRegression

    coef = np.zeros((task.num_labels, x.shape[1]), dtype=np.float32)
    intercept = np.full(task.num_labels, -30.0, dtype=np.float32)
    for j, label in enumerate(task.labels):
        y = np.array([label in value for value in values], dtype=int)
        if len(y) == 0:  # no training text has this task's labels
            intercept[j] = 0.0
            continue
        if y.min() == y.max():
            intercept[j] = 30.0 if y[0] else -30.0
            continue
        clf = LogisticRegression(C=C, max_iter=2000, class_weight="balanced").fit(x, y)
        coef[j], intercept[j] = clf.coef_[0], clf.intercept_[0]
    return coef, intercept


class TfidfBaseline:
    """Char 2–5 and word 1–2 TF-IDF features, one logistic regression per task (or per label)."""

    def __init__(self, schema: LabelSchema, C: float = 4.0, max_features: int = 200_000) -> None:
        self.schema = schema
        self.C = C
        self.max_features = max_features

    def _features(self, texts: Sequence[str]):
        """The features of ``texts`` as one sparse matrix (the transforms side by side); scoring
        does not build it, tests and analysis do."""
        from scipy import sparse

        blocks = []
        for transform in self.transforms_.values():
            rows = [transform.row(text) for text in _prepare(texts)]
            indptr = np.cumsum([0] + [len(columns) for columns, _ in rows])
            columns = np.concatenate([c for c, _ in rows]) if rows else np.zeros(0, np.int64)
            values = np.concatenate([v for _, v in rows]) if rows else np.zeros(0)
            shape = (len(texts), len(transform.idf))
            blocks.append(sparse.csr_matrix((values, columns, indptr), shape=shape))
        return sparse.hstack(blocks).tocsr()

    def fit(
        self, texts: Sequence[str], targets: dict[str, list], n_jobs: int | None = None
    ) -> TfidfBaseline:
        """``targets[task]``: per text a label, a list of labels (multi-label), or None.
        ``n_jobs``: processes fitting tasks side by side; by default one per core (at most one
        per task), or this process alone for fewer than ``_PARALLEL_MIN_TEXTS`` texts, where
        starting workers costs more than it saves. The solver holds the GIL, so threads would
        not overlap.

        Fitting uses scikit-learn; scoring (``predict_scores``) does not import it."""
        from scipy import sparse
        from sklearn.feature_extraction.text import TfidfVectorizer

        prepared = _prepare(texts)
        vectorizers = {
            name: TfidfVectorizer(max_features=self.max_features // 2, **params).fit(prepared)
            for name, params in _VECTORIZER_PARAMS.items()
        }
        features = sparse.hstack([v.transform(prepared) for v in vectorizers.values()]).tocsr()
        self.params_ = {
            name: {**_VECTORIZER_PARAMS[name], "max_features": v.max_features}
            for name, v in vectorizers.items()
        }
        self.transforms_ = {
            name: _transform(self.params_[name], v.vocabulary_, v.idf_)
            for name, v in vectorizers.items()
        }
        from joblib import Parallel, cpu_count, delayed

        jobs = []
        for task in self.schema.tasks:
            rows = [i for i, value in enumerate(targets[task.name]) if value is not None]
            jobs.append((task, features[rows], [targets[task.name][i] for i in rows]))
        if n_jobs is None:
            n_jobs = min(len(jobs), cpu_count()) if len(prepared) >= _PARALLEL_MIN_TEXTS else 1
        fitted = Parallel(n_jobs=n_jobs)(delayed(_fit_task)(*job, C=self.C) for job in jobs)
        self.coef_: dict[str, np.ndarray] = {}
        self.intercept_: dict[str, np.ndarray] = {}
        for (task, _, _), (coef, intercept) in zip(jobs, fitted, strict=True):
            self.coef_[task.name], self.intercept_[task.name] = coef, intercept
        return self._stack()

    def _stack(self) -> TfidfBaseline:
        """Every task's coefficients side by side, features × labels, C-contiguous.

        ``csr @ coef.T`` made SciPy copy the whole transposed matrix on every call (about 1 ms
        per task, most of a one-text request's baseline time); one contiguous matrix, built once
        after fitting or loading, is multiplied without a copy, for all tasks in one pass."""
        tasks = self.schema.tasks
        self.weights_ = np.ascontiguousarray(
            np.concatenate([self.coef_[t.name].T for t in tasks], axis=1)
        )
        self.bias_ = np.concatenate([self.intercept_[t.name] for t in tasks])
        return self

    def predict_scores(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        logits = linear_scores(
            list(self.transforms_.values()), self.weights_, self.bias_, _prepare(texts)
        )
        scores, start = {}, 0
        for task in self.schema.tasks:
            z = logits[:, start : start + task.num_labels]
            start += task.num_labels
            scores[task.name] = probabilities(task, z).astype(np.float32)
        return scores

    def save(self, directory: str | Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        spec = {
            name: {
                "params": self.params_[name],
                "vocabulary": {term: int(i) for term, i in t.vocabulary.items()},
            }
            for name, t in self.transforms_.items()
        }
        (directory / VECTORIZERS_FILE).write_text(json.dumps(spec, ensure_ascii=False), "utf-8")
        arrays = {f"idf__{name}": t.idf for name, t in self.transforms_.items()}
        for task in self.schema.tasks:
            arrays[f"coef__{task.name}"] = self.coef_[task.name]
            arrays[f"intercept__{task.name}"] = self.intercept_[task.name]
        np.savez_compressed(directory / ARRAYS_FILE, **arrays)

    @classmethod
    def load(cls, directory: str | Path, schema: LabelSchema) -> TfidfBaseline:
        directory = Path(directory)
        spec = json.loads((directory / VECTORIZERS_FILE).read_text(encoding="utf-8"))
        arrays = np.load(directory / ARRAYS_FILE, allow_pickle=False)
        model = cls(schema)
        model.params_ = {name: entry["params"] for name, entry in spec.items()}
        model.transforms_ = {
            name: _transform(entry["params"], entry["vocabulary"], arrays[f"idf__{name}"])
            for name, entry in spec.items()
        }
        model.coef_ = {t.name: arrays[f"coef__{t.name}"] for t in schema.tasks}
        model.intercept_ = {t.name: arrays[f"intercept__{t.name}"] for t in schema.tasks}
        return model._stack()


class BaselinePredictor(Predictor):
    def __init__(self, model: TfidfBaseline, info: ModelInfo, path: Path | None = None) -> None:
        self.model = model
        self.schema = model.schema
        self.info = info
        self.path = path

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> BaselinePredictor:
        directory = Path(directory)
        schema = LabelSchema.load(directory)
        return cls(TfidfBaseline.load(directory, schema), ModelInfo.load(directory), directory)

    def save_pretrained(self, directory: str | Path) -> Path:
        directory = Path(directory)
        self.model.save(directory)
        self.schema.save(directory)
        self.info.save(directory)
        self.path = directory
        return directory

    engine = "TF-IDF baseline (numpy)"

    def compute_scores(self, texts: Sequence[str]) -> ScoredBatch:
        return ScoredBatch(
            scores=self.model.predict_scores(texts), truncated=np.zeros(len(texts), dtype=bool)
        )
