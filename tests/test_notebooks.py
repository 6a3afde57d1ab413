"""The notebooks run top to bottom on tiny data (nbclient), so they never rot.

Each notebook's cell tagged ``parameters`` names its inputs; the test runs a cell after it that
points them at tiny data made here (a tiny trained model, a synthetic scored file).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from nabiz.model.tiny import make_tiny_encoder
from nabiz.settings import Settings
from nabiz.training.config import load_config
from nabiz.training.pipeline import run_training
from tests.helpers import custom_config_dict, labelled_frame
from tests.serving.console.synthetic import scored_rows

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def run_notebook(name: str, overrides: str, cwd: Path) -> nbformat.NotebookNode:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    at = next(
        i
        for i, cell in enumerate(notebook.cells)
        if "parameters" in cell.get("metadata", {}).get("tags", [])
    )
    notebook.cells.insert(at + 1, nbformat.v4.new_code_cell(overrides))
    client = nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    )
    client.execute()
    return notebook


def outputs(notebook) -> str:
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            texts.append(output.get("text", ""))
            texts.append(str(output.get("data", {}).get("text/plain", "")))
    return "\n".join(texts)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> tuple[Path, Path]:
    """(config, model dir) of a short training run on a made-up taxonomy and a tiny encoder."""
    root = tmp_path_factory.mktemp("nb-run")
    frame = labelled_frame(90)
    frame.to_csv(root / "mine.csv", index=False)
    encoder = make_tiny_encoder(root / "encoder", frame["metin"])
    tree = custom_config_dict("mine.csv", str(encoder), "prepared", "model")
    tree["training"]["epochs"] = 2
    config_path = root / "my.yaml"
    config_path.write_text(yaml.safe_dump(tree, allow_unicode=True), encoding="utf-8")
    config = load_config(config_path)
    run_training(config, Settings(cache_dir=root / "cache", data_dir=root / "no-mirror"))
    model_dir = root / config.output_dir  # relative to the config file
    assert (model_dir / "nabiz.json").is_file()
    return config_path, model_dir


def test_data_and_errors_runs_on_a_tiny_model(tiny_run, tmp_path):
    config, model_dir = tiny_run
    notebook = run_notebook(
        "data_and_errors.ipynb",
        f"MODEL_DIR = Path({str(model_dir)!r})\nCONFIG = Path({str(config)!r})",
        tmp_path,
    )
    assert "predicted" in outputs(notebook)  # the confusion table was drawn


def test_root_causes_runs_on_a_scored_file(tmp_path):
    scored_rows(800, seed=11).to_csv(tmp_path / "scored.csv", index=False)
    notebook = run_notebook(
        "root_causes.ipynb", f"SCORED = Path({str(tmp_path / 'scored.csv')!r})", tmp_path
    )
    text = outputs(notebook)
    assert "çift çekim" in text and "NPS" in text  # the planted double-charge complaint
