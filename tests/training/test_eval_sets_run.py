"""After training, the hand-labelled sets that data.exclude keeps out are scored and carded."""

from __future__ import annotations

import pandas as pd
import yaml

from nabiz.settings import REPO_ROOT, Settings
from nabiz.training.card import _eval_set_rows
from nabiz.training.config import load_config
from nabiz.training.evalsets_run import score_eval_sets

URGENT = "Kartımdan iki kez çekildi, avukata gideceğim"
CALM = "Şubeniz çok kalabalıktı"


def setup(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    pd.DataFrame({"no": [1, 2, 3, 4], "metin": [URGENT, CALM, URGENT + "!", CALM + "."]}).to_csv(
        mirror / "banka.csv", index=False
    )
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(
        yaml.safe_dump(
            {
                "sources": {
                    "banka": {
                        "path": "banka.csv",
                        "format": "csv",
                        "text": ["metin"],
                        "id_column": "no",
                        "labels": {},
                    }
                }
            }
        ),
        encoding="utf-8",
    )
    (tmp_path / "eval.csv").write_text(
        "id,urgency\n1,yuksek\n2,orta\n3,yuksek\n4,dusuk\n", encoding="utf-8"
    )
    tree = yaml.safe_load((REPO_ROOT / "configs" / "default.yaml").read_text(encoding="utf-8"))
    tree["data"]["exclude"] = [{"source": "banka", "file": "eval.csv", "reason": "test"}]
    tree.pop("profiles", None)
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(tree, allow_unicode=True), encoding="utf-8")
    settings = Settings(data_dir=mirror, manifest=manifest, cache_dir=tmp_path / "cache")
    return load_config(config_path), settings


def test_each_evaluation_set_is_scored_with_and_without_cues(tiny_model_dir, tmp_path):
    config, settings = setup(tmp_path)
    found = score_eval_sets(config, tiny_model_dir, settings)
    assert list(found) == ["eval"]
    reports = found["eval"]["reports"]
    assert reports["with_cues"]["nabiz"]["tasks"]["urgency"]["n"] == 4
    assert reports["without_cues"]["nabiz"]["tasks"]["urgency"]["n"] == 4
    assert found["eval"]["tasks"] == ["urgency"]


def test_the_card_lists_the_served_model_with_and_without_cues(tiny_model_dir, tmp_path):
    config, settings = setup(tmp_path)
    rows = "\n".join(_eval_set_rows(score_eval_sets(config, tiny_model_dir, settings)))
    assert "| eval (4) | urgency | nabiz, without cues |" in rows
    assert "| eval (4) | urgency | nabiz, with cues |" in rows


def test_a_set_whose_source_is_unknown_is_skipped_not_fatal(tiny_model_dir, tmp_path):
    config, settings = setup(tmp_path)
    config.data.exclude[0].source = "yok"
    assert score_eval_sets(config, tiny_model_dir, settings) == {}
