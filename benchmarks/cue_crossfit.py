"""What a sector gains from fitting the urgency cues' weight on its own labelled complaints.

`nabiz fit-cues --data` takes the weight under which a sector's labelled texts are most likely.
The only such texts here are the hand-labelled VakıfBank set, which is an evaluation set: so the
weight is fitted on one half and the AUC of P(yuksek) measured on the other (and the other way
round), over several seeded halvings. Beside it, on the same halves: the model without cues, and
with the weight that training chose on its (telecom) validation split.

    python -m nabiz.training.evaltexts data/eval/vakifbank_urgency.csv vakifbank_sikayetvar \
        .cache/eval/vakifbank_urgency.csv
    python benchmarks/cue_crossfit.py --model models/nabiz-cpu \
        --data .cache/eval/vakifbank_urgency.csv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import git_revision, machine_description

from nabiz.model.cues import UrgencyCues
from nabiz.model.loading import from_pretrained
from nabiz.training.modeleval import read_labelled_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=Path("models/nabiz-cpu"))
    parser.add_argument("--data", type=Path, default=Path(".cache/eval/vakifbank_urgency.csv"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    args = parser.parse_args()

    predictor = from_pretrained(args.model)
    trained = predictor.urgency_cues
    if trained is None:
        raise SystemExit(f"{args.model} has no urgency cues (urgency_cues.json)")
    predictor.urgency_cues = None
    texts, gold, _ = read_labelled_file(args.data, predictor.schema)
    task = predictor.schema.task(trained.task)
    rows = [i for i, value in enumerate(gold[task.name]) if value is not None]
    texts = [texts[i] for i in rows]
    y = np.array([task.index(gold[task.name][i]) for i in rows])
    index = task.index(trained.label)
    scores = predictor.predict_scores(texts).scores[task.name]
    hits = [trained.cues.hits(text) for text in texts]
    urgent = y == index

    def auc(weight: float, part: np.ndarray, intercept: float = 0.0) -> float:
        cues = UrgencyCues(task=task.name, label=trained.label, cues=trained.cues)
        cues.coef, cues.intercept = [1.0, weight], intercept
        moved = cues.apply(scores[part], index, [hits[i] for i in part])
        return float(roc_auc_score(urgent[part], moved[:, index]))

    print(f"# {machine_description()}; commit {git_revision()}")
    print(
        f"{args.data}: {len(y)} texts, {int(urgent.sum())} {trained.label}, "
        f"{sum(bool(h) for h in hits)} with cue hits; training's weight {trained.coef[1]:.2f}"
    )
    print("seed fold | weight fitted on the other half | AUC there: no cues / training's / fitted")
    # the intercept moves every text alike: it cannot change an AUC, only what P(yuksek) means
    results = []
    for seed in args.seeds:
        folds = StratifiedKFold(2, shuffle=True, random_state=seed).split(texts, y)
        for fold, (fit_rows, test_rows) in enumerate(folds):
            cues = UrgencyCues(task=task.name, label=trained.label, cues=trained.cues)
            cues.fit(scores[fit_rows], index, [texts[i] for i in fit_rows], y[fit_rows], True)
            weight, intercept = cues.coef[1], cues.intercept
            fitted = auc(weight, test_rows, intercept)
            row = (auc(0.0, test_rows), auc(trained.coef[1], test_rows), fitted)
            results.append(row)
            print(
                f"{seed:4d} {fold:4d} | {weight:4.2f} (intercept {intercept:+.2f}) | "
                f"{row[0]:.3f} / {row[1]:.3f} / {row[2]:.3f}"
            )
    mean = np.mean(results, axis=0)
    low, high = np.min(results, axis=0), np.max(results, axis=0)
    for name, i in (("no cues", 0), ("training's weight", 1), ("fitted on the other half", 2)):
        print(f"{name}: mean AUC {mean[i]:.3f} (range {low[i]:.3f}–{high[i]:.3f})")


if __name__ == "__main__":
    main()
