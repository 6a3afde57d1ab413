"""Data preparation, one import away: the public names of the data modules.

The work is split by concern: :mod:`~nabiz.training.manifest` (sources, checksums),
:mod:`~nabiz.training.labelmaps` (raw labels → the schema), :mod:`~nabiz.training.loading` (one
source's rows), :mod:`~nabiz.training.sampling` (evaluation sets kept out, row budgets),
:mod:`~nabiz.training.splits` (duplicates, split groups, splits), :mod:`~nabiz.training.datacard`
(the data card) and :mod:`~nabiz.training.prepare` (the whole run and loading its result). Callers
may import from here or from the module itself.
"""

from __future__ import annotations

from nabiz.training.datacard import CARD_JSON, CARD_MD, ROW_COUNTS, card_markdown, fingerprint
from nabiz.training.labelmaps import load_label_map
from nabiz.training.loading import load_source, read_aste
from nabiz.training.manifest import (
    DataSourceError,
    file_sha256,
    load_manifest,
    resolve_sources,
    source_group,
    verify_source,
)
from nabiz.training.prepare import (
    PreparedData,
    load_prepared,
    prepare_data,
    require_labels,
    require_splits,
)
from nabiz.training.splits import SPLITS, UNLABELLED, assign_splits, merge_duplicates

__all__ = [
    "CARD_JSON",
    "CARD_MD",
    "ROW_COUNTS",
    "SPLITS",
    "UNLABELLED",
    "DataSourceError",
    "PreparedData",
    "assign_splits",
    "card_markdown",
    "file_sha256",
    "fingerprint",
    "load_label_map",
    "load_manifest",
    "load_prepared",
    "load_source",
    "merge_duplicates",
    "prepare_data",
    "read_aste",
    "require_labels",
    "require_splits",
    "resolve_sources",
    "source_group",
    "verify_source",
]
