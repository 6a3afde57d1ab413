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
    """``target``, once it is known that it can be written: checked before a long run (scoring a
    split takes minutes), not after it. A read-only model directory (a shipped, mounted copy) is
    the usual cause; the message says where else to write."""
    import os

    folder = target.parent
    if target.is_dir() or not folder.is_dir():
        raise fail(f"cannot write {what} to {target}: not a file in an existing folder")
    if not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise fail(f"cannot write {what} to {target} (read-only?); give another path with --output")
    return target


def fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=2)
