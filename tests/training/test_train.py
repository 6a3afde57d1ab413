"""Fine-tuning: masking of missing labels, class weights, and a whole run on a made-up taxonomy."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml
from safetensors.torch import load_file

from nabiz.model.loading import BASELINE_DIR, from_pretrained
from nabiz.model.predictor import ModelInfo
from nabiz.model.schema import LabelSchema, TaskKind, TaskSpec
from nabiz.model.tiny import make_tiny_encoder
from nabiz.model.transformer import TransformerPredictor
from nabiz.settings import Settings
from nabiz.training.config import load_config
from nabiz.training.modeleval import evaluate_model, evaluate_texts, model_predictors
from nabiz.training.pipeline import run_training
from nabiz.training.train import IGNORE, EncodedSplit, class_weights, encode_targets, task_loss
from tests.helpers import CUSTOM_TASKS, custom_config_dict, labelled_frame

SINGLE = TaskSpec(name="mood", labels=["sad", "calm", "glad"])
MULTI = TaskSpec(name="area", kind=TaskKind.MULTI_LABEL, labels=["bill", "net", "staff"])


def test_missing_label_becomes_ignore_target_and_false_mask():
    target, mask = encode_targets(SINGLE, ["sad", None, "glad"])
    assert target.tolist() == [0, IGNORE, 2] and mask.tolist() == [True, False, True]


def test_missing_multi_label_is_masked_not_all_negative():
    target, mask = encode_targets(MULTI, [["bill", "net"], None, []])
    assert mask.tolist() == [True, False, True]
    assert target.tolist() == [[1, 1, 0], [0, 0, 0], [0, 0, 0]]


def test_unlabelled_texts_do_not_change_the_loss():
    logits = torch.randn(3, 3)
    target, mask = encode_targets(SINGLE, ["sad", None, "glad"])
    base = task_loss(SINGLE, logits, target, mask, None)
    changed = logits.clone()
    changed[1] = torch.tensor([50.0, -50.0, 3.0])
    assert torch.equal(task_loss(SINGLE, changed, target, mask, None), base)


def test_a_batch_with_no_label_for_a_task_gives_no_loss():
    target, mask = encode_targets(MULTI, [None, None])
    assert task_loss(MULTI, torch.randn(2, 3), target, mask, None) is None


def test_rare_classes_weigh_more():
    target, mask = encode_targets(SINGLE, ["sad"] * 80 + ["calm"] * 15 + ["glad"] * 5 + [None] * 9)
    split = EncodedSplit(
        [[0]] * len(target), [False] * len(target), {"mood": target}, {"mood": mask}
    )
    weights = class_weights(SINGLE, split, "inverse_sqrt")
    assert weights[0] < weights[1] < weights[2]
    assert weights.mean().item() == pytest.approx(1.0)


@pytest.fixture(scope="module")
def custom_run(tmp_path_factory):
    """A whole `nabiz train` run on a user's CSV with a made-up taxonomy and a tiny encoder."""
    root = tmp_path_factory.mktemp("custom")
    frame = labelled_frame(180)
    frame.to_csv(root / "mine.csv", index=False)
    encoder = make_tiny_encoder(root / "encoder", frame["metin"])
    tree = custom_config_dict("mine.csv", str(encoder), "prepared", "model")
    tree["training"]["epochs"] = 20
    tree["training"]["inference_max_length"] = 48  # fine-tuned at 32 tokens
    (root / "my.yaml").write_text(yaml.safe_dump(tree, allow_unicode=True), encoding="utf-8")
    config = load_config(root / "my.yaml")
    settings = Settings(cache_dir=root / "cache", data_dir=root / "no-mirror")
    metrics = run_training(config, settings)
    return root, config, metrics


def test_custom_taxonomy_trains_into_a_model_directory(custom_run):
    root, _, _ = custom_run
    model = root / "model"
    for name in [
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        "schema.json",
        "nabiz.json",
        "metrics.json",
        "training_config.yaml",
        "README.md",
        "baseline/nabiz.json",
    ]:
        assert (model / name).is_file(), name


def test_the_model_reads_its_inference_length_not_its_training_length(custom_run):
    root, _, _ = custom_run
    assert ModelInfo.load(root / "model").max_length == 48


def test_the_model_card_says_how_many_tokens_the_model_trained_on_and_reads(custom_run):
    root, _, _ = custom_run
    card = (root / "model" / "README.md").read_text(encoding="utf-8")
    assert "max length 32 tokens" in card
    assert "the model reads 48 tokens when it scores" in card
    assert "Texts longer than 48 tokens are cut" in card


def test_trained_model_predicts_the_custom_labels(custom_run):
    root, _, _ = custom_run
    prediction = from_pretrained(root / "model").predict(["internet üç gündür yok"])[0]
    assert set(prediction.tasks) == {task["name"] for task in CUSTOM_TASKS}
    assert list(prediction.tasks["area"].scores) == ["bill", "net", "staff"]


def test_training_learns_the_data(custom_run):
    _, _, metrics = custom_run
    assert metrics["test"]["nabiz"]["tasks"]["mood"]["macro_f1"] > 0.8


def test_metrics_put_the_baseline_beside_the_transformer(custom_run):
    """``nabiz`` is the served mixture; the transformer and the baseline alone stand beside it."""
    root, _, _ = custom_run
    metrics = json.loads((root / "model" / "metrics.json").read_text())
    assert set(metrics["test"]) == {"nabiz", "transformer", "baseline"}
    assert "per_class" in metrics["test"]["baseline"]["tasks"]["mood"]


def test_multi_label_thresholds_are_tuned_and_saved(custom_run):
    root, _, _ = custom_run
    schema = from_pretrained(root / "model").schema
    assert set(schema.task("area").thresholds) == {"bill", "net", "staff"}


def test_model_card_names_data_and_tasks(custom_run):
    root, _, _ = custom_run
    card = (root / "model" / "README.md").read_text()
    assert "mine" in card and "mood" in card and "Known limits" in card


def test_model_card_has_per_class_figures_without_any_leave_out_run(custom_run):
    root, _, _ = custom_run
    card = (root / "model" / "README.md").read_text()
    assert "### Per class (nabiz)" in card and "### Cross-domain" not in card


def test_a_model_card_of_ones_own_data_speaks_of_no_source_it_was_not_trained_on(custom_run):
    root, _, _ = custom_run
    card = (root / "model" / "README.md").read_text()
    assert "brain_tr" not in card and "Per source" not in card  # one source: no empty tables
    assert "telecom" not in card and "Trained on mine alone" in card


def test_a_model_card_of_ones_own_file_names_the_file_and_a_licence_not_given(custom_run):
    root, _, _ = custom_run
    card = (root / "model" / "README.md").read_text()
    rows = [line.split("|") for line in card.splitlines() if line.startswith("|")]
    row = "|".join(next(cells for cells in rows if cells[1].strip() == "mine"))
    assert f"`{(root / 'mine.csv').resolve()}`" in row  # not "mine.csv", relative to the config
    assert "not given (`licence:` in the source)" in row


def test_evaluate_reads_the_models_own_test_split(custom_run):
    root, _, metrics = custom_run
    reports = evaluate_model(root / "model", split="test")
    assert reports["nabiz"]["tasks"]["mood"]["macro_f1"] == pytest.approx(
        metrics["test"]["nabiz"]["tasks"]["mood"]["macro_f1"]
    )


def test_the_baseline_is_judged_at_multi_label_thresholds_tuned_on_its_own_scores(custom_run):
    root, _, _ = custom_run
    baseline = from_pretrained(root / "model" / BASELINE_DIR).schema.task("area")
    assert set(baseline.thresholds) == {"bill", "net", "staff"}


@pytest.mark.parametrize("predictor", ["nabiz", "transformer", "baseline"])
def test_evaluate_repeats_the_training_runs_figures_on_every_task(custom_run, predictor):
    root, _, metrics = custom_run
    reports = evaluate_model(root / "model", split="test")
    for task in ("mood", "area"):
        assert reports[predictor]["tasks"][task]["macro_f1"] == pytest.approx(
            metrics["test"][predictor]["tasks"][task]["macro_f1"]
        ), task


def test_the_mixture_and_the_encoder_alone_are_evaluated_from_one_pass_of_the_network(
    custom_run, monkeypatch
):
    root, _, _ = custom_run
    predictors = model_predictors(root / "model")
    calls = []
    compute = TransformerPredictor.compute_scores  # every network's pass, whichever instance

    def counted(self, texts):
        calls.append(1)
        return compute(self, texts)

    monkeypatch.setattr(TransformerPredictor, "compute_scores", counted)
    texts = ["fatura yüksek geldi", "internet yok", "teşekkürler"]
    gold = {task.name: [None] * 3 for task in predictors["nabiz"].schema.tasks}
    evaluate_texts(predictors, texts, gold, ["x"] * 3)
    assert len(calls) == 1


def test_evaluate_on_a_labelled_file(custom_run, tmp_path):
    root, _, _ = custom_run
    frame = labelled_frame(30, seed=5).rename(columns={"metin": "text", "duygu": "mood"})
    frame[["text", "mood"]].to_csv(tmp_path / "gold.csv", index=False)
    reports = evaluate_model(root / "model", data_file=tmp_path / "gold.csv")
    assert reports["baseline"]["tasks"]["mood"]["n"] == 30
    assert reports["nabiz"]["tasks"]["area"] == {"n": 0}


def test_evaluate_leaves_out_a_row_of_only_invisible_characters_as_it_does_a_blank_one(
    custom_run, tmp_path
):
    root, _, _ = custom_run
    frame = labelled_frame(30, seed=5).rename(columns={"metin": "text", "duygu": "mood"})
    frame.loc[[3, 4], "text"] = ["\u200b\u200d", "   "]
    frame[["text", "mood"]].to_csv(tmp_path / "gold.csv", index=False)
    reports = evaluate_model(root / "model", data_file=tmp_path / "gold.csv")
    assert reports["nabiz"]["tasks"]["mood"]["n"] == 28  # was a crash in Predictor.predict


def test_evaluate_names_the_tasks_a_labelled_file_has_no_column_for(custom_run, tmp_path, caplog):
    root, _, _ = custom_run
    frame = labelled_frame(30, seed=5).rename(columns={"metin": "text", "duygu": "mood"})
    frame[["text", "mood"]].to_csv(tmp_path / "gold.csv", index=False)
    evaluate_model(root / "model", data_file=tmp_path / "gold.csv")
    assert "has no column for task(s) ['area', 'level']: they are not" in caplog.text


def test_a_labelled_file_without_its_text_column_lists_only_its_own_columns(custom_run, tmp_path):
    root, _, _ = custom_run
    (tmp_path / "gold.csv").write_text("metin,mood\nFatura yüksek,neg\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"its columns are \['metin', 'mood'\] \(choose"):
        evaluate_model(root / "model", data_file=tmp_path / "gold.csv")


def test_same_seed_same_model(custom_run, tmp_path):
    root, config, metrics = custom_run
    settings = Settings(cache_dir=root / "cache", data_dir=root / "no-mirror")
    again = run_training(config, settings, tmp_path / "again")
    first, second = root / "model", tmp_path / "again"
    weights, weights_again = (load_file(d / "model.safetensors") for d in (first, second))
    assert weights.keys() == weights_again.keys()
    for name, tensor in weights.items():
        assert torch.equal(tensor, weights_again[name]), name
    arrays, arrays_again = (np.load(d / BASELINE_DIR / "baseline.npz") for d in (first, second))
    assert set(arrays.files) == set(arrays_again.files)
    for name in arrays.files:
        np.testing.assert_array_equal(arrays[name], arrays_again[name])
    assert ModelInfo.load(first).baseline_weights == ModelInfo.load(second).baseline_weights
    assert again["test"]["nabiz"]["tasks"] == metrics["test"]["nabiz"]["tasks"]


def test_baseline_share_is_tuned_per_task(custom_run):
    root, _, _ = custom_run
    info = from_pretrained(root / "model").info
    assert set(info.baseline_weights) == {"mood", "area", "level"}
    assert all(0.0 <= w < 1.0 for w in info.baseline_weights.values())


def test_a_multi_label_task_mixed_with_the_baseline_is_served_at_thresholds_of_the_mixture(
    custom_run,
):
    root, _, _ = custom_run
    info = ModelInfo.load(root / "model")
    assert info.baseline_weights["area"] > 0  # this fixture's baseline helps the area task
    served = from_pretrained(root / "model").schema.task("area").thresholds
    alone = from_pretrained(root / "model", ensemble=False).schema.task("area").thresholds
    assert served == info.mixture_thresholds["area"]
    assert alone == LabelSchema.load(root / "model").task("area").thresholds


def test_the_served_scores_mix_the_two_models_by_the_tuned_shares(custom_run):
    root, _, _ = custom_run
    texts = ["fatura tarihini öğrenmek", "internet üç gündür yok"]
    # raw scores: the temperatures are fitted on the mixture, after it, and per way of scoring
    model = root / "model"
    served = from_pretrained(model, device="cpu", calibrated=False).predict_scores(texts).scores
    alone = from_pretrained(model, device="cpu", ensemble=False, calibrated=False)
    alone = alone.predict_scores(texts)
    baseline = from_pretrained(model / BASELINE_DIR, calibrated=False).predict_scores(texts).scores
    for task, w in ModelInfo.load(root / "model").baseline_weights.items():
        expected = (1 - w) * alone.scores[task] + w * baseline[task]
        np.testing.assert_allclose(served[task], expected, atol=1e-6)


def test_bf16_path_gives_the_fp32_labels(custom_run):
    root, _, _ = custom_run
    texts = labelled_frame(60, seed=11)["metin"].tolist()
    plain = from_pretrained(root / "model", device="cpu", precision="fp32")
    fast = from_pretrained(root / "model", device="cpu", precision="bf16")
    for a, b in zip(plain.predict(texts), fast.predict(texts), strict=True):
        for task in ("mood", "level"):
            assert a.tasks[task].label == b.tasks[task].label
            assert a.tasks[task].scores == pytest.approx(b.tasks[task].scores, abs=0.05)


def test_bf16_fast_path_gives_the_plain_paths_labels(custom_run):
    from nabiz.model.reference import plain_scores

    root, _, _ = custom_run
    texts = labelled_frame(60, seed=12)["metin"].tolist()
    fast = from_pretrained(root / "model", device="cpu", precision="bf16")
    plain = plain_scores(fast, texts, batch_size=8)
    scores = fast.predict_scores(texts).scores
    for task in ("mood", "level"):
        # bf16 moves scores by up to ~0.01: a near tie of the fp32 path may flip, nothing else
        top2 = np.sort(plain[task], axis=1)[:, -2:]
        clear = top2[:, 1] - top2[:, 0] > 0.02
        assert clear.mean() > 0.8, "the tiny model's labels are too close to test bf16 on"
        np.testing.assert_array_equal(scores[task].argmax(1)[clear], plain[task].argmax(1)[clear])


def test_unknown_precision_is_refused(custom_run):
    root, _, _ = custom_run
    with pytest.raises(ValueError, match="precision"):
        from_pretrained(root / "model", device="cpu", precision="int4")


def test_text_weights_of_one_give_the_plain_class_weighted_loss():
    logits = torch.randn(5, 3)
    target, mask = encode_targets(SINGLE, ["sad", "calm", None, "glad", "sad"])
    classes = torch.tensor([0.5, 1.0, 2.0])
    plain = task_loss(SINGLE, logits, target, mask, classes)
    weighted = task_loss(SINGLE, logits, target, mask, classes, torch.ones(5))
    torch.testing.assert_close(weighted, plain)


def test_a_text_of_weight_zero_does_not_count():
    logits = torch.randn(3, 3)
    target, mask = encode_targets(SINGLE, ["sad", "calm", "glad"])
    changed = logits.clone()
    changed[1] = torch.tensor([40.0, -40.0, 0.0])
    text_weight = torch.tensor([1.0, 0.0, 0.5])
    torch.testing.assert_close(
        task_loss(SINGLE, changed, target, mask, None, text_weight),
        task_loss(SINGLE, logits, target, mask, None, text_weight),
    )
