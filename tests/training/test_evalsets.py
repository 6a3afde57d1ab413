"""The hand-labelled urgency set: adjudication rule, agreement, and its exclusion from training."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from nabiz.settings import REPO_ROOT
from nabiz.training.config import load_config
from nabiz.training.evalsets import adjudicate, agreement, combine, read_pass
from nabiz.yamlio import load_yaml

EVAL = REPO_ROOT / "data" / "eval"


def test_agreeing_passes_keep_their_label() -> None:
    assert adjudicate("yuksek", "1", "yuksek", "3") == "yuksek"


def test_a_disagreement_takes_the_lower_level() -> None:
    assert adjudicate("yuksek", "1", "orta", "") == "orta"
    assert adjudicate("dusuk", "", "orta", "") == "dusuk"


def test_a_disagreement_with_cues_in_both_passes_takes_the_higher_level() -> None:
    assert adjudicate("orta", "1", "yuksek", "1;3") == "yuksek"


def write_pass(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    frame = pd.DataFrame(rows, columns=["id", "urgency", "cues"])
    frame.insert(0, "n", range(len(rows)))
    frame.to_csv(path, index=False)
    return path


def test_combine_adjudicates_and_counts_agreement(tmp_path: Path) -> None:
    first = write_pass(tmp_path / "1.csv", [("10", "orta", ""), ("11", "yuksek", "1")])
    second = write_pass(tmp_path / "2.csv", [("11", "orta", ""), ("10", "orta", "")])
    combined = combine(read_pass(first), read_pass(second))
    assert combined["id"].tolist() == ["10", "11"]
    assert combined["urgency"].tolist() == ["orta", "orta"]
    figures = agreement(combined)
    assert figures["disagreements"] == 1 and figures["agreement"] == 0.5


def test_an_id_in_one_pass_only_is_an_error(tmp_path: Path) -> None:
    first = write_pass(tmp_path / "1.csv", [("10", "orta", "")])
    second = write_pass(tmp_path / "2.csv", [("12", "orta", "")])
    with pytest.raises(ValueError, match="one pass only"):
        combine(read_pass(first), read_pass(second))


def test_an_unknown_level_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown urgency levels"):
        read_pass(write_pass(tmp_path / "1.csv", [("10", "acil", "")]))


def test_committed_labels_match_their_passes() -> None:
    combined = combine(
        read_pass(EVAL / "vakifbank_urgency_pass1.csv"),
        read_pass(EVAL / "vakifbank_urgency_pass2.csv"),
    )
    committed = pd.read_csv(EVAL / "vakifbank_urgency.csv", dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(combined.reset_index(drop=True), committed)


def test_committed_eval_files_hold_no_texts() -> None:
    for path in EVAL.glob("*.csv"):
        columns = set(pd.read_csv(path, nrows=1).columns)
        assert not columns & {"text", "title", "full_text", "metin"}, path


DEFAULT_PROFILES = list(load_yaml((REPO_ROOT / "configs" / "default.yaml").read_text())["profiles"])


@pytest.mark.parametrize("profile", [None, *DEFAULT_PROFILES])
def test_default_config_excludes_the_urgency_set_from_every_profile(profile) -> None:
    config = load_config(REPO_ROOT / "configs" / "default.yaml", profile)
    [exclusion] = config.data.exclude
    assert exclusion.source == "vakifbank_sikayetvar"
    assert config.resolve(exclusion.file) == EVAL / "vakifbank_urgency.csv"
