"""Nothing lost under faults: stale writes refused, a stopped database, floods, big bodies."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text as sa_text

from nabiz.serving.app import create_app
from nabiz.serving.queue.db import make_engine, make_session_factory, upgrade_database
from nabiz.serving.queue.keys import create_key
from tests.serving.live import live_server
from tests.serving.pgcluster import Cluster

TEXT = "İnternetim üç gündür çekmiyor, arıza kaydı açın."


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    try:
        cluster = Cluster()
    except FileNotFoundError as error:
        pytest.skip(str(error))
    cluster.start()
    yield cluster
    cluster.remove()


def wait_for(check, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)


# --- If-Match / ETag ----------------------------------------------------------------------------


def test_two_concurrent_clients_with_one_version_one_wins_one_gets_412(
    make_settings, serving_predictor, database_url
):
    app = create_app(make_settings(database_url=database_url), predictor=serving_predictor)
    with (
        live_server(app) as base,
        httpx.Client(base_url=base) as a,
        httpx.Client(base_url=base) as b,
    ):
        for round_ in range(5):
            item = f"etag-{round_}"
            assert a.post("/v1/feedback", json={"id": item, "text": TEXT}).status_code == 201
            tag_a = a.get(f"/v1/feedback/{item}").headers["etag"]
            tag_b = b.get(f"/v1/feedback/{item}").headers["etag"]
            assert tag_a == tag_b
            results: dict[str, httpx.Response] = {}
            start = threading.Barrier(2)

            def correct(name, client, tag, label, item=item, results=results, start=start):
                start.wait()
                results[name] = client.patch(
                    f"/v1/feedback/{item}",
                    json={"corrections": {"sentiment": label}},
                    headers={"If-Match": tag},
                )

            threads = [
                threading.Thread(target=correct, args=("a", a, tag_a, "olumlu")),
                threading.Thread(target=correct, args=("b", b, tag_b, "olumsuz")),
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            codes = sorted(response.status_code for response in results.values())
            assert codes == [200, 412], {k: r.text for k, r in results.items()}
            winner = next(r for r in results.values() if r.status_code == 200)
            stored = a.get(f"/v1/feedback/{item}")
            assert stored.json()["corrections"] == winner.json()["corrections"]
            assert stored.headers["etag"] == winner.headers["etag"] != tag_a
            # the loser reads again and retries with the new version: accepted
            retry = b.patch(
                f"/v1/feedback/{item}",
                json={"status": "in_progress"},
                headers={"If-Match": stored.headers["etag"]},
            )
            assert retry.status_code == 200, retry.text


def test_a_malformed_if_match_is_412(client_with_item):
    client = client_with_item
    response = client.patch(
        "/v1/feedback/one", json={"status": "resolved"}, headers={"If-Match": "yesterday"}
    )
    assert response.status_code == 412


def test_an_if_match_list_holding_the_current_version_is_accepted(client_with_item):
    client = client_with_item
    current = client.get("/v1/feedback/one").headers["etag"]
    response = client.patch(
        "/v1/feedback/one", json={"status": "in_progress"}, headers={"If-Match": f'"99", {current}'}
    )
    assert response.status_code == 200, response.text


def test_an_if_match_list_of_only_older_versions_is_412(client_with_item):
    client = client_with_item
    response = client.patch(
        "/v1/feedback/one", json={"status": "in_progress"}, headers={"If-Match": '"98", "99"'}
    )
    assert response.status_code == 412


@pytest.mark.parametrize(
    "header",
    ["W/{tag}", "{bare}", '"0{bare}"', '"\u00b3"', '"{bare}', '"{bare}"x'],
    ids=["weak", "unquoted", "leading-zero", "superscript-digit", "unclosed", "trailing"],
)
def test_an_if_match_that_is_no_strong_tag_of_the_current_version_is_412(client_with_item, header):
    client = client_with_item
    tag = client.get("/v1/feedback/one").headers["etag"]
    value = header.format(tag=tag, bare=tag.strip('"')).encode("latin-1")  # ³ as a raw byte
    response = client.patch(
        "/v1/feedback/one", json={"status": "in_progress"}, headers={"If-Match": value}
    )
    assert response.status_code == 412, response.text


@pytest.mark.parametrize(
    "header", ['{tag},,"99"', ",{tag}", "{tag},"], ids=["inner", "leading", "trailing"]
)
def test_empty_elements_of_an_if_match_list_are_ignored(client_with_item, header):
    client = client_with_item
    tag = client.get("/v1/feedback/one").headers["etag"]
    response = client.patch(
        "/v1/feedback/one",
        json={"status": "in_progress"},
        headers={"If-Match": header.format(tag=tag)},
    )
    assert response.status_code == 200, response.text


def test_if_match_lines_sent_separately_form_one_list(client_with_item):
    client = client_with_item
    tag = client.get("/v1/feedback/one").headers["etag"]
    response = client.patch(
        "/v1/feedback/one",
        json={"status": "in_progress"},
        headers=[("If-Match", '"99"'), ("If-Match", tag)],
    )
    assert response.status_code == 200, response.text


def test_a_405_names_every_method_the_path_takes(client_with_item):
    response = client_with_item.put("/v1/feedback/one", json={"status": "resolved"})
    assert response.status_code == 405
    allowed = {method.strip() for method in response.headers["allow"].split(",")}
    assert {"GET", "HEAD", "PATCH", "DELETE"} <= allowed and "PUT" not in allowed


def test_an_id_in_decomposed_unicode_names_the_same_item_as_its_composed_form(client_with_item):
    client = client_with_item
    composed, decomposed = "şikayet-1", "s\u0327ikayet-1"
    assert client.post("/v1/feedback", json={"id": decomposed, "text": TEXT}).status_code == 201
    response = client.get(f"/v1/feedback/{composed}")
    assert response.status_code == 200 and response.json()["id"] == composed
    assert client.get(f"/v1/feedback/{decomposed}").json()["id"] == composed


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/v1/model", "/v1/feedback/one", "/ui"])
def test_head_is_answered_as_get_without_the_body(client_with_item, path):
    get = client_with_item.get(path)
    head = client_with_item.head(path)
    assert head.status_code == get.status_code == 200
    assert head.content == b"" and head.headers["content-length"] == str(len(get.content))


def test_a_405_on_the_consoles_static_files_allows_get_and_head(client_with_item):
    response = client_with_item.put("/ui/static/style.css", content=b"x")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


def test_an_ids_length_is_its_composed_forms(client_with_item):
    client = client_with_item
    decomposed = "s\u0327" * 100  # 200 code points, 100 once composed
    assert client.post("/v1/feedback", json={"id": decomposed, "text": TEXT}).status_code == 201
    assert client.get(f"/v1/feedback/{decomposed}").json()["id"] == "ş" * 100
    expanding = "\u0958" * 100  # NFC decomposes it: 200 characters
    response = client.post("/v1/feedback", json={"id": expanding, "text": TEXT})
    assert response.status_code == 422 and response.json()["detail"][0]["type"] == "string_too_long"


def test_a_change_moves_the_etag_one_version_and_a_patch_that_changes_nothing_keeps_it(
    client_with_item,
):
    client = client_with_item
    first = int(client.get("/v1/feedback/one").headers["etag"].strip('"'))
    versions = []
    for body in [{"corrections": {"sentiment": "olumlu"}}] * 2 + [{"status": "resolved"}] * 2:
        response = client.patch("/v1/feedback/one", json=body)
        versions.append(int(response.headers["etag"].strip('"')))
    assert versions == [first + 1, first + 1, first + 2, first + 2]


@pytest.fixture
def client_with_item(make_settings, serving_predictor):
    from fastapi.testclient import TestClient

    with TestClient(create_app(make_settings(), predictor=serving_predictor)) as client:
        assert client.post("/v1/feedback", json={"id": "one", "text": TEXT}).status_code == 201
        yield client


# --- the database down --------------------------------------------------------------------------


def test_a_stopped_database_leaves_predict_answering_and_the_queue_503(
    make_settings, serving_predictor, cluster
):
    upgrade_database(cluster.url)
    engine = make_engine(cluster.url)
    with make_session_factory(engine)() as session:
        _, key = create_key(session, f"faults-{time.monotonic_ns()}", ["admin"])
    engine.dispose()
    headers = {"Authorization": f"Bearer {key}"}
    settings = make_settings(database_url=cluster.url, database_timeout_s=2)
    app = create_app(settings, predictor=serving_predictor)
    with live_server(app) as base, httpx.Client(base_url=base, headers=headers) as client:
        assert client.post("/v1/feedback", json={"id": "down-1", "text": TEXT}).status_code in (
            200,
            201,
        )
        cluster.stop()
        try:
            started = time.monotonic()
            predict = client.post("/v1/predict", json={"items": [{"text": TEXT}]}, timeout=30)
            assert predict.status_code == 200, predict.text
            queue = client.get("/v1/queue", timeout=30)
            assert queue.status_code == 503, queue.text
            assert int(queue.headers["retry-after"]) > 0
            post = client.post("/v1/feedback", json={"id": "down-2", "text": TEXT}, timeout=30)
            assert post.status_code == 503
            ready = client.get("/readyz", timeout=30)
            assert ready.status_code == 503
            checks = ready.json()["checks"]
            assert checks["model"] == "ok" and checks["database"] != "ok"
            assert time.monotonic() - started < 25  # timeouts, not hangs
        finally:
            cluster.start()
        # the database is back: the queue answers again without a restart
        wait_for(lambda: client.get("/v1/queue").status_code == 200)
        assert client.get("/readyz").status_code == 200


def test_the_server_starts_with_the_database_down_and_catches_up(
    make_settings, serving_predictor, cluster
):
    settings = make_settings(database_url=cluster.url, database_timeout_s=2, auth="off")
    cluster.stop()
    try:
        app = create_app(settings, predictor=serving_predictor)
        with live_server(app) as base, httpx.Client(base_url=base, timeout=30) as client:
            assert client.post("/v1/predict", json={"items": [{"text": TEXT}]}).status_code == 200
            queue = client.get("/v1/queue")
            assert queue.status_code == 503 and "retry-after" in queue.headers
            assert client.get("/readyz").json()["checks"]["database"] != "ok"
            cluster.start()
            wait_for(lambda: client.get("/v1/queue").status_code == 200)
    finally:
        cluster.start()


def test_with_the_keys_never_read_protected_routes_fail_closed(
    make_settings, serving_predictor, cluster
):
    """auth=auto and a database down since start: nobody can be checked, so nobody gets in."""
    settings = make_settings(database_url=cluster.url, database_timeout_s=1)
    cluster.stop()
    try:
        app = create_app(settings, predictor=serving_predictor)
        with live_server(app) as base:
            answer = httpx.post(f"{base}/v1/predict", json={"items": [{"text": TEXT}]}, timeout=30)
            assert answer.status_code == 503
            assert "API keys" in answer.json()["detail"]
    finally:
        cluster.start()


def test_a_statement_the_database_refuses_is_a_500_logged_without_the_failing_row(
    make_settings, serving_predictor, postgresql_url, caplog
):
    """PostgreSQL's refusal says "DETAIL: Failing row contains (…)" with the customer's text."""
    engine = make_engine(postgresql_url)
    app = create_app(make_settings(), predictor=serving_predictor)

    @app.post("/refused")
    def refused() -> None:
        with engine.begin() as connection:
            connection.execute(
                sa_text("CREATE TEMP TABLE kisa (metin text CHECK (length(metin) < 5))")
            )
            connection.execute(sa_text("INSERT INTO kisa VALUES ('Ali Veli 0532 gizli')"))

    uvicorn_log = logging.getLogger("uvicorn.error")  # where an unhandled error's traceback goes
    try:
        with live_server(app) as base, caplog.at_level(logging.INFO):
            uvicorn_log.addHandler(caplog.handler)  # after the server configured its logging
            answer = httpx.post(f"{base}/refused", timeout=30)
        assert answer.status_code == 500
        assert answer.json() == {
            "detail": "internal server error",
            "request_id": answer.headers["X-Request-ID"],
        }
        assert "violates check constraint" in caplog.text
        assert "gizli" not in caplog.text and "Failing row" not in caplog.text
    finally:
        uvicorn_log.removeHandler(caplog.handler)
        engine.dispose()


# --- floods and big bodies ----------------------------------------------------------------------


def test_an_oversized_body_with_content_length_is_a_json_413_unread(
    make_settings, serving_predictor
):
    settings = make_settings(max_items=2, max_text_chars=50)
    app = create_app(settings, predictor=serving_predictor)
    with live_server(app) as base:
        big = b'{"items": [{"text": "' + b"a" * 2_000_000 + b'"}]}'
        response = httpx.post(
            f"{base}/v1/predict",
            content=big,
            headers={"Content-Type": "application/json", "X-Request-ID": "buyuk-1"},
            timeout=30,
        )
        assert response.status_code == 413
        assert "too large" in response.json()["detail"]
        assert response.json()["request_id"] == "buyuk-1"
        assert response.headers["X-Request-ID"] == "buyuk-1"


def test_an_oversized_body_sent_in_chunks_is_a_json_413(make_settings, serving_predictor):
    settings = make_settings(max_items=2, max_text_chars=50)
    app = create_app(settings, predictor=serving_predictor)

    def chunks():
        yield b'{"items": [{"text": "'
        for _ in range(40):
            yield b"a" * 50_000
        yield b'"}]}'

    with live_server(app) as base:
        response = httpx.post(
            f"{base}/v1/predict",
            content=chunks(),
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
        assert response.status_code == 413
        assert "too large" in response.json()["detail"]
        assert response.json()["request_id"]


def test_a_body_that_is_not_utf8_is_a_422_naming_the_body(make_settings, serving_predictor):
    app = create_app(make_settings(), predictor=serving_predictor)
    with live_server(app) as base:
        response = httpx.post(
            f"{base}/v1/predict",
            content='{"items": [{"text": "Faturam çok yüksek"}]}'.encode("cp1254"),
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
        assert response.status_code == 422
        error = response.json()["detail"][0]
        assert error["loc"] == ["body"] and "UTF-8" in error["msg"]


def test_too_many_concurrent_requests_get_503_before_their_body_is_read(
    make_settings, serving_predictor
):
    settings = make_settings(max_concurrent_requests=1)
    app = create_app(settings, predictor=serving_predictor)
    with live_server(app) as base:
        body_sent = threading.Event()
        release = threading.Event()

        def slow_body():
            yield b'{"items": [{"text": "'
            body_sent.set()
            release.wait(10)
            yield b'yavas bir istek"}]}'

        slow: dict[str, httpx.Response] = {}
        thread = threading.Thread(
            target=lambda: slow.setdefault(
                "r",
                httpx.post(
                    f"{base}/v1/predict",
                    content=slow_body(),
                    headers={"Content-Type": "application/json"},
                    timeout=30,
                ),
            )
        )
        thread.start()
        try:
            assert body_sent.wait(10)
            time.sleep(0.3)  # the server has the first request in hand
            second = httpx.post(f"{base}/v1/predict", json={"items": [{"text": TEXT}]}, timeout=10)
            assert second.status_code == 503
            assert second.headers["retry-after"]
            assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200  # probes pass
        finally:
            release.set()
            thread.join(30)
        assert slow["r"].status_code == 200, slow["r"].text
