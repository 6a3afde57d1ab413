"""``nabiz report`` and ``nabiz score --report``: one self-contained offline HTML file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nabiz.cli import app
from nabiz.model.schema import LabelSchema, TaskSpec
from nabiz.serving.console.frame import Roles
from nabiz.serving.console.report import ReportOptions, load_scored, write_report
from tests.serving.console.synthetic import NEW_PHRASE, scored_rows

REPO = Path(__file__).resolve().parents[3]
runner = CliRunner()


def external_references(html: str) -> list[str]:
    """Every src/href/url() that would make the browser fetch something."""
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)""", html)
    refs += re.findall(r"url\(([^)]+)\)", html)
    return [ref for ref in refs if not ref.startswith("#")]


@pytest.fixture(scope="module")
def synthetic_report(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("report")
    scored_rows(1500, seed=3).to_csv(folder / "scored.csv", index=False)
    write_report(folder / "scored.csv", folder / "report.html")
    return (folder / "report.html").read_text(encoding="utf-8")


def test_the_report_fetches_nothing_and_runs_no_script(synthetic_report):
    assert external_references(synthetic_report) == []
    assert "<script" not in synthetic_report


def test_the_report_shows_counts_mix_levels_and_trends(synthetic_report):
    assert "1.500" in synthetic_report  # rows, Turkish thousands separator
    for heading in ("Duygu dağılımı", "Konu dağılımı", "Öncelik seviyeleri", "Eğilimler"):
        assert heading in synthetic_report
    assert synthetic_report.count("<svg") >= 2


def test_the_report_writes_dates_and_shares_the_turkish_way(synthetic_report):
    assert re.search(
        r"Oluşturulma: \d\d\.\d\d\.\d{4} \d\d:\d\d \(Europe/Istanbul\)", synthetic_report
    )
    axis = re.findall(r'font-size="10">(\d\d\.\d\d)</text>', synthetic_report)
    assert axis, "the trend's days are written day.month"
    assert re.search(r'font-size="10">%\d+</text>', synthetic_report)  # %50, not 50%
    assert ">Hepsi</text>" in synthetic_report and ">hepsi<" not in synthetic_report
    changes = re.search(r"son 7 gün: ([^,]+), önceki: ([^)]+)\)", synthetic_report)
    window = r"\d\d\.\d\d \d\d:\d\d–\d\d\.\d\d\.\d{4} \d\d:\d\d"  # to the minute: they meet
    assert changes and re.fullmatch(window, changes[1]) and re.fullmatch(window, changes[2])
    assert changes[1].split("–")[0] == changes[2].split("–")[1][:5] + changes[2][-6:]


def test_a_chart_legend_too_long_for_one_row_wraps_inside_the_chart():
    from nabiz.serving.console import svg

    names = [f"Şebeke ve hizmet kalitesi {n}" for n in range(6)]
    chart = svg.line_chart(["2026-11-02", "2026-11-03"], [(name, [1, 2]) for name in names])
    height = float(re.search(r'viewBox="0 0 640 (\d+)"', chart)[1])
    xs = [float(x) for x in re.findall(r'<rect x="([\d.]+)"', chart)]
    widths = [24 + 7 * len(name) for name in names]
    assert height > 220 and all(x + w <= 640 for x, w in zip(xs, widths, strict=True))


def test_the_report_names_the_new_root_cause_of_billing(synthetic_report):
    billing = synthetic_report.split("<h3>fatura_odeme")[1].split("<h3>")[0]
    assert NEW_PHRASE in billing
    assert "Ne değişti?" in synthetic_report


def test_the_report_shows_nps_when_the_file_has_it(synthetic_report):
    assert "Anket metrikleri" in synthetic_report and "NPS" in synthetic_report


def test_the_most_urgent_rows_come_first(tmp_path):
    scored_rows(300, seed=4).to_csv(tmp_path / "scored.csv", index=False)
    write_report(tmp_path / "scored.csv", tmp_path / "r.html")
    urgent = (tmp_path / "r.html").read_text(encoding="utf-8").split("En acil kayıtlar")[1]
    levels = re.findall(r'class="lvl (P\d)"', urgent)
    assert levels and levels == sorted(levels)


def test_rows_the_scorer_could_not_score_are_counted_not_shown(tmp_path):
    rows = scored_rows(50, seed=5)
    rows.loc[:9, "error"] = "metin boş"
    rows.to_csv(tmp_path / "scored.csv", index=False)
    frame, read = load_scored(tmp_path / "scored.csv", ReportOptions())
    assert read["rows"] == 50 and read["errors"] == 10 and len(frame) == 40


def test_a_row_scored_without_a_respond_by_is_reported_and_its_unread_time_is_said(tmp_path):
    rows = scored_rows(50, seed=5)
    rows["tarih"] = rows["tarih"].astype(object)
    rows.loc[:4, "tarih"] = "12/31/2025"  # month-first: the scorer could not read it either
    rows.loc[:4, "respond_by"] = None
    rows.loc[:4, "error"] = "note: no respond-by: tarih: cannot read the time '12/31/2025'"
    rows.to_csv(tmp_path / "scored.csv", index=False)
    frame, read = load_scored(tmp_path / "scored.csv", ReportOptions(time_column="tarih"))
    assert read["errors"] == 0 and len(frame) == 50 and read["times_unread"] == 5
    write_report(tmp_path / "scored.csv", tmp_path / "r.html", ReportOptions(time_column="tarih"))
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Zaman sütunundaki 5 değer okunamadı" in html and "--time-format" in html


def test_a_file_that_was_not_scored_is_a_clear_error(tmp_path):
    (tmp_path / "raw.csv").write_text("id,metin\n1,merhaba\n", encoding="utf-8")
    report = tmp_path / "r.html"
    result = runner.invoke(app, ["report", str(tmp_path / "raw.csv"), "-o", str(report)])
    assert result.exit_code == 2
    assert "nabiz score" in result.output
    assert not report.exists()


def test_score_with_report_writes_both_files(tmp_path, tiny_model_source):
    output, report = tmp_path / "scored.csv", tmp_path / "report.html"
    result = runner.invoke(
        app,
        [
            "score", str(REPO / "data" / "samples" / "sample_export.csv"), "-o", str(output),
            "--channel-column", "kanal", "--time-column", "tarih", "--no-progress",
            "--report", str(report),
        ],
        env={"NABIZ_MODEL_DIR": str(tiny_model_source)},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    html = report.read_text(encoding="utf-8")
    assert "En acil kayıtlar" in html and external_references(html) == []
    frame, read = load_scored(output, ReportOptions())
    assert read["time_column"] == "tarih" and read["errors"] == 2  # the two empty texts
    # a row whose date could not be read was scored without a respond-by: in the report, undated
    assert len(frame) == 38 and frame["received_at"].isna().sum() == 1


def own_task_names(rows):
    """``rows`` as a model whose tasks are called duygu, konu and aciliyet scored them."""
    names = {"sentiment": "duygu", "topic": "konu", "urgency": "aciliyet"}
    return rows.rename(
        columns={f"{old}{end}": f"{new}{end}" for old, new in names.items() for end in SUFFIXES}
    )


SUFFIXES = ("", "_score", "_scores")
OWN_SCHEMA = LabelSchema(
    tasks=[
        TaskSpec(name="duygu", labels=["olumsuz", "notr", "olumlu"], role="sentiment"),
        TaskSpec(name="konu", labels=["fatura_odeme", "diger"], role="topic"),
        TaskSpec(name="aciliyet", labels=["dusuk", "orta", "yuksek"], role="urgency"),
    ]
)


def test_a_model_with_its_own_task_names_is_reported_through_its_roles(tmp_path):
    rows = own_task_names(scored_rows(200, seed=6))
    rows.to_csv(tmp_path / "scored.csv", index=False)
    frame, _ = load_scored(tmp_path / "scored.csv", ReportOptions(roles=Roles.of(OWN_SCHEMA)))
    assert frame["negative"].mean() == pytest.approx((rows["duygu"] == "olumsuz").mean())
    assert frame["topic"].tolist() == rows["konu"].tolist()
    assert frame["urgency"].notna().all()


def test_report_takes_the_roles_from_the_model_it_is_given(tmp_path, monkeypatch):
    monkeypatch.setenv("NABIZ_MODEL_DIR", str(tmp_path / "no-model-here"))
    own_task_names(scored_rows(200, seed=6)).to_csv(tmp_path / "scored.csv", index=False)
    OWN_SCHEMA.save(tmp_path)
    for extra, name in (([], "plain.html"), (["--model", str(tmp_path)], "roles.html")):
        command = ["report", str(tmp_path / "scored.csv"), "-o", str(tmp_path / name), *extra]
        assert runner.invoke(app, command).exit_code == 0
    assert "Olumsuz payı<b>" not in (tmp_path / "plain.html").read_text(encoding="utf-8")
    assert "Olumsuz payı<b>" in (tmp_path / "roles.html").read_text(encoding="utf-8")


def test_report_without_a_model_takes_the_roles_of_the_default_model(tmp_path, monkeypatch):
    own_task_names(scored_rows(200, seed=6)).to_csv(tmp_path / "scored.csv", index=False)
    (tmp_path / "model").mkdir()
    OWN_SCHEMA.save(tmp_path / "model")
    monkeypatch.setenv("NABIZ_MODEL_DIR", str(tmp_path / "model"))
    command = ["report", str(tmp_path / "scored.csv"), "-o", str(tmp_path / "r.html")]
    assert runner.invoke(app, command).exit_code == 0
    assert "Olumsuz payı<b>" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_a_scored_file_without_a_sentiment_task_gets_no_negative_share(tmp_path):
    rows = scored_rows(100, seed=7).drop(columns=[f"sentiment{end}" for end in SUFFIXES])
    rows.to_csv(tmp_path / "scored.csv", index=False)
    write_report(tmp_path / "scored.csv", tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Konu dağılımı" in html and "Olumsuz payı<b>" not in html
    assert "Olumsuz payı (tümü)" not in html  # no empty chart of it either


def test_a_scored_file_without_a_topic_task_shows_no_topic_and_no_none(tmp_path):
    rows = scored_rows(100, seed=7).drop(columns=[f"topic{end}" for end in SUFFIXES])
    rows.to_csv(tmp_path / "scored.csv", index=False)
    write_report(tmp_path / "scored.csv", tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "En acil kayıtlar" in html and "Duygu dağılımı" in html
    assert "Konu dağılımı" not in html and "<th>Konu</th>" not in html
    assert "Kök nedenler" not in html and "None" not in html


def test_the_output_folder_of_the_ray_engine_is_reported_in_input_order(tmp_path):
    rows = scored_rows(120, seed=8).assign(source_file="x.csv", source_row=range(120))
    (tmp_path / "out").mkdir()
    rows.iloc[60:].to_parquet(tmp_path / "out" / "a-block.parquet")  # blocks in any order
    rows.iloc[:60].to_parquet(tmp_path / "out" / "b-block.parquet")
    (tmp_path / "out" / "_summary.json").write_text("{}", encoding="utf-8")
    command = ["report", str(tmp_path / "out"), "-o", str(tmp_path / "r.html")]
    assert runner.invoke(app, command).exit_code == 0
    frame, read = load_scored(tmp_path / "out", ReportOptions())
    assert read["rows"] == 120 and frame["text"].tolist() == rows["metin"].tolist()


def test_the_report_shows_the_words_the_model_gives_its_labels(tmp_path, default_schema):
    scored_rows(300, seed=8).to_csv(tmp_path / "scored.csv", index=False)
    options = ReportOptions(roles=Roles.of(default_schema))
    frame, _ = load_scored(tmp_path / "scored.csv", options)
    assert "Fatura ve ödeme" in set(frame["topic"]) and "fatura_odeme" not in set(frame["topic"])
    assert frame["negative"].sum() > 0  # still counted from the labels themselves
    write_report(tmp_path / "scored.csv", tmp_path / "report.html", options)
    assert "Fatura ve ödeme" in (tmp_path / "report.html").read_text(encoding="utf-8")
