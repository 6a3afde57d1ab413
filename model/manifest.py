"""A model directory's checksum manifest: written when a model is saved, checked when it loads.

A model directory is copied between machines, unpacked from archives and sometimes edited by hand;
a truncated weights file or a schema from another model then gives wrong labels without an error.
``checksums.sha256`` (the format ``sha256sum -c`` reads) lists every file the directory held when
it was saved, with its SHA-256; :func:`verify_manifest` recomputes them at load and names the first
file that is missing or differs. Files added later (``nabiz evaluate``'s reports, notes) are not
listed and not checked, except files the loader reads (:data:`READ_FILES`): a ``network.onnx``
copied in from another model would be scored with unchecked, so an unlisted one is an error, and
so is a manifest that lists nothing. The model card (``README.md``) must be there but may be
edited: people add notes for whoever receives the model, and nothing reads it to predict. A
directory without a manifest (saved before manifests existed) loads with a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from nabiz.checksums import file_sha256

log = logging.getLogger(__name__)

MANIFEST_FILE = "checksums.sha256"
# The model card: listed, but people add shipping notes to it, and nothing reads it to predict.
MODEL_CARD = "README.md"
# What loading a model directory (or its baseline/) reads: present, each must be listed.
READ_FILES = frozenset(
    {
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "schema.json",
        "nabiz.json",
        "calibration.json",
        "urgency_cues.json",
        "network.onnx",
        "quantization.json",
        "bf16_rechecks.json",
        "baseline.npz",
        "vectorizers.json",
    }
)


class ModelIntegrityError(ValueError):
    """A file of a model directory is missing or not the one saved; the message names it."""


def _files(directory: Path) -> list[Path]:
    return sorted(
        path
        for path in directory.rglob("*")
        if path.is_file() and path.name != MANIFEST_FILE and ".partial" not in path.name
    )


def being_written(directory: Path) -> bool:
    """Whether ``directory`` is (part of) a model ``nabiz train`` is still writing: it builds
    ``NAME.partial``, scores it, writes the manifest last and renames it; scoring it before then
    is expected, and no reason to warn."""
    return directory.name.endswith(".partial") or directory.parent.name.endswith(".partial")


def write_manifest(directory: str | Path) -> Path:
    """List every file under ``directory`` with its SHA-256 in ``checksums.sha256``."""
    directory = Path(directory)
    lines = [
        f"{file_sha256(path)}  {path.relative_to(directory).as_posix()}"
        for path in _files(directory)
    ]
    target = directory / MANIFEST_FILE
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def _entries(manifest: Path) -> Iterator[tuple[int, str, str]]:
    """``(line number, sha256, file)`` per non-blank line of a manifest."""
    for number, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            expected, _, name = line.partition("  ")
            yield number, expected, name


def unlisted_files(directory: str | Path) -> list[str] | None:
    """Files under ``directory`` that its manifest does not list (relative paths), or None when
    it has no manifest (it is no saved model directory)."""
    directory = Path(directory)
    manifest = directory / MANIFEST_FILE
    if not manifest.is_file():
        return None
    listed = {name for _, _, name in _entries(manifest)}
    return [
        name
        for path in _files(directory)
        if (name := path.relative_to(directory).as_posix()) not in listed
    ]


def verify_manifest(directory: str | Path, hash_only: frozenset[str] | None = None) -> bool:
    """Check the files the manifest lists; True when checked, False when there is no manifest.

    Raises :class:`ModelIntegrityError` naming the first missing or changed file. With
    ``hash_only`` (file names), every listed file must be there but only those are hashed: a
    pre-flight that reads them (``nabiz serve`` reads the schema before the server loads, and
    hashes, everything)."""
    directory = Path(directory)
    manifest, prefix = directory / MANIFEST_FILE, ""
    if not manifest.is_file() and (directory.parent / MANIFEST_FILE).is_file():
        # a part of a model directory (its baseline/), loaded on its own: the whole model's
        # manifest lists its files under the part's name
        manifest, prefix = directory.parent / MANIFEST_FILE, f"{directory.name}/"
    if not manifest.is_file():
        if not being_written(directory):
            log.warning("%s has no %s: its files cannot be checked", directory, MANIFEST_FILE)
        return False
    listed: set[str] = set()
    for number, expected, name in _entries(manifest):
        if not name.startswith(prefix):
            continue
        listed.add(name)
        path = manifest.parent / name
        if not name or len(expected) != 64 or ".." in Path(name).parts:
            raise ModelIntegrityError(f"{manifest}: line {number} is not '<sha256>  <file>'")
        if not path.is_file():
            raise ModelIntegrityError(
                f"{path} is missing from the model directory (listed in {MANIFEST_FILE}); copy "
                "the whole directory again"
            )
        hashed = name != MODEL_CARD and (hash_only is None or path.name in hash_only)
        if hashed and file_sha256(path) != expected:
            raise ModelIntegrityError(
                f"{path} is not the file saved with this model (its SHA-256 differs from "
                f"{MANIFEST_FILE}): it was changed, truncated or copied from another model"
            )
    if not listed:
        raise ModelIntegrityError(f"{manifest} lists no files of {directory}: it is damaged")
    for path in _files(directory):
        name = prefix + path.relative_to(directory).as_posix()
        if path.name in READ_FILES and name not in listed:
            raise ModelIntegrityError(
                f"{path} is not listed in {MANIFEST_FILE}: it was not saved with this model (a "
                "file from another model?); remove it, then write it again with the nabiz "
                "command that makes it (network.onnx: nabiz export-onnx; plans: nabiz quantize)"
            )
    return True
