"""The console in a real headless browser (Debian's chromium, driven by Playwright).

A real uvicorn server runs the whole app (tiny model, SQLite queue seeded with synthetic
feedback); the browser may reach nothing but that server, so a page that needs a CDN fails here.
Screenshots of every page go to ``build/screenshots/`` (look at them; two are in docs/).
"""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

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
    first_due = expected[0]["priority"]["respond_by"]  # "2026-…T10:30:00+03:00": its wall clock
    wall = f"{first_due[8:10]}.{first_due[5:7]}.{first_due[:4]} {first_due[11:16]}"
    assert page.locator("tr.item td.due small.at").first.inner_text() == wall
    assert "400 kayıt" in page.inner_text("#queue-count")
    shot(page, "console-queue")


def test_the_queue_pages_and_filters(page, server):
    page.goto(f"{server}/ui#/kuyruk")
    page.wait_for_selector("tr.item")
    first = page.eval_on_selector("tr.item", "r => r.dataset.id")
    page.click("#next")
    page.wait_for_function(  # the list is drawn again: no row for a moment
        "first => { const row = document.querySelector('tr.item'); "
        "return row !== null && row.dataset.id !== first; }",
        arg=first,
    )
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
    assert stored["answered_at"] is None  # taken, not answered


def test_the_trends_page_draws_its_charts_and_a_point_shows_its_texts(page, server):
    page.goto(f"{server}/ui#/egilimler")
    for chart in ("#chart-volume", "#chart-negative", "#chart-urgency"):
        page.wait_for_selector(f"{chart} svg circle.point")
        assert page.locator(f"{chart} svg path").count() >= 2
    assert page.locator("#answers tr").count() >= 2
    page.locator("#chart-volume circle.point[data-series=hepsi]").last.click()
    page.wait_for_selector("#point-texts tr.item")
    shot(page, "console-trends")


def test_every_trend_series_can_be_drawn_or_hidden_with_its_button(page, server):
    series = httpx.get(f"{server}/v1/insights/trends").json()["series"]
    page.goto(f"{server}/ui#/egilimler")
    page.wait_for_selector("#series-pick button")
    buttons = page.locator("#series-pick button")
    assert buttons.count() == len(series) - 1  # every series but "hepsi", drawn or not
    legend = page.locator("#chart-volume .legend > *")
    drawn = legend.count()
    assert drawn == 1 + min(5, len(series) - 1)
    first = buttons.first
    assert first.get_attribute("aria-pressed") == "true"
    first.click()
    assert legend.count() == drawn - 1
    assert page.locator("#series-pick button").first.get_attribute("aria-pressed") == "false"
    page.locator("#series-pick button").first.click()
    assert legend.count() == drawn


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


# --- what the QA pass found: lost updates, English errors, banners, zones, resolved, keyboard ---


def _items(server: str, count: int) -> list[dict]:
    return httpx.get(f"{server}/v1/queue", params={"limit": count}).json()["items"]


def _set_status(server: str, item_id: str, status: str) -> None:
    httpx.patch(f"{server}/v1/feedback/{item_id}", json={"status": status}).raise_for_status()


def test_a_save_over_someone_elses_change_is_refused(page, server):
    item = _items(server, 20)[12]
    other = page.context.new_page()
    for p in (page, other):
        p.goto(f"{server}/ui#/kayit/{item['id']}")
        p.wait_for_selector("#item-form")
    try:
        page.select_option("select[name=status]", "resolved")
        page.click("#item-form button[type=submit]")
        page.wait_for_selector("#saved:has-text('Kaydedildi')")
        other.select_option("select[name=status]", "in_progress")
        other.click("#item-form button[type=submit]")
        other.wait_for_selector("#message:has-text('başkası tarafından değiştirildi')")
        assert "Kaydedildi" not in other.inner_text("#saved")
        assert "Kayıt güncellendi" not in other.inner_text("#message")
        assert httpx.get(f"{server}/v1/feedback/{item['id']}").json()["status"] == "resolved"
    finally:
        _set_status(server, item["id"], item["status"])


QUEUE = re.compile(r"/v1/queue\b")


@pytest.mark.parametrize(
    ("status", "detail", "expected", "dialog"),
    [
        (401, "send an API key: Authorization: Bearer <key>", "API anahtarı gerekli", True),
        (403, "the key 'x' lacks the scope 'queue:read'", "yetkisi yok", False),
        (422, [{"loc": ["query", "received_from"], "msg": "bad"}], "“Başlangıç”", False),
        (503, "the queue database is unreachable; retry later", "veritabanına ulaşılamıyor", False),
        (None, "Failed to fetch", "Sunucuya ulaşılamadı. Bağlantınızı", False),
    ],
)
def test_failures_are_told_in_turkish(page, server, status, detail, expected, dialog):
    warnings: list[str] = []
    page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)

    def answer(route) -> None:
        if status is None:
            route.abort("failed")
        else:
            route.fulfill(status=status, json={"detail": detail, "request_id": "r-1"})

    page.route(QUEUE, answer)
    page.goto(f"{server}/ui#/kuyruk")
    page.wait_for_selector(f"#queue-body .error:has-text('{expected}')")
    body = page.inner_text("body")
    assert "Yükleniyor" not in body and "Hata:" not in body
    english = detail if isinstance(detail, str) else "bad"
    assert english not in body
    if status is not None:
        assert any(english in w for w in warnings), warnings  # kept for support
    assert page.evaluate("document.getElementById('key-dialog').open") is dialog


def test_an_unknown_item_says_it_is_not_found(page, server):
    page.goto(f"{server}/ui#/kayit/yok-boyle-bir-kayit")
    page.wait_for_selector("#item-error .error")
    assert "Kayıt bulunamadı" in page.inner_text("#view")
    assert "no feedback" not in page.inner_text("body")


def test_an_error_banner_closes_and_goes_away_when_things_work(page, server):
    item = _items(server, 20)[13]

    def busy(route) -> None:
        if route.request.method == "PATCH":
            route.fulfill(status=503, json={"detail": "overloaded"})
        else:
            route.fallback()

    page.route("**/v1/feedback/**", busy)
    page.goto(f"{server}/ui#/kayit/{item['id']}")
    page.wait_for_selector("#item-form")
    page.click("#item-form button[type=submit]")
    page.wait_for_selector("#message.error:has-text('birazdan yeniden deneyin')")
    assert page.inner_text("#saved") == "Kaydedilmedi."
    shot(page, "console-error-banner")
    page.focus("#message-close")
    page.keyboard.press("Enter")
    page.wait_for_selector("#message", state="hidden")
    page.click("#item-form button[type=submit]")
    page.wait_for_selector("#message.error", state="visible")
    page.click("a[href='#/kuyruk']")
    page.wait_for_selector("tr.item")
    assert page.is_hidden("#message")


def test_times_and_days_are_the_policys_whatever_the_browsers_zone(browser, server):
    item = _items(server, 1)[0]
    received, offset = item["received_at"], item["received_at"][-6:]
    assert offset == "+03:00"  # the test server's policy: Europe/Istanbul
    shown, sent = [], []
    for zone in ("UTC", "Europe/Istanbul", "America/New_York"):
        context = browser.new_context(timezone_id=zone, locale="tr-TR")
        page = context.new_page()
        page.goto(f"{server}/ui#/kayit/{item['id']}")
        page.wait_for_selector("#item-form")
        shown.append(page.inner_text(".item-view header"))
        page.goto(f"{server}/ui#/kuyruk")
        page.wait_for_selector("tr.item")
        page.fill("input[name=from]", "2026-03-10")
        page.fill("input[name=to]", "2026-03-10")
        with page.expect_request(QUEUE) as request:
            page.click("#filters button[type=submit]")
        sent.append(request.value.url)
        context.close()
    assert shown[0] == shown[1] == shown[2]
    day, clock = received[:10].split("-"), received[11:16]
    assert f"{day[2]}.{day[1]}.{day[0]} {clock}" in shown[0]
    assert sent[0] == sent[1] == sent[2]
    start, end = quote("2026-03-10T00:00:00+03:00"), quote("2026-03-11T00:00:00+03:00")
    assert f"received_from={start}" in sent[0] and f"received_to={end}" in sent[0]


def test_a_resolved_item_shows_no_overdue_countdown(page, server):
    item = _items(server, 20)[14]
    _set_status(server, item["id"], "resolved")
    try:
        assert httpx.get(f"{server}/v1/feedback/{item['id']}").json()["overdue"] is False
        page.goto(f"{server}/ui#/kuyruk")
        page.wait_for_selector("tr.item")
        page.select_option("select[name=status]", "resolved")
        page.click("#filters button[type=submit]")
        row = page.locator(f"tr.item[data-id='{item['id']}']")
        row.wait_for()
        assert row.locator("td.due").inner_text() == "çözüldü"
        assert row.locator("td.due.late").count() == 0
        page.goto(f"{server}/ui#/kayit/{item['id']}")
        page.wait_for_selector("#item-form")
        assert page.inner_text("#item-due") == "çözüldü"
        assert page.locator(".item-view .due.late").count() == 0
    finally:
        _set_status(server, item["id"], item["status"])


def test_the_keyboard_finds_a_skip_link_and_sees_the_focused_row(page, server):
    page.goto(f"{server}/ui#/kuyruk")
    page.wait_for_selector("tr.item")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "İçeriğe geç"
    assert page.locator("#skip").bounding_box()["y"] >= 0  # shown while focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "view"
    assert page.evaluate("location.hash") == "#/kuyruk"
    page.focus("tr.item")
    style = page.eval_on_selector("tr.item", "r => getComputedStyle(r).outlineStyle")
    width = page.eval_on_selector("tr.item", "r => parseFloat(getComputedStyle(r).outlineWidth)")
    assert style != "none" and width >= 2
    shot(page, "console-queue-focus")
