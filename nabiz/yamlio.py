"""Reading YAML the way people write labels: ``OFF``, ``NO``, ``YES`` and ``ON`` stay strings.

PyYAML follows YAML 1.1, where ``yes/no/on/off`` (any case) are booleans, so a taxonomy with
labels ``NOT`` / ``OFF`` or a label map keyed ``{ON: ..., OFF: ...}`` reached the config as
``False`` and failed far from the cause. :func:`load_yaml` is PyYAML's safe loader with YAML 1.2's
booleans: only ``true`` and ``false`` (also ``True``/``TRUE``/``False``/``FALSE``). Everything that
reads a config holding labels (the training config, ``--set`` overrides, the data manifest, the
priority policy) reads it through here; a ``bool`` setting written ``yes`` still validates, since
pydantic reads ``"yes"`` as true.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

_BOOL_TAG = "tag:yaml.org,2002:bool"


class Yaml12BoolLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` whose booleans are YAML 1.2's: true and false only."""


Yaml12BoolLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12BoolLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class YamlError(ValueError):
    """A document that is not valid YAML, said in one line: where, and what the parser met."""


def load_yaml(text: str, source: str = "YAML") -> Any:
    """The document in ``text``, with ``yes``/``no``/``on``/``off`` read as the strings written.

    Invalid YAML is a :class:`YamlError` naming ``source`` (a file's path), the line and column
    and the parser's complaint, instead of PyYAML's multi-line error; a bad indent in a config
    file ended ``nabiz train`` in a 200-line traceback."""
    try:
        return yaml.load(text, Loader=Yaml12BoolLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"{source}, line {mark.line + 1}, column {mark.column + 1}" if mark else source
        context = f" ({error.context})" if error.context else ""
        raise YamlError(
            f"{where}: not valid YAML: {error.problem}{context}; check the indentation and "
            "quoting there"
        ) from None
    except yaml.YAMLError as error:
        raise YamlError(f"{source}: not valid YAML: {error}") from None
