"""A hand-labelled evaluation set (ids and labels) joined with its texts from the data mirror.

The sets under ``data/eval/`` keep ids and labels only; ``nabiz evaluate --data`` needs the texts.
``python -m nabiz.training.evaltexts EVAL_CSV SOURCE OUTPUT_CSV`` reads the manifest source's
mirror file, joins on its ``id_column`` and writes ``text``, the label columns and ``source``
(write it outside the repository, e.g. under ``.cache/``: the texts are the mirror's).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from nabiz.settings import Settings, get_settings
from nabiz.tabular import read_table
from nabiz.text import normalize_text
from nabiz.training.manifest import load_manifest, verify_source


def eval_texts(eval_file: Path, source: str, settings: Settings | None = None) -> pd.DataFrame:
    settings = settings or get_settings()
    spec = load_manifest(settings.manifest).get(source)
    if spec is None or not spec.id_column:
        raise ValueError(f"manifest source {source!r} is unknown or names no id_column")
    table = read_table(verify_source(spec, settings.data_dir))
    labels = pd.read_csv(eval_file, dtype=str, keep_default_na=False)
    table = table[list(spec.text)].assign(_id=table[spec.id_column].astype(str))
    table = table.drop_duplicates("_id")
    joined = labels.merge(table, left_on="id", right_on="_id", how="left", validate="one_to_one")
    missing = joined["_id"].isna().sum()
    if missing:
        raise ValueError(f"{missing} ids of {eval_file} are not in {source}'s mirror file")
    joined["text"] = [
        normalize_text("\n\n".join(str(row[c]) for c in spec.text if pd.notna(row[c])))
        for _, row in joined.iterrows()
    ]
    keep = [c for c in labels.columns if c not in ("n",)]
    return joined[["text", *keep]].assign(source=f"{source}:{Path(eval_file).stem}")


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(
            "usage: python -m nabiz.training.evaltexts EVAL_CSV SOURCE OUTPUT_CSV", file=sys.stderr
        )
        return 2
    frame = eval_texts(Path(argv[0]), argv[1])
    Path(argv[2]).parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(argv[2], index=False)
    print(f"{len(frame)} texts written to {argv[2]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
