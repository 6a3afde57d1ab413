"""Why customers are unhappy: the phrases that set a group of texts apart, and what changed.

**Phrases** — weighted log-odds ratios with an informative Dirichlet prior (Monroe, Colaresi and
Quinn 2008, "Fightin' Words", eq. 16-22), counted over *texts*: ``y_a`` of the ``n_a`` texts of
interest use the phrase *w*, ``y_b`` of the ``n_b`` comparison texts. The prior is both groups
together, worth ``α0`` texts: ``α_w = α0 · (y_a + y_b) / (n_a + n_b)`` uses and ``α0 − α_w``
non-uses. With ``ȳ = y + α_w`` and ``n̄ = n + α0``::

    δ_w = log(ȳ_a / (n̄_a − ȳ_a)) − log(ȳ_b / (n̄_b − ȳ_b))
    z_w = δ_w / sqrt(1/ȳ_a + 1/(n̄_a − ȳ_a) + 1/ȳ_b + 1/(n̄_b − ȳ_b))

Why texts and not phrase tokens, as the paper counts: the paper's variance drops the non-use
terms because a word is a tiny share of a long speech, but a phrase can be in every short
complaint of a group, and a customer who writes "rezalet" five times is one customer. Counted
over tokens with α0 = 500, 36 outage complaints that all said "internet yok" against 10 texts of
other topics listed no phrase at all (z 0.03). ``α0`` is a tenth of the texts read
(:data:`PRIOR_SHARE`), so the prior weighs the same against 50 texts as against 5,000; it
shrinks rare phrases toward zero (a phrase in 3 of 36 texts and none of 10 gets z 0.74), and
``z`` is comparable across phrases. Phrases are unigrams and bigrams of Turkish-lowercased words
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

PRIOR_SHARE = 0.1  # α0 as a share of the texts compared: how many texts the prior is worth
MIN_COUNT = 3  # a phrase must be used in this many of the texts of interest
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
    """Which phrases each text uses, computed once and sliced per comparison."""

    texts: list[str]
    counts: sparse.csr_matrix  # texts x phrases, 1 where the text uses the phrase
    phrases: np.ndarray

    @classmethod
    def of(cls, texts: Sequence[str]) -> PhraseCounts:
        # imported here, not with the module: the server imports the console's routes at every
        # start, and scikit-learn (with SciPy) was the largest import of a start (BENCHMARKS.md §9)
        from scipy import sparse
        from sklearn.feature_extraction.text import CountVectorizer

        texts = list(texts)
        vectorizer = CountVectorizer(analyzer=phrases_of, min_df=2, binary=True)
        try:
            counts = vectorizer.fit_transform(texts).tocsr()
            phrases = vectorizer.get_feature_names_out()
        except ValueError:  # no phrase occurs twice
            counts, phrases = sparse.csr_matrix((len(texts), 0)), np.array([], dtype=object)
        return cls(texts, counts, phrases)


def log_odds(
    uses_a: np.ndarray,
    uses_b: np.ndarray,
    texts_a: int,
    texts_b: int,
    prior_share: float = PRIOR_SHARE,
) -> tuple[np.ndarray, np.ndarray]:
    """(δ, z) per phrase of group a against group b: ``uses_*`` counts the texts of each group
    that use the phrase, ``texts_*`` the group's texts (see the module docstring)."""
    uses_a = np.asarray(uses_a, dtype=float)
    uses_b = np.asarray(uses_b, dtype=float)
    total = texts_a + texts_b
    a0 = prior_share * total
    alpha = a0 * (uses_a + uses_b) / total if total else uses_a * 0
    use_a, use_b = uses_a + alpha, uses_b + alpha
    rest_a, rest_b = texts_a + a0 - use_a, texts_b + a0 - use_b
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.log(use_a / rest_a) - np.log(use_b / rest_b)
        z = delta / np.sqrt(1 / use_a + 1 / rest_a + 1 / use_b + 1 / rest_b)
    return np.nan_to_num(delta), np.nan_to_num(z)


def distinctive_phrases(
    counted: PhraseCounts,
    target: np.ndarray,
    comparison: np.ndarray,
    top: int = 10,
    examples: int = EXAMPLES,
    prefer: np.ndarray | None = None,
) -> list[dict[str, Any]]:
    """The phrases used in a larger share of the ``target`` texts than of the ``comparison``
    texts (boolean masks over ``counted.texts``) with ``z >= 1.96`` and in at least
    :data:`MIN_COUNT` target texts, each with up to ``examples`` texts that use it (those marked
    in ``prefer``, e.g. negative ones, first)."""
    target = np.asarray(target, dtype=bool)
    comparison = np.asarray(comparison, dtype=bool) & ~target
    if not target.any() or not comparison.any() or not len(counted.phrases):
        return []
    uses_a = np.asarray(counted.counts[target].sum(axis=0)).ravel()
    uses_b = np.asarray(counted.counts[comparison].sum(axis=0)).ravel()
    delta, z = log_odds(uses_a, uses_b, int(target.sum()), int(comparison.sum()))
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
        if uses_a[index] < MIN_COUNT:
            continue
        hits = np.sort(by_phrase[:, index].nonzero()[0])
        hits = np.concatenate([hits[preferred[hits]], hits[~preferred[hits]]])[:examples]
        out.append(
            {
                "phrase": str(counted.phrases[index]),
                "z": round(float(z[index]), 2),
                "log_odds": round(float(delta[index]), 3),
                "count": int(uses_a[index]),
                "count_other": int(uses_b[index]),
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
