"""Resuming an interrupted run: the input's fingerprint and the state file beside the output."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from nabiz.checksums import file_sha256
from nabiz.serving.writers import partial_path

STATE_VERSION = 1


class ResumeError(ValueError):
    """An interrupted run cannot be continued as asked; the message says why and what to do."""


def file_fingerprint(path: str | Path, block: int = 1 << 20) -> dict[str, Any]:
    """Size and SHA-256 of the first and last MiB: cheap, and changes when the file does."""
    size = Path(path).stat().st_size
    head = file_sha256(path, 0, block)
    tail = file_sha256(path, max(0, size - block), block)
    return {"size": size, "head_sha256": head, "tail_sha256": tail}


def state_path(output: str | Path) -> Path:
    """The sidecar file of a run's partial output."""
    partial = partial_path(output)
    return partial.with_name(partial.name + ".state.json")


def save_state(path: Path, state: dict[str, Any]) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        json.dump(state, handle, ensure_ascii=False)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def load_state(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ResumeError(
            f"{path} (the state of the interrupted run) cannot be read ({error}); run again "
            "without --resume to start over."
        ) from error
    if state.get("version") != STATE_VERSION:
        raise ResumeError(
            f"{path} was written by another version of Nabız; run again without --resume."
        )
    return state


def check_resumable(
    state: dict[str, Any], fingerprint: dict[str, Any], options: dict[str, Any], input_path: Path
) -> None:
    if state["input"]["fingerprint"] != fingerprint:
        raise ResumeError(
            f"{input_path} is not the file the interrupted run was reading (its size or "
            "content changed); run again without --resume to start over."
        )
    changed = [key for key, value in options.items() if state["options"].get(key) != value]
    if changed:
        details = "; ".join(
            f"{key}: was {state['options'].get(key)!r}, now {options[key]!r}"
            for key in changed
            if key != "columns"
        )
        raise ResumeError(
            f"cannot resume: the options differ from the interrupted run's ({', '.join(changed)}"
            f"{'; ' + details if details else ''}). Resume with the same options and model, "
            "or run again without --resume to start over."
        )
