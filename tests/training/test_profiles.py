"""The default config's profiles: what each one shares with the others."""

from __future__ import annotations

from nabiz.settings import REPO_ROOT
from nabiz.training.config import load_config

DEFAULT = REPO_ROOT / "configs" / "default.yaml"


def test_the_deep_cpu_profile_trains_on_the_cpu_profiles_data() -> None:
    """One prepared dataset (and stored states) for both: their figures compare on the same rows."""
    cpu, deep = load_config(DEFAULT, "cpu"), load_config(DEFAULT, "cpu-deep")
    assert deep.data == cpu.data
    assert deep.training.max_length == cpu.training.max_length
    assert deep.training.inference_max_length == cpu.training.inference_max_length


def test_the_cpu_profiles_score_more_of_a_long_text_than_they_train_on() -> None:
    """Fine-tuning reads 64 tokens for speed; the saved model reads the rest of a complaint."""
    cpu = load_config(DEFAULT, "cpu")
    assert cpu.training.inference_max_length > cpu.training.max_length


def test_the_deep_cpu_profile_trains_more_layers_for_longer() -> None:
    cpu, deep = load_config(DEFAULT, "cpu"), load_config(DEFAULT, "cpu-deep")
    assert deep.training.freeze_layers < cpu.training.freeze_layers
    assert deep.training.epochs > cpu.training.epochs
    assert deep.output_dir != cpu.output_dir
