"""Row budgets and weights per source, and evaluation sets kept out of every split."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nabiz.training.config import NabizConfig
from nabiz.training.data import SPLITS, DataSourceError, prepare_data
from nabiz.training.sampling import _allocate
from tests.training.test_data import TASKS, offline_settings, rows_of

MOOD = {"column": "duygu", "map": {"kotu": "neg", "iyi": "pos"}}


def write_source(path: Path, negative: int, positive: int, prefix: str = "") -> Path:
    """``negative`` + ``positive`` distinct texts with ids n0, n1, …"""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["no", "baslik", "metin", "duygu"])
        for number in range(negative + positive):
            label = "kotu" if number < negative else "iyi"
            words = " ".join(["kelime" + "x" * (number % 7), "yorum" + "y" * (number // 7)])
            writer.writerow([f"n{number}", f"{prefix}başlık {words}", f"{prefix}{words}", label])
    return path


def make_config(folder: Path, files: list[dict[str, Any]], **data: Any) -> NabizConfig:
    tree = {
        "tasks": TASKS,
        "data": {"files": files, "prepared_dir": "prepared"} | data,
        "config_dir": folder,
    }
    return NabizConfig.model_validate(tree)


def spec(name: str, path: Path, **changes: Any) -> dict[str, Any]:
    return {"name": name, "path": str(path), "text": ["metin"], "labels": {"mood": MOOD}} | changes


@pytest.fixture
def big(tmp_path: Path) -> Path:
    return write_source(tmp_path / "big.csv", negative=60, positive=240)


def prepared_rows(config: NabizConfig, folder: Path) -> pd.DataFrame:
    return rows_of(prepare_data(config, offline_settings(folder)))


def test_budget_caps_a_source_keeping_label_shares(tmp_path: Path, big: Path) -> None:
    config = make_config(tmp_path, [spec("big", big)], budgets={"big": {"rows": 100}})
    rows = prepared_rows(config, tmp_path)
    assert len(rows) == 100
    assert rows["mood"].value_counts().to_dict() == {"pos": 80, "neg": 20}


def test_equal_budget_takes_the_same_number_per_label(tmp_path: Path, big: Path) -> None:
    budgets = {"big": {"rows": 100, "stratify": "equal"}}
    rows = prepared_rows(make_config(tmp_path, [spec("big", big)], budgets=budgets), tmp_path)
    assert rows["mood"].value_counts().to_dict() == {"pos": 50, "neg": 50}


def test_budget_is_counted_in_the_data_card(tmp_path: Path, big: Path) -> None:
    config = make_config(tmp_path, [spec("big", big)], budgets={"big": {"rows": 100}})
    card = prepare_data(config, offline_settings(tmp_path)).card
    assert card["rows"]["big"]["over_budget"] == 200
    assert card["rows"]["big"]["kept"] == 100
    assert card["budgets"]["entries"]["big"]["available"] == 300


def test_budget_sample_is_seeded_and_reproducible(tmp_path: Path, big: Path) -> None:
    def kept(seed: int) -> set[str]:
        budgets = {"big": {"rows": 50}}
        config = make_config(tmp_path, [spec("big", big)], budgets=budgets, budget_seed=seed)
        return set(prepared_rows(config, tmp_path).index)

    assert kept(1) == kept(1)
    assert kept(1) != kept(2)


def test_a_source_without_budget_keeps_all_rows_at_weight_one(tmp_path: Path, big: Path) -> None:
    small = write_source(tmp_path / "small.csv", negative=5, positive=5, prefix="küçük ")
    files = [spec("big", big), spec("small", small)]
    config = make_config(tmp_path, files, budgets={"big": {"rows": 30, "weight": 0.25}})
    rows = prepared_rows(config, tmp_path)
    assert (rows["source"] == "small").sum() == 10
    assert set(rows.loc[rows["source"] == "small", "weight"]) == {1.0}
    assert set(rows.loc[rows["source"] == "big", "weight"]) == {0.25}


@given(
    st.dictionaries(st.sampled_from("abcd"), st.integers(min_value=0, max_value=500), min_size=1),
    st.integers(min_value=0, max_value=1000),
    st.sampled_from(["proportional", "equal"]),
)
def test_allocation_takes_exactly_the_budget_within_each_label(
    sizes: dict[str, int], rows: int, strategy: str
) -> None:
    quota = _allocate(sizes, rows, strategy)
    assert sum(quota.values()) == min(rows, sum(sizes.values()))
    assert all(0 <= quota[label] <= sizes[label] for label in sizes)


# ---------------------------------------------------------------------------------------------
# evaluation sets kept out


def exclusion_config(folder: Path, path: Path, ids: list[str], **entry: Any) -> NabizConfig:
    (folder / "eval.csv").write_text("id,urgency\n" + "".join(f"{i},orta\n" for i in ids))
    files = [spec("banka", path, id_column="no", title_column="baslik", text=["baslik", "metin"])]
    exclude = [{"source": "banka", "file": "eval.csv", "column": "id"} | entry]
    return make_config(folder, files, exclude=exclude)


def test_excluded_ids_are_in_no_split(tmp_path: Path, big: Path) -> None:
    config = exclusion_config(tmp_path, big, ["n0", "n1", "n100"])
    prepared = prepare_data(config, offline_settings(tmp_path))
    ids = {row for split in SPLITS for row in prepared.datasets[split]["id"]}
    assert not ids & {"banka:n0", "banka:n1", "banka:n100"}
    assert prepared.card["rows"]["banka"]["excluded"] == 3
    assert prepared.card["exclusions"][0]["ids_found"] == 3


def test_exclusion_takes_the_near_duplicates_and_title_of_an_excluded_text(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bank.csv"
    rows = [
        ["a1", "Kartım bloke", "Kartım 3 gündür bloke!", "kotu"],
        ["a2", "kartım bloke", "kartım 5 gündür bloke", "kotu"],  # near duplicate of a1
        ["a3", "Kartım bloke", "Başka bir metin ama aynı başlık", "kotu"],  # same title
        ["a4", "Kredi", "Kredi başvurum reddedildi", "kotu"],
    ]
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["no", "baslik", "metin", "duygu"], *rows])
    rows_kept = prepared_rows(exclusion_config(tmp_path, path, ["a1"]), tmp_path)
    assert list(rows_kept.index) == ["banka:a4"]


def test_ids_missing_from_the_source_are_a_warning(tmp_path: Path, big: Path) -> None:
    prepared = prepare_data(
        exclusion_config(tmp_path, big, ["n0", "zzz"]), offline_settings(tmp_path)
    )
    assert any("1 of 2 ids" in warning for warning in prepared.warnings)


def test_exclusion_of_a_source_not_read_is_an_error(tmp_path: Path, big: Path) -> None:
    config = exclusion_config(tmp_path, big, ["n0"], source="nope")
    with pytest.raises(DataSourceError, match="names source 'nope'"):
        prepare_data(config, offline_settings(tmp_path))


def test_exclusion_file_without_the_column_names_its_columns(tmp_path: Path, big: Path) -> None:
    config = exclusion_config(tmp_path, big, ["n0"], column="sikayet_no")
    with pytest.raises(DataSourceError, match=r"no column 'sikayet_no'.*\['id', 'urgency'\]"):
        prepare_data(config, offline_settings(tmp_path))


def test_label_weights_multiply_the_source_weight(tmp_path: Path, big: Path) -> None:
    budgets = {"big": {"weight": 0.5, "label_weights": {"neg": 0.5}}}
    rows = prepared_rows(make_config(tmp_path, [spec("big", big)], budgets=budgets), tmp_path)
    assert rows.groupby("mood")["weight"].unique().map(list).to_dict() == {
        "neg": [0.25],
        "pos": [0.5],
    }


def test_reading_labels_changes_neither_the_budgets_draw_nor_the_splits(
    tmp_path: Path, big: Path
) -> None:
    budgets = {"big": {"rows": 100, "stratify": "equal"}}
    plain = spec("big", big, id_column="no")
    before = prepared_rows(make_config(tmp_path, [plain], budgets=budgets), tmp_path)
    read = before.index[before["mood"] == "neg"][:20]  # read as positive after all
    upstream = [row_id.split(":", 1)[1] for row_id in read]
    pd.DataFrame({"id": upstream, "mood": "pos"}).to_csv(tmp_path / "read.csv", index=False)
    reading = plain | {"labels": {"mood": MOOD | {"read_file": "read.csv"}}}
    config = make_config(tmp_path, [reading], budgets=budgets, prepared_dir="read")
    after = prepared_rows(config, tmp_path)
    assert after["split"].to_dict() == before["split"].to_dict()
    assert set(after.loc[read, "mood"]) == {"pos"}
