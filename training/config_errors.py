"""A training config's validation errors as a data scientist reads them.

pydantic's own text repeats the whole input (``input_value={'name': …}``) and ends in a link per
error; a misspelt key says only "Extra inputs are not permitted". Here each problem is one line:
where in the config (``training.epochs``, ``tasks[1].labels``), what is wrong, and for an unknown
key the nearest key the config knows.
"""

from __future__ import annotations

import difflib
import typing
from pathlib import Path

from pydantic import BaseModel, ValidationError


class ConfigError(ValueError):
    """A config file (with its profile and ``--set`` overrides) that does not validate."""


def _models(root: type[BaseModel]) -> list[type[BaseModel]]:
    """The model and every model its fields hold, however nested (lists, dicts, optionals)."""
    seen: list[type[BaseModel]] = []
    stack: list[object] = [root]
    while stack:
        kind = stack.pop()
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            if kind in seen:
                continue
            seen.append(kind)
            stack.extend(field.annotation for field in kind.model_fields.values())
        else:
            stack.extend(typing.get_args(kind))
    return seen


def _where(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text or "(the config)"


def did_you_mean(names: list[str], known: set[str]) -> str:
    """A "did you mean" for those of ``names`` close to one of ``known`` ("" for none)."""
    near = [
        f"{name!r} → {match[0]!r}"
        for name in names
        if (match := difflib.get_close_matches(name, known, n=1))
    ]
    return f"; did you mean {', '.join(near)}?" if near else ""


def describe(error: ValidationError, path: Path, root: type[BaseModel]) -> ConfigError:
    """One line per problem; unknown keys get a "did you mean"."""
    known = sorted({name for model in _models(root) for name in model.model_fields})
    lines = []
    for item in error.errors(include_url=False, include_input=False):
        loc = tuple(part for part in item["loc"] if part != "config_dir")
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden" and loc:
            key = str(loc[-1])
            near = difflib.get_close_matches(key, known, n=1)
            message = f"unknown key {key!r}" + (f"; did you mean {near[0]!r}?" if near else "")
        lines.append(f"  {_where(loc)}: {message}")
    count = len(lines)
    return ConfigError(
        f"{path}: {count} problem{'s' if count > 1 else ''} in the config (with its profile and "
        "--set overrides):\n" + "\n".join(lines)
    )
