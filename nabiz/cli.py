"""``nabiz``: one command line over data preparation, training, evaluation and serving.

Each command parses its options and calls a plain function; the functions are what tests use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Nabız: Turkish customer-feedback tagging and triage.", no_args_is_help=True)
data_app = typer.Typer(help="Prepare training data and export corrections.", no_args_is_help=True)
app.add_typer(data_app, name="data")

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="Training config (YAML).", exists=True, dir_okay=False)
]
ModelOption = Annotated[
    Path | None,
    typer.Option("--model", "-m", help="Model directory; default: the NABIZ_MODEL_DIR setting."),
]


def model_dir_or_default(model: Path | None) -> Path:
    from nabiz.settings import get_settings

    return model if model is not None else get_settings().model_dir


# --- commands from other modules register here -------------------------------------------------
