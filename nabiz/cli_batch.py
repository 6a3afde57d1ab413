"""``nabiz score`` and ``nabiz report``: scoring exports (here or on Ray) and the HTML report."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from nabiz.cli_common import ModelOption, fail, model_dir_or_default, setup_logging

TimeFormatOption = Annotated[
    str | None,
    typer.Option(
        "--time-format",
        help="Read the time column with this strptime format only, e.g. '%m/%d/%Y %H:%M' for "
        "an export written month-first in numbers. Default: ISO 8601, day-first dates, dates "
        "with the month's Turkish or English name, Unix and Excel times.",
    ),
]


class Engine(StrEnum):
    """Where ``nabiz score`` runs."""

    local = "local"
    ray = "ray"


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
    time_format: TimeFormatOption = None,
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
        int | None,
        typer.Option(
            "--batch-size",
            min=1,
            help="Texts per model call; default: a whole chunk, which the model sorts by length "
            "(less padding).",
        ),
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option("--encoding", help="Text encoding of the input; default: detected."),
    ] = None,
    sheet: Annotated[
        str | None,
        typer.Option(
            "--sheet",
            help="Excel: the sheet to read; default: the active sheet, or the first with data "
            "when it is empty.",
        ),
    ] = None,
    header_row: Annotated[
        int | None,
        typer.Option(
            "--header-row",
            min=1,
            help="CSV/Excel: the line or row (from 1) that names the columns; default: the first "
            "line of a CSV file, the first row with two or more values of a sheet.",
        ),
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
    """Tag and prioritize every row of a feedback export; print counts and the most urgent rows.

    Exits with 1 when rows were read but none could be scored (the output is still written)."""
    _check_time_format(time_format)
    if time_format is not None and time_column is None:  # it was ignored without a word
        raise fail("--time-format reads the time column: name it with --time-column.")
    if engine is Engine.ray:
        if sheet is not None or header_row is not None:
            raise fail("--sheet and --header-row work with the local engine only.")
        _score_on_ray(
            input_path,
            output,
            report=report,
            model=model,
            policy=policy,
            resume=resume,
            text_columns=text_column or None,
            id_column=id_column,
            channel_column=channel_column,
            time_column=time_column,
            time_format=time_format,
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
        raise fail(f"{input_path}: cannot read the input: the path is {what}.")
    if report is not None:
        _check_report_path(report, input_path, output)

    from nabiz.model.loading import load_predictor
    from nabiz.serving.batch import ColumnError, ResumeError, score_file
    from nabiz.serving.priority import PolicyError, load_policy
    from nabiz.serving.writers import OutputError
    from nabiz.settings import get_settings
    from nabiz.tabular import TableReadError

    setup_logging()
    settings = get_settings()
    try:
        rules = load_policy(policy if policy is not None else settings.priority_policy)
        predictor = load_predictor(model_dir_or_default(model), settings)
    except (PolicyError, FileNotFoundError) as exc:
        raise fail(str(exc)) from None
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
            time_format=time_format,
            chunk_rows=chunk_rows,
            batch_size=batch_size,
            resume=resume,
            progress=progress,
            encoding=encoding,
            top_n=top,
            mask_personal_data=settings.mask_personal_data,
            sheet=sheet,
            header_row=header_row,
        )
    except (TableReadError, ColumnError, ResumeError, OutputError, PolicyError, OSError) as exc:
        raise fail(str(exc)) from None
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
        from nabiz.serving.console.frame import Roles

        _write_report(
            output,
            report,
            text_columns=text_column,
            channel_column=channel_column,
            time_column=time_column,
            time_format=time_format,
            timezone=rules.timezone,
            roles=Roles.of(predictor.schema),
        )
    if summary.nothing_scored:
        raise typer.Exit(code=1)


def _check_time_format(time_format: str | None) -> None:
    """Refuse a --time-format that names no date or cannot be read back, before loading a model."""
    if time_format is None:
        return
    from nabiz.serving.batch.times import check_time_format

    try:
        check_time_format(time_format)
    except ValueError as exc:
        raise fail(str(exc)) from None


def _check_report_path(report: Path, *inputs: Path) -> None:
    """Refuse, before any work, a report path that cannot be written or would replace an input
    (the scored file, the export)."""
    from nabiz.serving.writers import OutputError, check_target

    for other in inputs:
        if report.resolve() == other.resolve():
            raise fail(f"the report {report} would overwrite {other}; name another file.")
    try:
        check_target(report, "report")
    except OutputError as exc:
        raise fail(str(exc)) from None
    if report.suffix.lower() not in (".html", ".htm"):
        raise fail(f"the report is an HTML page: name it .html (not {report.name!r}).")


def _write_report(scored: Path, output: Path, **options) -> None:
    from nabiz.serving.batch import ColumnError
    from nabiz.serving.console.report import ReportOptions, write_report
    from nabiz.tabular import TableReadError

    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        seconds = write_report(scored, output, ReportOptions(**options))
    except (ColumnError, TableReadError, OSError) as exc:
        raise fail(str(exc)) from None
    typer.echo(f"report written to {output} in {seconds:.1f} s")


def report(
    scored: Annotated[
        Path,
        typer.Argument(
            metavar="SCORED_FILE",
            help="Output of `nabiz score` (.csv, .tsv, .jsonl, .parquet or .xlsx), or the output "
            "folder of `nabiz score --engine ray`.",
            exists=True,
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
    time_format: TimeFormatOption = None,
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
    model: Annotated[
        Path | None,
        typer.Option(
            "--model",
            "-m",
            help="The model that scored the file: its schema says which tasks are sentiment, "
            "topic and urgency and how labels are shown. Default: the model `nabiz score` uses "
            "by default (NABIZ_MODEL_DIR) when there is one, else the tasks named so.",
        ),
    ] = None,
) -> None:
    """Write one self-contained HTML report (no script, no internet) of a scored file."""
    _check_report_path(output, scored)
    _check_time_format(time_format)
    from nabiz.model.schema import LabelSchema
    from nabiz.serving.console.frame import DEFAULT_ROLES, Roles
    from nabiz.serving.priority import PolicyError, load_policy
    from nabiz.settings import get_settings

    try:
        rules = load_policy(policy if policy is not None else get_settings().priority_policy)
        scored_by = model_dir_or_default(model)  # without --model: what `nabiz score` used
        if model is not None or (scored_by / "schema.json").is_file():
            roles = Roles.of(LabelSchema.load(scored_by))
        else:
            roles = DEFAULT_ROLES
    except (PolicyError, FileNotFoundError) as exc:
        raise fail(str(exc)) from None
    _write_report(
        scored,
        output,
        text_columns=text_column or None,
        channel_column=channel_column,
        time_column=time_column,
        time_format=time_format,
        survey_column=survey_column,
        survey_kind=survey_kind,
        timezone=rules.timezone,
        roles=roles,
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
        raise fail("--resume works with the local engine only; a Ray run starts over.")
    setup_logging()
    settings = get_settings()
    policy = options.pop("policy")
    model_dir = model_dir_or_default(options.pop("model"))
    report = options.pop("report")
    if report is not None:
        _check_report_path(report, input_path, output)
    try:
        rules = load_policy(policy if policy is not None else settings.priority_policy)
        summary = score_with_ray(input_path, output, model_dir, rules, settings, **options)
    except (TableReadError, ColumnError, OutputError, PolicyError, OSError, RuntimeError) as exc:
        # ValueErrors raised in a Ray task arrive as instances of their own class too
        raise fail(str(exc)) from None
    typer.echo(summary.render())
    if report is not None:
        from nabiz.model.schema import LabelSchema
        from nabiz.serving.console.frame import Roles

        _write_report(
            output,
            report,
            text_columns=options["text_columns"],
            channel_column=options["channel_column"],
            time_column=options["time_column"],
            time_format=options["time_format"],
            timezone=rules.timezone,
            roles=Roles.of(LabelSchema.load(model_dir)),
        )
    if summary.nothing_scored:
        raise typer.Exit(code=1)
