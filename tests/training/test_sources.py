"""The review and comment sources: star mapping, binary sources, entity and triplet labels."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from nabiz.settings import REPO_ROOT, get_settings
from nabiz.training.config import NabizConfig, SourceSpec, load_config
from nabiz.training.data import DataSourceError, load_manifest, load_source, prepare_data, read_aste
from nabiz.training.labelmaps import load_label_map
from tests.training.test_data import offline_settings, rows_of

MANIFEST = REPO_ROOT / "data" / "manifest.yaml"
BINARY = ["cemrifki_movies", "cemrifki_twitter.train", "cemrifki_twitter.test"]
BINARY += ["shoppingwords_reviews.human"]


@pytest.fixture(scope="module")
def manifest() -> dict[str, SourceSpec]:
    return load_manifest(MANIFEST)


@pytest.fixture(scope="module")
def schema():
    return load_config(REPO_ROOT / "configs" / "default.yaml").schema


def with_path(spec: SourceSpec, path: Path, **changes) -> SourceSpec:
    """``spec`` reading the fixture at ``path``, without the labels it joins from our label
    files: a fixture holds none of the ids they name."""
    labels = {
        task: column.model_copy(update={"read_file": None})
        for task, column in spec.labels.items()
        if not column.file
    }
    update = {"path": str(path), "sha256": None, "labels": labels}
    return spec.model_copy(update=update | changes)


def test_stars_map_one_two_to_olumsuz_three_to_notr_four_five_to_olumlu(
    manifest, schema, tmp_path: Path
) -> None:
    ratings = [1.0, 2.0, 3.0, 4.0, 5.0]
    reviews = pd.DataFrame(
        {
            "rating": ratings,
            "comment": [f"yorum {n}" for n in range(5)],
            "id": [10.0, 11.0, 12.0, 13.0, 14.0],
        }
    )
    reviews.to_parquet(tmp_path / "reviews.parquet")
    spec = with_path(manifest["shoppingwords_reviews.stars"], tmp_path / "reviews.parquet")
    frame = load_source(spec, tmp_path, schema, map_dir=MANIFEST.parent)
    assert frame["sentiment"].tolist() == ["olumsuz", "olumsuz", "notr", "olumlu", "olumlu"]
    assert frame["id"].tolist()[0] == "shoppingwords_reviews.stars:10"


def test_a_star_value_outside_one_to_five_is_an_error(manifest, schema, tmp_path: Path) -> None:
    pd.DataFrame({"rating": [6.0], "comment": ["x"], "id": [1.0]}).to_parquet(tmp_path / "r.pq")
    spec = with_path(manifest["shoppingwords_reviews.stars"], tmp_path / "r.pq", format="parquet")
    with pytest.raises(DataSourceError, match=r"'6'.*mappings/sentiment\.csv|sentiment\.csv"):
        load_source(spec, tmp_path, schema, map_dir=MANIFEST.parent)


@pytest.mark.parametrize("name", BINARY)
def test_binary_sources_never_map_to_notr(manifest, name: str) -> None:
    column = manifest[name].labels["sentiment"]
    mapped = set((column.map or {}).values())
    if column.map_file:
        mapped |= set(load_label_map(MANIFEST.parent / column.map_file, name).values())
    assert mapped == {"olumsuz", "olumlu"}


def test_binary_sources_in_the_mirror_give_no_notr(manifest, schema) -> None:
    data_dir = get_settings().data_dir
    if not data_dir.is_dir():
        pytest.skip(f"data mirror {data_dir} is absent")
    for name in BINARY:
        frame = load_source(manifest[name], data_dir, schema, map_dir=MANIFEST.parent)
        assert "notr" not in set(frame["sentiment"]), name
        assert frame["sentiment"].notna().all(), name


def test_every_new_source_is_credited(manifest) -> None:
    names = ["shoppingwords_reviews.stars", "linguai_cosmetics", "verigood_aste.train"]
    for name in [*names, "cemrifki_movies"]:
        spec = manifest[name]
        assert spec.licence and spec.attribution and spec.upstream_repo and spec.sha256


# ---------------------------------------------------------------------------------------------
# entity- and triplet-level labels → a text label only where they agree

ASTE_LINES = (
    "Kargo hızlı geldi, ürün harika [none] ####[([0], [1], 'POS'), ([3], [4], 'POS')]\n"
    "Fiyat iyi ama kalite kötü [none] ####[([0], [1], 'POS'), ([3], [4], 'NEG')]\n"
    "Paket geldi [none] ####[([0], [1], 'NEU')]\n"
    "bozuk satır ####[([0], 'POS'\n"
)


def test_aste_lines_become_one_row_per_triplet(tmp_path: Path) -> None:
    path = tmp_path / "aste.txt"
    path.write_text(ASTE_LINES, encoding="utf-8")
    table = read_aste(path)
    assert table.loc[0, "text"].tolist() == ["Kargo hızlı geldi, ürün harika"] * 2
    assert table.loc[1, "polarity"].tolist() == ["POS", "NEG"]
    assert table.loc[3, "_error"].startswith("line 4")


def test_aste_text_is_labelled_only_where_its_triplets_agree(manifest, schema, tmp_path) -> None:
    (tmp_path / "aste.txt").write_text(ASTE_LINES, encoding="utf-8")
    agree = {"aggregate": "agree", "neutral_labels": {}}
    spec = with_path(manifest["verigood_aste.train"], tmp_path / "aste.txt", **agree)
    frame = load_source(spec, tmp_path, schema, map_dir=MANIFEST.parent)
    labels = dict(zip(frame["text_original"], frame["sentiment"], strict=True))
    assert labels == {"Kargo hızlı geldi, ürün harika": "olumlu", "Paket geldi": "notr"}


MIXED_LINES = (
    "Kargo hızlı, fiyat normal [none] ####[([0], [1], 'POS'), ([2], [3], 'NEU')]\n"
    "Paket geldi, kutu ezik [none] ####[([0], [1], 'NEU'), ([2], [3], 'NEG')]\n"
    "Fiyat iyi ama kalite kötü [none] ####[([0], [1], 'POS'), ([3], [4], 'NEG')]\n"
    "Renk güzel, beden dar, kargo normal [none] ####"
    "[([0], [1], 'POS'), ([2], [3], 'NEG'), ([4], [5], 'NEU')]\n"
    "Paket geldi [none] ####[([0], [1], 'NEU')]\n"
)


def test_polarity_aggregation_calls_a_praised_and_criticised_text_neutral(
    manifest, schema, tmp_path
) -> None:
    (tmp_path / "aste.txt").write_text(MIXED_LINES, encoding="utf-8")
    spec = with_path(manifest["verigood_aste.train"], tmp_path / "aste.txt")  # as the manifest says
    assert (spec.aggregate, spec.neutral_labels) == ("polarity", {"sentiment": "notr"})
    frame = load_source(spec, tmp_path, schema, map_dir=MANIFEST.parent)
    labels = dict(zip(frame["text_original"], frame["sentiment"], strict=True))
    assert labels == {
        "Kargo hızlı, fiyat normal": "olumlu",  # a neutral aspect yields
        "Paket geldi, kutu ezik": "olumsuz",
        "Fiyat iyi ama kalite kötü": "notr",  # mixed, like a three-star review
        "Renk güzel, beden dar, kargo normal": "notr",
        "Paket geldi": "notr",
    }


def polarity_config(task: dict, neutral: dict[str, str], folder: Path) -> NabizConfig:
    """A config with one task and one ASTE file aggregated by polarity."""
    entry = {"name": "aste", "path": "aste.txt", "text": ["text"]}
    entry |= {"aggregate": "polarity", "neutral_labels": neutral}
    return NabizConfig.model_validate(
        {"tasks": [task], "data": {"files": [entry], "prepared_dir": "p"}, "config_dir": folder}
    )


def test_neutral_labels_must_name_a_label_of_the_task(tmp_path: Path) -> None:
    task = {"name": "s", "labels": ["olumsuz", "notr", "olumlu"]}
    with pytest.raises(ValueError, match="neutral_labels names s: 'neutral'"):
        polarity_config(task, {"s": "neutral"}, tmp_path)


def test_neutral_labels_refuse_a_multi_label_task(tmp_path: Path) -> None:
    task = {"name": "tags", "kind": "multi_label", "labels": ["genel", "fatura"]}
    with pytest.raises(ValueError, match="'tags' is multi_label"):
        polarity_config(task, {"tags": "genel"}, tmp_path)


def test_entity_labels_agree_after_mapping_spelling_variants(manifest, schema, tmp_path) -> None:
    entities = pd.DataFrame(
        {
            "text": ["Nivea harika, Garnier de", "Nivea harika, Garnier de", "A iyi B kötü"] * 1,
            "span": ["Nivea", "Garnier", "A"],
            "label": ["olumlu", "pozitif", "olumlu"],
            "ordinal": [0, 0, 0],
        }
    )
    entities.loc[3] = ["A iyi B kötü", "B", "negatif", 1]
    entities.to_excel(tmp_path / "veri.xlsx", index=False)
    spec = with_path(manifest["linguai_cosmetics"], tmp_path / "veri.xlsx")
    frame = load_source(spec, tmp_path, schema, map_dir=MANIFEST.parent)
    assert frame["text_original"].tolist() == ["Nivea harika, Garnier de"]  # ambiguous: dropped
    assert frame["sentiment"].tolist() == ["olumlu"]


def test_a_human_label_wins_over_stars_for_the_same_text(tmp_path: Path) -> None:
    (tmp_path / "stars.csv").write_text("rating,text\n5,Kumaşı kötü\n5,kumaşı kötü!\n")
    (tmp_path / "human.csv").write_text("emotion,text\nn,Kumaşı kötü\n")
    stars = {"column": "rating", "map": {"5": "olumlu"}}
    files = [
        {"name": "stars", "path": "stars.csv", "text": ["text"], "labels": {"s": stars}},
        {
            "name": "human",
            "path": "human.csv",
            "text": ["text"],
            "label_priority": 1,
            "labels": {"s": {"column": "emotion", "map": {"n": "olumsuz"}}},
        },
    ]
    config = NabizConfig.model_validate(
        {
            "tasks": [{"name": "s", "labels": ["olumsuz", "notr", "olumlu"]}],
            "data": {"files": files, "prepared_dir": "prepared"},
            "config_dir": tmp_path,
        }
    )
    rows = rows_of(prepare_data(config, offline_settings(tmp_path)))
    assert rows["s"].tolist() == ["olumsuz"]


def test_five_star_reviews_given_so_the_review_is_seen_are_dropped(
    manifest, schema, tmp_path: Path
) -> None:
    reviews = pd.DataFrame(
        {
            "rating": [5.0, 5.0, 4.0, 1.0],
            "comment": [
                "Öne çıksın diye 5 yıldız verdim, dikişleri patlak geldi",
                "Çok güzel, tam bedeninizi alın",
                "Yorumum görünsün diye 4 yıldız verdim, ürün kusurlu",
                "Yorumum görünsün diye yazıyorum, kötü",  # 1 star: already olumsuz, kept
            ],
            "id": [1.0, 2.0, 3.0, 4.0],
        }
    )
    reviews.to_parquet(tmp_path / "reviews.parquet")
    spec = with_path(manifest["shoppingwords_reviews.stars"], tmp_path / "reviews.parquet")
    frame = load_source(spec, tmp_path, schema, map_dir=MANIFEST.parent)
    assert [row.split(":")[1] for row in frame["id"]] == ["2", "4"]


def test_a_filter_pattern_that_is_not_a_regular_expression_is_refused(manifest) -> None:
    entry = manifest["shoppingwords_reviews.stars"].model_dump()
    entry["drop_texts"] = [{"pattern": "(görünsün", "reason": "x"}]
    with pytest.raises(ValueError, match="not a regular expression"):
        SourceSpec.model_validate(entry)
