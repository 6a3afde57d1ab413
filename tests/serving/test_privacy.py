"""Personal data masked in what the API answers, stores, logs and exports; safe spreadsheets;
erasure and retention on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import logging
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import text, update
from typer.testing import CliRunner

from nabiz.cli import app as cli
from nabiz.model.predictor import Predictor
from nabiz.serving.app import create_app
from nabiz.serving.batch import score_file
from nabiz.serving.priority import load_policy
from nabiz.serving.queue.db import make_engine, make_session_factory
from nabiz.serving.queue.export import export_corrections
from nabiz.serving.queue.models import Feedback, utcnow
from nabiz.serving.queue.repository import create_or_get_feedback, update_status_and_corrections
from nabiz.serving.writers import Column, open_writer
from tests.serving.test_queue import ScriptedPredictor

REPO_POLICY = "data/priority_policy.yaml"
SECRETS = {
    "tckn": "10000000146",
    "iban": "TR33 0006 1005 1978 6457 8413 26",
    "kart": "4111 1111 1111 1111",
    "telefon": "0532 123 45 67",
    "eposta": "ayse.yilmaz@example.com",
}
PII_TEXT = (
    f"TC {SECRETS['tckn']}, IBAN {SECRETS['iban']}, kartım {SECRETS['kart']}, "
    f"arayın {SECRETS['telefon']} ya da yazın {SECRETS['eposta']}. Param iade edilmedi!"
)
MASKED_TEXT = (
    "TC [TCKN], IBAN [IBAN], kartım [KART], arayın [TELEFON] ya da yazın [EPOSTA]. "
    "Param iade edilmedi!"
)
FORMULAS = ['=HYPERLINK("http://x.example","tıkla")', "+90 bir", "-2+3", "@SUM(A1)", "\tsekme"]


def no_secret_in(blob: str) -> None:
    for kind, value in SECRETS.items():
        assert value not in blob, f"{kind} leaked"


@pytest.fixture
def client(make_settings, serving_predictor, database_url):
    app = create_app(make_settings(database_url=database_url), predictor=serving_predictor)
    with TestClient(app) as client:
        yield client


# --- the API ------------------------------------------------------------------------------------


def test_predict_masks_before_the_model_and_names_the_kinds(client, serving_predictor, caplog):
    caplog.set_level(logging.DEBUG)
    response = client.post("/v1/predict", json={"items": [{"text": PII_TEXT}]})
    assert response.status_code == 200, response.text
    item = response.json()["items"][0]
    assert item["personal_data"] == ["iban", "eposta", "telefon", "kart", "tckn"]
    no_secret_in(response.text)
    expected = serving_predictor.predict([MASKED_TEXT])[0]
    assert item["tasks"]["sentiment"]["scores"] == pytest.approx(
        expected.tasks["sentiment"].scores, abs=1e-5
    )
    no_secret_in(caplog.text)


def test_the_queue_stores_and_returns_masked_text(client, database_url, caplog):
    caplog.set_level(logging.DEBUG)
    created = client.post("/v1/feedback", json={"id": "kvkk-1", "text": PII_TEXT})
    assert created.status_code == 201, created.text
    assert created.json()["text"] == MASKED_TEXT
    again = client.post("/v1/feedback", json={"id": "kvkk-1", "text": PII_TEXT})
    assert again.status_code == 200  # the same text again: idempotent on the masked text
    engine = make_engine(database_url)
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT text FROM feedback")).scalars().all()
    engine.dispose()
    assert stored == [MASKED_TEXT]
    no_secret_in(caplog.text)


def test_masking_can_be_switched_off(make_settings, serving_predictor, database_url):
    settings = make_settings(database_url=database_url, mask_personal_data=False)
    with TestClient(create_app(settings, predictor=serving_predictor)) as client:
        item = client.post("/v1/predict", json={"items": [{"text": PII_TEXT}]}).json()["items"][0]
        assert item["personal_data"] == []


# --- erasure and retention ----------------------------------------------------------------------


def test_delete_erases_the_item_and_its_labels(client, database_url):
    assert client.post("/v1/feedback", json={"id": "sil-1", "text": PII_TEXT}).status_code == 201
    assert client.post("/v1/feedback", json={"id": "kal-1", "text": "Teşekkürler"}).status_code
    assert client.delete("/v1/feedback/sil-1").status_code == 204
    assert client.get("/v1/feedback/sil-1").status_code == 404
    assert client.delete("/v1/feedback/sil-1").status_code == 404
    engine = make_engine(database_url)
    with engine.connect() as connection:
        labels = connection.execute(
            text("SELECT DISTINCT feedback_id FROM feedback_label")
        ).scalars()
        assert set(labels) == {"kal-1"}
    engine.dispose()


def test_delete_needs_an_admin_key(client, database_url):
    runner = CliRunner()
    keys = {}
    for name, scope in (("yazar", "queue:write"), ("yonetici", "admin")):
        made = runner.invoke(
            cli, ["keys", "create", name, "-s", scope, "--database-url", database_url]
        )
        keys[name] = {"Authorization": f"Bearer {made.output.strip().splitlines()[-1]}"}
    created = client.post(
        "/v1/feedback", json={"id": "sil-2", "text": "x y"}, headers=keys["yazar"]
    )
    assert created.status_code == 201, created.text
    assert client.delete("/v1/feedback/sil-2", headers=keys["yazar"]).status_code == 403
    assert client.delete("/v1/feedback/sil-2").status_code == 401
    assert client.delete("/v1/feedback/sil-2", headers=keys["yonetici"]).status_code == 204


def test_purge_deletes_what_is_past_retention(client, database_url):
    for number in range(4):
        client.post("/v1/feedback", json={"id": f"p-{number}", "text": f"metin {number}"})
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        old = utcnow() - timedelta(days=40)
        session.execute(
            update(Feedback).where(Feedback.id.in_(["p-0", "p-1"])).values(created_at=old)
        )
        session.commit()
    result = CliRunner().invoke(
        cli, ["queue", "purge", "--older-than-days", "30", "--database-url", database_url]
    )
    assert result.exit_code == 0, result.output
    assert "deleted 2 item(s)" in result.output
    with engine.connect() as connection:
        ids = connection.execute(text("SELECT id FROM feedback ORDER BY id")).scalars().all()
        label_ids = (
            connection.execute(
                text("SELECT DISTINCT feedback_id FROM feedback_label ORDER BY feedback_id")
            )
            .scalars()
            .all()
        )
    engine.dispose()
    assert ids == label_ids == ["p-2", "p-3"]


def test_purge_without_a_retention_says_how_to_set_one(database_url):
    result = CliRunner().invoke(cli, ["queue", "purge", "--database-url", database_url])
    assert result.exit_code == 2 and "NABIZ_RETENTION_DAYS" in result.output


# --- exports ------------------------------------------------------------------------------------


def test_corrections_export_masks_old_rows_and_neutralises_formulas(
    database_url, default_schema, tmp_path
):
    engine = make_engine(database_url)
    predictor = ScriptedPredictor(default_schema)
    from nabiz.serving.queue.deps import assessment_from

    policy = load_policy(REPO_POLICY)
    from nabiz.serving.priority import compute_priority

    with make_session_factory(engine)() as session:
        for number, raw in enumerate([PII_TEXT, *FORMULAS]):  # stored raw, as before masking
            prediction = predictor.predict([raw])[0]
            priority = compute_priority(prediction.tasks, policy, None, None, now=utcnow())
            assessment = assessment_from(prediction, priority, default_schema, "m", "1")
            create_or_get_feedback(
                session,
                feedback_id=f"e-{number}",
                text=raw,
                channel=None,
                received_at=utcnow(),
                assess=lambda a=assessment: a,
            )
            update_status_and_corrections(
                session, f"e-{number}", corrections={"sentiment": "olumsuz"}, schema=default_schema
            )
    engine.dispose()
    output = tmp_path / "corrections.csv"
    assert export_corrections(database_url, output, default_schema) == 1 + len(FORMULAS)
    blob = output.read_text(encoding="utf-8")
    no_secret_in(blob)
    with output.open(encoding="utf-8", newline="") as handle:
        cells = [row["text"] for row in csv.DictReader(handle)]
    assert MASKED_TEXT in cells
    for formula in FORMULAS:
        assert "'" + formula in cells


@pytest.mark.parametrize("name", ["out.csv", "out.tsv", "out.xlsx"])
def test_every_flat_writer_neutralises_formulas(tmp_path, name):
    columns = [Column("text", "text"), Column("score", "float")]
    writer = open_writer(tmp_path / name, columns)
    writer.start(None)
    writer.write_chunk([{"text": value, "score": -0.5} for value in FORMULAS])
    path = writer.finish()
    if name.endswith(".xlsx"):
        sheet = load_workbook(path).active
        rows = list(sheet.iter_rows(min_row=2))
        assert all(cell.data_type != "f" for row in rows for cell in row)
        assert [row[0].value for row in rows] == ["'" + f for f in FORMULAS]
        assert [row[1].value for row in rows] == [-0.5] * len(FORMULAS)  # numbers stay numbers
    else:
        delimiter = "\t" if name.endswith(".tsv") else ","
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle, delimiter=delimiter))[1:]
        assert [row[0] for row in rows] == ["'" + f for f in FORMULAS]
        assert [row[1] for row in rows] == ["-0.5"] * len(FORMULAS)


def test_batch_scoring_masks_text_columns_and_the_summary(tmp_path, serving_predictor):
    source = tmp_path / "in.csv"
    with source.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "yorum"])
        writer.writerow(["1", PII_TEXT])
        writer.writerow(["2", "=cmd|' /C calc'!A0"])

    class Recording(Predictor):
        def __init__(self, inner: Predictor) -> None:
            self.inner, self.schema, self.info, self.seen = inner, inner.schema, inner.info, []

        def compute_scores(self, texts):
            self.seen.extend(texts)
            return self.inner.predict_scores(texts)

    recording = Recording(serving_predictor)
    output = tmp_path / "out.csv"
    summary = score_file(
        source, output, recording, load_policy(REPO_POLICY), id_column="id", progress=False
    )
    no_secret_in("\n".join(recording.seen))
    no_secret_in(output.read_text(encoding="utf-8-sig"))
    no_secret_in(summary.render())
    with output.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["yorum"] == MASKED_TEXT
    assert rows[1]["yorum"].startswith("'=")
