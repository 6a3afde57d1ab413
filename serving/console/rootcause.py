"""Why customers are unhappy: the phrases that set a group of texts apart, and what changed.

**Phrases** — weighted log-odds ratios with an informative Dirichlet prior (Monroe, Colaresi and
Quinn 2008, "Fightin' Words", eq. 16-22). For a phrase *w* with counts ``y_a`` in the texts of
interest (``n_a`` phrases in all) and ``y_b`` in the comparison texts (``n_b``), and a prior
``α_w = α0 · (y_a + y_b) / (n_a + n_b)`` taken from both together::

    δ_w = log((y_a+α_w) / (n_a+α0−y_a−α_w)) − log((y_b+α_w) / (n_b+α0−y_b−α_w))
    z_w = δ_w / sqrt(1/(y_a+α_w) + 1/(y_b+α_w))

The prior shrinks rare phrases toward zero, so a word seen twice does not top the list; ``z``
is comparable across phrases. Phrases are unigrams and bigrams of Turkish-lowercased words
of at least two letters, without common Turkish function words.

**What changed** — per topic, its share of all feedback and its negative share, this period
against the previous one, with a two-proportion z-test; p-values are adjusted for the number of
topics tested (Benjamini-Hochberg), and a change counts as significant at ``q < 0.05``.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from nabiz.text import turkish_lower

if TYPE_CHECKING:
    from scipy import sparse

PRIOR_STRENGTH = 500.0  # α0: how many pseudo-phrases the prior is worth
MIN_COUNT = 3  # a phrase must occur this often in the texts of interest
SIGNIFICANT_Z = 1.96
EXAMPLES = 2

STOPWORDS = frozenset(
    [
        "acaba",
        "ama",
        "ancak",
        "artık",
        "aslında",
        "az",
        "bana",
        "bazı",
        "belki",
        "ben",
        "benden",
        "beni",
        "benim",
        "bile",
        "bir",
        "biraz",
        "birçok",
        "biri",
        "birkaç",
        "birşey",
        "biz",
        "bizden",
        "bize",
        "bizi",
        "bizim",
        "bu",
        "buna",
        "bunda",
        "bundan",
        "bunu",
        "bunun",
        "burada",
        "çok",
        "çünkü",
        "da",
        "daha",
        "de",
        "defa",
        "diye",
        "dolayı",
        "en",
        "gibi",
        "göre",
        "hem",
        "hep",
        "hepsi",
        "her",
        "hiç",
        "için",
        "ile",
        "ise",
        "işte",
        "kadar",
        "ki",
        "kim",
        "mı",
        "mi",
        "mu",
        "mü",
        "nasıl",
        "ne",
        "neden",
        "nerede",
        "niye",
        "o",
        "olan",
        "olarak",
        "oldu",
        "olduğu",
        "olsun",
        "on",
        "ona",
        "ondan",
        "onlar",
        "onu",
        "onun",
        "orada",
        "öyle",
        "pek",
        "rağmen",
        "sadece",
        "sanki",
        "şey",
        "siz",
        "sizi",
        "şu",
        "şöyle",
        "ta",
        "tabi",
        "tüm",
        "üzere",
        "var",
        "ve",
        "veya",
        "ya",
        "yani",
        "yine",
        "yok",
        "zaten",
        "zira",
        "dan",
        "den",
        "ten",
        "tan",
        "la",
        "le",
        "the",
        "and",
        "rt",
        "http",
        "https",
        "www",
        "com",
    ]
)
_WORD = re.compile(r"[a-zçğıöşüâîû]{2,}")


def tokenize(text: str) -> list[str]:
    return [w for w in _WORD.findall(turkish_lower(text)) if w not in STOPWORDS]


def phrases_of(text: str) -> list[str]:
    """The text's unigrams and bigrams (what ``ngram_range=(1, 2)`` over :func:`tokenize` gives,
    made here in one pass: sklearn's n-gram step took a quarter of the report's counting)."""
    words = tokenize(text)
    return words + [f"{a} {b}" for a, b in itertools.pairwise(words)]


@dataclass
class PhraseCounts:
    """Phrase counts of a list of texts, computed once and sliced per comparison."""

    texts: list[str]
    counts: sparse.csr_matrix  # texts x phrases
    phrases: np.ndarray

    @classmethod
    def of(cls, texts: Sequence[str]) -> PhraseCounts:
        # imported here, not with the module: the server imports the console's routes at every
        # start, and scikit-learn (with SciPy) was the largest import of a start (BENCHMARKS.md §9)
        from scipy import sparse
        from sklearn.feature_extraction.text import CountVectorizer

        texts = list(texts)
        vectorizer = CountVectorizer(analyzer=phrases_of, min_df=2)
        try:
            counts = vectorizer.fit_transform(texts).tocsr()
            phrases = vectorizer.get_feature_names_out()
        except ValueError:  # no phrase occurs twice
            counts, phrases = sparse.csr_matrix((len(texts), 0)), np.array([], dtype=object)
        return cls(texts, counts, phrases)


def log_odds(
    counts_a: np.ndarray, counts_b: np.ndarray, prior_strength: float = PRIOR_STRENGTH
) -> tuple[np.ndarray, np.ndarray]:
    """(δ, z) per phrase of group a against group b (see the module docstring)."""
    counts_a = np.asarray(counts_a, dtype=float)
    counts_b = np.asarray(counts_b, dtype=float)
    n_a, n_b = counts_a.sum(), counts_b.sum()
    total = n_a + n_b
    alpha = prior_strength * (counts_a + counts_b) / total if total else counts_a * 0
    a0 = alpha.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.log((counts_a + alpha) / (n_a + a0 - counts_a - alpha)) - np.log(
            (counts_b + alpha) / (n_b + a0 - counts_b - alpha)
        )
        z = delta / np.sqrt(1 / (counts_a + alpha) + 1 / (counts_b + alpha))
    return np.nan_to_num(delta), np.nan_to_num(z)


def distinctive_phrases(
    counted: PhraseCounts,
    target: np.ndarray,
    comparison: np.ndarray,
    top: int = 10,
    examples: int = EXAMPLES,
    prefer: np.ndarray | None = None,
) -> list[dict[str, Any]]:
    """The phrases most over-represented in the ``target`` texts against the ``comparison``
    texts (boolean masks over ``counted.texts``) with ``z >= 1.96`` and at least
    :data:`MIN_COUNT` uses, each with up to ``examples`` texts that contain it (those marked in
    ``prefer``, e.g. negative ones, first)."""
    target = np.asarray(target, dtype=bool)
    comparison = np.asarray(comparison, dtype=bool) & ~target
    if not target.any() or not comparison.any() or not len(counted.phrases):
        return []
    counts_a = np.asarray(counted.counts[target].sum(axis=0)).ravel()
    counts_b = np.asarray(counted.counts[comparison].sum(axis=0)).ravel()
    delta, z = log_odds(counts_a, counts_b)
    target_rows = np.flatnonzero(target)
    preferred = (
        np.asarray(prefer, dtype=bool)[target_rows]
        if prefer is not None
        else np.zeros(len(target_rows), dtype=bool)
    )
    by_phrase = counted.counts[target_rows].tocsc()
    out = []
    for index in np.argsort(-z):
        if z[index] < SIGNIFICANT_Z or len(out) >= top:
            break
        if counts_a[index] < MIN_COUNT:
            continue
        hits = np.sort(by_phrase[:, index].nonzero()[0])
        hits = np.concatenate([hits[preferred[hits]], hits[~preferred[hits]]])[:examples]
        out.append(
            {
                "phrase": str(counted.phrases[index]),
                "z": round(float(z[index]), 2),
                "log_odds": round(float(delta[index]), 3),
                "count": int(counts_a[index]),
                "count_other": int(counts_b[index]),
                "examples": [counted.texts[target_rows[h]][:300] for h in hits],
            }
        )
    return out


# --- what changed -------------------------------------------------------------------------------


def two_proportion_p(k1: int, n1: int, k2: int, n2: int) -> float | None:
    """Two-sided p-value of a pooled two-proportion z-test (None when a group is empty)."""
    if n1 == 0 or n2 == 0:
        return None
    pooled = (k1 + k2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance == 0:
        return 1.0
    z = (k1 / n1 - k2 / n2) / math.sqrt(variance)
    return math.erfc(abs(z) / math.sqrt(2))


def benjamini_hochberg(p_values: list[float | None]) -> list[float | None]:
    """q-values (BH step-up) for the given p-values; None stays None."""
    indexed = [(p, i) for i, p in enumerate(p_values) if p is not None]
    indexed.sort()
    m = len(indexed)
    q: list[float | None] = [None] * len(p_values)
    running = 1.0
    for rank in range(m, 0, -1):
        p, i = indexed[rank - 1]
        running = min(running, p * m / rank)
        q[i] = running
    return q


def what_changed(current: pd.DataFrame, previous: pd.DataFrame) -> list[dict[str, Any]]:
    """Per topic: share of feedback and negative share now and before, the changes, their
    p-values and BH q-values; sorted by the largest significant move first."""

    def counts(frame: pd.DataFrame) -> dict[str, tuple[int, int | None]]:
        stats = frame["negative"].groupby(frame["topic"]).agg(["size", "sum", "count"])
        return {
            str(topic): (int(n), int(k) if known else None)
            for topic, (n, k, known) in stats.iterrows()
        }

    return changes_from_counts(counts(current), counts(previous), len(current), len(previous))


def changes_from_counts(
    now: dict[str, tuple[int, int | None]],
    before: dict[str, tuple[int, int | None]],
    n_now: int,
    n_before: int,
) -> list[dict[str, Any]]:
    """:func:`what_changed` from (items, negative items) per topic in each period and the
    periods' item counts (which include items without a topic). A negative count of None (a
    model without a sentiment task) leaves the negative share and its test empty."""
    rows = []
    for topic in sorted(set(now) | set(before)):
        count, neg_now = now.get(topic, (0, 0))
        count_before, neg_before = before.get(topic, (0, 0))
        known = neg_now is not None and neg_before is not None
        rows.append(
            {
                "topic": topic,
                "count": count,
                "count_before": count_before,
                "share": count / n_now if n_now else None,
                "share_before": count_before / n_before if n_before else None,
                "share_p": two_proportion_p(count, n_now, count_before, n_before),
                "negative_share": neg_now / count if count and known else None,
                "negative_share_before": neg_before / count_before
                if count_before and known
                else None,
                "negative_p": two_proportion_p(neg_now, count, neg_before, count_before)
                if known
                else None,
            }
        )
    for key in ("share", "negative"):
        qs = benjamini_hochberg([r[f"{key}_p"] for r in rows])
        for row, q in zip(rows, qs, strict=True):
            row[f"{key}_q"] = q
    for row in rows:
        row["share_change"] = _diff(row["share"], row["share_before"])
        row["negative_change"] = _diff(row["negative_share"], row["negative_share_before"])
        row["significant"] = any(
            row[f"{key}_q"] is not None and row[f"{key}_q"] < 0.05 for key in ("share", "negative")
        )
    rows.sort(
        key=lambda r: (
            not r["significant"],
            -max(abs(r["share_change"] or 0), abs(r["negative_change"] or 0)),
        )
    )
    return rows


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b
