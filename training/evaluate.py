"""Evaluation: per-task quality of a Predictor on labelled texts, with the baseline beside it.

Texts without a label for a task are left out of that task's figures (never counted as wrong).
Single-label and ordinal tasks report accuracy, macro- and weighted-F1, per-class precision /
recall / F1 / support, the confusion matrix (rows = gold, columns = predicted, schema order) and
the expected calibration error of the top label (15 equal-width bins, torchmetrics'
``multiclass_calibration_error``). Multi-label tasks report micro/macro-F1 and per-label figures at
the model's thresholds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import (
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
    roc_auc_score,
)

from nabiz.model.predictor import Predictor, ScoredBatch
from nabiz.model.schema import LabelSchema, TaskSpec

ECE_BINS = 15


def expected_calibration_error(probs: np.ndarray, gold: np.ndarray, bins: int = ECE_BINS) -> float:
    """Weighted gap between confidence and accuracy of the top label, over confidence bins."""
    import torch
    from torchmetrics.functional.classification import multiclass_calibration_error

    return float(
        multiclass_calibration_error(
            torch.as_tensor(probs, dtype=torch.float32),
            torch.as_tensor(gold, dtype=torch.long),
            num_classes=probs.shape[1],
            n_bins=bins,
            norm="l1",
        )
    )


def single_label_metrics(task: TaskSpec, probs: np.ndarray, gold: Sequence[str | None]) -> dict:
    rows = np.array([i for i, value in enumerate(gold) if value is not None], dtype=int)
    if len(rows) == 0:
        return {"n": 0}
    y_true = np.array([task.index(gold[i]) for i in rows])
    p = probs[rows]
    y_pred = p.argmax(axis=1)
    labels = list(range(task.num_labels))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    present = [j for j in labels if support[j] > 0 or (y_pred == j).any()]
    top = task.num_labels - 1
    extra = {}
    if task.kind.value == "ordinal" and 0 < (y_true == top).sum() < len(y_true):
        # how well P(highest level) ranks texts, whatever the threshold: the priority uses it
        extra["auc_top"] = float(roc_auc_score(y_true == top, p[:, top]))
    return {
        **extra,
        "n": len(rows),
        "accuracy": float((y_true == y_pred).mean()),
        "macro_f1": float(
            f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)
        ),
        "weighted_f1": float(f1_score(y_true, y_pred, average="weighted", zero_division=0)),
        "ece": expected_calibration_error(p, y_true),
        "per_class": {
            label: {
                "precision": float(precision[j]),
                "recall": float(recall[j]),
                "f1": float(f1[j]),
                "support": int(support[j]),
            }
            for j, label in enumerate(task.labels)
        },
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def multi_label_metrics(task: TaskSpec, probs: np.ndarray, gold: Sequence[list | None]) -> dict:
    rows = np.array([i for i, value in enumerate(gold) if value is not None], dtype=int)
    if len(rows) == 0:
        return {"n": 0}
    y_true = np.array([[label in gold[i] for label in task.labels] for i in rows], dtype=int)
    thresholds = np.array([task.threshold(label) for label in task.labels])
    y_pred = (probs[rows] >= thresholds).astype(int)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, zero_division=0
    )
    return {
        "n": len(rows),
        "subset_accuracy": float((y_true == y_pred).all(axis=1).mean()),
        "micro_f1": float(f1_score(y_true, y_pred, average="micro", zero_division=0)),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
        "per_class": {
            label: {
                "precision": float(precision[j]),
                "recall": float(recall[j]),
                "f1": float(f1[j]),
                "support": int(support[j]),
                "threshold": float(thresholds[j]),
            }
            for j, label in enumerate(task.labels)
        },
    }


def task_metrics(task: TaskSpec, probs: np.ndarray, gold: Sequence) -> dict:
    if task.is_multi_label:
        return multi_label_metrics(task, probs, gold)
    return single_label_metrics(task, probs, gold)


def score_metrics(
    schema: LabelSchema,
    scores: dict[str, np.ndarray],
    gold: dict[str, Sequence],
    sources: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Figures per task, plus accuracy and macro-F1 per task within each source."""
    report: dict[str, Any] = {
        "tasks": {t.name: task_metrics(t, scores[t.name], gold[t.name]) for t in schema.tasks}
    }
    if sources is not None and len(set(sources)) > 1:
        by_source = {}
        for source in sorted(set(sources)):
            idx = np.array([i for i, s in enumerate(sources) if s == source])
            by_source[source] = {
                t.name: _summary(
                    task_metrics(t, scores[t.name][idx], [gold[t.name][i] for i in idx])
                )
                for t in schema.tasks
            }
        report["by_source"] = by_source
    return report


def _summary(metrics: dict) -> dict:
    keys = ("n", "accuracy", "macro_f1", "micro_f1", "ece", "auc_top")
    return {key: metrics[key] for key in keys if key in metrics}


def evaluate_predictor(
    predictor: Predictor,
    texts: Sequence[str],
    gold: dict[str, Sequence],
    sources: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Run the predictor over ``texts`` and score it against ``gold`` labels per task."""
    missing = [t.name for t in predictor.schema.tasks if t.name not in gold]
    if missing:
        raise ValueError(f"the evaluation data has no labels for tasks {missing}")
    return batch_report(predictor, predictor.predict_scores(list(texts)), gold, sources)


def batch_report(
    predictor: Predictor,
    batch: ScoredBatch,
    gold: dict[str, Sequence],
    sources: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The report of scores ``predictor`` gave (at its schema's thresholds) against ``gold``."""
    report = score_metrics(predictor.schema, batch.scores, gold, sources)
    report["n_texts"] = len(next(iter(batch.scores.values())))
    report["truncated_share"] = float(np.mean(batch.truncated)) if len(batch.truncated) else 0.0
    report["model"] = {
        "name": predictor.info.name,
        "version": predictor.info.version,
        "type": predictor.info.model_type,
    }
    return report


def format_report(reports: dict[str, dict], schema: LabelSchema) -> str:
    """A plain-text table: one row per task and model, with per-class F1 below."""
    lines = [
        f"{'task':<12} {'model':<12} {'n':>6} {'acc':>7} {'macroF1':>8} {'ECE':>7} {'AUCtop':>7}"
    ]
    for task in schema.tasks:
        for name, report in reports.items():
            m = report["tasks"][task.name]
            acc = m.get("accuracy", m.get("subset_accuracy", float("nan")))
            ece = m.get("ece", float("nan"))
            lines.append(
                f"{task.name:<12} {name:<12} {m.get('n', 0):>6} {acc:>7.3f} "
                f"{m.get('macro_f1', float('nan')):>8.3f} {ece:>7.3f} "
                f"{m.get('auc_top', float('nan')):>7.3f}"
            )
    lines.append("")
    first = next(iter(reports))
    for task in schema.tasks:
        per_class = reports[first]["tasks"][task.name].get("per_class", {})
        cells = ", ".join(
            f"{label} {v['f1']:.2f} (n={v['support']})" for label, v in per_class.items()
        )
        lines.append(f"{task.name} per-class F1 ({first}): {cells}")
    lines += _by_source_lines(reports, schema)
    return "\n".join(lines)


def _source_figure(report: dict, source: str, task: str) -> float:
    return report.get("by_source", {}).get(source, {}).get(task, {}).get("macro_f1", float("nan"))


def _by_source_lines(reports: dict[str, dict], schema: LabelSchema) -> list[str]:
    """Macro-F1 per source, task and model, when the texts come from more than one source: an
    average over sources can hide a weak one."""
    first = next(iter(reports))
    sources = reports[first].get("by_source") or {}
    if len(sources) < 2:
        return []
    lines = ["", "macro-F1 per source: " + ", ".join(reports)]
    for source in sorted(sources):
        for task in schema.tasks:
            n = sources[source].get(task.name, {}).get("n", 0)
            if not n:
                continue
            figures = "  ".join(
                f"{_source_figure(report, source, task.name):.3f}" for report in reports.values()
            )
            lines.append(f"  {source:<24} {task.name:<12} n={n:<6} {figures}")
    return lines


REFERENCE_SOURCE = "brain_tr"


def encoder_beats_baseline(reports: dict[str, dict]) -> dict[str, dict]:
    """Per task, macro-F1 of the encoder alone beside the TF-IDF baseline alone, and who wins.

    Read on the in-domain reference source when the data has it (brain_tr labels every task and
    its labels are not taken from a file name), else on the whole split. Empty when the reports
    lack one of the two.
    """
    if "transformer" not in reports or "baseline" not in reports:
        return {}
    result = {}
    for task, encoder in reports["transformer"]["tasks"].items():
        where, ours, theirs = "all", encoder, reports["baseline"]["tasks"][task]
        by_source = reports["transformer"].get("by_source", {})
        if by_source.get(REFERENCE_SOURCE, {}).get(task, {}).get("n"):
            where = REFERENCE_SOURCE
            ours = by_source[REFERENCE_SOURCE][task]
            theirs = reports["baseline"]["by_source"][REFERENCE_SOURCE][task]
        if "macro_f1" not in ours or "macro_f1" not in theirs:
            continue
        result[task] = {
            "on": where,
            "transformer": ours["macro_f1"],
            "baseline": theirs["macro_f1"],
            "beats": ours["macro_f1"] > theirs["macro_f1"],
        }
    return result


def format_check(check: dict[str, dict]) -> str:
    """One line per task, and the verdict the issue asks for."""
    lines = ["encoder alone vs. TF-IDF baseline alone (macro-F1):"]
    for task, row in check.items():
        verdict = "beats" if row["beats"] else "DOES NOT beat"
        lines.append(
            f"  {task:<12} on {row['on']:<10} transformer {row['transformer']:.3f} {verdict} "
            f"baseline {row['baseline']:.3f}"
        )
    every = all(row["beats"] for row in check.values())
    lines.append(f"encoder beats baseline on every task: {'yes' if every else 'NO'}")
    return "\n".join(lines)
