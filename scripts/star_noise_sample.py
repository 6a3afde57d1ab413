"""Print the seeded sample of shoppingwords reviews read for the star-noise study.

200 reviews with 4–5 stars and 100 with 3 stars, drawn from the distinct non-empty texts (by
``nabiz.text.dedupe_key``) of ``shoppingwords_reviews/reviews.parquet`` in the data mirror with
pandas ``sample(random_state=13)``. The readings are in ``data/mappings/star_noise_sample.csv``
(ids and readings only), the counts and the decision in ``data/mappings/README.md``.

    python scripts/star_noise_sample.py > sample.txt     # n|stars|id|text, one review a line
"""

from __future__ import annotations

import pandas as pd

from nabiz.settings import get_settings
from nabiz.text import dedupe_key


def main() -> None:
    reviews = pd.read_parquet(get_settings().data_dir / "shoppingwords_reviews" / "reviews.parquet")
    reviews = reviews[reviews["comment"].str.strip() != ""]
    reviews = reviews.assign(key=reviews["comment"].map(dedupe_key)).drop_duplicates("key")
    high = reviews[reviews["rating"] >= 4].sample(200, random_state=13)
    middle = reviews[reviews["rating"] == 3].sample(100, random_state=13)
    for name, sample in (("stars_4_5", high), ("stars_3", middle)):
        for number, row in enumerate(sample.itertuples()):
            text = row.comment.replace("\n", " ")
            print(f"{name}|{number}|{int(row.rating)}|{int(row.id)}|{text}")


if __name__ == "__main__":
    main()
