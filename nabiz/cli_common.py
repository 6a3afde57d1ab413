"""What the command-line modules share: the model option, logging set-up and the error exit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ModelOption = Annotated[
    Path | None,
    typer.Option("--model", "-m", help="Model directory; default: the NABIZ_MODEL_DIR setting."),
]


def model_dir_or_default(model: Path | None) -> Path:
    from nabiz.settings import get_settings

    return model if model is not None else get_settings().model_dir


def setup_logging() -> None:
    import logging

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")


def fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=2)
