"""Hand-labelled evaluation sets: two labelling passes → agreement and one adjudicated label.

The VakıfBank urgency set (``data/eval/``) was labelled twice by the guideline in
``docs/urgency_guideline.md``; each pass is a CSV ``n,id,urgency,cues`` (ids and labels only, never
the texts: those stay in the data mirror). Where the passes disagree, the adjudicated label is the
**lower** level, unless **both** passes recorded yuksek cues (then the higher): the guideline says
"when torn between two levels, pick the lower one unless a yuksek cue is clearly present", and a
cue only one pass saw is not clearly present.

``python -m nabiz.training.evalsets PASS1 PASS2 OUTPUT`` writes the adjudicated file and prints
Cohen's kappa (unweighted and linear-weighted, scikit-learn).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from sklearn.metrics import cohen_kappa_score

URGENCY_LEVELS = ("dusuk", "orta", "yuksek")


def read_pass(path: str | Path) -> pd.DataFrame:
    """One labelling pass, checked: unique ids, known levels."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = {"id", "urgency", "cues"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: a pass needs the columns id, urgency, cues; missing {missing}")
    frame["urgency"] = frame["urgency"].str.strip()
    frame["cues"] = frame["cues"].str.strip()
    unknown = sorted(set(frame["urgency"]) - set(URGENCY_LEVELS))
    if unknown:
        raise ValueError(f"{path}: unknown urgency levels {unknown}; use {URGENCY_LEVELS}")
    if frame["id"].duplicated().any():
        raise ValueError(f"{path}: ids repeat, e.g. {frame['id'][frame['id'].duplicated()][:3]}")
    return frame


def adjudicate(first: str, first_cues: str, second: str, second_cues: str) -> str:
    """The label of one text from two passes (see the module docstring for the rule)."""
    if first == second:
        return first
    ranked = sorted((first, second), key=URGENCY_LEVELS.index)
    return ranked[1] if first_cues and second_cues else ranked[0]


def combine(first: pd.DataFrame, second: pd.DataFrame) -> pd.DataFrame:
    """Both passes side by side with the adjudicated ``urgency``; every id must be in both."""
    merged = first[["id", "urgency", "cues"]].merge(
        second[["id", "urgency", "cues"]], on="id", how="outer", suffixes=("_1", "_2")
    )
    if merged.isna().any().any():
        alone = merged.loc[merged.isna().any(axis=1), "id"].tolist()
        raise ValueError(f"ids labelled in one pass only: {alone[:5]}")
    merged["urgency"] = [
        adjudicate(a, ac, b, bc)
        for a, ac, b, bc in merged[["urgency_1", "cues_1", "urgency_2", "cues_2"]].itertuples(
            index=False
        )
    ]
    order = first["id"].tolist()
    merged = merged.set_index("id").loc[order].reset_index()
    return merged[["id", "urgency", "urgency_1", "cues_1", "urgency_2", "cues_2"]]


def agreement(combined: pd.DataFrame) -> dict[str, float | int]:
    """Cohen's kappa between the passes, raw agreement, and counts."""
    first, second = combined["urgency_1"], combined["urgency_2"]
    return {
        "n": len(combined),
        "agreement": round(float((first == second).mean()), 4),
        "kappa": round(float(cohen_kappa_score(first, second)), 4),
        "kappa_linear": round(
            float(cohen_kappa_score(first, second, labels=URGENCY_LEVELS, weights="linear")), 4
        ),
        "disagreements": int((first != second).sum()),
    }


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__)
        return 2
    combined = combine(read_pass(argv[0]), read_pass(argv[1]))
    combined.to_csv(argv[2], index=False)
    print(agreement(combined))
    print(combined["urgency"].value_counts().to_dict())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
