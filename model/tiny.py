"""Tiny randomly initialised encoders and models, for tests and smoke runs.

They go through exactly the same code paths as the real encoder (a transformers config and
weights in a directory, a fast tokenizer), only a few thousand times smaller, so that the test
suite exercises training, saving, loading and serving on a CPU in seconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import torch

from nabiz.model.loading import BASELINE_DIR
from nabiz.model.network import MultiTaskModel
from nabiz.model.predictor import ModelInfo
from nabiz.model.schema import LabelSchema

SPECIAL_TOKENS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
DEFAULT_CORPUS = [
    "Faturam bu ay çok yüksek geldi, açıklama bekliyorum.",
    "İnternet üç gündür çekmiyor, arıza kaydı açtım.",
    "Müşteri hizmetleri çok ilgiliydi, teşekkür ederim.",
    "Numaramı başka operatöre taşıyacağım, yeter artık!",
    "Uygulama sürekli hata veriyor, giriş yapamıyorum.",
    "Kampanya fiyatı mağazada farklı söylendi.",
    "query: passage: ",
]


def make_tiny_tokenizer(texts: Iterable[str], vocab_size: int = 400):
    """A WordPiece tokenizer trained on ``texts`` with the XLM-R special tokens."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from tokenizers.processors import TemplateProcessing
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="<unk>"))
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS)
    tok.train_from_iterator(list(texts), trainer)
    tok.post_processor = TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", tok.token_to_id("<s>")), ("</s>", tok.token_to_id("</s>"))],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        cls_token="<s>",
        sep_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        mask_token="<mask>",
        model_max_length=128,
    )


def tiny_bert_config(vocab_size: int, pad_token_id: int):
    from transformers import BertConfig

    return BertConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        type_vocab_size=2,
        pad_token_id=pad_token_id,
        architectures=["BertModel"],
    )


def make_tiny_encoder(directory: str | Path, texts: Iterable[str] = (), seed: int = 0) -> Path:
    """Save a tiny random BERT and its tokenizer as a base-encoder directory."""
    from transformers import BertModel

    directory = Path(directory)
    tokenizer = make_tiny_tokenizer([*DEFAULT_CORPUS, *texts])
    torch.manual_seed(seed)
    config = tiny_bert_config(len(tokenizer), tokenizer.pad_token_id)
    BertModel(config, add_pooling_layer=False).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def make_tiny_model(
    directory: str | Path,
    schema: LabelSchema,
    texts: Iterable[str] = (),
    seed: int = 0,
    baseline_share: float = 0.3,
) -> Path:
    """Save an untrained tiny multi-task model directory that any Predictor can load.

    Like a trained model it has a TF-IDF baseline beside it (``baseline/``, fitted on the tiny
    corpus with made-up labels) that takes ``baseline_share`` of every single-label task's scores,
    so that loading and serving go through the mixture; ``baseline_share=0`` leaves it out."""
    from transformers import BertModel

    from nabiz.model.transformer import save_pretrained

    corpus = [*DEFAULT_CORPUS, *texts]
    tokenizer = make_tiny_tokenizer(corpus)
    torch.manual_seed(seed)
    encoder = BertModel(
        tiny_bert_config(len(tokenizer), tokenizer.pad_token_id), add_pooling_layer=False
    )
    model = MultiTaskModel(encoder, schema)
    info = ModelInfo(
        name="tiny-test",
        version="0.0.1",
        model_type="transformer",
        max_length=64,
        text_prefix="query: ",
        base_model="tiny-random-bert",
    )
    if baseline_share:
        make_tiny_baseline(Path(directory) / BASELINE_DIR, schema, corpus)
        info.baseline_weights = {
            task.name: 0.0 if task.is_multi_label else baseline_share for task in schema.tasks
        }
    return save_pretrained(directory, model, tokenizer, schema, info)


def make_tiny_baseline(directory: str | Path, schema: LabelSchema, texts: list[str]) -> Path:
    """A TF-IDF baseline fitted on ``texts``, the i-th text labelled with each task's i-th label
    (cyclically): real fitted weights, meaningless labels."""
    from nabiz.model.baseline import BaselinePredictor, TfidfBaseline

    targets = {
        task.name: [
            [task.labels[i % task.num_labels]]
            if task.is_multi_label
            else task.labels[i % task.num_labels]
            for i in range(len(texts))
        ]
        for task in schema.tasks
    }
    info = ModelInfo(name="tiny-test-tfidf", version="0.0.1", model_type="tfidf")
    BaselinePredictor(TfidfBaseline(schema).fit(texts, targets), info).save_pretrained(directory)
    return Path(directory)
