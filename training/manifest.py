"""The data manifest: which public files Nabız trains on, where they come from, and their checksums.

``data/manifest.yaml`` names each source's mirror path, upstream repository and path, licence,
attribution, sha256 and column mapping. A config's ``data.sources`` selects entries by name; a
name with dotted parts (``bilgenai_sikayetvar`` → ``bilgenai_sikayetvar.tesekkur``,
``bilgenai_sikayetvar.sikayet``) selects all its parts, and the prepared data's ``source`` column
carries the name before the dot. Every other data module imports :class:`DataSourceError` from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydantic import ValidationError

from nabiz.checksums import file_sha256
from nabiz.training.config import SourceSpec
from nabiz.yamlio import load_yaml

__all__ = [
    "PART_SEPARATOR",
    "DataSourceError",
    "file_sha256",
    "load_manifest",
    "resolve_sources",
    "source_group",
    "verify_source",
]

PART_SEPARATOR = (
    "."  # manifest entry "bilgenai_sikayetvar.tesekkur" is part of "bilgenai_sikayetvar"
)


class DataSourceError(RuntimeError):
    """A data source is missing, differs from its checksum, or does not fit the label schema."""


def load_manifest(path: str | Path) -> dict[str, SourceSpec]:
    """The ``sources:`` of a data manifest, validated, keyed by source name."""
    path = Path(path)
    if not path.is_file():
        raise DataSourceError(
            f"data manifest {path} does not exist; set NABIZ_MANIFEST to the manifest file "
            "(the project ships data/manifest.yaml)."
        )
    try:
        tree = load_yaml(path.read_text(encoding="utf-8"), str(path)) or {}
    except ValueError as error:
        raise DataSourceError(str(error)) from None
    entries = tree.get("sources") if isinstance(tree, dict) else None
    if not isinstance(entries, dict):
        raise DataSourceError(f"{path}: a manifest is a mapping with a `sources:` mapping inside")
    manifest: dict[str, SourceSpec] = {}
    for name, entry in entries.items():
        if not isinstance(entry, dict):
            raise DataSourceError(f"{path}: source {name!r} must be a mapping of fields")
        if entry.get("name", name) != name:
            raise DataSourceError(f"{path}: source {name!r} has a different name: {entry['name']}")
        try:
            manifest[str(name)] = SourceSpec.model_validate({**entry, "name": str(name)})
        except ValidationError as error:
            raise DataSourceError(f"{path}: source {name!r} is invalid:\n{error}") from None
    return manifest


def source_group(name: str) -> str:
    """The source a manifest part belongs to: ``"bilgenai_sikayetvar.tesekkur"`` → its prefix."""
    return name.split(PART_SEPARATOR, 1)[0]


def resolve_sources(manifest: dict[str, SourceSpec], names: Iterable[str]) -> list[SourceSpec]:
    """Manifest entries for the names a config lists; a name also selects its dotted parts."""
    selected: list[SourceSpec] = []
    for name in names:
        found = [
            spec
            for key, spec in manifest.items()
            if key == name or key.startswith(name + PART_SEPARATOR)
        ]
        if not found:
            available = sorted({source_group(key) for key in manifest} | set(manifest))
            raise DataSourceError(
                f"data.sources names {name!r}, which the manifest does not have; it has "
                f"{available}. Fix the config, or add the source to data/manifest.yaml."
            )
        selected.extend(spec for spec in found if spec not in selected)
    return selected


def _upstream(spec: SourceSpec) -> str:
    if spec.upstream_repo:
        return f"{spec.upstream_repo} (file {spec.upstream_path or spec.path})"
    return "its upstream (the manifest names none)"


def verify_source(spec: SourceSpec, data_dir: str | Path) -> Path:
    """The mirror file of a manifest source, after checking it exists and matches its sha256."""
    data_dir = Path(data_dir)
    path = data_dir / spec.path
    if not data_dir.is_dir():
        raise DataSourceError(
            f"source {spec.name!r}: the data mirror {data_dir} does not exist. Point the setting "
            f"NABIZ_DATA_DIR at the folder that holds the mirrored public datasets, or create it "
            f"and fetch {_upstream(spec)} into {path}."
        )
    if not path.is_file():
        raise DataSourceError(
            f"source {spec.name!r}: {path} is missing from the data mirror {data_dir}. Fetch "
            f"{_upstream(spec)} and save it as {path}, or point NABIZ_DATA_DIR at a mirror that "
            "has it."
        )
    if spec.sha256:
        actual = file_sha256(path)
        if actual != spec.sha256.lower():
            raise DataSourceError(
                f"source {spec.name!r}: {path} has sha256 {actual}, but the manifest expects "
                f"{spec.sha256}. The file was changed or is another version: fetch it again from "
                f"{_upstream(spec)}; if the new version is intended, check its labels and update "
                "sha256 in data/manifest.yaml."
            )
    return path
