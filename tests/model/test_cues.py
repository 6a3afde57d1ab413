"""Urgency cues: the cue list finds its phrases, the combiner moves P(yuksek), reasons name them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nabiz.model.cues import WEIGHT_GRID, CueList, UrgencyCues
from nabiz.model.loading import from_pretrained
from nabiz.model.manifest import write_manifest
from nabiz.serving.priority import compute_priority, load_policy

REPO = Path(__file__).resolve().parents[2]
CUES = CueList.load(REPO / "data" / "urgency_cues.yaml")
URGENT = "Hesabımdan iki kez çekildi, AVUKATIMA danışacağım ve BDDK'ya yazacağım"
CALM = "Kampanya hakkında bilgi almak istiyorum"


@pytest.mark.parametrize(
    ("text", "group"),
    [
        ("Kartımdan iki kez çekildi", "para"),
        ("Hesabım bloke edildi, maaşımı alamıyorum", "para"),
        ("Benim yapmadığım bir işlem var, dolandırıldım", "dolandiricilik"),
        ("Tüketici hakem heyetine başvuracağım", "yasal"),
        ("BTK'ya şikayet ettim", "yasal"),
        ("Annem hastanede ve hattı kapalı", "saglik_guvenlik"),
        ("5 gündür internet yok", "uzun_kesinti"),
        ("Kartım 3 gündür çalışmıyor", "uzun_kesinti"),
        ("ATM paramı yuttu, para hesabıma geçmedi", "para"),
        ("Onayım olmadan sigorta kesintisi yapıldı", "para"),
        ("Maaşıma el konuldu", "para"),
        ("Numaramı başka operatöre taşıyacağım", "ayrilma"),
    ],
)
def test_each_cue_group_finds_its_phrase(text, group):
    assert group in {hit.group for hit in CUES.hits(text)}


def test_a_plain_question_hits_no_cue():
    assert CUES.hits(CALM) == []


def test_days_of_waiting_alone_are_not_a_service_down():
    assert CUES.hits("Kart başvurum 5 gündür sonuçlanmadı") == []


def test_on_labels_where_cues_go_with_calm_texts_they_get_no_weight():
    rng = np.random.default_rng(0)
    scores = rng.dirichlet([1, 1, 1], size=400).astype(np.float32)
    gold = scores.argmax(axis=1)
    texts = [URGENT if g == 0 else CALM for g in gold]
    fitted = UrgencyCues(cues=CUES).fit(scores, 2, texts, gold, in_domain=True)
    assert fitted.coef == [1.0, 0.0]  # the model's own log-odds keep their scale, always


def test_without_a_weight_a_validation_fit_leaves_the_scores_alone():
    """A fit that refitted the model's own log-odds beside the cues cost brain_tr 1.7 points: the
    validation fit moves P(yuksek) by the hits only, so a weight of 0 changes nothing."""
    scores, texts, gold = _calm_hits_and_clear_others()
    strict = CUES.model_copy(update={"max_validation_cost": 0.0})
    fitted = UrgencyCues(cues=strict).fit(scores, 2, texts, gold)
    assert (fitted.coef, fitted.intercept) == ([1.0, 0.0], 0.0)
    hits = [CUES.hits(t) for t in texts]
    np.testing.assert_allclose(fitted.apply(scores, 2, hits), scores, atol=1e-5)


def _calm_hits_and_clear_others(n: int = 30):
    """Texts with hits (two cue groups each) are calm (dusuk) at P(yuksek) 0.1: a weight above
    about 0.9 log-odds a group (1.8 in all) tags them yuksek. The others are scored right and
    hit nothing."""
    rows = [[0.6, 0.3, 0.1]] * n + [[0.1, 0.1, 0.8]] * n + [[0.2, 0.7, 0.1]] * n
    gold = np.array([0] * n + [2] * n + [1] * n)
    texts = [URGENT] * n + [CALM] * (2 * n)
    return np.array(rows, dtype=np.float32), texts, gold


def test_the_weight_is_the_largest_whose_validation_log_loss_cost_is_tolerated():
    scores, texts, gold = _calm_hits_and_clear_others()
    some = UrgencyCues(cues=CUES.model_copy(update={"max_validation_cost": 0.5}))
    weight = some.fit(scores, 2, texts, gold).coef[1]
    assert 0 < weight < WEIGHT_GRID[-1]
    lenient = CUES.model_copy(update={"max_validation_cost": 1.0})
    assert UrgencyCues(cues=lenient).fit(scores, 2, texts, gold).coef[1] > weight


def test_the_weight_moves_little_when_the_scores_move_a_little():
    """Macro-F1 moved by whole texts and chose 0.75, 0.25 and 0 in three runs of one
    configuration; a log-loss moves smoothly."""
    scores, texts, gold = _calm_hits_and_clear_others()
    cues = CUES.model_copy(update={"max_validation_cost": 0.5})
    weights = []
    for seed in range(5):
        noise = np.random.default_rng(seed).normal(0, 0.01, scores.shape)
        moved = np.clip(scores + noise, 0.01, None).astype(np.float32)
        moved /= moved.sum(axis=1, keepdims=True)
        weights.append(UrgencyCues(cues=cues).fit(moved, 2, texts, gold).coef[1])
    assert max(weights) - min(weights) <= 0.1


def test_on_a_sectors_own_labels_hits_that_go_with_urgent_texts_earn_a_weight():
    scores, texts, gold = _calm_hits_and_clear_others()
    urgent_gold = np.where(np.array(texts) == URGENT, 2, gold)
    urgent = UrgencyCues(cues=CUES).fit(scores, 2, texts, urgent_gold, in_domain=True)
    assert urgent.coef[1] > 1.0


def test_a_weight_fixed_in_the_cue_file_is_used_as_it_is():
    scores, texts, gold = _calm_hits_and_clear_others()
    fixed = CUES.model_copy(update={"weight": 2.0})
    assert UrgencyCues(cues=fixed).fit(scores, 2, texts, gold).coef == [1.0, 2.0]


def test_a_negative_weight_in_the_cue_file_is_refused():
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        CueList.model_validate({"weight": -1, "groups": {"x": {"title": "x", "patterns": ["a"]}}})


def test_turkish_capitals_are_matched_the_turkish_way():
    assert {hit.group for hit in CUES.hits("İKİ KEZ ÇEKİLDİ")} == {"para"}


def test_an_invalid_pattern_is_a_clear_error():
    with pytest.raises(ValueError, match="not a regular expression"):
        CueList.model_validate({"groups": {"x": {"title": "x", "patterns": ["(unclosed"]}}})


@given(st.lists(st.floats(0.01, 0.98), min_size=3, max_size=3))
def test_without_hits_an_identity_combiner_keeps_the_scores(values):
    cues = UrgencyCues(cues=CUES, coef=[1.0, 2.0], intercept=0.0)
    row = np.array([values]) / np.sum(values)
    out = cues.apply(row.astype(np.float32), 2, [[]])
    np.testing.assert_allclose(out, row, atol=1e-5)


def test_hits_raise_p_yuksek_and_keep_a_distribution():
    cues = UrgencyCues(cues=CUES, coef=[1.0, 1.5], intercept=0.0)
    row = np.array([[0.5, 0.4, 0.1]], dtype=np.float32)
    out = cues.apply(row, 2, [CUES.hits(URGENT)])
    assert out[0, 2] > 0.5
    assert out.sum() == pytest.approx(1.0, abs=1e-5)
    assert out[0, 0] / out[0, 1] == pytest.approx(0.5 / 0.4, rel=1e-4)


def test_cues_that_go_with_urgent_texts_get_weight():
    rng = np.random.default_rng(0)
    texts = [URGENT if i % 2 else CALM for i in range(200)]
    gold = np.array([2 if i % 2 else i % 4 // 2 for i in range(200)])
    scores = rng.dirichlet([1, 1, 1], size=200)
    cues = UrgencyCues(cues=CUES).fit(scores, 2, texts, gold)
    assert cues.coef[1] >= 1.0
    assert cues.fitted_on == {"rows": 200, "rows_with_hits": 100}


def test_cue_hits_appear_in_the_priority_reasons(tiny_model_dir):
    UrgencyCues(cues=CUES, coef=[1.0, 1.5], intercept=0.0).save(tiny_model_dir)
    write_manifest(tiny_model_dir)  # as `nabiz fit-cues` does: the cues are part of the model
    predictor = from_pretrained(tiny_model_dir, device="cpu")
    urgent, calm = predictor.predict([URGENT, CALM])
    assert any("yasal yola başvurma" in cue for cue in urgent.cues)
    assert calm.cues == []
    policy = load_policy()
    now = datetime(2026, 1, 5, 10, 0)
    priority = compute_priority(urgent.tasks, policy, "web", now, now=now, cues=urgent.cues)
    assert any(reason.startswith("aciliyet işareti: yasal") for reason in priority.reasons)
    assert any("iki kez çekildi»" in reason for reason in priority.reasons)
    plain = from_pretrained(tiny_model_dir, device="cpu", calibrated=False)
    raw = plain.predict([URGENT])[0].tasks["urgency"].scores["yuksek"]
    assert urgent.tasks["urgency"].scores["yuksek"] > raw


def test_the_cue_list_travels_with_the_model(tiny_model_dir):
    UrgencyCues(cues=CUES, coef=[1.0, 1.5]).save(tiny_model_dir)
    loaded = UrgencyCues.load(tiny_model_dir)
    assert loaded is not None and loaded.cues.groups == CUES.groups
    assert [h.group for h in loaded.cues.hits(URGENT)] == [h.group for h in CUES.hits(URGENT)]


def _fit_cues(model_dir, labelled, rows, *more):
    from typer.testing import CliRunner

    from nabiz.cli import app

    labelled.write_text(
        "metin,urgency\n" + "".join(f'"{t}",{u}\n' for t, u in rows), encoding="utf-8"
    )
    command = ["fit-cues", "--model", str(model_dir), "--data", str(labelled)]
    return CliRunner().invoke(app, [*command, "--text-column", "metin", *more])


def test_fit_cues_on_a_sectors_labelled_file_saves_the_most_likely_weight(tiny_model_dir, tmp_path):
    """Labels as a bank team writes them (YÜKSEK, Düşük) read as the model's; the cue list is the
    one saved in the model when no --cues is given (from any folder)."""
    UrgencyCues(cues=CUES).save(tiny_model_dir)
    write_manifest(tiny_model_dir)  # as training does: the cue list is part of the model
    rows = [(URGENT, "YÜKSEK"), (CALM, "Düşük"), ("Şubede uzun kuyruk vardı", "orta")] * 16
    result = _fit_cues(tiny_model_dir, tmp_path / "banka.csv", rows)
    assert result.exit_code == 0, result.output
    assert "the most likely on your labelled texts; 48 texts, 16 with hits" in result.output
    fitted = UrgencyCues.load(tiny_model_dir)
    assert fitted.fitted_on == {"rows": 48, "rows_with_hits": 16} and fitted.coef[1] > 0


def test_fit_cues_refuses_a_handful_of_labels_and_leaves_the_model_alone(tiny_model_dir, tmp_path):
    """Five texts gave an intercept of -2.8: the fitted copy tagged 21 of 65 urgent ones (QA)."""
    UrgencyCues(cues=CUES).save(tiny_model_dir)
    write_manifest(tiny_model_dir)
    before = (tiny_model_dir / "urgency_cues.json").read_bytes()
    rows = [(URGENT, "yuksek"), (CALM, "dusuk"), (CALM, "orta")] * 3
    result = _fit_cues(tiny_model_dir, tmp_path / "az.csv", rows)
    assert result.exit_code == 2 and "too few labelled texts" in result.output
    assert (tiny_model_dir / "urgency_cues.json").read_bytes() == before
