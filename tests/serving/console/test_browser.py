"""The console in a real headless browser (Debian's chromium, driven by Playwright).

A real uvicorn server runs the whole app (tiny model, SQLite queue seeded with synthetic
feedback); the browser may reach nothing but that server, so a page that needs a CDN fails here.
Screenshots of every page go to ``build/screenshots/`` (look at them; two are in docs/).
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn

from nabiz.serving.app import create_app
from nabiz.serving.console.report import write_report
from nabiz.serving.queue.db import make_engine, upgrade_database
from nabiz.settings import Settings
from tests.serving.console.synthetic import scored_rows, seed_queue

REPO = Path(__file__).resolve().parents[3]
SHOTS = REPO / "build" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SEEDED = 400

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
if not CHROMIUM.exists():
    pytest.skip("no /usr/bin/chromium (apt-get install -y chromium)", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory, serving_model_dir, serving_predictor) -> Iterator[str]:
    db = tmp_path_factory.mktemp("browser-db") / "queue.db"
    url = f"sqlite:///{db}"
    upgrade_database(url)
    engine = make_engine(url)
    seed_queue(engine, scored_rows(SEEDED, start=datetime.now(UTC), seed=7))
    engine.dispose()
    settings = Settings(
        model_dir=serving_model_dir, database_url=url, device="cpu", precision="fp32"
    )
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings, predictor=serving_predictor), port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    else:
        pytest.fail("the server did not become ready")
    yield base
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server) -> Iterator[object]:
    """A page that can reach the test server (and local files) and nothing else, and fails on a
    script error."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="tr-TR")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    blocked: list[str] = []

    def only_local(route) -> None:
        if route.request.url.startswith((server, "file://")):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    yield page
    context.close()
    assert errors == [], errors
    assert blocked == [], f"the page tried to reach outside: {blocked}"


def shot(page, name: str) -> None:
    """``name.png`` (what the window shows: the README's pictures) and ``name-full.png``."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))
    page.screenshot(path=str(SHOTS / f"{name}-full.png"), full_page=True)


def test_the_queue_page_lists_items_in_priority_order(page, server):
    page.goto(f"{server}/ui#/kuyruk")
    page.wait_for_selector("tr.item")
    ids = page.eval_on_selector_all("tr.item", "rows => rows.map(r => r.dataset.id)")
    expected = httpx.get(f"{server}/v1/queue", params={"limit": 50}).json()["items"]
    assert ids == [item["id"] for item in expected]
    levels = page.eval_on_selector_all("tr.item .lvl", "els => els.map(e => e.textContent)")
    assert levels == sorted(levels)
    assert page.locator("td.due.late").count() > 0  # seeded deadlines are past: red
    assert "400 kayıt" in page.inner_text("#queue-count")
    shot(page, "console-queue")


def test_the_queue_pages_and_filters(page, server):
    page.goto(f"{server}/ui#/kuyruk")
    page.wait_for_selector("tr.item")
    first = page.eval_on_selector("tr.item", "r => r.dataset.id")
    page.click("#next")
    page.wait_for_function(f"document.querySelector('tr.item').dataset.id !== '{first}'")
    assert page.inner_text("#page").startswith("51–100")
    page.select_option("select[name=level]", "P2")
    page.click("#filters button[type=submit]")
    page.wait_for_function("document.querySelector('#page').textContent.startsWith('1–')")
    levels = page.eval_on_selector_all("tr.item .lvl", "els => els.map(e => e.textContent)")
    assert set(levels) == {"P2"}


def test_a_correction_made_in_the_page_is_stored(page, server):
    item = httpx.get(f"{server}/v1/queue", params={"limit": 1}).json()["items"][0]
    new_topic = next(t for t in ("magaza_bayi", "diger") if t != item["labels"]["topic"])
    page.goto(f"{server}/ui#/kayit/{item['id']}")
    page.wait_for_selector("#item-form")
    assert item["text"] in page.inner_text(".fulltext")
    page.select_option("select[name=topic]", new_topic)
    page.select_option("select[name=status]", "in_progress")
    page.fill("input[name=corrected_by]", "Ayşe")
    shot(page, "console-item")
    page.click("#item-form button[type=submit]")
    page.wait_for_selector("#saved:has-text('Kaydedildi')")
    stored = httpx.get(f"{server}/v1/feedback/{item['id']}").json()
    assert stored["corrections"] == {"topic": new_topic}
    assert stored["labels"]["topic"] == new_topic
    assert stored["status"] == "in_progress" and stored["corrected_by"] == "Ayşe"
    assert stored["answered_at"] is not None


def test_the_trends_page_draws_its_charts_and_a_point_shows_its_texts(page, server):
    page.goto(f"{server}/ui#/egilimler")
    for chart in ("#chart-volume", "#chart-negative", "#chart-urgency"):
        page.wait_for_selector(f"{chart} svg circle.point")
        assert page.locator(f"{chart} svg path").count() >= 2
    assert page.locator("#answers tr").count() >= 2
    page.locator("#chart-volume circle.point[data-series=hepsi]").last.click()
    page.wait_for_selector("#point-texts tr.item")
    shot(page, "console-trends")


def test_the_root_cause_and_survey_pages_render(page, server):
    page.goto(f"{server}/ui#/kok-nedenler")
    page.select_option("select[name=topic]", "fatura_odeme")
    page.click("#cause-form button[type=submit]")
    page.wait_for_selector("#causes table")
    assert "Ne değişti?" in page.inner_text("#causes")
    shot(page, "console-root-causes")
    page.goto(f"{server}/ui#/anket")
    page.wait_for_selector("#survey h2")
    assert "NPS" in page.inner_text("#survey")
    assert page.locator("#survey svg circle").count() > 0
    shot(page, "console-survey")


def test_the_console_fits_a_phone(browser, server):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="tr-TR")
    page = context.new_page()
    page.goto(f"{server}/ui#/kuyruk")
    page.wait_for_selector("tr.item")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide on a 390px phone"
    page.screenshot(path=str(SHOTS / "console-queue-phone.png"))
    context.close()


def test_the_console_sends_the_stored_api_key(page, server):
    seen: list[str | None] = []
    page.on("request", lambda r: seen.append(r.headers.get("authorization")))
    page.goto(f"{server}/ui")
    page.evaluate("localStorage.setItem('nabiz.apiKey', 'k-123')")
    page.reload()
    page.wait_for_selector("tr.item")
    assert "Bearer k-123" in seen


@pytest.mark.parametrize(("path", "ready"), [("/docs", ".opblock"), ("/redoc", "h1")])
def test_the_api_docs_render_without_internet(page, server, path, ready):
    page.goto(f"{server}{path}")
    page.wait_for_selector(ready, timeout=30_000)
    assert "Nabız API" in page.inner_text("body")
    shot(page, f"api{path.replace('/', '-')}")


def test_the_report_renders_offline(page, server, tmp_path):
    scored_rows(1200, seed=8).to_csv(tmp_path / "scored.csv", index=False)
    write_report(tmp_path / "scored.csv", tmp_path / "report.html")
    page.goto((tmp_path / "report.html").as_uri())
    assert page.locator("svg circle").count() > 0
    shot(page, "report")
    shutil.copy(tmp_path / "report.html", SHOTS / "report.html")
