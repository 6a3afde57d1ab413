"""The Predictor: what the API and the batch pipeline rely on."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from nabiz.model import runtime as runtime_module
from nabiz.model.baseline import BaselinePredictor
from nabiz.model.loading import BASELINE_DIR, from_pretrained
from nabiz.model.mixture import MixturePredictor
from nabiz.model.predictor import ModelInfo
from nabiz.model.reference import plain_scores
from nabiz.model.tokenize import encode_texts, head_tail
from nabiz.model.transformer import (
    TransformerPredictor,
    load_model,
    save_pretrained,
    score_token_ids,
)

TEXTS = [
    "Faturam bu ay çok yüksek geldi!",
    "İnternet üç gündür yok, arıza kaydı açtım ama kimse aramadı.",
    "Teşekkürler, sorunum hemen çözüldü.",
    "Numaramı taşıyacağım. " * 40,
    "",  # the network scores it (predict_scores); predict refuses it (a test below)
]
TAGGED = TEXTS[:-1]  # what predict takes


def test_every_task_gets_every_label_score_in_schema_order(tiny_model_dir, default_schema):
    prediction = from_pretrained(tiny_model_dir).predict(TEXTS[:1])[0]
    assert list(prediction.tasks) == default_schema.names
    for task in default_schema.tasks:
        result = prediction.tasks[task.name]
        assert list(result.scores) == task.labels
        assert sum(result.scores.values()) == pytest.approx(1.0, abs=1e-5)
        assert result.label == max(result.scores, key=result.scores.get)


def test_the_weights_file_is_readable_by_whoever_can_read_the_other_files(tiny_model_dir):
    weights = (tiny_model_dir / "model.safetensors").stat().st_mode & 0o777
    assert weights == (tiny_model_dir / "schema.json").stat().st_mode & 0o777


def test_save_then_load_gives_identical_predictions(tiny_model_dir, tmp_path):
    model, tokenizer, schema, info = load_model(tiny_model_dir)
    before = TransformerPredictor(model, tokenizer, schema, info, device="cpu").predict_scores(
        TEXTS
    )
    save_pretrained(tmp_path / "again", model, tokenizer, schema, info)
    after = from_pretrained(tmp_path / "again", device="cpu", ensemble=False).predict_scores(TEXTS)
    for name in schema.names:
        np.testing.assert_array_equal(before.scores[name], after.scores[name])


def test_the_tiny_model_is_served_as_its_transformer_mixed_with_its_baseline(tiny_model_dir):
    served = from_pretrained(tiny_model_dir, device="cpu")
    assert isinstance(served, MixturePredictor)
    weights = ModelInfo.load(tiny_model_dir).baseline_weights
    assert any(weights.values())
    alone = TransformerPredictor.from_pretrained(tiny_model_dir, device="cpu").predict_scores(TEXTS)
    baseline = BaselinePredictor.from_pretrained(tiny_model_dir / BASELINE_DIR).predict_scores(
        TEXTS
    )
    mixed = served.predict_scores(TEXTS).scores
    for name, w in weights.items():
        expected = (1 - w) * alone.scores[name] + w * baseline.scores[name]
        np.testing.assert_allclose(mixed[name], expected, atol=1e-6)
        if w:
            assert not np.allclose(mixed[name], alone.scores[name], atol=1e-3)


def test_ensemble_false_leaves_the_baseline_out(tiny_model_dir):
    assert isinstance(from_pretrained(tiny_model_dir, ensemble=False), TransformerPredictor)


def test_shuffled_inputs_get_the_outputs_of_their_own_text(tiny_model_dir):
    predictor = from_pretrained(tiny_model_dir)
    alone = [predictor.predict([text])[0] for text in TAGGED]
    order = list(range(len(TAGGED)))
    random.Random(3).shuffle(order)
    together = predictor.predict([TAGGED[i] for i in order])
    for position, i in enumerate(order):
        for name, result in together[position].tasks.items():
            expected = alone[i].tasks[name].scores
            assert result.scores == pytest.approx(expected, abs=1e-5)


def test_a_repeated_text_is_scored_once_and_every_copy_gets_its_prediction(
    tiny_model_dir, monkeypatch
):
    predictor = from_pretrained(tiny_model_dir)
    scored: list[list[str]] = []
    predict_scores = predictor.predict_scores

    def spy(texts):
        scored.append(list(texts))
        return predict_scores(texts)

    monkeypatch.setattr(predictor, "predict_scores", spy)
    texts = [TEXTS[0], TEXTS[1], TEXTS[0], TEXTS[2], TEXTS[1], TEXTS[0]]
    together = predictor.predict(texts)
    assert scored[0] == TEXTS[:3]
    distinct = predictor.predict(TEXTS[:3])
    for prediction, i in zip(together, [0, 1, 0, 2, 1, 0], strict=True):
        assert prediction.tasks == distinct[i].tasks
        assert prediction.cues == distinct[i].cues
    assert together[0] is not together[2]  # copies are separate objects: a caller may change one


def test_fast_path_gives_the_plain_paths_scores(tiny_model_dir):
    """Length-sorted batches with dynamic padding change nothing but the speed: the plain way
    (fp32, every text padded to max_length, arrival order) gives the same scores."""
    predictor = from_pretrained(tiny_model_dir, device="cpu", precision="fp32")
    texts = TEXTS * 3
    fast = predictor.predict_scores(texts).scores
    plain = plain_scores(predictor, texts, batch_size=4)
    for name in predictor.schema.names:
        np.testing.assert_allclose(fast[name], plain[name], atol=1e-5)
        assert (fast[name].argmax(1) == plain[name].argmax(1)).all()


def test_a_bf16_predictor_stores_its_linear_weights_in_bf16_and_scores_as_autocast_did(
    tiny_model_dir,
):
    """Autocast would cast the fp32 weights on every call; stored in bf16 they give the very
    same scores without that cost."""
    fast = TransformerPredictor.from_pretrained(tiny_model_dir, device="cpu", precision="bf16")
    linear = [m for m in fast.model.modules() if isinstance(m, torch.nn.Linear)]
    assert linear and all(m.weight.dtype == torch.bfloat16 for m in linear)
    model = load_model(tiny_model_dir)[0].eval()  # fp32 weights, cast by autocast per call
    ids = fast.encode(TEXTS).ids
    pad_id = fast.tokenizer.pad_token_id
    batch = fast.batch_size  # the same batches, so the same shapes and kernels
    before = score_token_ids(model, ids, fast.schema, pad_id, batch, torch.device("cpu"), True)
    after = fast.compute_scores(TEXTS).scores
    for name in fast.schema.names:
        np.testing.assert_array_equal(after[name], before[name])


def test_the_plain_reference_runs_a_bf16_predictor_with_its_fp32_weights(tiny_model_dir):
    fp32 = from_pretrained(tiny_model_dir, device="cpu", precision="fp32")
    bf16 = from_pretrained(tiny_model_dir, device="cpu", precision="bf16")
    expected = plain_scores(fp32, TEXTS, batch_size=4)
    got = plain_scores(bf16, TEXTS, batch_size=4)
    for name in fp32.schema.names:
        np.testing.assert_array_equal(got[name], expected[name])


def test_long_text_is_reported_truncated(tiny_model_dir):
    predictions = from_pretrained(tiny_model_dir).predict(TAGGED)
    assert [p.truncated for p in predictions] == [False, False, False, True]


def test_a_single_string_is_refused(tiny_model_dir):
    with pytest.raises(TypeError, match="sequence of texts"):
        from_pretrained(tiny_model_dir).predict("tek metin")


@pytest.mark.parametrize("empty", ["", "   \n", "\u200b\ufeff", "\x07"])
def test_a_text_with_nothing_visible_is_refused_with_its_position(tiny_model_dir, empty):
    with pytest.raises(ValueError, match=r"text is empty.*positions 1 of 2 texts"):
        from_pretrained(tiny_model_dir).predict(["Fatura yüksek geldi", empty])


def test_a_directory_that_is_not_a_model_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a Nabız model directory"):
        from_pretrained(tmp_path)


def test_head_tail_keeps_both_ends():
    assert head_tail(list(range(10)), 4, 0.5) == [0, 1, 8, 9]
    assert head_tail(list(range(10)), 4, 1.0) == [0, 1, 2, 3]
    assert head_tail([1, 2], 4, 0.5) == [1, 2]


def test_encoding_keeps_the_prefix_when_cutting(tiny_model_dir):
    _, tokenizer, _, _ = load_model(tiny_model_dir)
    encoded = encode_texts(tokenizer, ["fatura " * 100], max_length=16, prefix="query: ")
    prefix = tokenizer("query: ", add_special_tokens=False)["input_ids"]
    assert len(encoded.ids[0]) == 16 and encoded.truncated == [True]
    assert encoded.ids[0][1 : 1 + len(prefix)] == prefix


def test_model_info_records_library_versions(tiny_model_dir):
    info = ModelInfo.load(tiny_model_dir)
    assert "torch" in info.library_versions and info.model_type == "transformer"


def test_batches_are_padded_to_a_multiple_of_eight_and_masked():
    from nabiz.model.tokenize import pad_batch

    ids, mask = pad_batch([[5, 6, 7], [8] * 9], pad_id=0, multiple_of=8)
    assert ids.shape == mask.shape == (2, 16)
    assert mask.sum(1).tolist() == [3, 9]
    assert ids[0, 3:].eq(0).all()
    assert pad_batch([[1] * 16], pad_id=0, multiple_of=8)[0].shape == (1, 16)


@pytest.mark.parametrize("fast", [False, True])
def test_bf16_by_hand_warns_only_on_a_cpu_where_it_is_slower_than_fp32(
    monkeypatch, caplog, tiny_model_dir, fast
):
    monkeypatch.setattr(runtime_module, "cpu_has_fast_bf16", lambda: fast)
    from_pretrained(tiny_model_dir, device="cpu", precision="bf16")
    assert ("without native bf16" in caplog.text) is not fast
