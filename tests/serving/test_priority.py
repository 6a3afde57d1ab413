"""Prioritization: channel targets, factor scoring, levels, time zones and policy validation."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from nabiz.model.predictor import TaskPrediction
from nabiz.model.schema import LabelSchema
from nabiz.serving.priority import (
    PolicyError,
    Priority,
    PriorityPolicy,
    UnknownChannelError,
    assess,
    compute_priority,
    load_policy,
    normalize_channel,
    sort_key,
)

REPO = Path(__file__).resolve().parents[2]
POLICY_FILE = REPO / "data" / "priority_policy.yaml"
IST = ZoneInfo("Europe/Istanbul")
RECEIVED = datetime(2025, 3, 3, 10, 0, tzinfo=IST)  # a Monday morning in Istanbul

TOPICS = [
    "fatura_odeme",
    "fiyat_kampanya",
    "musteri_hizmetleri",
    "uygulama_web",
    "sebeke_hizmet_kalitesi",
    "urun_paket",
    "iptal_tasima",
    "reklam_mesaj",
    "magaza_bayi",
    "diger",
]


@pytest.fixture(scope="module")
def policy() -> PriorityPolicy:
    return load_policy(POLICY_FILE)


@pytest.fixture(scope="module")
def raw_policy() -> dict[str, Any]:
    return yaml.safe_load(POLICY_FILE.read_text(encoding="utf-8"))


def prediction(scores: dict[str, float]) -> TaskPrediction:
    top = max(scores, key=lambda label: scores[label])
    return TaskPrediction(label=top, scores=dict(scores), labels=[top])


def tags(
    yuksek: float = 0.0,
    orta: float = 0.0,
    olumsuz: float = 0.0,
    evet: float = 0.0,
    churn: float = 0.0,
    without: tuple[str, ...] = (),
) -> dict[str, TaskPrediction]:
    """Predictions for the default taxonomy; all zeros is calm praise (score 0, P4)."""
    topic = {label: 0.0 for label in TOPICS}
    topic["iptal_tasima"] = churn
    topic["diger"] = 1.0 - churn
    tasks = {
        "sentiment": prediction({"olumsuz": olumsuz, "notr": 0.0, "olumlu": 1.0 - olumsuz}),
        "topic": prediction(topic),
        "urgency": prediction(
            {"dusuk": max(0.0, 1.0 - yuksek - orta), "orta": orta, "yuksek": yuksek}
        ),
        "aksiyon": prediction({"hayir": 1.0 - evet, "evet": evet}),
    }
    return {name: task for name, task in tasks.items() if name not in without}


def default_schema() -> LabelSchema:
    config = yaml.safe_load((REPO / "configs" / "default.yaml").read_text(encoding="utf-8"))
    return LabelSchema(tasks=config["tasks"])


def write_policy(tmp_path: Path, raw: dict[str, Any], change: Callable[[dict], None]) -> Path:
    edited = copy.deepcopy(raw)
    change(edited)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(edited, allow_unicode=True), encoding="utf-8")
    return path


# --- channel targets ------------------------------------------------------------------------------


def test_sms_target_is_two_hours(policy: PriorityPolicy) -> None:
    result = compute_priority(tags(), policy, channel="sms", received_at=RECEIVED)
    assert result.level == "P4"
    assert result.respond_by == RECEIVED + timedelta(hours=2)


def test_e_posta_target_is_one_working_day(policy: PriorityPolicy) -> None:
    # 9 working hours from Monday 10:00 in a 09:00-18:00 week end on Tuesday at 10:00
    result = compute_priority(tags(), policy, channel="e-posta", received_at=RECEIVED)
    assert result.respond_by == RECEIVED + timedelta(hours=24)


@pytest.mark.parametrize(("channel", "hours"), [("sosyal_medya", 4), ("web", 6), ("magaza", 24)])
def test_other_channel_targets_are_the_documented_defaults(
    policy: PriorityPolicy, channel: str, hours: int
) -> None:
    result = compute_priority(tags(), policy, channel=channel, received_at=RECEIVED)
    assert result.respond_by == RECEIVED + timedelta(hours=hours)


def test_telefon_target_ends_the_received_working_day(policy: PriorityPolicy) -> None:
    result = compute_priority(tags(), policy, channel="telefon", received_at=RECEIVED)
    assert result.respond_by == datetime(2025, 3, 3, 22, 0, tzinfo=IST)


def test_telefon_late_in_the_day_gets_the_minimum_in_working_time(policy: PriorityPolicy) -> None:
    late = datetime(2025, 3, 3, 21, 30, tzinfo=IST)  # 30 min before the call centre closes
    result = compute_priority(tags(), policy, channel="telefon", received_at=late)
    assert result.respond_by == datetime(2025, 3, 4, 9, 30, tzinfo=IST)  # 30 min + 1 h 30 min
    assert any("durdu" in reason for reason in result.reasons)


def test_level_shortens_the_channel_target(policy: PriorityPolicy) -> None:
    result = compute_priority(
        tags(yuksek=1.0, olumsuz=1.0, evet=1.0), policy, channel="sms", received_at=RECEIVED
    )
    assert result.level == "P1"
    assert result.respond_by == RECEIVED + timedelta(minutes=30)


def test_missing_channel_uses_the_default_channel(policy: PriorityPolicy) -> None:
    result = compute_priority(tags(), policy, received_at=RECEIVED)
    assert policy.default_channel == "web"
    assert result.respond_by == RECEIVED + timedelta(hours=6)
    assert any("varsayılan web" in reason for reason in result.reasons)


@pytest.mark.parametrize(
    ("spelling", "channel"),
    [
        ("email", "e-posta"),
        ("E-Mail", "e-posta"),
        ("eposta", "e-posta"),
        ("phone", "telefon"),
        ("Çağrı Merkezi", "telefon"),
        ("twitter", "sosyal_medya"),
        ("X", "sosyal_medya"),
        ("İnstagram", "sosyal_medya"),
        ("Sosyal Medya", "sosyal_medya"),
        ("chat", "web"),
        ("store", "magaza"),
        ("MAĞAZA", "magaza"),
        ("  sms ", "sms"),
    ],
)
def test_aliases_map_to_canonical_channels(
    policy: PriorityPolicy, spelling: str, channel: str
) -> None:
    assert normalize_channel(spelling, policy) == channel


def test_unknown_channel_error_lists_accepted_channels(policy: PriorityPolicy) -> None:
    with pytest.raises(UnknownChannelError) as caught:
        compute_priority(tags(), policy, channel="fax", received_at=RECEIVED)
    assert isinstance(caught.value, ValueError)
    assert "'fax'" in str(caught.value)
    for channel in ["e-posta", "telefon", "sms", "sosyal_medya", "web", "magaza"]:
        assert channel in str(caught.value)
    assert list(caught.value.accepted) == list(policy.channels)


# --- score and level ------------------------------------------------------------------------------


def test_higher_urgency_gives_higher_level_and_earlier_respond_by(policy: PriorityPolicy) -> None:
    low = compute_priority(tags(olumsuz=0.9, evet=0.8), policy, "sms", RECEIVED)
    high = compute_priority(tags(yuksek=0.95, olumsuz=0.9, evet=0.8), policy, "sms", RECEIVED)
    assert sort_key(high)[1] < sort_key(low)[1]
    assert high.respond_by < low.respond_by


def test_negative_sentiment_raises_the_score(policy: PriorityPolicy) -> None:
    calm = compute_priority(tags(orta=0.5), policy, "web", RECEIVED)
    angry = compute_priority(tags(orta=0.5, olumsuz=0.9), policy, "web", RECEIVED)
    assert angry.score > calm.score
    assert angry.factors["negative_sentiment"] > calm.factors["negative_sentiment"]


def test_churn_topic_raises_the_score(policy: PriorityPolicy) -> None:
    other = compute_priority(tags(olumsuz=0.8), policy, "web", RECEIVED)
    churn = compute_priority(tags(olumsuz=0.8, churn=0.9), policy, "web", RECEIVED)
    assert churn.score > other.score


def test_factors_sum_to_the_score(policy: PriorityPolicy) -> None:
    result = compute_priority(tags(yuksek=0.7, orta=0.2, olumsuz=0.6, evet=0.4, churn=0.3), policy)
    assert sum(result.factors.values()) == pytest.approx(result.score, abs=1e-3)


def test_reasons_name_the_deciding_factors(policy: PriorityPolicy) -> None:
    result = compute_priority(tags(yuksek=0.91, olumsuz=0.88), policy, "sms", RECEIVED)
    assert result.reasons[0].startswith(f"seviye {result.level}")
    assert any(reason.startswith("aciliyet: yuksek olasılığı 0.91") for reason in result.reasons)
    assert any(reason.startswith("duygu: olumsuz olasılığı 0.88") for reason in result.reasons)
    assert any(reason.startswith("kanal sms: hedef 2 saat") for reason in result.reasons)


def test_missing_optional_task_is_skipped_and_noted(policy: PriorityPolicy) -> None:
    result = compute_priority(tags(olumsuz=0.9, without=("aksiyon", "urgency")), policy)
    assert set(result.factors) == {"negative_sentiment", "topic_risk"}
    assert any("'aksiyon'" in reason and "atlandı" in reason for reason in result.reasons)
    assert any("'urgency'" in reason and "atlandı" in reason for reason in result.reasons)


def test_model_without_any_factor_task_scores_zero(policy: PriorityPolicy) -> None:
    result = compute_priority({}, policy, "sms", RECEIVED)
    assert (result.level, result.score, result.factors) == ("P4", 0.0, {})
    assert result.respond_by == RECEIVED + timedelta(hours=2)


def test_weights_renormalize_over_present_factors(policy: PriorityPolicy) -> None:
    result = compute_priority(tags(olumsuz=1.0, evet=1.0, churn=1.0, without=("urgency",)), policy)
    assert result.score == pytest.approx(1.0)
    assert result.level == "P1"


def test_label_the_policy_names_but_the_task_lacks_is_an_error(policy: PriorityPolicy) -> None:
    tasks = tags()
    tasks["urgency"] = prediction({"low": 0.5, "high": 0.5})
    with pytest.raises(PolicyError, match="'yuksek'"):
        compute_priority(tasks, policy, received_at=RECEIVED)


def test_sort_key_orders_by_level_then_respond_by(policy: PriorityPolicy) -> None:
    urgent_email = compute_priority(tags(yuksek=1, olumsuz=1, evet=1), policy, "e-posta", RECEIVED)
    calm_sms = compute_priority(tags(), policy, "sms", RECEIVED)
    calm_email = compute_priority(tags(), policy, "e-posta", RECEIVED)
    queue = sorted([calm_email, calm_sms, urgent_email], key=sort_key)
    assert queue == [urgent_email, calm_sms, calm_email]


# --- time -----------------------------------------------------------------------------------------


def test_same_inputs_give_the_same_priority(policy: PriorityPolicy) -> None:
    tasks = tags(yuksek=0.4, orta=0.3, olumsuz=0.7, evet=0.6, churn=0.2)
    first = compute_priority(tasks, policy, "twitter", RECEIVED, now=RECEIVED)
    second = compute_priority(tasks, policy, "twitter", RECEIVED, now=RECEIVED)
    assert first.model_dump() == second.model_dump()


def test_received_at_absent_uses_now(policy: PriorityPolicy) -> None:
    now = datetime(2025, 6, 1, 12, 0, tzinfo=IST)
    result = compute_priority(tags(), policy, "sms", now=now)
    assert result.respond_by == now + timedelta(hours=2)
    assert any("şimdiki zaman" in reason for reason in result.reasons)


def test_naive_datetimes_are_read_in_the_policy_timezone(policy: PriorityPolicy) -> None:
    result = compute_priority(tags(), policy, "sms", received_at=datetime(2025, 3, 3, 10, 0))
    assert result.respond_by == RECEIVED + timedelta(hours=2)


def test_aware_datetimes_keep_their_instant_and_answer_in_policy_zone(
    policy: PriorityPolicy,
) -> None:
    utc = datetime(2025, 3, 3, 7, 0, tzinfo=UTC)  # 10:00 in Istanbul
    result = compute_priority(tags(), policy, "sms", received_at=utc)
    assert result.respond_by == utc + timedelta(hours=2)
    assert result.respond_by.utcoffset() == timedelta(hours=3)


def test_same_day_is_the_day_in_the_policy_timezone(policy: PriorityPolicy) -> None:
    utc = datetime(2025, 3, 3, 22, 30, tzinfo=UTC)  # already 01:30 on 4 March in Istanbul
    result = compute_priority(tags(), policy, "telefon", received_at=utc)
    assert result.respond_by == datetime(2025, 3, 4, 22, 0, tzinfo=IST)


# --- policy validation ----------------------------------------------------------------------------


def test_default_policy_fits_the_default_schema(policy: PriorityPolicy) -> None:
    assert policy.check_against(default_schema()) == []


def test_check_against_reports_a_label_the_schema_lacks(raw_policy: dict) -> None:
    raw = copy.deepcopy(raw_policy)
    raw["factors"]["urgency"]["values"] = {"kritik": 1.0}
    with pytest.raises(PolicyError, match=r"'urgency'.*\['kritik'\]"):
        PriorityPolicy.model_validate(raw).check_against(default_schema())


def test_check_against_rejects_a_missing_required_task(raw_policy: dict) -> None:
    raw = copy.deepcopy(raw_policy)
    raw["factors"]["tone"] = {"task": "tone", "weight": 1, "values": {"bad": 1}, "optional": False}
    with pytest.raises(PolicyError, match=r"'tone'.*optional: true") as error:
        PriorityPolicy.model_validate(raw).check_against(default_schema())
    assert "set NABIZ_PRIORITY_POLICY to the copy" in str(error.value)


def test_check_against_notes_a_missing_optional_task(policy: PriorityPolicy) -> None:
    schema = LabelSchema(tasks=[task for task in default_schema().tasks if task.name != "aksiyon"])
    notes = policy.check_against(schema)
    assert len(notes) == 1
    assert "'aksiyon'" in notes[0] and "skipped" in notes[0]


def test_check_against_points_an_optional_factor_at_the_task_playing_its_role(
    policy: PriorityPolicy,
) -> None:
    # a bank's own model names its urgency task `aciliyet` (role: urgency); skipping the
    # policy's urgency factor left the sentiment factor alone, and every complaint was P1
    tasks = [
        task.model_copy(update={"name": "aciliyet", "role": "urgency"})
        if task.name == "urgency"
        else task
        for task in default_schema().tasks
    ]
    with pytest.raises(PolicyError, match=r"'aciliyet' plays the role 'urgency'.*task: aciliyet"):
        policy.check_against(LabelSchema(tasks=tasks))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda raw: raw["channels"]["sms"].update(hours=-1), "channels.sms.hours"),
        (lambda raw: raw["channels"]["sms"].pop("hours"), "exactly one target"),
        (lambda raw: raw["channels"]["telefon"].update(hours=3), "exactly one target"),
        (lambda raw: raw["channels"]["web"]["aliases"].append("twitter"), "claimed by both"),
        (lambda raw: raw.update(default_channel="fax"), "default_channel 'fax'"),
        (lambda raw: raw.update(timezone="Mars/Olympus"), "unknown timezone"),
        (lambda raw: raw["levels"]["P2"].update(min_score=0.9), "min_score must fall"),
        (lambda raw: raw["levels"]["P1"].update(time_factor=0.8), "cannot get more time"),
        (lambda raw: raw["levels"].pop("P3"), "missing \\['P3'\\]"),
        (lambda raw: raw["factors"]["urgency"]["values"].update(yuksek=2), "0..1"),
        (lambda raw: raw["factors"]["urgency"].update(weight=0), "factors.urgency.weight"),
        (lambda raw: raw.update(colour="red"), "colour"),
    ],
)
def test_invalid_policy_fails_to_load_with_the_field_named(
    tmp_path: Path, raw_policy: dict, change: Callable[[dict], None], message: str
) -> None:
    path = write_policy(tmp_path, raw_policy, change)
    with pytest.raises(PolicyError, match=message):
        load_policy(path)


def test_unquoted_time_is_rejected(tmp_path: Path) -> None:
    text = POLICY_FILE.read_text(encoding="utf-8").replace('ends_at: "22:00"', "ends_at: 22:00")
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError, match="quoted 'HH:MM'"):
        load_policy(path)


def test_missing_policy_file_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="NABIZ_PRIORITY_POLICY"):
        load_policy(tmp_path / "absent.yaml")


def test_load_policy_without_path_follows_the_setting(
    tmp_path: Path, raw_policy: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_policy(tmp_path, raw_policy, lambda raw: raw["channels"]["sms"].update(hours=1))
    monkeypatch.setenv("NABIZ_PRIORITY_POLICY", str(path))
    assert load_policy().channels["sms"].hours == 1


# --- properties -----------------------------------------------------------------------------------

probabilities = st.lists(st.floats(0, 1), min_size=3, max_size=3).map(
    lambda raw: [value / sum(raw) for value in raw] if sum(raw) > 0 else [1 / 3] * 3
)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([None, UTC, IST, ZoneInfo("America/New_York")]),
    allow_imaginary=False,
)
channels = st.sampled_from([None, "e-posta", "telefon", "sms", "sosyal_medya", "web", "magaza"])
unit = st.floats(0, 1)


@settings(max_examples=200, deadline=None)
@given(
    urgency=probabilities,
    olumsuz=unit,
    evet=unit,
    churn=unit,
    without=st.sets(st.sampled_from(["urgency", "aksiyon", "topic"])),
    channel=channels,
    received_at=moments,
)
def test_score_is_bounded_and_respond_by_follows_received_at(
    policy: PriorityPolicy,
    urgency: list[float],
    olumsuz: float,
    evet: float,
    churn: float,
    without: set[str],
    channel: str | None,
    received_at: datetime,
) -> None:
    _, orta, yuksek = urgency
    tasks = tags(yuksek, orta, olumsuz, evet, churn, without=tuple(without))
    result = compute_priority(tasks, policy, channel, received_at)
    assert isinstance(result, Priority)
    assert 0.0 <= result.score <= 1.0
    received = received_at if received_at.tzinfo else received_at.replace(tzinfo=IST)
    assert result.respond_by > received
    # the level and score without a deadline (a row whose time could not be read) are the same
    alone = assess(tasks, policy)
    assert (alone.level, alone.score, alone.factors) == (result.level, result.score, result.factors)
    assert result.reasons[: len(alone.reasons)] == alone.reasons


@settings(max_examples=200, deadline=None)
@given(
    urgency=probabilities,
    share=st.one_of(st.just(0.0), st.floats(1e-6, 1)),
    olumsuz=unit,
    evet=unit,
    churn=unit,
)
def test_raising_p_yuksek_never_lowers_the_score_or_the_level(
    policy: PriorityPolicy,
    urgency: list[float],
    share: float,
    olumsuz: float,
    evet: float,
    churn: float,
) -> None:
    dusuk, orta, yuksek = urgency
    moved = share * (dusuk + orta)  # take mass from dusuk first, then from orta
    from_dusuk = min(moved, dusuk)
    raised_orta = orta - (moved - from_dusuk)
    before = compute_priority(tags(yuksek, orta, olumsuz, evet, churn), policy, "web", RECEIVED)
    after = compute_priority(
        tags(yuksek + moved, max(0.0, raised_orta), olumsuz, evet, churn), policy, "web", RECEIVED
    )
    assert after.score >= before.score
    assert sort_key(after)[1] <= sort_key(before)[1]
