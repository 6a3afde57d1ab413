"""The model directory's checksum manifest: written at save, checked at load, naming the file."""

from __future__ import annotations

import json
import re

import pytest

from nabiz.model.loading import from_pretrained
from nabiz.model.manifest import (
    MANIFEST_FILE,
    ModelIntegrityError,
    verify_manifest,
    write_manifest,
)


def test_a_saved_model_lists_every_file_with_its_checksum(tiny_model_dir):
    listed = (tiny_model_dir / MANIFEST_FILE).read_text(encoding="utf-8").splitlines()
    names = {line.split("  ", 1)[1] for line in listed}
    assert {"schema.json", "nabiz.json", "model.safetensors"} <= names
    assert verify_manifest(tiny_model_dir)


@pytest.mark.parametrize("name", ["model.safetensors", "schema.json"])
def test_a_changed_file_is_an_error_that_names_it(tiny_model_dir, name):
    path = tiny_model_dir / name
    path.write_bytes(path.read_bytes()[:-10])  # truncated
    with pytest.raises(ModelIntegrityError, match=re.escape(name)):
        from_pretrained(tiny_model_dir, device="cpu")


def test_a_missing_file_is_an_error_that_names_it(tiny_model_dir):
    (tiny_model_dir / "nabiz.json").unlink()
    with pytest.raises(ModelIntegrityError, match=r"nabiz\.json is missing"):
        from_pretrained(tiny_model_dir, device="cpu")


def test_files_added_after_saving_are_not_checked(tiny_model_dir):
    (tiny_model_dir / "evaluation_test.json").write_text(json.dumps({}), encoding="utf-8")
    assert from_pretrained(tiny_model_dir, device="cpu").schema


def test_a_directory_without_a_manifest_loads_with_a_warning(tiny_model_dir, caplog):
    (tiny_model_dir / MANIFEST_FILE).unlink()
    assert from_pretrained(tiny_model_dir, device="cpu").schema
    assert "cannot be checked" in caplog.text


def test_a_model_still_being_trained_loads_without_a_warning(tiny_model_dir, caplog):
    (tiny_model_dir / MANIFEST_FILE).unlink()
    partial = tiny_model_dir.rename(tiny_model_dir.with_name("model.partial"))
    assert from_pretrained(partial, device="cpu").schema  # with its baseline/ part
    assert "cannot be checked" not in caplog.text


def test_the_baseline_loaded_on_its_own_is_checked_against_the_whole_model(tiny_model_dir, caplog):
    baseline = tiny_model_dir / "baseline"
    assert verify_manifest(baseline)
    assert "cannot be checked" not in caplog.text
    weights = next(path for path in baseline.iterdir() if path.is_file())
    weights.write_bytes(weights.read_bytes() + b"x")
    with pytest.raises(ModelIntegrityError, match=re.escape(weights.name)):
        verify_manifest(baseline)


def test_a_file_the_loader_reads_but_the_manifest_does_not_list_is_an_error(tiny_model_dir):
    (tiny_model_dir / "network.onnx").write_bytes(b"an exported network from another model")
    with pytest.raises(ModelIntegrityError, match=r"network\.onnx is not listed"):
        from_pretrained(tiny_model_dir, device="cpu")


def test_an_emptied_manifest_is_an_error(tiny_model_dir):
    (tiny_model_dir / MANIFEST_FILE).write_text("", encoding="utf-8")
    with pytest.raises(ModelIntegrityError, match="lists no files"):
        from_pretrained(tiny_model_dir, device="cpu")


def test_a_manifest_with_the_weights_line_removed_is_an_error(tiny_model_dir):
    manifest = tiny_model_dir / MANIFEST_FILE
    lines = manifest.read_text(encoding="utf-8").splitlines()
    manifest.write_text(
        "\n".join(line for line in lines if not line.endswith("model.safetensors")) + "\n",
        encoding="utf-8",
    )
    with pytest.raises(ModelIntegrityError, match=r"model\.safetensors is not listed"):
        from_pretrained(tiny_model_dir, device="cpu")


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda d: (d / "config.json").unlink(), r"config\.json is missing"),
        (lambda d: (d / "schema.json").write_text("{}", encoding="utf-8"), r"schema\.json is not"),
    ],
)
def test_serve_names_a_damaged_model_file_in_one_line_before_starting(
    tiny_model_dir, monkeypatch, change, named
):
    from typer.testing import CliRunner

    from nabiz.cli import app as cli

    monkeypatch.setattr("nabiz.serving.app.run_server", pytest.fail)
    change(tiny_model_dir)
    result = CliRunner().invoke(cli, ["serve", "--model", str(tiny_model_dir)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert re.search(named, " ".join(result.output.split()))


def test_notes_added_to_the_model_card_do_not_stop_the_model_loading(tiny_model_dir):
    card = tiny_model_dir / "README.md"
    card.write_text("# tiny\n", encoding="utf-8")
    write_manifest(tiny_model_dir)  # as training saves its card: listed
    card.write_text("# tiny\n\nShipped to the bank team.\n", encoding="utf-8")
    assert from_pretrained(tiny_model_dir, device="cpu").schema
