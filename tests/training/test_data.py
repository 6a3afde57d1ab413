"""Data preparation: the manifest, source checks, label mapping, deduplication and splits."""

from __future__ import annotations

import csv
import json
import shutil
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from nabiz.settings import REPO_ROOT, Settings, get_settings
from nabiz.text import dedupe_key
from nabiz.training.config import LabelColumn, NabizConfig, SourceSpec, load_config
from nabiz.training.data import (
    SPLITS,
    DataSourceError,
    assign_splits,
    file_sha256,
    load_manifest,
    load_prepared,
    load_source,
    prepare_data,
    resolve_sources,
    verify_source,
)

FIXTURES = REPO_ROOT / "tests" / "fixtures"
FEEDBACK = FIXTURES / "feedback.csv"
MANIFEST = REPO_ROOT / "data" / "manifest.yaml"

# a made-up taxonomy, so the tests do not depend on the default one
TASKS = [
    {"name": "mood", "labels": ["neg", "pos"]},
    {"name": "subject", "kind": "multi_label", "labels": ["money", "app", "line", "shop"]},
]
SUBJECT_MAP = "source_label,label,note\npara,money,\nuygulama,app,\nhat,line,\nmagaza,shop,\n"


def fixture_spec(**changes: Any) -> dict[str, Any]:
    spec = {
        "name": "fixture",
        "path": str(FEEDBACK),
        "text": ["text"],
        "labels": {
            "mood": {"column": "duygu", "map": {"kotu": "neg", "iyi": "pos"}},
            "subject": {"column": "konu", "separator": "|", "map_file": "subject.csv"},
        },
    }
    return spec | changes


def make_config(
    folder: Path, files: list[dict[str, Any]] | None = None, **data: Any
) -> NabizConfig:
    (folder / "subject.csv").write_text(SUBJECT_MAP, encoding="utf-8")
    tree = {
        "name": "tiny",
        "tasks": TASKS,
        "data": {"files": files or [fixture_spec()], "prepared_dir": "prepared"} | data,
        "config_dir": folder,
    }
    return NabizConfig.model_validate(tree)


def offline_settings(folder: Path) -> Settings:
    return Settings(data_dir=folder / "mirror", manifest=folder / "manifest.yaml")


@pytest.fixture
def config(tmp_path: Path) -> NabizConfig:
    return make_config(tmp_path)


@pytest.fixture
def prepared(config: NabizConfig, tmp_path: Path):
    return prepare_data(config, offline_settings(tmp_path))


def rows_of(prepared) -> pd.DataFrame:
    frames = [prepared.datasets[split].to_pandas().assign(split=split) for split in SPLITS]
    frame = pd.concat(frames, ignore_index=True)
    return frame.astype(object).where(frame.notna(), None).set_index("id")


def tiny_mirror(folder: Path) -> tuple[dict[str, SourceSpec], Path]:
    """A mirror holding the fixture CSV and a manifest naming it, with its checksum."""
    mirror = folder / "mirror"
    (mirror / "tiny").mkdir(parents=True)
    shutil.copy(FEEDBACK, mirror / "tiny" / "feedback.csv")
    entry = fixture_spec(path="tiny/feedback.csv", sha256=file_sha256(FEEDBACK))
    entry.pop("name")
    entry |= {"upstream_repo": "https://example.org/tiny", "upstream_path": "feedback.csv"}
    (folder / "manifest.yaml").write_text(yaml.safe_dump({"sources": {"tiny": entry}}))
    return load_manifest(folder / "manifest.yaml"), mirror


# ---------------------------------------------------------------------------------------------
# the real manifest


def test_manifest_loads_and_credits_every_source() -> None:
    manifest = load_manifest(MANIFEST)
    assert {"brain_tr", "vakifbank_sikayetvar"} <= set(manifest)
    assert len(resolve_sources(manifest, ["bilgenai_sikayetvar"])) == 2
    for spec in manifest.values():
        assert spec.attribution and spec.licence and spec.upstream_repo and spec.sha256


def test_manifest_sources_exist_in_mirror_with_their_checksums() -> None:
    data_dir = get_settings().data_dir
    if not data_dir.is_dir():
        pytest.skip(f"data mirror {data_dir} is absent")
    for spec in load_manifest(MANIFEST).values():
        assert verify_source(spec, data_dir).is_file()


def test_manifest_sources_map_onto_the_default_schema() -> None:
    data_dir = get_settings().data_dir
    if not data_dir.is_dir():
        pytest.skip(f"data mirror {data_dir} is absent")
    schema = load_config(REPO_ROOT / "configs" / "default.yaml").schema
    for spec in load_manifest(MANIFEST).values():
        frame = load_source(spec, data_dir, schema, map_dir=MANIFEST.parent)
        assert len(frame) > 0
        assert frame["sentiment"].notna().any()


# ---------------------------------------------------------------------------------------------
# checking sources


def test_missing_mirror_names_setting_and_upstream(tmp_path: Path) -> None:
    manifest, _ = tiny_mirror(tmp_path)
    with pytest.raises(DataSourceError) as error:
        verify_source(manifest["tiny"], tmp_path / "elsewhere")
    message = str(error.value)
    assert "NABIZ_DATA_DIR" in message
    assert "https://example.org/tiny" in message
    assert str(tmp_path / "elsewhere") in message


def test_missing_file_in_mirror_says_where_to_fetch_it(tmp_path: Path) -> None:
    manifest, mirror = tiny_mirror(tmp_path)
    (mirror / "tiny" / "feedback.csv").unlink()
    with pytest.raises(DataSourceError, match=r"missing from the data mirror.*example\.org/tiny"):
        verify_source(manifest["tiny"], mirror)


def test_bad_checksum_names_expected_and_actual(tmp_path: Path) -> None:
    manifest, mirror = tiny_mirror(tmp_path)
    changed = mirror / "tiny" / "feedback.csv"
    changed.write_bytes(changed.read_bytes() + b"13,Yeni satir,kotu,para\n")
    with pytest.raises(DataSourceError) as error:
        verify_source(manifest["tiny"], mirror)
    message = str(error.value)
    assert manifest["tiny"].sha256 in message
    assert file_sha256(changed) in message
    assert "fetch it again" in message


def test_prepare_reads_manifest_sources_from_the_mirror(tmp_path: Path) -> None:
    tiny_mirror(tmp_path)
    (tmp_path / "subject.csv").write_text(SUBJECT_MAP, encoding="utf-8")
    config = NabizConfig.model_validate(
        {"tasks": TASKS, "data": {"sources": ["tiny"]}, "config_dir": tmp_path}
    )
    config.data.prepared_dir = str(tmp_path / "prepared")
    result = prepare_data(config, offline_settings(tmp_path))
    assert result.card["rows"]["tiny"]["read"] == 12
    assert result.card["sources"][0]["files"][0]["sha256"] == file_sha256(FEEDBACK)


def test_a_file_in_a_folder_beside_the_config_is_read_from_there(tmp_path: Path) -> None:
    (tmp_path / "exports").mkdir()
    shutil.copy(FEEDBACK, tmp_path / "exports" / "feedback.csv")
    config = make_config(tmp_path, [fixture_spec(path="exports/feedback.csv")])
    result = prepare_data(config, offline_settings(tmp_path))
    assert result.card["rows"]["fixture"]["read"] == 12
    assert result.card["sources"][0]["files"][0]["path"] == "exports/feedback.csv"


def test_unknown_source_name_lists_the_manifest(tmp_path: Path) -> None:
    manifest, _ = tiny_mirror(tmp_path)
    with pytest.raises(DataSourceError, match=r"does not have; it has \['tiny'\]"):
        resolve_sources(manifest, ["nope"])


# ---------------------------------------------------------------------------------------------
# label mapping


def test_unknown_label_value_names_value_column_and_map(config: NabizConfig) -> None:
    spec = SourceSpec.model_validate(
        fixture_spec(labels={"mood": {"column": "duygu", "map": {"kotu": "neg"}}})
    )
    with pytest.raises(DataSourceError) as error:
        load_source(spec, FIXTURES, config.schema)
    message = str(error.value)
    assert "'iyi'" in message
    assert "column 'duygu'" in message
    assert "sources.fixture.labels.mood.map" in message


def test_unknown_label_value_counts_the_rows_that_hold_it(config: NabizConfig) -> None:
    rows = list(csv.DictReader(FEEDBACK.open(encoding="utf-8")))
    holding = sum(row["duygu"] == "iyi" for row in rows)
    assert holding > 1
    spec = SourceSpec.model_validate(
        fixture_spec(labels={"mood": {"column": "duygu", "map": {"kotu": "neg"}}})
    )
    with pytest.raises(DataSourceError, match=rf"'iyi' \({holding} rows\)"):
        load_source(spec, FIXTURES, config.schema)


def test_a_config_files_unknown_label_value_names_its_place_in_the_config(tmp_path: Path) -> None:
    labels = {"mood": {"column": "duygu", "map": {"kotu": "neg"}}}
    config = make_config(tmp_path, [fixture_spec(labels=labels)])
    with pytest.raises(DataSourceError, match=r"`data\.files\[0\]\.labels\.mood\.map`"):
        prepare_data(config, offline_settings(tmp_path))


def test_unknown_value_in_map_file_names_the_file(config: NabizConfig, tmp_path: Path) -> None:
    (tmp_path / "subject.csv").write_text("source_label,label\npara,money\n", encoding="utf-8")
    spec = SourceSpec.model_validate(fixture_spec())
    with pytest.raises(DataSourceError, match=r"'uygulama'.*map file subject\.csv"):
        load_source(spec, FIXTURES, config.schema, map_dir=tmp_path)


def test_map_onto_label_outside_schema_is_an_error(config: NabizConfig) -> None:
    labels = {"mood": {"column": "duygu", "map": {"kotu": "angry", "iyi": "pos"}}}
    spec = SourceSpec.model_validate(fixture_spec(labels=labels))
    with pytest.raises(DataSourceError, match=r"\['angry'\], which are not labels"):
        load_source(spec, FIXTURES, config.schema)


def test_raw_values_without_map_must_be_labels(config: NabizConfig) -> None:
    spec = SourceSpec.model_validate(fixture_spec(labels={"mood": {"column": "duygu"}}))
    with pytest.raises(DataSourceError, match="add a `map:`"):
        load_source(spec, FIXTURES, config.schema)


def test_missing_text_column_lists_the_columns(config: NabizConfig) -> None:
    spec = SourceSpec.model_validate(fixture_spec(text=["metin"]))
    with pytest.raises(DataSourceError, match=r"no column 'metin'.*\['id', 'text', 'duygu'"):
        load_source(spec, FIXTURES, config.schema)


def test_fixed_value_labels_every_row(config: NabizConfig) -> None:
    spec = SourceSpec.model_validate(fixture_spec(labels={"mood": {"value": "pos"}}))
    frame = load_source(spec, FIXTURES, config.schema)
    assert set(frame["mood"]) == {"pos"}
    assert frame["subject"].isna().all()


def test_label_needs_exactly_one_of_column_and_value() -> None:
    with pytest.raises(ValidationError, match="exactly one of column"):
        LabelColumn.model_validate({"column": "duygu", "value": "pos"})
    with pytest.raises(ValidationError, match="exactly one of column"):
        LabelColumn.model_validate({})


def test_multi_label_cell_is_split_and_ordered_by_schema(prepared) -> None:
    assert rows_of(prepared).loc["fixture:11", "subject"].tolist() == ["money", "app"]


# ---------------------------------------------------------------------------------------------
# cleaning, deduplication and splits


def test_missing_labels_stay_none_and_rows_are_kept(prepared) -> None:
    rows = rows_of(prepared)
    assert rows.loc["fixture:10", "mood"] is None  # no duygu: masked later, not dropped
    assert rows.loc["fixture:10", "subject"] is None
    assert rows.loc["fixture:7", "mood"] == "neg"


def test_empty_texts_are_dropped_and_counted(prepared) -> None:
    rows = rows_of(prepared)
    assert "fixture:3" not in rows.index and "fixture:4" not in rows.index
    assert prepared.card["rows"]["fixture"]["empty_text"] == 2


def test_duplicates_are_kept_once_with_merged_labels(prepared) -> None:
    rows = rows_of(prepared)
    assert "fixture:2" not in rows.index  # same text as fixture:0 up to case and spaces
    assert "fixture:8" not in rows.index  # TEŞEKKÜRLER… is teşekkürler… in Turkish lowercase
    assert rows.loc["fixture:5", "mood"] == "pos"
    assert rows.loc["fixture:5", "subject"].tolist() == ["money"]  # filled from its duplicate
    assert prepared.card["rows"]["fixture"] == {
        "read": 12,
        "malformed": 0,
        "aggregated": 0,
        "unlabelled": 0,
        "filtered": 0,
        "empty_text": 2,
        "excluded": 0,
        "duplicate": 2,
        "near_duplicate": 0,
        "over_budget": 0,
        "kept": 8,
    }


def test_text_is_normalized_and_original_kept(prepared) -> None:
    rows = rows_of(prepared)
    assert rows.loc["fixture:0", "text"] == "Faturam iki kat geldi, kimse yardımcı olmuyor"
    assert rows.loc["fixture:0", "text_original"] == rows.loc["fixture:0", "text"]
    assert set(rows.columns) >= {"text", "text_original", "source", "mood", "subject"}


def test_text_typed_without_turkish_letters_is_restored_and_counted(tmp_path: Path) -> None:
    typed = tmp_path / "typed.csv"
    typed.write_text(
        "id,text,duygu,konu\n1,kargo cok gec geldi urun kirik cikti,kotu,para\n"
        "2,Kargo çok hızlı geldi,iyi,para\n",
        encoding="utf-8",
    )
    prepared = prepare_data(
        make_config(tmp_path, [fixture_spec(path=str(typed))]), offline_settings(tmp_path)
    )
    rows = rows_of(prepared)
    assert rows.loc["fixture:0", "text"] == "kargo çok geç geldi ürün kırık çıktı"
    assert rows.loc["fixture:0", "text_original"] == "kargo cok gec geldi urun kirik cikti"
    assert prepared.card["restored_letters"] == {"fixture": 1}
    card = (prepared.path / "data_card.md").read_text(encoding="utf-8")
    assert "Turkish letters restored" in card


def test_text_written_with_combining_marks_is_not_counted_as_restored(tmp_path: Path) -> None:
    decomposed = unicodedata.normalize("NFD", "Kargo çok geç geldi, ürün bozuk, üzgünüm")
    typed = tmp_path / "typed.csv"
    typed.write_text(f'id,text,duygu,konu\n1,"{decomposed}",kotu,para\n', encoding="utf-8")
    prepared = prepare_data(
        make_config(tmp_path, [fixture_spec(path=str(typed))]), offline_settings(tmp_path)
    )
    assert rows_of(prepared).loc["fixture:0", "text"] == "Kargo çok geç geldi, ürün bozuk, üzgünüm"
    assert prepared.card["restored_letters"] == {}


def test_prepare_gives_the_same_splits_twice(config: NabizConfig, tmp_path: Path) -> None:
    first = rows_of(prepare_data(config, offline_settings(tmp_path)))
    second = rows_of(prepare_data(config, offline_settings(tmp_path)))
    pd.testing.assert_series_equal(first["split"], second["split"])


def test_seed_changes_the_split() -> None:
    keys = pd.Series([f"metin {i}" for i in range(200)])
    buckets = pd.Series(["a"] * 200)
    first = assign_splits(keys, buckets, 0.1, 0.1, seed=1)
    second = assign_splits(keys, buckets, 0.1, 0.1, seed=2)
    assert (first != second).any()


def test_split_is_stratified_per_bucket() -> None:
    keys = pd.Series([f"metin {i}" for i in range(150)])
    buckets = pd.Series(["a"] * 100 + ["b"] * 50)
    split = assign_splits(keys, buckets, validation=0.1, test=0.1, seed=13)
    counts = split.groupby(buckets).value_counts().to_dict()
    assert counts[("a", "train")] == 80 and counts[("a", "test")] == 10
    assert counts[("b", "validation")] == 5 and counts[("b", "test")] == 5


def test_tiny_bucket_stays_in_train() -> None:
    split = assign_splits(pd.Series(["x"]), pd.Series(["a"]), 0.1, 0.1, seed=13)
    assert split.tolist() == ["train"]


PHRASES = ["Fatura yüksek", "İnternet yok", "Teşekkürler", "Uygulama çöktü", "IŞIK"]
cell = st.tuples(
    st.sampled_from(PHRASES),
    st.sampled_from(["", " ", "  "]),
    st.booleans(),
    st.sampled_from(["kotu", "iyi", ""]),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(cell, min_size=1, max_size=40))
def test_no_duplicate_crosses_splits(cells: list[tuple[str, str, bool, str]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        path = root / "rows.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "duygu", "konu"])
            for phrase, pad, upper, label in cells:
                writer.writerow([pad + (phrase.upper() if upper else phrase) + pad, label, ""])
        config = make_config(root, [fixture_spec(path=str(path))])
        rows = rows_of(prepare_data(config, offline_settings(root)))
    keys = rows["text"].map(dedupe_key)
    assert keys.is_unique
    assert set(keys) == {dedupe_key(phrase) for phrase, *_ in cells}


# ---------------------------------------------------------------------------------------------
# the data card and loading


def test_data_card_counts_labels_per_split_and_source(prepared) -> None:
    card = json.loads((prepared.path / "data_card.json").read_text(encoding="utf-8"))
    counts = card["label_counts"]["mood"]
    total = sum(counts[split]["fixture"]["neg"] for split in SPLITS)
    assert total == 6
    assert sum(card["splits"][split]["rows"] for split in SPLITS) == 8
    assert "## mood" in (prepared.path / "data_card.md").read_text(encoding="utf-8")


def test_small_classes_are_listed_as_warnings(prepared) -> None:
    small = {(item["task"], item["label"]) for item in prepared.card["small_classes"]}
    assert ("mood", "pos") in small
    assert any("min_class_examples" in warning for warning in prepared.warnings)


def test_load_prepared_returns_the_splits(config: NabizConfig, prepared) -> None:
    datasets = load_prepared(config)
    assert set(datasets) == set(SPLITS)
    assert datasets["train"].num_rows == prepared.datasets["train"].num_rows


def test_load_prepared_without_prepare_says_what_to_run(config: NabizConfig) -> None:
    with pytest.raises(DataSourceError, match="nabiz data prepare --config"):
        load_prepared(config)


def test_load_prepared_after_taxonomy_change_asks_to_prepare_again(
    config: NabizConfig, prepared, tmp_path: Path
) -> None:
    changed = make_config(tmp_path)
    changed.tasks[0].labels.append("mixed")
    with pytest.raises(DataSourceError, match="run `nabiz data prepare"):
        load_prepared(changed)
