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


def writable_or_fail(target: Path, what: str) -> Path:
    """``target``, once it is known that it can be written (:func:`check_target`) into a folder
    that exists: checked before a long run (scoring a split takes minutes), not after it. A
    read-only model directory (a shipped, mounted copy) is the usual cause."""
    from nabiz.serving.writers_base import OutputError, check_target

    try:
        check_target(target, what)
    except OutputError as exc:
        raise fail(f"{exc} Give another path with --output.") from None
    if not target.parent.is_dir():
        raise fail(f"cannot write the {what} to {target}: {target.parent} is not a folder")
    return target


def fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=2)
